/* SPDX-License-Identifier: Apache-2.0 */
/*
 * PVH entry check guest (tests/linux/pvh.sh). Carries the Xen ELF note type
 * 18 (XEN_ELFNOTE_PHYS32_ENTRY), so podvisor-vmm enters it in 32-bit
 * protected mode with paging off and EBX = hvm_start_info. It prints what
 * it was handed on COM1 - the magic, CR0, CS, the command line, every
 * memory map entry, the module list - then powers off through the ACPI
 * sleep port (0x600). 32-bit code, general registers only.
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
	mov $stack_top, %esp
	mov %ebx, %ebp			/* start info */
	mov $s_hello, %esi
	call puts
	cmpl $0x336ec578, (%ebp)
	jne bad
	mov $s_magic, %esi
	call puts
	mov %cr0, %eax
	call puthex32
	mov $s_cs, %esi
	call puts
	xor %eax, %eax
	mov %cs, %ax
	call puthex32
	mov $s_version, %esi
	call puts
	mov 4(%ebp), %eax
	call puthex32
	mov $s_cmdline, %esi
	call puts
	mov 0x18(%ebp), %esi		/* cmdline_paddr (low 32 bits) */
	call puts
	mov $s_rsdp, %esi
	call puts
	mov 0x20(%ebp), %eax
	call puthex32
	/* memory map: memmap_paddr at 0x28, memmap_entries at 0x30 */
	mov 0x28(%ebp), %edi
	mov 0x30(%ebp), %ecx
1:	test %ecx, %ecx
	jz 2f
	push %ecx
	mov $s_e820, %esi
	call puts
	mov 4(%edi), %eax		/* addr, high then low */
	call puthex32
	mov 0(%edi), %eax
	call puthex32
	mov $s_space, %esi
	call puts
	mov 12(%edi), %eax		/* size */
	call puthex32
	mov 8(%edi), %eax
	call puthex32
	mov $s_space, %esi
	call puts
	mov 16(%edi), %eax		/* type */
	call puthex32
	add $24, %edi
	pop %ecx
	dec %ecx
	jmp 1b
2:	mov $s_modules, %esi
	call puts
	mov 0xc(%ebp), %eax		/* nr_modules */
	call puthex32
	mov $s_done, %esi
	call puts
	jmp off
bad:
	mov $s_bad, %esi
	call puts
off:
	mov $0x600, %dx			/* BOOT_PM_SLEEP_PORT: S5 */
	mov $0x34, %al
	out %al, %dx
3:	cli
	hlt
	jmp 3b

/* Writes the NUL-terminated string at %esi to COM1. */
puts:
	mov $0x3f8, %dx
4:	lodsb
	test %al, %al
	jz 5f
	out %al, %dx
	jmp 4b
5:	ret

/* Writes %eax as 8 hex digits. */
puthex32:
	mov $8, %ecx
	mov %eax, %ebx
	mov $0x3f8, %dx
6:	rol $4, %ebx
	mov %ebx, %eax
	and $0xf, %eax
	movb hexdigits(%eax), %al
	out %al, %dx
	dec %ecx
	jnz 6b
	ret

	.section .rodata
hexdigits:	.ascii "0123456789abcdef"
s_hello:	.asciz "\nPVH entered\n"
s_magic:	.asciz "PVH magic ok\nPVH cr0 "
s_cs:		.asciz "\nPVH cs "
s_version:	.asciz "\nPVH version "
s_cmdline:	.asciz "\nPVH cmdline: "
s_rsdp:		.asciz "\nPVH rsdp "
s_e820:		.asciz "\nPVH e820 "
s_space:	.asciz " "
s_modules:	.asciz "\nPVH modules "
s_done:		.asciz "\nPVH done\n"
s_bad:		.asciz "PVH bad magic\n"

	.section .bss
	.p2align 4
	.space 4096
stack_top:

	.section .note.GNU-stack, "", @progbits
