// SPDX-License-Identifier: Apache-2.0
/*
 * A hostile driver against virtio-blk: looping chains, indices and
 * addresses outside the ring or guest RAM, an avail index that runs ahead.
 * Each must leave the device NEEDS_RESET (status bit 0x40) with the config
 * interrupt raised, never stop the VMM; after a reset the device serves a
 * normal read again. Then junk MMIO and port accesses. The host test checks
 * the VMM's "device needs reset" log lines.
 * Command line: test=hostile (needs --disk).
 */
#include "virtio.h"

#define VEC_CFG 0x70
#define VEC_Q   0x71
#define QSZ     16

static struct vdev blk;
static uint8_t *hdr, *data, *st;

static bool bring_up(void)
{
	if (!virtio_init(&blk, VIRTIO_F_INDIRECT_DESC))
		return false;
	msix_route(&blk, 0, VEC_CFG, false);
	msix_route(&blk, 1, VEC_Q, false);
	mmio_w16(blk.common + VC_MSIX_CONFIG, 0);
	if (!virtio_setup_vq(&blk, 0, QSZ, 1))
		return false;
	virtio_driver_ok(&blk);
	return true;
}

static void hostile_pci(void);

static void good_read(const char *name)
{
	struct vbuf b[3] = {{hdr, 16, false}, {data, 512, true}, {st, 1, true}};

	memset(hdr, 0, 16);
	*st = 0xee;
	if (vq_add(&blk.vq[0], b, 3) < 0) {
		fail(name, "ring full");
		return;
	}
	vq_kick(&blk.vq[0]);
	check(vq_wait(&blk.vq[0], NULL, 3000000) >= 0 && *st == 0, name,
	      "a valid read after reset: status byte 0x%x, device 0x%x", *st,
	      virtio_status(&blk));
}

/* Publishes head as the next avail entry (or moves idx by 'ahead'). */
static void publish(uint16_t head, uint16_t ahead)
{
	struct vq *q = &blk.vq[0];

	q->avail->ring[q->avail_idx % q->size] = head;
	barrier();
	q->avail_idx += ahead;
	q->avail->idx = q->avail_idx;
	vq_kick(q);
}

static void expect_broken_irq(const char *name, bool want_irq)
{
	uint32_t seen = irq_count[VEC_CFG];
	uint64_t end = now_us() + 3000000;

	while (!(virtio_status(&blk) & VIRTIO_S_NEEDS_RESET) && now_us() < end)
		cpu_relax();
	if (check(virtio_status(&blk) & VIRTIO_S_NEEDS_RESET, name,
	          "status 0x%x 3 s after the request (expected NEEDS_RESET "
	          "0x40)",
	          virtio_status(&blk)) &&
	    want_irq && !irq_wait(VEC_CFG, seen, 1000000))
		fail(name, "no config interrupt (vector 0x%x) with NEEDS_RESET",
		     VEC_CFG);
	if (bring_up())
		good_read("hostile_recovers");
}

/* NEEDS_RESET after DRIVER_OK also raises the config interrupt (2.1.2). */
static void expect_broken(const char *name)
{
	expect_broken_irq(name, true);
}

static void d(unsigned int i, uint64_t addr, uint32_t len, uint16_t flags,
              uint16_t next)
{
	blk.vq[0].desc[i] = (struct vring_desc){addr, len, flags, next};
}

static void case_loop(void)
{
	d(0, (uint64_t)hdr, 16, VRING_F_NEXT, 1);
	d(1, (uint64_t)data, 512, VRING_F_NEXT | VRING_F_WRITE, 2);
	d(2, (uint64_t)st, 1, VRING_F_NEXT | VRING_F_WRITE, 0);
	publish(0, 1);
	expect_broken("hostile_loop_chain");
}

static void case_next_out_of_range(void)
{
	d(0, (uint64_t)hdr, 16, VRING_F_NEXT, 500);
	publish(0, 1);
	expect_broken("hostile_next_out_of_range");
}

static void case_head_out_of_range(void)
{
	publish(999, 1);
	expect_broken("hostile_head_out_of_range");
}

static void case_addr(const char *name, uint64_t addr, uint32_t len)
{
	d(0, (uint64_t)hdr, 16, VRING_F_NEXT, 1);
	d(1, addr, len, VRING_F_NEXT | VRING_F_WRITE, 2);
	d(2, (uint64_t)st, 1, VRING_F_WRITE, 0);
	memset(hdr, 0, 16);
	publish(0, 1);
	expect_broken(name);
}

static void case_avail_ahead(void)
{
	d(0, (uint64_t)hdr, 16, VRING_F_NEXT, 1);
	d(1, (uint64_t)data, 512, VRING_F_NEXT | VRING_F_WRITE, 2);
	d(2, (uint64_t)st, 1, VRING_F_WRITE, 0);
	publish(0, QSZ + 100);
	expect_broken("hostile_avail_idx_ahead");
}

