#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A VM's virtio-net through podvisor-vmm's vhost-user device and
podvisor-switch to a testpmd port, and back; then the switch is killed and
restarted while the guest runs.

The test guest (tests/guest/t_netsw.c, test=net_switch) drives the NIC with
polled
split rings; this script plays the network and follows its markers. Checks:
the guest sees LINK_UP; its 100 broadcast frames reach testpmd and the
switch learned the guest's MAC on the VM's port; frames testpmd sends to
the guest's MAC land in its RX ring; the guest sees link down when the
switch is killed and up again when a new one connects, and its next 100
frames reach testpmd, without restarting the guest. Exit 77 when /dev/kvm,
the VMM, the test guest, testpmd or the switch is missing.
"""

import json
import os
import re
import shutil
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from swlib import Proc, Switch, TestPmd, check_prereqs, skip, tempdir  # noqa

VM_MAC = "02:00:00:00:03:01"
PEER_MAC = "02:00:00:00:03:02"
FRAMES = 100
PHASE_S = 180  # the guest's code is emulated on PVM hosts: be patient
CORES = ("--lcores", "0@1,1@0")
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


class Vmm(Proc):
    def __init__(self, vmm, guest, tmp):
        self.serial = os.path.join(tmp, "serial.log")
        self.sock = os.path.join(tmp, "vm-net0.sock")
        open(self.serial, "w").close()
        super().__init__([vmm, "--kernel", guest, "--memory", "128",
                          "--cmdline", f"test=net_switch frames={FRAMES}",
                          "--net", f"vhost-user={self.sock},mac={VM_MAC}",
                          "--console-log", self.serial],
                         os.path.join(tmp, "vmm.log"))

    def console(self):
        with open(self.serial, "rb") as f:
            return f.read().decode(errors="replace")

    def wait_line(self, pattern, timeout=PHASE_S):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.console()
            if re.search(pattern, text):
                return True
            if re.search(r"FAIL netsw_", text) or not self.alive():
                break
            time.sleep(0.2)
        raise RuntimeError(f"guest never printed /{pattern}/; console:\n"
                           + self.console()[-1500:] + "\nvmm log:\n"
                           + self.output()[-1500:])


def main():
    binary = check_prereqs()
    build = os.environ["PODVISOR_BUILD"]
    vmm = os.path.join(build, "src", "podvisor-vmm", "podvisor-vmm")
    guest = os.path.join(build, "tests", "guest", "pvguest.elf")
    if not os.path.exists("/dev/kvm"):
        skip("needs /dev/kvm (missing on this host)")
    if not os.access(vmm, os.X_OK):
        skip(f"needs podvisor-vmm ({vmm} not built)")
    if not os.path.exists(guest):
        skip(f"needs the test guest ({guest} not built)")
    tmp = tempdir()
    pmd = TestPmd(tmp, "peer", PEER_MAC)
    vm = sw = sw2 = None
    try:
        pmd.wait_listening()
        vm = Vmm(vmm, guest, tmp)
        deadline = time.monotonic() + 30
        while not os.path.exists(vm.sock) and time.monotonic() < deadline:
            time.sleep(0.1)
        config = os.path.join(tmp, "switch.json")
        with open(config, "w") as f:
            json.dump([{"op": "segment_add", "name": "blue"},
                       {"op": "port_add", "name": "peer", "path": pmd.sock,
                        "segment": "blue"}], f)
        vm_port = {"op": "port_add", "name": "vm", "path": vm.sock,
                   "segment": "blue"}
        # testpmd forwards before the VM's port exists, so no frame of the
        # guest can find testpmd's ring unpolled.
        sw = Switch(binary, tmp, config=config, cores=CORES)
        sw.wait_connected(["peer"])
        pmd.wait_for("testpmd> ")
        pmd.cmd("start")
        pmd.sync()
        sw.ok(vm_port)

        vm.wait_line(r"PASS netsw_link_up")
        check(True, "guest saw LINK_UP once the switch connected")
        vm.wait_line(r"INFO netsw: want rx")
        check("PASS netsw_tx" in vm.console(),
              f"guest sent {FRAMES} frames, all completed")
        time.sleep(0.5)
        rx, _ = pmd.stats()
        check(rx == FRAMES, f"testpmd received the guest's {FRAMES} "
              f"frames ({rx})")
        table = sw.ok({"op": "mac_table"})["entries"]
        check(any(e["mac"] == VM_MAC and e["port"] == "vm" for e in table),
              "the switch learned the guest's MAC on port vm")
        ports = sw.ports()
        check(ports["vm"]["rx_packets"] == FRAMES,
              f"switch counted {ports['vm']['rx_packets']} frames from "
              f"the VM")
        pmd.send(VM_MAC, 1.0)
        vm.wait_line(r"PASS netsw_rx|FAIL netsw_rx")
        check("PASS netsw_rx" in vm.console(),
              "frames for the guest's MAC reached its RX ring")

        vm.wait_line(r"INFO netsw: kill")
        sw.kill(signal.SIGKILL)
        vm.wait_line(r"PASS netsw_link_down")
        check(True, "guest saw link down when the switch died")
        sw2 = Switch(binary, tmp, tag="sw2", config=config, cores=CORES)
        sw2.wait_connected(["peer"])
        pmd.cmd("stop")
        pmd.cmd("start")
        pmd.sync()
        # A delta, not a stats reset: after the switch reconnected,
        # testpmd's virtio-user port once kept its packet count across a
        # "clear port stats" (RX-packets 200, RX-bytes 6000 for 100 frames).
        rx0, _ = pmd.stats()
        sw2.ok(vm_port)
        vm.wait_line(r"PASS netsw_link_up_again")
        check(True, "guest saw LINK_UP again with the new switch")
        vm.wait_line(r"INFO netsw: done")
        check("PASS netsw_tx_after_restart" in vm.console(),
              "guest frames completed after the restart")
        time.sleep(0.5)
        rx, _ = pmd.stats()
        rx -= rx0
        vm_rx = sw2.ports()["vm"]["rx_packets"]
        check(rx == FRAMES and vm_rx == FRAMES,
              f"after the restart testpmd received {rx} and the switch "
              f"counted {vm_rx} of the guest's {FRAMES} frames")
        rc = vm.p.wait(timeout=PHASE_S)
        check(rc == 0, f"the guest powered off (VMM exit {rc})")
    except Exception as e:
        failures.append(f"{type(e).__name__}: {e}")
        print(f"FAIL {type(e).__name__}: {e}")
    finally:
        if vm:
            vm.kill()
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
