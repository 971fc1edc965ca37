#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""podvisor-switch without VMs: four dpdk-testpmd processes play the guests.

  a, b, c: segment "blue" (default allow), no configured MAC (learned)
  d:       segment "red", static MAC

Checks, in order: control errors; flooding of an unknown unicast reaches a
and c but never d (segment isolation); learning (a's reply to b reaches b
only); counters add up (testpmd sent = switch rx = delivered + dropped =
testpmd received + drops); a port removed and re-added while traffic flows;
a deny rule drops and counts; a switch restart (SIGKILL) and traffic
resumes. Exit 77 when testpmd, the switch binary or root is missing.
"""

import json
import os
import shutil
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from swlib import Switch, TestPmd, check_prereqs, tempdir  # noqa: E402

MAC = {n: f"02:00:00:00:00:0{n}" for n in "abcd"}
SEND_S = 1.0
# testpmd forwarding lcores run on CPU 1; the switch worker polls on CPU 0.
CORES = ("--lcores", "0@1,1@0")
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def snapshot(sw, pmds):
    """Switch counters per port and testpmd (rx, tx) per guest."""
    time.sleep(0.5)  # let the switch drain the rings it is polling
    return sw.ports(), {n: p.stats() for n, p in pmds.items()}


BCAST = "ff:ff:ff:ff:ff:ff"


def measure(sw, pmds, send):
    """Runs send() between two snapshots. testpmd counts are deltas: a
    "clear port stats" on a virtio-user port that reconnected once left
    its packet count in place."""
    s0, t0 = snapshot(sw, pmds)
    send()
    s1, t1 = snapshot(sw, pmds)
    t = {n: (t1[n][0] - t0[n][0], t1[n][1] - t0[n][1]) for n in t1}
    return s0, s1, t


def delta(before, after, port, key):
    return after[port][key] - before[port][key]


def drops(ports, name):
    return sum(ports[name]["drops"].values())


def port_req(name, pmd, seg, rules=None, mac=False):
    req = {"op": "port_add", "name": name, "path": pmd.sock, "segment": seg}
    if mac:
        req["mac"] = pmd.mac
    if rules is not None:
        req["rules"] = rules
    return req


def test_control_errors(sw, pmds):
    r = sw.request(port_req("a", pmds["a"], "blue"))
    check(r["error"]["code"] == "conflict" and r["error"]["field"] == "name",
          "duplicate port is refused naming 'name'")
    z = os.path.join(os.path.dirname(pmds["a"].sock), "z.sock")
    r = sw.request({"op": "port_add", "name": "z", "path": z,
                    "segment": "green"})
    check(r["error"]["code"] == "not_found"
          and r["error"]["field"] == "segment",
          "unknown segment is refused naming 'segment'")
    r = sw.request({"op": "port_add", "name": "z", "path": z,
                    "segment": "blue",
                    "rules": [{"proto": "udp", "dst_ip": "10.1.2.3/40"}]})
    check(r["error"]["field"] == "rules[0].dst_ip",
          "malformed rule is refused naming 'rules[0].dst_ip'")
    r = sw.request({"op": "segment_add", "name": "blue"})
    check(r["error"]["code"] == "conflict", "duplicate segment is refused")
    r = sw.request({"op": "port_add", "name": "z", "path": pmds["a"].sock,
                    "segment": "blue"})
    check(r["error"]["field"] == "path",
          "a second port on the same socket is refused naming 'path'")
    check("z" not in sw.ports(), "refused ports are not listed")
    r = sw.request({"op": "bogus"})
    check(r["error"]["field"] == "op", "unknown op is refused")


def test_flood_and_isolation(sw, pmds):
    # b sends to a's MAC, which nobody has sent from yet: unknown unicast.
    s0, s1, t1 = measure(sw, pmds,
                         lambda: pmds["b"].send(MAC["a"], SEND_S))
    sent = t1["b"][1]
    check(sent > 0, f"generator b sent frames ({sent})")
    check(delta(s0, s1, "b", "rx_packets") == sent,
          "switch received exactly what b sent "
          f"({delta(s0, s1, 'b', 'rx_packets')} == {sent})")
    for n in "ac":
        got = t1[n][0]
        tx = delta(s0, s1, n, "tx_packets")
        lost = s1[n]["drops"]["tx_full"] - s0[n]["drops"]["tx_full"]
        check(got > 0 and got == tx,
              f"flood reached {n} in segment blue ({got}, switch tx {tx})")
        check(tx + lost == sent,
              f"counters add up for {n}: tx {tx} + tx_full {lost} == {sent}")
    check(t1["d"][0] == 0 and delta(s0, s1, "d", "tx_packets") == 0,
          f"nothing crossed into segment red (d got {t1['d'][0]})")
    table = sw.ok({"op": "mac_table"})["entries"]
    learned = [e for e in table if e["mac"] == MAC["b"]]
    check(len(learned) == 1 and learned[0]["port"] == "b"
          and learned[0]["segment"] == "blue",
          f"b's MAC learned on port b in blue: {learned}")


def test_learning(sw, pmds):
    s0, s1, t1 = measure(sw, pmds,
                         lambda: pmds["a"].send(MAC["b"], SEND_S))
    sent = t1["a"][1]
    got = t1["b"][0]
    check(sent > 0 and got > 0, f"reply a -> b delivered ({got}/{sent})")
    check(t1["c"][0] == 0 and delta(s0, s1, "c", "tx_packets") == 0,
          f"reply did not reach c (c got {t1['c'][0]})")
    check(t1["d"][0] == 0, f"reply did not reach d (d got {t1['d'][0]})")
    rx = delta(s0, s1, "a", "rx_packets")
    out = delta(s0, s1, "b", "tx_packets")
    lost = s1["b"]["drops"]["tx_full"] - s0["b"]["drops"]["tx_full"]
    check(rx == sent and out == got and out + lost == rx,
          f"counters add up: sent {sent} = rx {rx} = tx {out} + "
          f"tx_full {lost}; b received {got}")


def test_hot_remove_and_deny(sw, pmds):
    # Re-add c with a deny rule while b floods the segment.
    deny = [{"action": "deny", "proto": "udp", "dst_port": 9}]
    p = pmds["b"]
    p.cmd("stop")
    p.cmd("set eth-peer 0 ff:ff:ff:ff:ff:ff")
    p.cmd("set fwd txonly")
    p.cmd("start")
    p.sync()
    time.sleep(0.3)
    sw.ok({"op": "port_del", "name": "c"})
    check("c" not in sw.ports(), "port c removed while b was sending")
    sw.ok(port_req("c", pmds["c"], "blue", rules=deny))
    sw.wait_connected(["c"])
    check(True, "port c re-added with a deny rule and reconnected")
    p.cmd("stop")
    p.cmd("set fwd rxonly")
    p.cmd("start")
    p.sync()
    time.sleep(0.5)

    s0, s1, t1 = measure(sw, pmds,
                         lambda: pmds["b"].send(BCAST, SEND_S))
    sent = t1["b"][1]
    denied = s1["c"]["drops"]["policy_in"] - s0["c"]["drops"]["policy_in"]
    check(t1["c"][0] == 0, f"deny rule: c received nothing ({t1['c'][0]})")
    check(denied == sent and sent > 0,
          f"deny rule counted every frame ({denied} == {sent})")
    check(t1["a"][0] > 0, f"broadcast still reached a ({t1['a'][0]})")
    check(t1["d"][0] == 0, "broadcast stayed out of segment red")

    # Lift the rule in place (no re-add): c receives again.
    r = sw.request({"op": "port_rules", "name": "c",
                    "rules": [{"proto": "udp", "dst_port": "x"}]})
    check(r["error"]["field"] == "rules[0].dst_port",
          "port_rules refuses a malformed rule naming the field")
    sw.ok({"op": "port_rules", "name": "c", "rules": []})
    s0, s1, t1 = measure(sw, pmds,
                         lambda: pmds["b"].send(BCAST, SEND_S))
    denied = s1["c"]["drops"]["policy_in"] - s0["c"]["drops"]["policy_in"]
    check(t1["c"][0] > 0 and denied == 0,
          f"after port_rules [] c receives again ({t1['c'][0]}, "
          f"denied {denied})")


# Long enough that the table still holds b's MAC when it is read after the
# traffic snapshot on a loaded host, short enough to watch it age out.
AGE_S = 5


def test_restart(binary, tmp, sw, pmds):
    config = os.path.join(tmp, "switch.json")
    with open(config, "w") as f:
        json.dump([{"op": "segment_add", "name": "blue"},
                   {"op": "segment_add", "name": "red"},
                   port_req("a", pmds["a"], "blue"),
                   port_req("b", pmds["b"], "blue")], f)
    sw.kill(signal.SIGKILL)
    check(not sw.alive(), "switch killed with SIGKILL")
    sw2 = Switch(binary, tmp, tag="sw2", config=config, cores=CORES,
                 extra=("--age", str(AGE_S)))
    try:
        sw2.wait_connected(["a", "b"])
        check(True, "restarted switch reconnected to a and b")
        for n in "ab":
            pmds[n].cmd("stop")
            pmds[n].cmd("start")
            pmds[n].sync()
        s0, s1, t1 = measure(sw2, pmds,
                             lambda: pmds["b"].send(MAC["a"], SEND_S))
        rx = delta(s0, s1, "b", "rx_packets")
        check(t1["a"][0] > 0 and rx == t1["b"][1],
              f"traffic resumed after restart (a got {t1['a'][0]}, "
              f"b sent {t1['b'][1]}, switch rx {rx})")
        learned = sw2.ok({"op": "mac_table"})["entries"]
        time.sleep(2 * AGE_S + 2)  # idle entries go within 2 * AGE_S
        aged = sw2.ok({"op": "mac_table"})["entries"]
        check(learned and not aged,
              f"idle MACs aged out ({len(learned)} -> {len(aged)})")
    finally:
        rc = sw2.kill()
        check(rc == 0, f"switch exits 0 on SIGTERM (got {rc})")


def main():
    binary = check_prereqs()
    tmp = tempdir()
    pmds = {n: TestPmd(tmp, n, MAC[n]) for n in "abcd"}
    sw = None
    try:
        for p in pmds.values():
            p.wait_listening()
        sw = Switch(binary, tmp, cores=CORES)
        sw.ok({"op": "segment_add", "name": "blue"})
        sw.ok({"op": "segment_add", "name": "red", "default": "allow"})
        for n in "abc":
            sw.ok(port_req(n, pmds[n], "blue"))
        sw.ok(port_req("d", pmds["d"], "red", mac=True))
        sw.wait_connected(list("abcd"))
        for p in pmds.values():
            p.wait_for("testpmd> ")
            p.cmd("start")
            p.sync()
        test_control_errors(sw, pmds)
        test_flood_and_isolation(sw, pmds)
        test_learning(sw, pmds)
        test_hot_remove_and_deny(sw, pmds)
        test_restart(binary, tmp, sw, pmds)
    except Exception as e:  # report and clean up, never hang
        failures.append(f"{type(e).__name__}: {e}")
        print(f"FAIL {type(e).__name__}: {e}")
        if sw:
            print(sw.output()[-3000:])
    finally:
        for p in pmds.values():
            p.quit()
        if sw:
            sw.kill()
        if not failures:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"logs kept in {tmp}")
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