static void case_indirect(void)
{
	if (!(blk.features & VIRTIO_F_INDIRECT_DESC)) {
		printf("INFO hostile: INDIRECT_DESC not offered; skipping the "
		       "indirect cases\n");
		return;
	}
	d(0, (uint64_t)data, 20, VRING_F_INDIRECT,
	  0); /* not a multiple of 16 */
	publish(0, 1);
	expect_broken("hostile_indirect_bad_len");
	d(0, 0x7f0000000000ull, 64, VRING_F_INDIRECT, 0);
	publish(0, 1);
	expect_broken("hostile_indirect_outside_ram");
}

/* Waits for a used entry or NEEDS_RESET after a raw submission; returns
 * 1 completed, 2 broken, 0 neither. The ring is reset afterwards. */
static int raw_outcome(void)
{
	uint64_t end = now_us() + 3000000;
	int r = 0;

	while (now_us() < end && !r) {
		if (virtio_status(&blk) & VIRTIO_S_NEEDS_RESET)
			r = 2;
		else if (blk.vq[0].used->idx != blk.vq[0].last_used)
			r = 1;
		else
			cpu_relax();
	}
	return r;
}

/* Device-readable buffers must never be written (2.7.4): a read into one
 * and a status byte without WRITE must leave the bytes alone. */
static void case_wrong_direction(void)
{
	struct blk_req {
		uint32_t type, reserved;
		uint64_t sector;
	} *h = (void *)hdr;
	bool intact = true;
	int r;

	*h = (struct blk_req){0, 0, 0};
	memset(data, 0xa5, 512);
	*st = 0xee;
	d(0, (uint64_t)hdr, 16, VRING_F_NEXT, 1);
	d(1, (uint64_t)data, 512, VRING_F_NEXT, 2); /* no WRITE */
	d(2, (uint64_t)st, 1, VRING_F_WRITE, 0);
	publish(0, 1);
	r = raw_outcome();
	for (int i = 0; i < 512; i++)
		intact &= data[i] == 0xa5;
	check(intact && (r == 2 || (r == 1 && *st != 0)),
	      "hostile_read_into_readonly_buffer",
	      "outcome %d status byte 0x%x, buffer %s", r, *st,
	      intact ? "intact" : "overwritten");
	bring_up();
	*st = 0xee;
	d(0, (uint64_t)hdr, 16, VRING_F_NEXT, 1);
	d(1, (uint64_t)data, 512, VRING_F_NEXT | VRING_F_WRITE, 2);
	d(2, (uint64_t)st, 1, 0, 0); /* status without WRITE */
	publish(0, 1);
	r = raw_outcome();
	check(*st == 0xee && r != 0, "hostile_readonly_status",
	      "outcome %d, status byte 0x%x (must stay 0xee)", r, *st);
	bring_up();
	d(0, (uint64_t)hdr, 8, VRING_F_NEXT, 1); /* header cut short */
	d(1, (uint64_t)data, 512, VRING_F_NEXT | VRING_F_WRITE, 2);
	d(2, (uint64_t)st, 1, VRING_F_WRITE, 0);
	*st = 0xee;
	publish(0, 1);
	r = raw_outcome();
	check(r == 2 || (r == 1 && *st != 0), "hostile_short_header",
	      "outcome %d, status byte 0x%x", r, *st);
	if (bring_up())
		good_read("hostile_after_direction_cases");
}

static void case_ring_outside_ram(void)
{
	uint16_t noff;

	/* Addresses are only valid to write before queue_enable. */
	if (!virtio_init(&blk, 0))
		return;
	mmio_w16(blk.common + VC_Q_SELECT, 0);
	mmio_w16(blk.common + VC_Q_SIZE, QSZ);
	mmio_w32(blk.common + VC_Q_DESC, 0);
	mmio_w32(blk.common + VC_Q_DESC + 4, 0x7f00);
	mmio_w16(blk.common + VC_MSIX_CONFIG, 0);
	mmio_w16(blk.common + VC_Q_MSIX, 1);
	noff = mmio_r16(blk.common + VC_Q_NOTIFY_OFF);
	mmio_w16(blk.common + VC_Q_ENABLE, 1);
	virtio_driver_ok(&blk);
	mmio_w16(blk.notify + (uint64_t)noff * blk.notify_mult, 0);
	/* Found at queue_enable, before DRIVER_OK: the status bit is enough. */
	expect_broken_irq("hostile_ring_outside_ram", false);
}

