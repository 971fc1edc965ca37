/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Boot benchmark guest. Carries the Xen ELF note type 18
 * (XEN_ELFNOTE_PHYS32_ENTRY) so that podvisor-vmm and qemu -M microvm both
 * start it through PVH: 32-bit protected mode, paging off. It writes 'Z' to
 * COM1 at once (scripts/bench/boot.sh times exec -> that byte) and halts,
 * so that the VMM's RSS can be read while the guest sits idle.
 */
	.section .note.Xen, "a", @note
	.p2align 2
	.long 4			/* namesz: "Xen\0" */
	.long 8			/* descsz */
	.long 18		/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.p2align 2
	.quad pvh_entry
	.p2align 2

	.section .text
	.code32
	.globl pvh_entry
pvh_entry:
	mov $0x3f8, %dx
	mov $'Z', %al
	out %al, %dx
	mov $'\n', %al
	out %al, %dx
1:	cli
	hlt
	jmp 1b

	.section .note.GNU-stack, "", @progbits
