// SPDX-License-Identifier: Apache-2.0
/*
 * Random register traffic from the guest, seeded (seed=<n>, ops=<n>):
 * PCI config writes to every function, writes to every virtio structure
 * (common, ISR, device config) and stray port I/O. Kept out: the notify
 * area, the MSI-X table and PBA (random MSIs would look like exceptions to
 * this guest), the UART, PIC, PIT, i8042 and power ports (we need them),
 * and queue addresses, which point into a sandbox so that the device never
 * writes into our own code. Interrupts stay off. Afterwards every BAR and
 * command register is restored, and virtio-blk must still serve a read.
 * Command line: test=fuzz seed=<n> ops=<n> (needs --disk).
 */
#include "virtio.h"

static uint64_t rng_state;
static uint8_t sandbox[65536] __attribute__((aligned(4096)));

static uint64_t rnd(void)
{
	/* xorshift64*: small, deterministic for a given seed */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

struct saved {
	struct pci_dev d;
	uint32_t bars[6];
	uint16_t cmd;
	struct vdev v;
	bool is_virtio;
};

static struct saved devs[32];
static int ndev;

static void save_all(void)
{
	struct pci_dev all[32];

	ndev = pci_scan(all, 32);
	for (int i = 0; i < ndev; i++) {
		devs[i].d = all[i];
		for (int b = 0; b < 6; b++)
			devs[i].bars[b] = pci_read32(&all[i], 0x10 + 4 * b);
		devs[i].cmd = pci_read16(&all[i], 0x04);
		devs[i].is_virtio =
		    all[i].vendor == VIRTIO_VENDOR && all[i].device >= 0x1040;
		if (devs[i].is_virtio)
			devs[i].is_virtio = virtio_find(
			    &devs[i].v, all[i].device - 0x1040, 0, "fuzz");
	}
}

static void restore_all(void)
{
	for (int i = 0; i < ndev; i++) {
		pci_write16(&devs[i].d, 0x04, 0);
		for (int b = 0; b < 6; b++)
			pci_write32(&devs[i].d, 0x10 + 4 * b, devs[i].bars[b]);
		pci_write16(&devs[i].d, 0x04, devs[i].cmd | 6);
	}
}

static void write_sized(uint64_t a, unsigned int w, uint64_t v)
{
	if (w == 1)
		mmio_w8(a, v);
	else if (w == 2)
		mmio_w16(a, v);
	else
		mmio_w32(a, v);
}

/* One write (or read) into a virtio structure of a random device. */
static void fuzz_virtio(struct vdev *v)
{
	unsigned int w = 1u << (rnd() % 3), which = rnd() % 4;
	uint64_t base, len, off, val = rnd();

	if (which == 0 || which == 3) {
		base = v->common, len = 56;
	} else if (which == 1) {
		base = v->isr, len = 4;
	} else {
		base = v->devcfg, len = v->devcfg_len;
	}
	if (!base || !len)
		return;
	off = (rnd() % len) & ~(uint64_t)(w - 1);
	if (base == v->common && off >= VC_Q_DESC)
		val = (uint64_t)sandbox + (val % (sizeof(sandbox) - 4096));
	if (base == v->common && off >= VC_Q_DESC && (off & 4))
		val = 0; /* high halves of queue addresses */
	if (rnd() & 1)
		write_sized(base + off, w, val);
	else
		(void)mmio_r32((base + off) & ~3ull);
}

static bool port_allowed(uint16_t p)
{
	return !((p >= 0x3f8 && p <= 0x3ff) || (p >= 0x600 && p <= 0x603) ||
	         (p >= 0x60 && p <= 0x64) || (p >= 0x40 && p <= 0x43) ||
	         p == 0x20 || p == 0x21 || p == 0xa0 || p == 0xa1 ||
	         p == 0xcf9 || (p >= 0x2f8 && p <= 0x2ff));
}

static void fuzz_one(void)
{
	unsigned int kind = rnd() % 8;
	struct saved *s = &devs[rnd() % ndev];
	uint16_t port;

	if (kind < 4 && s->is_virtio) {
		fuzz_virtio(&s->v);
	} else if (kind < 6) {
		uint8_t reg = rnd() % 256;
		struct pci_dev d = s->d;

		d.fn = (rnd() % 4 == 0) ? rnd() % 8 : d.fn;
		if (rnd() & 1)
			pci_write32(&d, reg & 0xfc, rnd());
		else
			pci_write16(&d, reg & 0xfe, rnd());
	} else {
		port = rnd();
		if (!port_allowed(port))
			return;
		if (rnd() & 1)
			outb(port, rnd());
		else
			(void)inl(port & ~3);
	}
}

static void blk_still_works(void)
{
	struct vdev v;
	uint8_t *hdr = palloc(16, 16), *data = palloc(512, 512),
	        *st = palloc(1, 1);
	struct vbuf b[3] = {{hdr, 16, false}, {data, 512, true}, {st, 1, true}};

	*st = 0xee;
	if (!virtio_find(&v, VIRTIO_ID_BLK, 0, "blk") || !virtio_init(&v, 0) ||
	    !virtio_setup_vq(&v, 0, 16, VIRTIO_NO_VECTOR))
		return;
	virtio_driver_ok(&v);
	vq_add(&v.vq[0], b, 3);
	vq_kick(&v.vq[0]);
	check(vq_wait(&v.vq[0], NULL, 3000000) >= 0 && *st == 0,
	      "fuzz_blk_works_after", "status byte 0x%x, device status 0x%x",
	      *st, virtio_status(&v));
}

void test_fuzz(void)
{
	uint64_t seed = arg_u64("seed", 1), ops = arg_u64("ops", 20000);

	rng_state = seed ? seed : 1;
	irq_disable();
	save_all();
	printf("INFO fuzz: seed %lu, %lu operations over %d PCI functions\n",
	       (unsigned long)seed, (unsigned long)ops, ndev);
	for (uint64_t i = 0; i < ops; i++) {
		fuzz_one();
		if (i % 5000 == 4999)
			printf("INFO fuzz: %lu done\n", (unsigned long)i + 1);
	}
	pass("fuzz_vmm_survived");
	restore_all();
	blk_still_works();
}
