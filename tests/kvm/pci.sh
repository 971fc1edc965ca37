#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# PCI enumeration from inside the guest: host bridge, every virtio function's
# ids, BARs, capabilities (virtio vendor caps, MSI-X) and a BAR move.
. "$(dirname "$0")/lib.sh"
need_kvm

truncate -s 1M "$T/disk.img"
run_vmm 60 --memory 128 --disk "$T/disk.img" --rng \
	--console-socket "$T/con.sock" --vsock-cid 3 --vsock-uds "$T/vsock.sock" \
	--cmdline "test=pci expect=blk,rng,console,vsock"
expect_rc 0 "guest powers off after the checks"
expect_pass pci_host_bridge
for d in blk rng console vsock; do
	expect_pass "${d}_ids" "${d}_bar0" "${d}_virtio_caps" "${d}_msix_cap" \
		"${d}_bar_move"
done
for id in 1042 1044 1043 1053; do
	grep -qa "^PCI 00:..\.0 1af4:$id " "$SERIAL" ||
		err "no virtio device 1af4:$id in the guest's PCI scan"
done
expect_clean
grep -a '^PCI' "$SERIAL"
finish
