#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# How a guest ends decides podvisor-vmm's exit status (common contract):
# poweroff 0, reboot request 3, triple fault 4, SIGTERM 0. Usage: power.sh
# poweroff|reboot|triple|sigterm
. "$(dirname "$0")/lib.sh"
need_kvm

case "$1" in
poweroff) want=0 ;;
sigterm) want=0 ;;
reboot) want=3 ;;
triple) want=4 ;;
*) echo "usage: $0 poweroff|reboot|triple|sigterm"; exit 2 ;;
esac
if [ "$1" = sigterm ]; then
	# A running guest and a halted one (interrupts off): SIGTERM must
	# bring the VMM down promptly either way, as a requested stop.
	# The undriven virtio-rng says nothing about the guest's kernel
	# here: the guest was stopped from outside before any driver probe.
	for g in "ticks secs=60" halt; do
		start_vmm --memory 128 --rng --cmdline "test=$g"
		wait_serial '^\(TICK 2\|READY halt\)$' 20 || err "guest $g never got going"
		kill -TERM "$VMM_PID"
		wait_vmm 5
		expect_rc 0 "SIGTERM is a requested stop (guest $g)"
		! grep -q "never started a driver" "$VMMLOG" ||
			err "driver hint after an outside stop: $(grep 'never started' "$VMMLOG")"
	done
	echo "podvisor-vmm's last log line: $(tail -n 1 "$VMMLOG")"
	finish
fi
run_vmm 60 --memory 128 --cmdline "test=$1"
expect_rc $want "guest did $1"
if [ "$1" = poweroff ] && [ "$ERRORS" -eq 0 ]; then
	# Also the 8-bit S5 value Linux writes to the FADT's SLEEP_CONTROL_REG.
	run_vmm 60 --memory 128 --cmdline "test=poweroff how=sleepctl"
	expect_rc 0 "guest wrote the ACPI sleep control value"
fi
if [ "$1" = poweroff ]; then
	expect_pass poweroff_reached
	expect_clean
	# A guest that powers off by itself had its chance to drive a device:
	# the VMM names the kernel options it may lack.
	run_vmm 60 --memory 128 --rng --cmdline "test=poweroff"
	expect_rc 0 "guest with an undriven virtio-rng powered off"
	grep -q "never started a driver.*CONFIG_HW_RANDOM_VIRTIO" "$VMMLOG" ||
		err "no driver hint for the undriven virtio-rng: $(cat "$VMMLOG")"
elif grep -qa '^FAIL ' "$SERIAL"; then
	err "guest reported: $(grep -a '^FAIL ' "$SERIAL")"
fi
[ "$(wc -l <"$VMMLOG")" -ge 1 ] || err "podvisor-vmm logged nothing about the stop"
echo "podvisor-vmm's last log line: $(tail -n 1 "$VMMLOG")"
finish
