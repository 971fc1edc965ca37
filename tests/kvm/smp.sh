#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Two vCPUs: the guest starts vCPU 1 with INIT/SIPI through a real-mode
# trampoline, as Linux does; then virtio-rng's MSI-X vector aimed at APIC id
# 1 must be taken by that vCPU; then the AP moves a BAR 2000 times while the
# BSP uses it (lock order in the VMM). (kvm_boot checks the MP table.)
. "$(dirname "$0")/lib.sh"
need_kvm

truncate -s 1M "$T/disk.img"
run_vmm 90 --memory 128 --vcpus 2 --rng --disk "$T/disk.img" \
	--cmdline "test=smp vcpus=2 rng=1 race=1"
expect_rc 0 "guest powers off after the checks"
expect_pass smp_trampoline_page smp_ap_started smp_ap_apic_id \
	smp_rng_request smp_msix_to_ap smp_bar_move_race
expect_clean
finish
