#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The boot path as a 64-bit ELF kernel sees it: entry state, zero page, the
# e820 map for a small guest and for one split around the MMIO gap, the
# command line, identity page tables, MP table and ACPI.
. "$(dirname "$0")/lib.sh"
need_kvm

boot_once() {
	local mib=$1 vcpus=$2 marker="pv-marker-$RANDOM"
	local cmd="test=boot mem=$mib vcpus=$vcpus marker=$marker"
	run_vmm 60 --memory "$mib" --vcpus "$vcpus" --cmdline "$cmd"
	expect_rc 0 "guest powers off after the checks"
	expect_pass entry_rsi entry_interrupts_off entry_long_mode \
		entry_segments elf_bss_zeroed e820_count e820_sorted_and_holes \
		e820_ram_size e820_covers_low_and_kernel cmdline_marker \
		cmdline_order cmdline_placement page_tables_identity \
		mptable_found mptable_fp_checksum mptable_config \
		mptable_checksum mptable_cpus
	grep -qa "^CMDLINE $cmd" "$SERIAL" ||
		err "guest command line does not start with '$cmd': $(grep -a ^CMDLINE "$SERIAL")"
	expect_clean
	grep -a '^E820' "$SERIAL"
}

boot_once 128 1
[ "$ERRORS" -eq 0 ] && boot_once 4096 2
finish
