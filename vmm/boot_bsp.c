/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The boot CPU's state at the kernel entry. LINUX64: long mode with the
 * identity map, CS 0x10 (64-bit), DS/ES/SS 0x18, RSI = zero page
 * (Documentation/arch/x86/boot.rst, "64-bit Boot Protocol"). PVH: 32-bit
 * protected mode, flat segments, paging off, EBX = hvm_start_info.
 * Interrupts are off (RFLAGS = 2) in both.
 */
#include <linux/kvm.h>
#include <string.h>

#include "podvisor/boot.h"
#include "podvisor/kvm.h"
#include "podvisor/vm.h"

#include "boot_priv.h"

#define CR0_PE   (1ULL << 0)
#define CR0_ET   (1ULL << 4)
#define CR0_PG   (1ULL << 31)
#define CR4_PAE  (1ULL << 5)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)

static struct kvm_segment boot_seg(uint16_t sel, uint8_t type, bool code64)
{
	return (struct kvm_segment){
	    .base = 0,
	    .limit = 0xffffffff,
	    .selector = sel,
	    .type = type,
	    .present = 1,
	    .dpl = 0,
	    .db = code64 ? 0 : 1,
	    .s = 1,
	    .l = code64 ? 1 : 0,
	    .g = 1,
	};
}

void boot_sregs_fill(struct kvm_sregs *s, const struct boot_info *bi)
{
	bool lm = bi->entry_mode == BOOT_ENTRY_LINUX64;
	struct kvm_segment data = boot_seg(BOOT_GDT_DATA, 3, false);

	s->cs = lm ? boot_seg(BOOT_GDT_CODE64, 11, true)
	           : boot_seg(BOOT_GDT_CODE32, 11, false);
	s->ds = s->es = s->fs = s->gs = s->ss = data;
	/* VM entry wants a usable TR: a busy 32/64-bit TSS, unused here */
	s->tr = (struct kvm_segment){.limit = 0x67, .type = 11, .present = 1};
	s->ldt = (struct kvm_segment){.type = 2, .present = 1, .unusable = 1};
	s->gdt.base = BOOT_GDT_ADDR;
	s->gdt.limit = 8 * BOOT_GDT_ENTRIES - 1;
	s->idt.base = 0;
	s->idt.limit = 0;
	s->cr0 = CR0_PE | CR0_ET;
	s->cr4 = 0;
	s->efer = 0;
	if (lm) {
		s->cr0 |= CR0_PG;
		s->cr3 = bi->pml4;
		s->cr4 = CR4_PAE;
		s->efer = EFER_LME | EFER_LMA;
	}
}

void boot_regs_fill(struct kvm_regs *r, const struct boot_info *bi)
{
	memset(r, 0, sizeof(*r));
	r->rflags = 2;
	r->rip = bi->entry;
	if (bi->entry_mode == BOOT_ENTRY_LINUX64) {
		r->rsi = bi->zero_page;
		r->rsp = r->rbp = BOOT_STACK_TOP;
	} else {
		r->rbx = bi->start_info;
	}
}

int boot_setup_bsp(struct vm *vm, int vcpu_fd, const struct boot_info *bi)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	int r;

	(void)vm;
	r = kvm_ioctl(vcpu_fd, KVM_GET_SREGS, &sregs);
	if (r < 0)
		return r;
	boot_sregs_fill(&sregs, bi);
	r = kvm_ioctl(vcpu_fd, KVM_SET_SREGS, &sregs);
	if (r < 0)
		return r;
	boot_regs_fill(&regs, bi);
	r = kvm_ioctl(vcpu_fd, KVM_SET_REGS, &regs);
	return r < 0 ? r : 0;
}
