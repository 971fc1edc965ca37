#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Seeded random descriptor chains against virtio-blk from inside the guest
# (tests/guest/t_ringfuzz.c): the VMM must survive every one, log each
# broken ring, and serve a good read afterwards. Seed 1 plus one random seed
# (PV_FUZZ_SEED=N reruns one); the seeds are printed.
. "$(dirname "$0")/lib.sh"
need_kvm

truncate -s 1M "$T/disk.img"
for seed in 1 "${PV_FUZZ_SEED:-$((RANDOM * 32768 + RANDOM + 2))}"; do
	echo "ringfuzz seed $seed"
	run_vmm 100 --memory 64 --disk "$T/disk.img" \
		--cmdline "test=ringfuzz seed=$seed ops=150"
	expect_rc 0 "guest powers off after the fuzz (seed $seed)"
	expect_pass ringfuzz_vmm_survived ringfuzz_blk_works_after
	expect_clean
	grep -a 'INFO ringfuzz' "$SERIAL"
	[ "$ERRORS" -eq 0 ] || break
done
finish
