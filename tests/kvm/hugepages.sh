#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# --hugepages: with enough free 2 MiB pages the guest's RAM mapping is backed
# by them (smaps KernelPageSize 2048 kB) and the guest runs; without, the
# VMM refuses with a line that says how to reserve them. Which branch runs
# depends on this host's HugePages_Free, and the test says so.
. "$(dirname "$0")/lib.sh"
need_kvm

free=$(awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo)
if [ "${free:-0}" -lt 32 ]; then
	echo "HugePages_Free is ${free:-0}: checking the refusal"
	run_vmm 30 --memory 64 --hugepages --cmdline "test=poweroff"
	[ "$RC" != 0 ] && [ "$RC" != 124 ] || err "exit $RC without hugepages, expected a refusal"
	grep -q 'nr_hugepages' "$VMMLOG" ||
		err "the refusal does not say how to reserve hugepages: $(grep error "$VMMLOG")"
	grep -a error "$VMMLOG" | head -n 1
	[ "$ERRORS" -eq 0 ] || { echo "FAILED"; exit 1; }
	echo OK
	exit 0
fi
echo "HugePages_Free is $free: booting on them"
start_vmm --memory 64 --hugepages --cmdline "test=ticks secs=30"
wait_serial '^TICK 1$' 20 || err "guest never ticked"
kps=$(awk '/^Size:/ { size = $2 } /^KernelPageSize:/ && size >= 65536 { print $2; exit }' \
	"/proc/$VMM_PID/smaps")
[ "$kps" = 2048 ] || err "guest RAM mapping has KernelPageSize '${kps}' kB, expected 2048"
kill -TERM "$VMM_PID"
wait_vmm 5
expect_rc 0 "stopped by SIGTERM"
finish
