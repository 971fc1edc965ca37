#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The test guests must run under the PVM instruction emulator: general
# registers only. Fails when the disassembly of a guest ELF shows SSE/AVX
# registers, x87, int3 or syscall/sysenter. Usage: check-isa.sh ELF...
set -u
command -v objdump >/dev/null || { echo "SKIP: needs objdump (binutils)"; exit 77; }
bad=0
for elf in "$@"; do
	hits=$(objdump -d --no-show-raw-insn "$elf" |
		grep -E '%[xyz]mm[0-9]|%st\b|%st\(|\bf(ld|st|stp|nclex|xsave|xrstor|init|ninit)\b|\bint3\b|\bsyscall\b|\bsysenter\b|\bxsave|\bxrstor|\bldmxcsr|\bstmxcsr' |
		head -n 5)
	if [ -n "$hits" ]; then
		echo "$elf uses instructions the PVM emulator cannot run:"
		echo "$hits"
		bad=1
	else
		echo "$elf: general-register instructions only"
	fi
done
exit $bad
