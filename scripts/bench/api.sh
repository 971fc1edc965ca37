#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# podvisord API figures (not a test): POST /v1/vms until the VMM answers
# (state running), GET /v1/vms/{id} latency at a steady 200 requests/s, and
# VMs created per second. Guests: the idle test guest (prints, then hlt).
# Usage: scripts/bench/api.sh [BUILD_DIR] [N_CREATES]
set -eu
BUILD=$(realpath "${1:-${PODVISOR_BUILD:-build}}")
N=${2:-30}
PVD=$BUILD/src/podvisord/podvisord
IDLE=$BUILD/tests/guest/bench-pvh.elf
for f in "$PVD" "$IDLE" /dev/kvm; do
	[ -e "$f" ] || { echo "missing $f (build first; needs /dev/kvm)"; exit 1; }
done
command -v python3 >/dev/null || { echo "needs python3"; exit 1; }

T=$(mktemp -d /tmp/pv-bench-api.XXXXXX)
"$PVD" --socket "$T/api.sock" --state-dir "$T/state" --run-dir "$T/run" \
	--kernel "$IDLE" --log-level warn --vcpu-overcommit 32 2>"$T/daemon.log" &
DPID=$!
cleanup() {
	kill "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null
	for f in "$T"/run/vms/*/vmm.pid; do
		[ -f "$f" ] && grep -qs "$T/run" "/proc/$(cat "$f")/cmdline" &&
			kill -9 "$(cat "$f")" 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT
for _ in $(seq 100); do [ -S "$T/api.sock" ] && break; sleep 0.05; done

echo "host: $(nproc) cores, kvm: $([ -e /sys/module/kvm_pvm ] && echo pvm || echo hardware), $(uname -r)"
python3 - "$T/api.sock" "$N" <<'PY'
import http.client, json, socket, sys, time

SOCK, N = sys.argv[1], int(sys.argv[2])

class Conn(http.client.HTTPConnection):
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(SOCK)

def call(method, uri, body=None):
    c = Conn("localhost", timeout=30)
    hdr = {"Content-Type": "application/json"} if body else {}
    c.request(method, uri, body=json.dumps(body) if body else None,
              headers=hdr)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, (json.loads(data) if data else None)

def wait_running(name):
    while True:
        s, vm = call("GET", "/v1/vms/" + name)
        if vm["state"] == "running":
            return vm
        if vm["state"] in ("failed", "stopped"):
            sys.exit("VM %s ended: %s" % (name, vm.get("reason")))
        time.sleep(0.001)

def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]

# 1. POST until running, one at a time.
lat, boot = [], []
for i in range(N):
    t0 = time.perf_counter()
    s, vm = call("POST", "/v1/vms", {"name": "b%d" % i})
    assert s == 201, (s, vm)
    vm = wait_running("b%d" % i)
    lat.append((time.perf_counter() - t0) * 1000)
    boot.append(vm["boot_ms"])
    call("DELETE", "/v1/vms/b%d" % i)
print("POST /v1/vms until running (n=%d): median %.1f ms, p99 %.1f ms"
      % (N, pct(lat, 50), pct(lat, 99)))
print("  of which spawn -> control socket answering (boot_ms): median %d ms"
      % pct(boot, 50))

# 2. GET latency at a paced 200 requests/s for 5 s.
call("POST", "/v1/vms", {"name": "g"})
wait_running("g")
lat, period, start = [], 1 / 200.0, time.perf_counter()
for i in range(1000):
    due = start + i * period
    now = time.perf_counter()
    if due > now:
        time.sleep(due - now)
    t0 = time.perf_counter()
    s, _ = call("GET", "/v1/vms/g")
    assert s == 200
    lat.append((time.perf_counter() - t0) * 1000)
rate = len(lat) / (time.perf_counter() - start)
print("GET /v1/vms/{id} at %.0f req/s (n=%d): median %.2f ms, p99 %.2f ms"
      % (rate, len(lat), pct(lat, 50), pct(lat, 99)))
call("DELETE", "/v1/vms/g")

# 3. Throughput: create N VMs back to back, wait until all run.
t0 = time.perf_counter()
for i in range(N):
    s, vm = call("POST", "/v1/vms", {"name": "t%d" % i, "memory_mib": 32})
    assert s == 201, (s, vm)
for i in range(N):
    wait_running("t%d" % i)
dt = time.perf_counter() - t0
print("VMs created until running: %d in %.2f s = %.1f VMs/s"
      % (N, dt, N / dt))
for i in range(N):
    call("DELETE", "/v1/vms/t%d" % i)
PY
