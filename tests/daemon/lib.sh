# SPDX-License-Identifier: Apache-2.0
# Shared helpers of the daemon suite: a real podvisord with real podvisor-vmm
# processes running the freestanding test guests, driven with curl.
# Sourced by the test scripts; meson passes PODVISOR_BUILD.

set -u

BUILD=${PODVISOR_BUILD:?run through meson test, or set PODVISOR_BUILD}
PVD=$BUILD/src/podvisord/podvisord
VMM=$BUILD/src/podvisor-vmm/podvisor-vmm
# Prints 'Z' on the serial port, then halts forever: an idle pod VM.
IDLE=$BUILD/tests/guest/bench-pvh.elf
# Device test guest: test=poweroff|triple|reboot on its command line.
PVGUEST=$BUILD/tests/guest/pvguest.elf
T=$(mktemp -d /tmp/pv-daemon.XXXXXX)
SOCK=$T/api.sock
DLOG=$T/daemon.log
DPID=
APID=
STATUS=
ERRORS=0

skip() {
	echo "SKIP: $*"
	exit 77
}

need_all() {
	[ -e /dev/kvm ] || skip "needs /dev/kvm (missing on this host)"
	[ -r /dev/kvm ] && [ -w /dev/kvm ] ||
		skip "needs /dev/kvm (not accessible to uid $(id -u))"
	command -v curl >/dev/null || skip "needs curl"
	command -v jq >/dev/null || skip "needs jq"
	[ -x "$PVD" ] || skip "needs podvisord ($PVD not built)"
	[ -x "$VMM" ] || skip "needs podvisor-vmm ($VMM not built)"
	[ -f "$IDLE" ] || skip "needs the idle test guest ($IDLE not built)"
	[ -f "$PVGUEST" ] || skip "needs the test guest ($PVGUEST not built)"
}

# Every VMM this test started, from the pid files (checked against their
# command line so a recycled pid is never killed).
kill_our_vmms() {
	local f pid
	for f in "$T"/run/vms/*/vmm.pid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		if grep -qs "$T/run" "/proc/$pid/cmdline"; then
			kill -9 "$pid" 2>/dev/null
		fi
	done
}

cleanup() {
	if [ -n "$APID" ]; then
		kill "$APID" 2>/dev/null
		wait "$APID" 2>/dev/null
	fi
	if [ -n "$DPID" ]; then
		kill "$DPID" 2>/dev/null
		wait "$DPID" 2>/dev/null
	fi
	kill_our_vmms
	if [ "$ERRORS" -ne 0 ]; then
		echo "--- podvisord log ---"
		tail -n 60 "$DLOG" 2>/dev/null
	fi
	rm -rf "$T"
}
trap cleanup EXIT

# A host-side podvisor-agent (as on PVM hosts, where guest userspace
# cannot run) on $T/agent.sock, pid APID, and a busybox image at $T/bb.tar;
# skips where containers cannot run.
start_host_agent() {
	local agent=$BUILD/src/podvisor-agent/podvisor-agent
	local src=${PODVISOR_SOURCE:?run through meson test}

	[ "$(id -u)" = 0 ] || skip "needs root (the agent makes namespaces and mounts)"
	[ -x "$agent" ] || skip "needs podvisor-agent ($agent not built)"
	grep -qw overlay /proc/filesystems || skip "needs overlayfs"
	[ -e /dev/loop-control ] || skip "needs loop devices"
	bash "$src/scripts/build-container-image.sh" "$T/bb.tar" >/dev/null 2>&1 ||
		skip "scripts/build-container-image.sh could not build the image here"
	"$agent" --listen "unix:$T/agent.sock" --state-dir "$T/agent" \
		2>"$T/agent.log" &
	APID=$!
	for _ in $(seq 50); do [ -S "$T/agent.sock" ] && break; sleep 0.1; done
}

ok() { echo "ok - $*"; }
bad() {
	echo "FAIL - $*"
	ERRORS=$((ERRORS + 1))
}
# check "what" test-expression...
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else bad "$what"; fi
}

start_daemon() {
	"$PVD" --socket "$SOCK" --state-dir "$T/state" --run-dir "$T/run" \
		--kernel "$IDLE" "$@" >>"$DLOG" 2>&1 &
	DPID=$!
	for _ in $(seq 100); do
		[ -S "$SOCK" ] && return 0
		kill -0 "$DPID" 2>/dev/null || break
		sleep 0.05
	done
	echo "podvisord did not come up:"
	cat "$DLOG"
	exit 1
}

stop_daemon() {
	kill -TERM "$DPID"
	wait "$DPID"
	local rc=$?
	DPID=
	return $rc
}

# api METHOD URI [curl args...]: STATUS gets the HTTP status, $T/body the body.
api() {
	local m=$1 u=$2
	shift 2
	STATUS=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 20 \
		--unix-socket "$SOCK" -X "$m" "$@" "http://localhost$u")
}
post_json() { api POST "$1" -H 'Content-Type: application/json' -d "$2"; }
body() { jq -r "$1" "$T/body"; }

# wait_state NAME STATE [seconds]
wait_state() {
	local i s
	for i in $(seq $((${3:-10} * 20))); do
		api GET "/v1/vms/$1"
		s=$(body .state)
		[ "$s" = "$2" ] && return 0
		# A VM that ended will not get anywhere else by itself.
		[ "$s" = failed ] || [ "$s" = stopped ] && break
		sleep 0.05
	done
	echo "# $1 is '$s', wanted '$2': $(cat "$T/body")"
	return 1
}

alive() { kill -0 "$1" 2>/dev/null; }
dead() { ! kill -0 "$1" 2>/dev/null; }

finish() {
	if [ "$ERRORS" -ne 0 ]; then
		echo "$ERRORS check(s) failed"
		exit 1
	fi
	echo "all checks passed"
	exit 0
}
