#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The real Linux virtio-net driver through podvisor-vmm, vhost-user and
podvisor-switch: the minimal guest kernel booted with ip=dhcp transmits its
DHCP discover (IPv4 broadcast) and a testpmd port on the VM's segment
receives it, with the VM's MAC as source (testpmd's verbose per-packet
line), while the switch learns that MAC on the VM's port.

On PVM hosts the kernel is emulated and reaches its network autoconfig
after a minute or two (../shared/guest/NOTES.md). Exit 77 when /dev/kvm,
the VMM, the guest kernel (scripts/build-guest-kernel.sh), testpmd or the
switch is missing. Env: PODVISOR_GUEST_KERNEL, LINUX_BOOT_SECS (540).
"""

import json
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from swlib import Proc, Switch, TestPmd, check_prereqs, skip, tempdir  # noqa

VM_MAC = "02:00:00:00:04:01"
PEER_MAC = "02:00:00:00:04:02"
CORES = ("--lcores", "0@1,1@0")
LIMIT = int(os.environ.get("LINUX_BOOT_SECS", "540"))


def find_kernel():
    k = os.environ.get("PODVISOR_GUEST_KERNEL")
    if k:
        return k if os.path.exists(k) else None
    src = os.environ.get("PODVISOR_SOURCE", "")
    script = os.path.join(src, "scripts", "build-guest-kernel.sh")
    if not os.access(script, os.X_OK):
        return None
    r = subprocess.run([script, "--cached-only"], capture_output=True,
                       text=True)
    path = r.stdout.strip()
    if r.returncode != 0 or not os.path.exists(path):
        return None
    # The ELF vmlinux beside the bzImage: on PVM hosts every instruction of
    # the bzImage decompressor would be emulated before the kernel starts.
    elf = os.path.join(os.path.dirname(path), "vmlinux")
    return elf if os.path.exists(elf) else path


def main():
    binary = check_prereqs()
    build = os.environ["PODVISOR_BUILD"]
    vmm = os.path.join(build, "src", "podvisor-vmm", "podvisor-vmm")
    if not os.path.exists("/dev/kvm"):
        skip("needs /dev/kvm (missing on this host)")
    if not os.access(vmm, os.X_OK):
        skip(f"needs podvisor-vmm ({vmm} not built)")
    kernel = find_kernel()
    if not kernel:
        skip("guest kernel not built yet; run scripts/build-guest-kernel.sh "
             "first")
    tmp = tempdir()
    pmd = TestPmd(tmp, "peer", PEER_MAC)
    vm = sw = None
    ok = False
    try:
        pmd.wait_listening()
        sock = os.path.join(tmp, "vm-net0.sock")
        serial = os.path.join(tmp, "serial.log")
        vm = Proc([vmm, "--kernel", kernel, "--memory", "256", "--vcpus",
                   "1", "--cmdline", "console=ttyS0 earlyprintk=ttyS0 ip=dhcp panic=-1",
                   "--net", f"vhost-user={sock},mac={VM_MAC}",
                   "--console-log", serial], os.path.join(tmp, "vmm.log"))
        for _ in range(300):
            if os.path.exists(sock):
                break
            time.sleep(0.1)
        config = os.path.join(tmp, "switch.json")
        with open(config, "w") as f:
            json.dump([{"op": "segment_add", "name": "blue"},
                       {"op": "port_add", "name": "peer", "path": pmd.sock,
                        "segment": "blue"}], f)
        sw = Switch(binary, tmp, config=config, cores=CORES)
        sw.wait_connected(["peer"])
        pmd.wait_for("testpmd> ")
        pmd.cmd("set verbose 1")
        pmd.cmd("start")
        pmd.sync()
        sw.ok({"op": "port_add", "name": "vm", "path": sock,
               "segment": "blue"})
        # One verbose line per frame: IPv4 UDP broadcast from the VM.
        pattern = (r"src=" + VM_MAC + r" - dst=ff:ff:ff:ff:ff:ff[^\n]*"
                   r"type=0x0800[^\n]*L4_UDP")
        deadline = time.monotonic() + LIMIT
        while time.monotonic() < deadline and vm.alive():
            if re.search(pattern, pmd.output(), re.I):
                ok = True
                break
            time.sleep(1)
        print(("ok   " if ok else "FAIL ") + "testpmd received a UDP/IPv4 "
              f"broadcast from the VM's MAC {VM_MAC} (its DHCP discover)")
        table = sw.ok({"op": "mac_table"})["entries"]
        learned = any(e["mac"] == VM_MAC and e["port"] == "vm"
                      for e in table)
        print(("ok   " if learned else "FAIL ") +
              "the switch learned the VM's MAC on port vm")
        ok = ok and learned
        if not ok:
            with open(serial, "rb") as f:
                print(f.read().decode(errors="replace")[-2000:])
    finally:
        if vm:
            vm.kill()
        pmd.quit()
        if sw:
            sw.kill()
        if ok:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"logs kept in {tmp}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
