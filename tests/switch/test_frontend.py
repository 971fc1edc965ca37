#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The VMM's vhost-user front-end against the real back-end (DPDK's
librte_vhost inside podvisor-switch), no VM: vu_guest owns guest RAM and a
queue pair and runs vhost/vhost_user.c; a testpmd virtio-user port in the
same segment is its peer.

Checks: the switch connects to the front-end and sees the port up; frames
the guest queues reach testpmd (counted at both ends); frames testpmd sends
land in the guest's RX ring with testpmd's MAC; the switch is killed: the
guest sees link down; a new switch connects, the front-end replays the
sequence with ring bases from used->idx, link comes back and frames flow
again without restarting the guest. Exit 77 when something is missing.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from swlib import Switch, TestPmd, check_prereqs, tempdir  # noqa

GUEST_MAC = "02:00:00:00:02:01"
PEER_MAC = "02:00:00:00:02:02"
# testpmd forwards on CPU 1; the switch worker polls on CPU 0.
CORES = ("--lcores", "0@1,1@0")
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def start_guest(binary, tmp):
    err = open(os.path.join(tmp, "guest.err"), "wb")
    sock = os.path.join(tmp, "guest.sock")
    p = subprocess.Popen([binary, sock, GUEST_MAC, PEER_MAC],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=err, start_new_session=True)
    line = p.stdout.readline()
    if b"listening" not in line:
        raise RuntimeError(f"vu_guest did not start: {line!r}")
    return p, sock


def ask(p, cmd):
    p.stdin.write((cmd + "\n").encode())
    p.stdin.flush()
    line = p.stdout.readline()
    if not line:
        raise RuntimeError("vu_guest exited")
    return json.loads(line)


def wait_link(p, up, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = ask(p, "stats")
        if st["link"] == up:
            return st
        time.sleep(0.2)
    raise TimeoutError(f"guest link never went {'up' if up else 'down'}")


def traffic(sw, guest, pmd, label, count=1000):
    sw_before = sw.ports()
    # Deltas, not a stats reset: a "clear port stats" racing with the
    # previous phase's counters once left testpmd's count cumulative.
    rx0, _ = pmd.stats()
    st0 = ask(guest, "stats")
    st1 = ask(guest, f"send {count} {PEER_MAC}")
    time.sleep(0.5)
    rx, _ = pmd.stats()
    rx -= rx0
    sent = st1["sent"] - st0["sent"]
    sw_after = sw.ports()
    sw_rx = sw_after["guest"]["rx_packets"] - \
        sw_before["guest"]["rx_packets"]
    check(sent == count, f"{label}: guest queued {count} frames ({sent})")
    check(st1["completed"] == st1["sent"],
          f"{label}: the switch completed every TX buffer "
          f"({st1['completed']}/{st1['sent']})")
    peer_tx = sw_after["peer"]["tx_packets"] - sw_before["peer"]["tx_packets"]
    full = sw_after["peer"]["drops"]["tx_full"] - \
        sw_before["peer"]["drops"]["tx_full"]
    check(sw_rx == count, f"{label}: switch received {sw_rx} == {count}")
    check(rx > 0 and rx == peer_tx and peer_tx + full == count,
          f"{label}: testpmd rx {rx} = switch tx {peer_tx}; + ring full "
          f"{full} == {count}")

    _, tx0 = pmd.stats()
    st0 = ask(guest, "stats")
    pmd.send(GUEST_MAC, 0.5)
    time.sleep(0.5)
    _, tx = pmd.stats()
    tx -= tx0
    st1 = ask(guest, "stats")
    got = st1["from_peer"] - st0["from_peer"]
    lost = sw.ports()["guest"]["drops"]["tx_full"] - \
        sw_after["guest"]["drops"]["tx_full"]
    check(got > 0 and st1["bad"] == 0,
          f"{label}: guest RX ring got {got} frames from testpmd's MAC")
    check(got + lost == tx,
          f"{label}: testpmd sent {tx} = guest got {got} + ring full "
          f"{lost}")


def main():
    binary = check_prereqs()
    build = os.environ.get("PODVISOR_BUILD", "")
    vu_guest = os.path.join(build, "tests", "switch", "vu_guest")
    if not os.access(vu_guest, os.X_OK):
        print(f"SKIP: {vu_guest} is not built")
        return 77
    tmp = tempdir()
    pmd = TestPmd(tmp, "peer", PEER_MAC)
    guest = sw = sw2 = None
    try:
        guest, gsock = start_guest(vu_guest, tmp)
        pmd.wait_listening()
        config = os.path.join(tmp, "switch.json")
        with open(config, "w") as f:
            json.dump([{"op": "segment_add", "name": "blue"},
                       {"op": "port_add", "name": "guest", "path": gsock,
                        "segment": "blue", "mac": GUEST_MAC},
                       {"op": "port_add", "name": "peer", "path": pmd.sock,
                        "segment": "blue", "mac": PEER_MAC}], f)
        sw = Switch(binary, tmp, config=config, cores=CORES)
        sw.wait_connected(["guest", "peer"])
        check(True, "switch connected to the front-end and to testpmd")
        wait_link(guest, True)
        check(True, "guest link up")
        pmd.wait_for("testpmd> ")
        pmd.cmd("start")
        pmd.sync()
        traffic(sw, guest, pmd, "first switch")

        sw.kill(signal.SIGKILL)
        wait_link(guest, False)
        check(True, "guest saw link down when the switch died")
        sw2 = Switch(binary, tmp, tag="sw2", config=config, cores=CORES)
        sw2.wait_connected(["guest", "peer"])
        wait_link(guest, True)
        check(True, "guest link up again with the new switch")
        pmd.cmd("stop")
        pmd.cmd("start")
        pmd.sync()
        traffic(sw2, guest, pmd, "after restart")
    except Exception as e:
        failures.append(f"{type(e).__name__}: {e}")
        print(f"FAIL {type(e).__name__}: {e}")
        for s in (sw2, sw):
            if s:
                print(s.output()[-2000:])
                break
    finally:
        if guest:
            try:
                guest.stdin.write(b"quit\n")
                guest.stdin.close()
                guest.wait(timeout=5)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                guest.kill()
                guest.wait()
        pmd.quit()
        for s in (sw, sw2):
            if s:
                s.kill()
        if not failures:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"logs kept in {tmp}")
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
