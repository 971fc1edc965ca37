#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Boot benchmark: podvisor-vmm side by side with qemu-system-x86_64 -M microvm
# in the same run, interleaved. Prints figures and ratios; it is not a test.
#
#  1. VMM start cost: tests/guest/bench-pvh.elf (PVH note, writes 'Z' to
#     COM1 at its entry, then halts): time from fork+exec of the VMM to that
#     byte on the VMM's stdout. Median of N runs each.
#  2. Memory overhead for a 128 MiB guest: VmRSS minus the resident part of
#     guest RAM (mappings >= 128 MiB in /proc/<pid>/smaps), read 300 ms after
#     the byte while the guest idles.
#  3. With --linux: the minimal guest kernel (scripts/build-guest-kernel.sh)
#     to its "Memory: " log line, which every boot prints early (on PVM
#     hosts "Run /init" takes minutes; pick it with --linux-marker).
#
# Usage: scripts/bench/boot.sh [--build DIR] [--runs N] [--linux]
#        [--linux-marker STR] [--linux-runs N]
set -euo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd)
build=${PODVISOR_BUILD:-$src/build}
runs=10
linux=0
linux_marker="Memory: "
linux_runs=3
while [ $# -gt 0 ]; do
	case "$1" in
	--build) build=$(cd "$2" && pwd); shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--linux) linux=1; shift ;;
	--linux-marker) linux_marker=$2; shift 2 ;;
	--linux-runs) linux_runs=$2; shift 2 ;;
	-h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "boot.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
done

vmm=$build/src/podvisor-vmm/podvisor-vmm
elf=$build/tests/guest/bench-pvh.elf
helper=$build/tests/kvm/pv-boottime
qemu=$(command -v qemu-system-x86_64 || true)
for f in "$vmm" "$elf" "$helper"; do
	[ -f "$f" ] || {
		echo "boot.sh: $f missing; build: meson setup $build && ninja -C $build" >&2
		exit 1
	}
done
[ -n "$qemu" ] || {
	echo "boot.sh: qemu-system-x86_64 missing (apt-get install qemu-system-x86)" >&2
	exit 1
}
[ -r /dev/kvm ] && [ -w /dev/kvm ] || { echo "boot.sh: needs /dev/kvm" >&2; exit 1; }

pv_cmd=("$vmm" --kernel "$elf" --memory 128 --vcpus 1)
qemu_cmd=("$qemu" -M microvm -enable-kvm -m 128 -smp 1 -nodefaults
	-no-user-config -display none -serial stdio -kernel "$elf")
tmp=$(mktemp -d /tmp/pv-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

field() { sed -n "s/.*\b$1=\(-\?[0-9]*\).*/\1/p"; }
median() {
	sort -n | awk '{ v[NR] = $1 }
		END { if (NR == 0) print "n/a";
		      else if (NR % 2) print v[(NR + 1) / 2];
		      else print int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a == "n/a" || b == "n/a" || b == 0) print "n/a";
		else printf "%.3f", a / b }'
}

# measure NAME ARGS...: one run; appends the figures to $tmp/NAME.*
measure() {
	local name=$1 out
	shift
	if out=$("$helper" --rss 128 --timeout-ms 20000 -- "$@" 2>/dev/null); then
		echo "$out" | field first_output_us >>"$tmp/$name.us"
		echo "$out" | field overhead_kib >>"$tmp/$name.kib"
	else
		echo "  $name: no 'Z' within 20 s" >&2
	fi
}

echo "VMM start cost: $runs interleaved runs each, exec -> first guest serial byte"
for ((i = 0; i < runs; i++)); do
	measure podvisor "${pv_cmd[@]}"
	measure qemu "${qemu_cmd[@]}"
done
pv_us=$(median <"$tmp/podvisor.us" 2>/dev/null || echo n/a)
q_us=$(median <"$tmp/qemu.us" 2>/dev/null || echo n/a)
pv_kib=$(median <"$tmp/podvisor.kib" 2>/dev/null || echo n/a)
q_kib=$(median <"$tmp/qemu.kib" 2>/dev/null || echo n/a)
printf '  %-10s median %8s us   (runs: %s)\n' podvisor "$pv_us" "$(tr '\n' ' ' <"$tmp/podvisor.us" 2>/dev/null)"
printf '  %-10s median %8s us   (runs: %s)\n' qemu "$q_us" "$(tr '\n' ' ' <"$tmp/qemu.us" 2>/dev/null)"
echo "  ratio podvisor/qemu: $(ratio "$pv_us" "$q_us")   (target <= 0.1, podvisor <= 5000 us)"
echo "Memory overhead, 128 MiB guest (VmRSS - resident guest RAM), median"
printf '  %-10s %8s KiB\n' podvisor "$pv_kib" qemu "$q_kib"
echo "  ratio podvisor/qemu: $(ratio "$pv_kib" "$q_kib")   (target <= 0.1, podvisor <= 3072 KiB)"

[ "$linux" = 1 ] || exit 0
kernel_dir=$("$src/scripts/build-guest-kernel.sh" 2>/dev/null | tail -n 1)
kernel_dir=$(dirname "$kernel_dir")
vmlinux=$kernel_dir/vmlinux
[ -f "$vmlinux" ] || { echo "boot.sh: no vmlinux next to the built kernel ($kernel_dir)" >&2; exit 1; }
# qemu gets the same arguments podvisor's PVM profile appends: read them back
# from a test guest, which prints the command line it was given.
pvm_args=
testelf=$build/tests/guest/pvguest.elf
if [ -f "$testelf" ]; then
	pvm_args=$(timeout 30 "$vmm" --kernel "$testelf" --memory 64 \
		--cmdline "test=poweroff" 2>/dev/null |
		sed -n "s/^INFO cmdline: test=poweroff //p" || true)
fi
base="console=ttyS0 panic=-1"
echo "Linux ($vmlinux) to '$linux_marker': $linux_runs interleaved runs each"
for ((i = 0; i < linux_runs; i++)); do
	out=$("$helper" --until "$linux_marker" --timeout-ms 300000 -- \
		"$vmm" --kernel "$vmlinux" --memory 256 --cmdline "$base" 2>/dev/null) &&
		echo "$out" | field first_output_us >>"$tmp/pvlinux.us"
	out=$("$helper" --until "$linux_marker" --timeout-ms 300000 -- \
		"$qemu" -M microvm -enable-kvm -cpu kvm64,vendor=GenuineIntel -m 256 \
		-nodefaults -no-user-config -display none -serial stdio \
		-kernel "$vmlinux" -append "$base $pvm_args" 2>/dev/null) &&
		echo "$out" | field first_output_us >>"$tmp/qlinux.us"
done
pl=$(median <"$tmp/pvlinux.us" 2>/dev/null || echo n/a)
ql=$(median <"$tmp/qlinux.us" 2>/dev/null || echo n/a)
printf '  %-10s median %10s us\n' podvisor "$pl" qemu "$ql"
echo "  ratio podvisor/qemu: $(ratio "$pl" "$ql")   (target <= 1.0)"
