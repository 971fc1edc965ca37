// SPDX-License-Identifier: Apache-2.0
/*
 * Brings vCPU 1 up the way Linux does: INIT, SIPI to a real-mode trampoline
 * below 1 MiB, then protected and long mode on the BSP's page tables.
 * Command line: test=smp vcpus=<n>.
 */
#include "virtio.h"

extern const char ap_tramp_start[], ap_tramp_end[];
extern const char ap_tramp_gdtr[], ap_tramp_pm32[], ap_tramp_lm64[];
extern const char ap_tramp_cr3[], ap_tramp_stack[], ap_tramp_entry[];
extern const char ap_tramp_off_pm32[], ap_tramp_off_lm64[], ap_tramp_off_gdt[];
extern char _end[];

static volatile uint32_t ap_up, ap_apic_id;
static void (*volatile ap_job)(void);
static void msix_to_ap(void);
static void bar_race(void);

void ap_main(void);
void ap_main(void)
{
	uint64_t idtr[2];

	(void)idtr;
	idt_load();
	ap_apic_id = lapic_id();
	lapic_write(0x80, 0);
	lapic_write(0xf0, 0x1ff);
	ap_up = 1;
	/* Idle with interrupts on: MSI-X aimed at this CPU lands here, and an
	 * IPI from the BSP wakes us for a job. */
	for (;;) {
		if (ap_job) {
			ap_job();
			ap_job = NULL;
		}
		__asm__ volatile("sti; hlt");
	}
}

#define TRAMP_OFF(sym) ((uint64_t)(sym) - (uint64_t)ap_tramp_start)

static bool page_is_free(uint64_t page)
{
	uint64_t cr3 = read_cr3() & ~0xfffull, zp = (uint64_t)zero_page;
	uint64_t cl = (uint64_t)cmdline();
	uint8_t gdtr[10];
	uint64_t gdt;

	__asm__ volatile("sgdt %0" : "=m"(gdtr));
	memcpy(&gdt, gdtr + 2, 8);
	/* The VMM's tables sit in low memory: keep clear of the zero page,
	 * the command line, the GDT and the 6 pages of page tables. */
	return !(page == (zp & ~0xfffull) || page == (cl & ~0xfffull) ||
	         page == (gdt & ~0xfffull) ||
	         (page >= cr3 && page < cr3 + 6 * 4096));
}

static uint64_t tramp_page(void)
{
	for (uint64_t p = 0x70000; p >= 0x10000; p -= 0x1000)
		if (page_is_free(p) && page_is_free(p + 0x1000))
			return p;
	return 0;
}

static void patch_tramp(uint64_t page, uint64_t stack)
{
	uint8_t *t = (uint8_t *)page;
	uint32_t v;

	memcpy(t, ap_tramp_start, ap_tramp_end - ap_tramp_start);
	v = page + (uint64_t)ap_tramp_off_gdt;
	memcpy(t + TRAMP_OFF(ap_tramp_gdtr) + 2, &v, 4);
	v = page + (uint64_t)ap_tramp_off_pm32;
	memcpy(t + TRAMP_OFF(ap_tramp_pm32), &v, 4);
	v = page + (uint64_t)ap_tramp_off_lm64;
	memcpy(t + TRAMP_OFF(ap_tramp_lm64), &v, 4);
	*(uint64_t *)(t + TRAMP_OFF(ap_tramp_cr3)) = read_cr3();
	*(uint64_t *)(t + TRAMP_OFF(ap_tramp_stack)) = stack;
	*(uint64_t *)(t + TRAMP_OFF(ap_tramp_entry)) = (uint64_t)ap_main;
}

static void ipi(uint32_t dest, uint32_t icr)
{
	lapic_write(0x310, dest << 24);
	lapic_write(0x300, icr);
	for (int i = 0; i < 1000 && (lapic_read(0x300) & (1u << 12)); i++)
		cpu_relax();
}

