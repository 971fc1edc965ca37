#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Seeded random register traffic from inside the guest (PCI config of every
# function, every virtio structure, stray ports; see tests/guest/t_fuzz.c)
# against all device models: the VMM must survive and, once the BARs are
# restored, virtio-blk must serve a read. Seed 1 every time plus one random
# seed (PV_FUZZ_SEED=N reruns one); the seeds are printed.
. "$(dirname "$0")/lib.sh"
need_kvm

truncate -s 1M "$T/disk.img"
for seed in 1 "${PV_FUZZ_SEED:-$((RANDOM * 32768 + RANDOM + 2))}"; do
	echo "fuzz seed $seed"
	rm -f "$T"/*.sock*
	run_vmm 100 --memory 128 --disk "$T/disk.img" --rng \
		--console-socket "$T/con.sock" --vsock-cid 3 --vsock-uds "$T/vsock.sock" \
		--cmdline "test=fuzz seed=$seed ops=15000"
	expect_rc 0 "guest powers off after the fuzz (seed $seed)"
	expect_pass fuzz_vmm_survived fuzz_blk_works_after
	expect_clean
	[ "$ERRORS" -eq 0 ] || break
done
finish
