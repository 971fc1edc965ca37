#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# PVH entry: podvisor-vmm starts an ELF with the Xen PHYS32_ENTRY note in
# 32-bit protected mode, paging off, EBX = hvm_start_info. The guest
# (pvh_check.S) prints what it received; this checks it against what we
# configured: magic, version 1, our command line, the e820 map of a 5 GiB
# guest (RAM split around the MMIO gap), the RSDP (none on PVM hosts, where
# ACPI is off by default) and the initrd module.
# Then the guest powers off and the VMM must exit 0.
set -u

BUILD=${PODVISOR_BUILD:?run through meson test, or set PODVISOR_BUILD}
VMM=${PODVISOR_VMM:-$BUILD/src/podvisor-vmm/podvisor-vmm}
GUEST=${1:-$BUILD/tests/linux/pvh-check.elf}

skip() {
	echo "SKIP: $*"
	exit 77
}
[ -e /dev/kvm ] || skip "needs /dev/kvm (missing on this host)"
[ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "needs read/write /dev/kvm"
[ -x "$VMM" ] || skip "needs podvisor-vmm ($VMM not built)"
[ -f "$GUEST" ] || skip "needs the PVH check guest ($GUEST not built)"

T=$(mktemp -d /tmp/pv-pvh.XXXXXX)
trap 'rm -rf "$T"' EXIT
echo "initrd bytes" >"$T/initrd"
timeout -k 5 30 "$VMM" --kernel "$GUEST" --memory 5G --vcpus 2 \
	--cmdline "pvh-test marker=$$" --initrd "$T/initrd" \
	--console-log "$T/serial.log" >"$T/vmm.out" 2>"$T/vmm.log"
rc=$?
tr -d '\r' <"$T/serial.log" >"$T/s"

errors=0
expect() {
	if grep -qx -- "$1" "$T/s"; then
		echo "ok: $1"
	else
		echo "ERROR: missing line: $1"
		errors=$((errors + 1))
	fi
}
expect "PVH magic ok"
expect "PVH cr0 00000011"	# PE | ET: protected mode, paging off
expect "PVH cs 00000008"
expect "PVH version 00000001"
expect "PVH cmdline: pvh-test marker=$$.*"
# ACPI is off by default on PVM hosts (include/podvisor/boot.h)
if [ -e /sys/module/kvm_pvm ]; then
	expect "PVH rsdp 00000000"
else
	expect "PVH rsdp 000e0000"
fi
expect "PVH e820 0000000000000000 000000000009fc00 00000001"
expect "PVH e820 000000000009fc00 0000000000060400 00000002"
expect "PVH e820 0000000000100000 00000000bff00000 00000001"
expect "PVH e820 0000000100000000 0000000080000000 00000001"
expect "PVH modules 00000001"
expect "PVH done"
[ "$rc" = 0 ] || { echo "ERROR: podvisor-vmm exited $rc, expected 0 (guest powered off)"; errors=$((errors + 1)); }
if [ "$errors" -ne 0 ]; then
	echo "---- serial ----"
	cat "$T/s"
	echo "---- podvisor-vmm log ----"
	tail -n 20 "$T/vmm.log"
	exit 1
fi
echo OK