void test_smp(void)
{
	unsigned int want = arg_u64("vcpus", 2);
	uint64_t page = tramp_page(), stack, end;

	if (want < 2) {
		fail("smp", "run with --vcpus 2 and vcpus=2");
		return;
	}
	if (!check(page && page + 0x1000 < 0x9fc00 && page >= 0x10000,
	           "smp_trampoline_page", "no free page below 1 MiB"))
		return;
	stack = (uint64_t)palloc(8192, 16) + 8192;
	patch_tramp(page, stack);
	printf("INFO smp: trampoline at 0x%lx, BSP apic id %u\n",
	       (unsigned long)page, lapic_id());
	ipi(1, 0x4500); /* INIT, assert */
	delay_us(10000);
	ipi(1, 0x4600 | (page >> 12)); /* SIPI */
	delay_us(200);
	if (!ap_up)
		ipi(1, 0x4600 | (page >> 12)); /* second SIPI, as Intel SDM */
	end = now_us() + 3000000;
	while (!ap_up && now_us() < end)
		cpu_relax();
	if (check(ap_up, "smp_ap_started",
	          "vCPU 1 did not reach long mode "
	          "within 3 s of INIT/SIPI (trampoline 0x%lx)",
	          (unsigned long)page))
		check(ap_apic_id == 1, "smp_ap_apic_id",
		      "AP reports APIC id "
		      "%u, expected 1",
		      ap_apic_id);
	if (ap_up && arg_u64("rng", 0))
		msix_to_ap();
	if (ap_up && arg_u64("race", 0))
		bar_race();
}

/* virtio-rng's queue vector aimed at APIC id 1: the AP must take it. */
static void msix_to_ap(void)
{
	const uint8_t vec = 0x90;
	struct vdev v;
	uint8_t *b = palloc(16, 16);
	struct vbuf vb = {b, 16, true};
	uint64_t end;

	if (!virtio_find(&v, VIRTIO_ID_RNG, 0, "rng") || !virtio_init(&v, 0))
		return;
	msix_enable(&v);
	msix_route_to(&v, 1, vec, ap_apic_id, false);
	if (!virtio_setup_vq(&v, 0, 8, 1))
		return;
	virtio_driver_ok(&v);
	vq_add(&v.vq[0], &vb, 1);
	vq_kick(&v.vq[0]);
	if (!check(vq_wait(&v.vq[0], NULL, 3000000) >= 0, "smp_rng_request",
	           "no completion"))
		return;
	end = now_us() + 2000000;
	while (!irq_count[vec] && now_us() < end)
		cpu_relax();
	check(irq_count[vec] && irq_cpu[vec] == ap_apic_id, "smp_msix_to_ap",
	      "vector 0x%x taken %u times, last by APIC id %u (expected %u)",
	      vec, irq_count[vec], irq_cpu[vec], ap_apic_id);
}

/*
 * Two vCPUs at once on one device: the AP moves virtio-blk's BAR0 back and
 * forth (PCI config writes) while the BSP reads and writes its common
 * config at both addresses. Bus and device locks are taken from both sides;
 * a lock-order bug in the VMM hangs it here.
 */
static struct vdev race_dev;
static volatile uint32_t race_done;
#define RACE_ALT 0xe0000000ull

static void race_ap(void)
{
	uint32_t lo = pci_read32(&race_dev.pci, 0x10) & 0xf;

	for (int i = 0; i < 2000; i++) {
		pci_write32(&race_dev.pci, 0x10, (uint32_t)RACE_ALT | lo);
		pci_write32(&race_dev.pci, 0x14, 0);
		pci_write32(&race_dev.pci, 0x10,
		            (uint32_t)race_dev.pci.bar[0] | lo);
		pci_write32(&race_dev.pci, 0x14, race_dev.pci.bar[0] >> 32);
	}
	race_done = 1;
}

static void bar_race(void)
{
	uint64_t off = race_dev.common - race_dev.pci.bar[0], end;
	unsigned int sane = 0, total = 0;

	if (!virtio_find(&race_dev, VIRTIO_ID_BLK, 0, "blk"))
		return;
	off = race_dev.common - race_dev.pci.bar[0];
	ap_job = race_ap;
	lapic_write(0x310, ap_apic_id << 24);
	lapic_write(0x300, 0x4091); /* fixed IPI, vector 0x91: wake up */
	end = now_us() + 30000000;
	while (!race_done && now_us() < end) {
		uint64_t at = (total++ & 1) ? RACE_ALT : race_dev.pci.bar[0];
		uint16_t nq;

		mmio_w16(at + off + VC_Q_SELECT, 0);
		nq = mmio_r16(at + off + VC_NUM_QUEUES);
		sane += nq == 1 || nq == 0xffff; /* moved away: reads ones */
	}
	check(race_done, "smp_bar_move_race",
	      "the AP did not finish 2000 BAR moves within 30 s");
	printf("INFO smp: %u common-config reads during the BAR moves\n", sane);
}
