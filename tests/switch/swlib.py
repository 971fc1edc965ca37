# SPDX-License-Identifier: Apache-2.0
"""Helpers for the switch suite and scripts/bench/switch.sh: dpdk-testpmd
processes with net_virtio_user ports play the guests, podvisor-switch is
driven over its control socket. Every process is started in its own
session and killed by pid at the end."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SKIP = 77


def skip(reason):
    print(f"SKIP: {reason}")
    sys.exit(SKIP)


def find_switch():
    build = os.environ.get("PODVISOR_BUILD")
    if not build:
        here = os.path.dirname(os.path.abspath(__file__))
        build = os.path.join(here, "..", "..", "build")
    path = os.path.join(build, "src", "podvisor-switch", "podvisor-switch")
    if not os.access(path, os.X_OK):
        skip(f"{path} is not built (needs libdpdk-dev; meson -Dswitch=enabled)")
    return path


def check_prereqs():
    for tool in ("dpdk-testpmd", "stdbuf"):
        if not shutil.which(tool):
            skip(f"{tool} is not installed (apt-get install dpdk coreutils)")
    if os.geteuid() != 0:
        skip("DPDK EAL needs root for /var/run/dpdk on this host")
    return find_switch()


def eal_runtime_dir(argv):
    """DPDK keeps /var/run/dpdk/<file-prefix> after the process exits."""
    for i, a in enumerate(argv[:-1]):
        if a == "--file-prefix":
            return os.path.join("/var/run/dpdk", argv[i + 1])
    return None


class Proc:
    """A child process in its own session, with its output in a file."""

    def __init__(self, argv, log, stdin=None):
        self.log = log
        self.argv = argv
        self.runtime = eal_runtime_dir(argv)
        with open(log, "wb") as out:
            self.p = subprocess.Popen(argv, stdin=stdin, stdout=out,
                                      stderr=subprocess.STDOUT,
                                      start_new_session=True)

    def output(self):
        with open(self.log, "rb") as f:
            return f.read().decode(errors="replace")

    def alive(self):
        return self.p.poll() is None

    def kill(self, sig=signal.SIGTERM, wait=5.0):
        if self.p.poll() is None:
            try:
                self.p.send_signal(sig)
                self.p.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(timeout=5)
        if self.runtime:
            shutil.rmtree(self.runtime, ignore_errors=True)
        return self.p.returncode


class TestPmd(Proc):
    """An interactive dpdk-testpmd whose port 0 is a virtio-user server
    socket; the switch connects to it as the vhost-user back-end."""

    def __init__(self, tmp, name, mac, extra=()):
        self.name = name
        self.mac = mac
        self.sock = os.path.join(tmp, f"{name}.sock")
        argv = ["stdbuf", "-oL", "dpdk-testpmd", "-l", "0-1", "--no-huge",
                "-m", "512", "--no-pci", "--file-prefix",
                f"pvsw-{os.getpid()}-{name}", "--vdev",
                f"net_virtio_user0,path={self.sock},server=1,mac={mac}",
                "--", "-i", "--total-num-mbufs=16384",
                "--forward-mode=rxonly", *extra]
        super().__init__(argv, os.path.join(tmp, f"{name}.log"),
                         stdin=subprocess.PIPE)

    def cmd(self, line):
        self.p.stdin.write((line + "\n").encode())
        self.p.stdin.flush()

    def wait_for(self, pattern, start=0, timeout=30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(pattern, self.output()[start:], re.S)
            if m:
                return m
            if not self.alive():
                raise RuntimeError(f"testpmd {self.name} exited:\n"
                                   + self.output()[-2000:])
            time.sleep(0.1)
        raise TimeoutError(f"testpmd {self.name}: no /{pattern}/ in "
                           f"{timeout}s:\n" + self.output()[-2000:])

    def wait_listening(self, timeout=30.0):
        deadline = time.monotonic() + timeout
        while not os.path.exists(self.sock):
            if time.monotonic() > deadline or not self.alive():
                raise RuntimeError(f"testpmd {self.name} never listened:\n"
                                   + self.output()[-2000:])
            time.sleep(0.1)

    def stats(self):
        """RX/TX packet counts of port 0 since the last clear."""
        start = len(self.output())
        self.cmd("show port stats 0")
        m = self.wait_for(r"RX-packets:\s*(\d+).*?TX-packets:\s*(\d+)"
                          r".*?Tx-bps.*?\n", start)
        return int(m.group(1)), int(m.group(2))

    def sync(self):
        """Waits until testpmd has run every command sent so far."""
        start = len(self.output())
        self.cmd("show port info 0")
        self.wait_for(r"Link status", start)

    def send(self, dst_mac, seconds, size=64):
        """txonly to dst_mac for `seconds`, then back to rxonly."""
        self.cmd("stop")
        self.cmd(f"set eth-peer 0 {dst_mac}")
        self.cmd(f"set txpkts {size}")
        self.cmd("set fwd txonly")
        self.cmd("start")
        self.sync()
        time.sleep(seconds)
        self.cmd("stop")
        self.cmd("set fwd rxonly")
        self.cmd("start")
        self.sync()

    def quit(self):
        if self.alive():
            try:
                self.cmd("stop")
                self.cmd("quit")
                self.p.stdin.close()
                self.p.wait(timeout=10)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                pass
        return self.kill()


class Switch(Proc):
    def __init__(self, binary, tmp, tag="sw", config=None,
                 cores=("-l", "0-1"), extra=()):
        self.control = os.path.join(tmp, f"{tag}.ctl")
        argv = [binary, *cores, "--no-huge", "-m", "1024", "--no-pci",
                "--file-prefix", f"pvsw-{os.getpid()}-{tag}", "--",
                "--control", self.control]
        if config:
            argv += ["--config", config]
        argv += list(extra)
        super().__init__(argv, os.path.join(tmp, f"{tag}.log"))
        deadline = time.monotonic() + 30
        while not os.path.exists(self.control):
            if not self.alive() or time.monotonic() > deadline:
                raise RuntimeError("podvisor-switch did not start:\n"
                                   + self.output()[-2000:])
            time.sleep(0.1)

    def request(self, obj):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(10)
            s.connect(self.control)
            s.sendall((json.dumps(obj) + "\n").encode())
            buf = b""
            while not buf.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
        return json.loads(buf)

    def ok(self, obj):
        r = self.request(obj)
        if not r.get("ok"):
            raise AssertionError(f"switch refused {obj}: {r}")
        return r

    def ports(self):
        return {p["name"]: p for p in self.ok({"op": "port_list"})["ports"]}

    def wait_connected(self, names, timeout=30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ports = self.ports()
            if all(ports[n]["connected"] for n in names):
                return
            time.sleep(0.2)
        raise TimeoutError(f"ports not connected: {self.ports()}")


def tempdir():
    return tempfile.mkdtemp(prefix="pvsw-")