/* Junk accesses that a device model must shrug off. */
static void junk_access(void)
{
	uint16_t qs;

	mmio_w16(blk.common + VC_Q_SELECT, 1000);
	qs = mmio_r16(blk.common + VC_Q_SIZE);
	mmio_w16(blk.common + VC_Q_ENABLE, 1);
	mmio_w64(blk.common + VC_Q_DESC, 0x1234);
	check(qs == 0, "hostile_queue_select_out_of_range",
	      "queue_select 1000 reads queue_size %u (expected 0)", qs);
	(void)mmio_r64(blk.common + 0x38);
	(void)mmio_r32(blk.pci.bar[0] + blk.pci.bar_size[0] - 4);
	(void)mmio_r32(0xd0000000ull);
	outl(0x1234, 0xdeadbeef);
	(void)inl(0x5678);
	pci_write32(&blk.pci, 0xfc, 0xffffffff);
	(void)pci_read32(&blk.pci, 0x100 - 4);
	pass("hostile_junk_access_survived");
}

void test_hostile(void)
{
	if (!virtio_find(&blk, VIRTIO_ID_BLK, 0, "blk"))
		return;
	hdr = palloc(16, 16);
	data = palloc(4096, 4096);
	st = palloc(1, 1);
	msix_enable(&blk);
	if (!bring_up())
		return;
	good_read("hostile_baseline_read");
	case_loop();
	case_next_out_of_range();
	case_head_out_of_range();
	case_addr("hostile_addr_outside_ram", 0x7f0000000000ull, 512);
	case_addr("hostile_addr_wraps", 0xfffffffffffff000ull, 0x2000);
	case_addr("hostile_addr_lapic_mmio", 0xfee00000ull, 512);
	case_addr("hostile_len_huge", (uint64_t)data, 0xfffffff0u);
	case_avail_ahead();
	case_indirect();
	case_wrong_direction();
	case_ring_outside_ram();
	junk_access();
	hostile_pci();
	if (bring_up())
		good_read("hostile_vmm_alive_at_end");
}

/* Moves BAR0 to 'to' (anything: RAM, the LAPIC, the IOAPIC), touches it and
 * moves it back. */
static void bar_visit(uint64_t to)
{
	uint32_t lo = pci_read32(&blk.pci, 0x10) & 0xf;

	pci_write32(&blk.pci, 0x10, (uint32_t)to | lo);
	pci_write32(&blk.pci, 0x14, to >> 32);
	if (to >= 0xc0000000ull && to < 0xfee00000ull)
		(void)mmio_r32(to + VC_NUM_QUEUES);
	pci_write32(&blk.pci, 0x10, (uint32_t)blk.pci.bar[0] | lo);
	pci_write32(&blk.pci, 0x14, blk.pci.bar[0] >> 32);
}

/* An MSI-X message aimed at RAM instead of the LAPIC: the completion must
 * still arrive and the VMM must survive the bogus message. */
static void msix_to_ram(void)
{
	struct vbuf b[3] = {{hdr, 16, false}, {data, 512, true}, {st, 1, true}};
	uint64_t ent = blk.msix_table + 16;

	mmio_w32(ent, 0x1000);
	memset(hdr, 0, 16);
	if (vq_add(&blk.vq[0], b, 3) >= 0) {
		vq_kick(&blk.vq[0]);
		check(vq_wait(&blk.vq[0], NULL, 3000000) >= 0,
		      "hostile_msix_address_in_ram",
		      "no completion with the MSI-X address at 0x1000");
	}
	msix_route(&blk, 1, VEC_Q, false);
}

static void hostile_pci(void)
{
	struct pci_dev nobus = {.bus = 5, .dev = 0, .fn = 0};
	uint32_t v;

	check(pci_read32(&nobus, 0) == 0xffffffff, "hostile_pci_other_bus",
	      "bus 5 reads 0x%x", pci_read32(&nobus, 0));
	outl(0xcf8, 0x00000000 | (1u << 11));
	v = inl(0xcfc);
	check(v == 0xffffffff, "hostile_pci_cf8_disabled",
	      "0xCFC reads 0x%x with the enable bit clear", v);
	if (!bring_up())
		return;
	mmio_w16(blk.common + VC_Q_SELECT, 0);
	mmio_w16(blk.common + VC_Q_MSIX, 500);
	v = mmio_r16(blk.common + VC_Q_MSIX);
	check(v == VIRTIO_NO_VECTOR, "hostile_msix_vector_out_of_range",
	      "queue_msix_vector 500 of %u reads back %u", blk.msix_n, v);
	mmio_w16(blk.common + VC_Q_MSIX, 1);
	bar_visit(0x200000);      /* over guest RAM */
	bar_visit(0xfee00000ull); /* over the LAPIC */
	bar_visit(0xfec00000ull); /* over the IOAPIC */
	bar_visit(0x7f0000000000ull);
	good_read("hostile_bar_moves_survived");
	msix_to_ram();
	good_read("hostile_after_bogus_msi");
}
