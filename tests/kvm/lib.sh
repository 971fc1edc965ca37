# SPDX-License-Identifier: Apache-2.0
# Shared helpers for the kvm suite: run podvisor-vmm with a test guest from
# tests/guest, then assert on its serial output and exit status.
# Sourced by the test scripts; meson passes PODVISOR_BUILD / PODVISOR_SOURCE.

set -u

BUILD=${PODVISOR_BUILD:?run through meson test, or set PODVISOR_BUILD}
VMM=${PODVISOR_VMM:-$BUILD/src/podvisor-vmm/podvisor-vmm}
GUEST=$BUILD/tests/guest/pvguest.elf
T=$(mktemp -d /tmp/pv-kvm.XXXXXX)
SERIAL=$T/serial.log
VMMLOG=$T/vmm.log
BG_PIDS=()
CLEAN_PATHS=() # removed at exit too (e.g. DPDK runtime dirs)
ERRORS=0

cleanup() {
	local p
	for p in "${BG_PIDS[@]}"; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rm -rf "$T" "${CLEAN_PATHS[@]}"
}
trap cleanup EXIT
trap 'exit 1' INT TERM # meson's timeout: still run cleanup

skip() {
	echo "SKIP: $*"
	exit 77
}

need_kvm() {
	[ -e /dev/kvm ] || skip "needs /dev/kvm (missing on this host)"
	[ -r /dev/kvm ] && [ -w /dev/kvm ] ||
		skip "needs /dev/kvm (not accessible to uid $(id -u))"
	[ -x "$VMM" ] || skip "needs podvisor-vmm ($VMM not built)"
	[ -f "$GUEST" ] || skip "needs the test guest ($GUEST not built)"
}

need_tool() {
	command -v "$1" >/dev/null || skip "needs $1 (apt-get install $2)"
}

# run_vmm SECONDS ARGS...: runs the VMM on the guest, serial to $SERIAL, its
# log to $VMMLOG; sets RC (124 = killed by the time limit).
run_vmm() {
	local secs=$1
	shift
	: >"$SERIAL"
	timeout -k 5 "$secs" "$VMM" --kernel "$GUEST" --console-log "$SERIAL" \
		"$@" >"$T/vmm.stdout" 2>"$VMMLOG"
	RC=$?
	echo "podvisor-vmm $* -> exit $RC"
}

# Starts the VMM in the background (same outputs); sets VMM_PID.
start_vmm() {
	: >"$SERIAL"
	"$VMM" --kernel "$GUEST" --console-log "$SERIAL" "$@" \
		>"$T/vmm.stdout" 2>"$VMMLOG" &
	VMM_PID=$!
	BG_PIDS+=("$VMM_PID")
}

# wait_vmm SECONDS: waits for the background VMM; sets RC (124 on timeout,
# after killing it).
wait_vmm() {
	local i
	for ((i = 0; i < $1 * 10; i++)); do
		if ! kill -0 "$VMM_PID" 2>/dev/null; then
			wait "$VMM_PID"
			RC=$?
			echo "podvisor-vmm -> exit $RC"
			return
		fi
		sleep 0.1
	done
	kill -9 "$VMM_PID" 2>/dev/null
	wait "$VMM_PID" 2>/dev/null
	RC=124
	echo "podvisor-vmm still running after $1 s: killed"
}

# wait_serial PATTERN SECONDS: waits until the serial log has PATTERN.
wait_serial() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		grep -qa -- "$1" "$SERIAL" 2>/dev/null && return 0
		kill -0 "$VMM_PID" 2>/dev/null || break
		sleep 0.1
	done
	grep -qa -- "$1" "$SERIAL" 2>/dev/null
}

err() {
	echo "ERROR: $*"
	ERRORS=$((ERRORS + 1))
}

expect_rc() {
	[ "$RC" = "$1" ] || err "podvisor-vmm exited $RC, expected $1 ($2)"
}

# expect_pass NAME...: each "PASS NAME" line is on the serial log.
expect_pass() {
	local n
	for n in "$@"; do
		grep -qa "^PASS $n\$" "$SERIAL" || err "guest did not print PASS $n"
	done
}

expect_clean() {
	if grep -qa '^FAIL ' "$SERIAL"; then
		err "guest reported failures:"
		grep -a '^FAIL ' "$SERIAL" | sed 's/^/    /'
	fi
	grep -qa '^DONE' "$SERIAL" || err "guest never printed DONE"
}

# finish: prints the logs when something failed, exits 0 or 1.
finish() {
	if [ "$ERRORS" -ne 0 ]; then
		echo "---- serial ($SERIAL) ----"
		tr -d '\r' <"$SERIAL" | tail -n 80
		echo "---- podvisor-vmm log ----"
		tail -n 40 "$VMMLOG"
		echo "FAILED: $ERRORS error(s)"
		exit 1
	fi
	grep -a '^PASS ' "$SERIAL" | tr -d '\r' | sed 's/^/ok: /'
	echo "OK"
	exit 0
}
