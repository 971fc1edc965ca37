#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A hostile virtio-blk driver: each malformed ring must set NEEDS_RESET, be
# logged by the VMM, and leave the VMM (and, after reset, the device)
# working; the guest's later PASS lines prove the VMM kept running.
. "$(dirname "$0")/lib.sh"
need_kvm

truncate -s 1M "$T/disk.img"
run_vmm 120 --memory 128 --disk "$T/disk.img" --cmdline "test=hostile"
expect_rc 0 "guest powers off after the checks"
expect_pass hostile_baseline_read hostile_loop_chain \
	hostile_next_out_of_range hostile_head_out_of_range \
	hostile_addr_outside_ram hostile_addr_wraps hostile_addr_lapic_mmio \
	hostile_len_huge hostile_avail_idx_ahead hostile_ring_outside_ram \
	hostile_queue_select_out_of_range hostile_junk_access_survived \
	hostile_pci_other_bus hostile_pci_cf8_disabled \
	hostile_msix_vector_out_of_range hostile_bar_moves_survived \
	hostile_msix_address_in_ram hostile_after_bogus_msi \
	hostile_read_into_readonly_buffer hostile_readonly_status \
	hostile_short_header hostile_after_direction_cases \
	hostile_vmm_alive_at_end
n=$(grep -ac 'device needs reset' "$VMMLOG")
[ "$n" -ge 9 ] || err "VMM logged 'device needs reset' $n times for 9+ broken rings"
grep -a 'device needs reset' "$VMMLOG" | head -n 12
expect_clean
finish
