// SPDX-License-Identifier: Apache-2.0
/*
 * IDT and local APIC (xAPIC MMIO at 0xfee00000) for taking MSI-X interrupts.
 * Exceptions end the test with a FAIL line naming the vector and RIP unless
 * a test announced it with exc_expect().
 */
#include "rt.h"

struct idt_entry {
	uint16_t off_lo, sel;
	uint8_t ist, type;
	uint16_t off_mid;
	uint32_t off_hi, zero;
} __attribute__((packed));

extern char isr_stubs[];
static struct idt_entry idt[256] __attribute__((aligned(16)));
volatile uint32_t irq_count[256];
volatile uint8_t irq_cpu[256];
static unsigned int hook_vec = 256;
static exc_hook_fn hook_fn;

void idt_load(void)
{
	load_idt((uint64_t)idt, sizeof(idt) - 1);
}

void load_idt(uint64_t base, uint16_t limit)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) d = {limit, base};

	__asm__ volatile("lidt %0" : : "m"(d));
}

void idt_init(void)
{
	uint16_t cs;

	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	for (unsigned int i = 0; i < 256; i++) {
		uint64_t a = (uint64_t)(isr_stubs + 16 * i);

		idt[i].off_lo = a & 0xffff;
		idt[i].sel = cs;
		idt[i].ist = 0;
		idt[i].type = 0x8e; /* present, DPL 0, interrupt gate */
		idt[i].off_mid = (a >> 16) & 0xffff;
		idt[i].off_hi = a >> 32;
		idt[i].zero = 0;
	}
	load_idt((uint64_t)idt, sizeof(idt) - 1);
}

uint32_t lapic_read(uint32_t reg)
{
	return mmio_r32(LAPIC_BASE + reg);
}

void lapic_write(uint32_t reg, uint32_t v)
{
	mmio_w32(LAPIC_BASE + reg, v);
}

uint32_t lapic_id(void)
{
	return lapic_read(0x20) >> 24;
}

void lapic_init(void)
{
	uint64_t base = rdmsr(0x1b);

	if (!(base & (1u << 11)) || (base & ~0xfffull) != LAPIC_BASE)
		printf("INFO lapic: APIC base MSR 0x%lx (expected enabled at "
		       "0x%llx)\n",
		       (unsigned long)base, LAPIC_BASE);
	/* Mask the 8259s: KVM resets the BSP's LINT0 to ExtINT, and an
	 * unprogrammed PIC would deliver IRQs as exception vectors. */
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	lapic_write(0x80, 0);     /* TPR: accept every priority */
	lapic_write(0xf0, 0x1ff); /* SVR: software enable, spurious 0xff */
}

void exc_expect(unsigned int vec, exc_hook_fn fn)
{
	hook_vec = vec;
	hook_fn = fn;
}

static const char *exc_name(uint64_t v)
{
	static const char *const names[] = {
	    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
	    "#DF", "?",   "#TS", "#NP", "#SS", "#GP", "#PF", "?",
	    "#MF", "#AC", "#MC", "#XM", "#VE", "#CP"};

	return v < ARRAY_SIZE(names) ? names[v] : "reserved";
}

void isr_dispatch(struct irq_frame *f);
void isr_dispatch(struct irq_frame *f)
{
	uint64_t cr2;

	if (f->vector < 32) {
		if (f->vector == hook_vec && hook_fn) {
			exc_hook_fn fn = hook_fn;

			hook_fn = NULL;
			hook_vec = 256;
			fn(f);
			return;
		}
		__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
		fail("exception",
		     "vector %lu %s error 0x%lx rip 0x%lx cr2 0x%lx",
		     (unsigned long)f->vector, exc_name(f->vector),
		     (unsigned long)f->error, (unsigned long)f->rip,
		     (unsigned long)cr2);
		guest_finish();
	}
	irq_count[f->vector]++;
	irq_cpu[f->vector] = lapic_id();
	if (f->vector != 0xff)
		lapic_write(0xb0, 0); /* EOI */
}

bool irq_wait(unsigned int vec, uint32_t seen, uint64_t timeout_us)
{
	uint64_t end = now_us() + timeout_us;
	bool ok;

	irq_enable();
	while (irq_count[vec] <= seen && now_us() < end)
		cpu_relax();
	ok = irq_count[vec] > seen;
	irq_disable();
	return ok;
}
