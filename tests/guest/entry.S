/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Entry of the test guests (64-bit, as the VMM enters an ELF vmlinux: long
 * mode, RSI = zero page, interrupts off), the 256 interrupt stubs and the
 * real-mode trampoline an application processor starts in after SIPI.
 */
	.section .text.entry, "ax"
	.code64
	.globl _start
_start:
	cli
	cld
	/* Keep what the VMM handed us for the boot checks. */
	mov %rsi, entry_regs + 0(%rip)
	pushfq
	popq entry_regs + 8(%rip)
	mov %cs, %ax
	mov %ax, entry_regs + 16(%rip)
	mov %ds, %ax
	mov %ax, entry_regs + 18(%rip)
	mov %ss, %ax
	mov %ax, entry_regs + 20(%rip)
	mov %rsp, entry_regs + 24(%rip)
	mov %cr0, %rax
	mov %rax, entry_regs + 32(%rip)
	mov %cr4, %rax
	mov %rax, entry_regs + 40(%rip)
	lea stack_top(%rip), %rsp
	mov %rsi, %rdi
	call guest_main
1:	cli
	hlt
	jmp 1b

	.section .text
/*
 * One 16-byte stub per vector: push a zero error code when the CPU does not
 * push one, push the vector, join the common path.
 */
	.align 16
	.globl isr_stubs
isr_stubs:
	.set vec, 0
	.rept 256
	.align 16
	.if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
	.else
	pushq $0
	.endif
	pushq $vec
	jmp isr_common
	.set vec, vec + 1
	.endr

isr_common:
	push %rax
	push %rbx
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %rbp
	push %r8
	push %r9
	push %r10
	push %r11
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rsp, %rdi
	call isr_dispatch
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %r11
	pop %r10
	pop %r9
	pop %r8
	pop %rbp
	pop %rdi
	pop %rsi
	pop %rdx
	pop %rcx
	pop %rbx
	pop %rax
	add $16, %rsp
	iretq

/*
 * AP trampoline, copied by the BSP to a free page below 1 MiB; SIPI starts it
 * at CS = page >> 4, IP = 0. EBX carries the page's address through the mode
 * switches so that the code does not depend on where it was copied. The BSP
 * patches the data words at the end (GDT base, far pointers, CR3, stack,
 * 64-bit entry) before sending SIPI.
 */
	.section .rodata
	.globl ap_tramp_start, ap_tramp_end
	.globl ap_tramp_gdtr, ap_tramp_pm32, ap_tramp_lm64
	.globl ap_tramp_cr3, ap_tramp_stack, ap_tramp_entry
	.code16
ap_tramp_start:
	cli
	cld
	mov %cs, %ax
	mov %ax, %ds
	xor %ebx, %ebx
	mov %ax, %bx
	shl $4, %ebx
	lgdtl ap_tramp_gdtr - ap_tramp_start
	mov %cr0, %eax
	or $1, %eax
	mov %eax, %cr0
	ljmpl *(ap_tramp_pm32 - ap_tramp_start)
	.code32
ap_pm32:
	mov $0x18, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov %cr4, %eax
	or $0x20, %eax			/* PAE */
	mov %eax, %cr4
	mov (ap_tramp_cr3 - ap_tramp_start)(%ebx), %eax
	mov %eax, %cr3
	mov $0xc0000080, %ecx		/* EFER.LME */
	rdmsr
	or $0x100, %eax
	wrmsr
	mov %cr0, %eax
	or $0x80000000, %eax
	mov %eax, %cr0
	ljmpl *(ap_tramp_lm64 - ap_tramp_start)(%ebx)
	.code64
ap_lm64:
	mov $0x18, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov (ap_tramp_stack - ap_tramp_start)(%rbx), %rsp
	mov (ap_tramp_entry - ap_tramp_start)(%rbx), %rax
	jmp *%rax
	.align 8
ap_tramp_gdt:
	.quad 0
	/* Same selectors as the VMM's boot GDT (CS 0x10, DS 0x18), so the
	 * IDT the AP shares with the BSP names a 64-bit code segment here too. */
	.quad 0x00cf9a000000ffff	/* 0x08: 32-bit code */
	.quad 0x00af9a000000ffff	/* 0x10: 64-bit code */
	.quad 0x00cf92000000ffff	/* 0x18: data */
ap_tramp_gdtr:
	.word 31
	.long 0				/* patched: page + gdt offset */
	.align 4
ap_tramp_pm32:
	.long 0				/* patched: page + ap_pm32 offset */
	.word 0x08
	.align 4
ap_tramp_lm64:
	.long 0				/* patched: page + ap_lm64 offset */
	.word 0x10
	.align 8
ap_tramp_cr3:
	.quad 0
ap_tramp_stack:
	.quad 0
ap_tramp_entry:
	.quad 0
ap_tramp_end:
	.globl ap_tramp_off_pm32, ap_tramp_off_lm64, ap_tramp_off_gdt
	.set ap_tramp_off_pm32, ap_pm32 - ap_tramp_start
	.set ap_tramp_off_lm64, ap_lm64 - ap_tramp_start
	.set ap_tramp_off_gdt, ap_tramp_gdt - ap_tramp_start

	.section .bss
	.align 16
	.globl entry_regs
entry_regs:
	.skip 64
	.align 4096
stack_bottom:
	.skip 16384
stack_top:

	.section .note.GNU-stack, "", @progbits
