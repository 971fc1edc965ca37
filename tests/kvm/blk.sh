#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# virtio-blk: the guest reads what the host wrote, writes a pattern, flushes
# and reads it back; the host then finds the pattern in the image file. A
# read-only disk refuses the write and the file stays byte-identical; with two
# disks the guest writes the second and the first stays untouched.
. "$(dirname "$0")/lib.sh"
need_kvm

SECTORS=2048
# line WHO SECTOR: the 16-byte line the guest and host fill sectors with.
sector_data() { yes "$1-s$(printf %05u "$2")" | head -c 512; }
put_sector() { sector_data "$2" "$3" | dd of="$1" bs=512 seek="$3" conv=notrunc status=none; }
get_sector() { dd if="$1" bs=512 skip="$2" count=1 status=none; }

make_image() {
	truncate -s $((SECTORS * 512)) "$1"
	put_sector "$1" hostdata 0
	put_sector "$1" hostdata 1
}

# read-write disk
make_image "$T/rw.img"
run_vmm 60 --memory 128 --disk "$T/rw.img,serial=pv-test-disk-0" \
	--cmdline "test=blk sectors=$SECTORS serial=pv-test-disk-0 ro=0"
expect_rc 0 "guest powers off after the checks"
expect_pass blk_ro_feature blk_capacity blk_read_host_data blk_write \
	blk_write_last_sector blk_flush blk_read_back blk_read_back_split \
	blk_read_last_sector blk_get_id blk_read_past_end blk_read_across_end \
	blk_unsupported_type blk_still_healthy blk_ring_wraps
expect_clean
for s in 1 2 3 4 5 6 7 8 $((SECTORS - 1)); do
	cmp -s <(get_sector "$T/rw.img" $s) <(sector_data guestdat $s) ||
		err "image sector $s does not hold the guest's pattern: $(get_sector "$T/rw.img" $s | head -c 16)"
done
cmp -s <(get_sector "$T/rw.img" 0) <(sector_data hostdata 0) ||
	err "image sector 0 changed although the guest only read it"
[ "$(stat -c %s "$T/rw.img")" = $((SECTORS * 512)) ] ||
	err "image size changed to $(stat -c %s "$T/rw.img")"

# read-only disk
make_image "$T/ro.img"
cp "$T/ro.img" "$T/ro.orig"
run_vmm 60 --memory 128 --disk "$T/ro.img,readonly" \
	--cmdline "test=blk sectors=$SECTORS ro=1"
expect_rc 0 "guest powers off after the checks"
expect_pass blk_ro_feature blk_capacity blk_ro_write_refused blk_ro_data_intact
expect_clean
cmp -s "$T/ro.img" "$T/ro.orig" || err "the read-only image changed"
# RAM above 4 GiB: DMA there works, a buffer running into the MMIO gap breaks
# the device instead
make_image "$T/hi.img"
run_vmm 90 --memory 5120 --disk "$T/hi.img" \
	--cmdline "test=blk sectors=$SECTORS serial=podvisor0 ro=0 high=5120"
expect_rc 0 "guest powers off after the checks"
expect_pass blk_dma_above_4g blk_buffer_into_mmio_gap_refused
expect_clean

# two disks: the guest writes the second; the first stays as the host made it
make_image "$T/d0.img"
make_image "$T/d1.img"
cp "$T/d0.img" "$T/d0.orig"
run_vmm 60 --memory 128 --disk "$T/d0.img,serial=first" --disk "$T/d1.img,serial=second" \
	--cmdline "test=blk sectors=$SECTORS serial=second ro=0 disk=1"
expect_rc 0 "guest powers off after the checks"
expect_pass blk_capacity blk_read_host_data blk_write blk_read_back blk_get_id
expect_clean
cmp -s "$T/d0.img" "$T/d0.orig" || err "writing disk 1 changed disk 0"
cmp -s <(get_sector "$T/d1.img" 1) <(sector_data guestdat 1) ||
	err "disk 1 sector 1 does not hold the guest's pattern"
finish
