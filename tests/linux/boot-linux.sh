#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The minimal guest kernel (scripts/build-guest-kernel.sh) booted by
# podvisor-vmm with virtio-blk, -rng, -console and -vsock. Asserts from the
# kernel's own log: our command line echoed, our e820 map, each virtio
# device enumerated on PCI with vendor 1af4 and its device id, virtio_blk
# reporting the disk's exact size, and the virtio-rng driver brought up
# (virtio-rng registers its hwrng once the device is live; Linux prints
# nothing for that, so the VMM's debug log of DRIVER_OK is what shows it).
# The VM is stopped as soon as every line has been seen.
#
# Env: PODVISOR_GUEST_KERNEL  bzImage or vmlinux to boot instead of the
#                             cached build; LINUX_BOOT_SECS time limit (360).
set -u

BUILD=${PODVISOR_BUILD:?run through meson test, or set PODVISOR_BUILD}
SRC=${PODVISOR_SOURCE:?run through meson test, or set PODVISOR_SOURCE}
VMM=${PODVISOR_VMM:-$BUILD/src/podvisor-vmm/podvisor-vmm}
LIMIT=${LINUX_BOOT_SECS:-360}
MARK=pvlinux-$$-$RANDOM
SECTORS=65543 # odd, so a size rounded anywhere shows
MEM_MIB=256

skip() {
	echo "SKIP: $*"
	exit 77
}

[ -e /dev/kvm ] || skip "needs /dev/kvm (missing on this host)"
[ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "needs read/write /dev/kvm"
[ -x "$VMM" ] || skip "needs podvisor-vmm ($VMM not built)"

kernel=${PODVISOR_GUEST_KERNEL:-}
if [ -z "$kernel" ]; then
	# Building takes tens of minutes on 2 cores, longer than this test's
	# time limit: use the cache, build it first with the script.
	kernel=$("$SRC/scripts/build-guest-kernel.sh" --cached-only) ||
		skip "guest kernel not built yet; run scripts/build-guest-kernel.sh first"
	# The ELF vmlinux next to it, entered through PVH: on PVM hosts every
	# instruction of the bzImage decompressor would be emulated too.
	kernel=$(dirname "$kernel")/vmlinux
fi
[ -f "$kernel" ] || skip "guest kernel $kernel missing"

T=$(mktemp -d /tmp/pv-linux.XXXXXX)
VMM_PID=
cleanup() {
	if [ -n "$VMM_PID" ]; then
		kill "$VMM_PID" 2>/dev/null
		wait "$VMM_PID" 2>/dev/null
	fi
	rm -rf "$T"
}
trap cleanup EXIT

truncate -s $((SECTORS * 512)) "$T/disk.img"
: >"$T/serial.log"
cmdline="console=ttyS0 earlyprintk=ttyS0 ip=dhcp panic=-1 pvmark=$MARK"
start=$(date +%s)
"$VMM" --kernel "$kernel" --memory $MEM_MIB --vcpus 1 \
	--cmdline "$cmdline" --disk "$T/disk.img" --rng \
	--console-socket "$T/con.sock" \
	--vsock-cid 3 --vsock-uds "$T/vsock" \
	--console-log "$T/serial.log" --log-level debug \
	>"$T/vmm.out" 2>"$T/vmm.log" &
VMM_PID=$!

hex() { printf '0x%016x' "$1"; }
low_end=$((MEM_MIB * 1024 * 1024))
# name|extended regex over the kernel log (vmm: the VMM's log)
checks=(
	"command line echoed|Command line: .*pvmark=$MARK"
	"e820 low RAM|BIOS-e820: \[mem $(hex 0)-$(hex $((0x9fc00 - 1)))\] usable"
	"e820 reserved below 1 MiB|BIOS-e820: \[mem $(hex 0x9fc00)-$(hex $((0x100000 - 1)))\] reserved"
	"e820 RAM from 1 MiB|BIOS-e820: \[mem $(hex 0x100000)-$(hex $((low_end - 1)))\] usable"
	"PCI virtio-blk 1af4:1042|pci 0000:00:[0-9a-f.]+: \[1af4:1042\]"
	"PCI virtio-rng 1af4:1044|pci 0000:00:[0-9a-f.]+: \[1af4:1044\]"
	"PCI virtio-vsock 1af4:1053|pci 0000:00:[0-9a-f.]+: \[1af4:1053\]"
	"PCI virtio-console 1af4:1043|pci 0000:00:[0-9a-f.]+: \[1af4:1043\]"
	"virtio_blk exact size|virtio_blk virtio[0-9]+: \[vda\] $SECTORS 512-byte logical blocks"
	"virtio-rng driver live (hwrng)|vmm:virtio-rng[0-9]*: driver ready"
)

# check_line REGEX: 0 when the kernel log (or with vmm:, the VMM log) has it
check_line() {
	case "$1" in
	vmm:*) grep -Eqa -- "${1#vmm:}" "$T/vmm.log" ;;
	*) grep -Eqa -- "$1" "$T/serial.log" ;;
	esac
}

missing() {
	local c out=()
	for c in "${checks[@]}"; do
		check_line "${c#*|}" || out+=("${c%%|*}")
	done
	printf '%s\n' "${out[@]}"
}

while :; do
	left=$(missing)
	[ -z "$left" ] && break
	kill -0 "$VMM_PID" 2>/dev/null || break
	[ $(($(date +%s) - start)) -ge "$LIMIT" ] && break
	sleep 1
done
elapsed=$(($(date +%s) - start))
alive=yes
kill -0 "$VMM_PID" 2>/dev/null || alive=no

if [ -z "$left" ]; then
	for c in "${checks[@]}"; do
		re=${c#*|} f=$T/serial.log
		[ "${re#vmm:}" != "$re" ] && re=${re#vmm:} f=$T/vmm.log
		echo "ok: ${c%%|*}: $(grep -Eoa -- "$re" "$f" | head -n1 | tr -d '\r')"
	done
	echo "OK: all kernel log lines seen after ${elapsed} s"
	exit 0
fi
echo "---- kernel log (last 60 lines) ----"
tr -d '\r' <"$T/serial.log" | tail -n 60
echo "---- podvisor-vmm log ----"
tail -n 30 "$T/vmm.log"
echo "VMM still running: $alive; after ${elapsed} s these were never seen:"
printf '%s\n' "$left" | sed 's/^/  /'
echo "FAILED"
exit 1
