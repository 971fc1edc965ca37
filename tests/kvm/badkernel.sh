#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Broken kernel files: podvisor-vmm must refuse each with exit 2 and one
# line naming the kernel, never crash, hang or start the guest.
. "$(dirname "$0")/lib.sh"
need_kvm

# put_le FILE OFFSET BYTES VALUE: writes VALUE little-endian at OFFSET.
put_le() {
	local f=$1 off=$2 n=$3 v=$4 s= i
	for ((i = 0; i < n; i++)); do
		s+=$(printf '\\x%02x' $(((v >> (8 * i)) & 0xff)))
	done
	printf "$s" | dd of="$f" bs=1 seek="$off" conv=notrunc status=none
}

# variant NAME: a copy of the test guest to break.
variant() {
	cp "$GUEST" "$T/$1.elf"
	echo "$T/$1.elf"
}

try() {
	local name=$1 f=$2 out rc
	out=$(timeout 20 "$VMM" --kernel "$f" --memory 64 --console-log "$T/serial-$name" \
		--cmdline test=poweroff 2>&1 >/dev/null)
	rc=$?
	echo "$name -> exit $rc: $(grep -a error <<<"$out" | head -n 2)"
	[ "$rc" = 2 ] || err "$name: exit $rc, expected 2 (bad configuration)"
	grep -a error <<<"$out" | grep -q -e kernel -e "$f" ||
		err "$name: the error names neither the kernel field nor its file"
	! grep -qa '^PASS' "$T/serial-$name" || err "$name: the guest ran"
}

PH=64 # first program header (e_phoff of our guest)
: >"$T/empty.elf"
try empty "$T/empty.elf"
head -c 100 "$GUEST" >"$T/short.elf"
try truncated_header "$T/short.elf"
f=$(variant paddr_outside_ram); put_le "$f" $((PH + 24)) 8 $((0x7f0000000000)); try paddr_outside_ram "$f"
f=$(variant paddr_wraps); put_le "$f" $((PH + 24)) 8 -4096; try paddr_wraps "$f"
f=$(variant filesz_past_eof)
put_le "$f" $((PH + 32)) 8 $((0x10000000))
put_le "$f" $((PH + 40)) 8 $((0x10000000))
try filesz_past_eof "$f"
f=$(variant memsz_huge); put_le "$f" $((PH + 40)) 8 $((0x7fffffffffff0000)); try memsz_huge "$f"
f=$(variant offset_past_eof); put_le "$f" $((PH + 8)) 8 $((0x7fffffff)); try offset_past_eof "$f"
f=$(variant phoff_past_eof); put_le "$f" 32 8 $((0x7fffffff)); try phoff_past_eof "$f"
f=$(variant phnum_huge); put_le "$f" 56 2 65535; try phnum_huge "$f"
f=$(variant over_zero_page); put_le "$f" $((PH + 24)) 8 $((0x7000)); try load_over_zero_page "$f"
f=$(variant entry_outside); put_le "$f" 24 8 $((0x7f0000000000)); try entry_outside_image "$f"
[ "$ERRORS" -eq 0 ] || { echo "FAILED: $ERRORS error(s)"; exit 1; }
echo OK
