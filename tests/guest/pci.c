// SPDX-License-Identifier: Apache-2.0
/*
 * PCI configuration mechanism #1 (ports 0xCF8/0xCFC), BAR sizing and
 * assignment, capability walking, and identity mappings for BARs the VMM
 * placed above the 4 GiB it mapped for us.
 */
#include "rt.h"

static uint32_t cfg_addr(const struct pci_dev *d, uint8_t reg)
{
	return 0x80000000u | (uint32_t)d->bus << 16 | (uint32_t)d->dev << 11 |
	       (uint32_t)d->fn << 8 | (reg & 0xfc);
}

uint32_t pci_read32(const struct pci_dev *d, uint8_t reg)
{
	outl(0xcf8, cfg_addr(d, reg));
	return inl(0xcfc);
}

uint16_t pci_read16(const struct pci_dev *d, uint8_t reg)
{
	outl(0xcf8, cfg_addr(d, reg));
	return inw(0xcfc + (reg & 2));
}

uint8_t pci_read8(const struct pci_dev *d, uint8_t reg)
{
	outl(0xcf8, cfg_addr(d, reg));
	return inb(0xcfc + (reg & 3));
}

void pci_write32(const struct pci_dev *d, uint8_t reg, uint32_t v)
{
	outl(0xcf8, cfg_addr(d, reg));
	outl(0xcfc, v);
}

void pci_write16(const struct pci_dev *d, uint8_t reg, uint16_t v)
{
	outl(0xcf8, cfg_addr(d, reg));
	outw(0xcfc + (reg & 2), v);
}

static void fill_ids(struct pci_dev *d)
{
	uint32_t cls = pci_read32(d, 0x08);

	d->vendor = pci_read16(d, 0x00);
	d->device = pci_read16(d, 0x02);
	d->revision = cls & 0xff;
	d->subclass = (cls >> 16) & 0xff;
	d->class = cls >> 24;
}

int pci_scan(struct pci_dev *out, int max)
{
	int n = 0;

	for (uint8_t dev = 0; dev < 32; dev++) {
		for (uint8_t fn = 0; fn < 8 && n < max; fn++) {
			struct pci_dev d = {.bus = 0, .dev = dev, .fn = fn};

			fill_ids(&d);
			if (d.vendor == 0xffff) {
				if (fn == 0)
					break;
				continue;
			}
			out[n++] = d;
			/* Header type bit 7: multi-function device. */
			if (fn == 0 && !(pci_read8(&d, 0x0e) & 0x80))
				break;
		}
	}
	return n;
}

bool pci_find(uint16_t vendor, uint16_t device, int nth, struct pci_dev *out)
{
	struct pci_dev all[64];
	int n = pci_scan(all, 64);

	for (int i = 0; i < n; i++) {
		if (all[i].vendor == vendor && all[i].device == device &&
		    nth-- == 0) {
			*out = all[i];
			return true;
		}
	}
	return false;
}

/* Sizes BAR i by writing all ones (decoding is off meanwhile). Returns the
 * number of BAR registers used (2 for a 64-bit BAR). */
static int size_bar(struct pci_dev *d, int i)
{
	uint8_t reg = 0x10 + 4 * i;
	uint32_t lo = pci_read32(d, reg), hi = 0, mlo, mhi = 0xffffffff;

	d->bar_io[i] = lo & 1;
	d->bar_64[i] = !d->bar_io[i] && ((lo >> 1) & 3) == 2 && i < 5;
	pci_write32(d, reg, 0xffffffff);
	mlo = pci_read32(d, reg);
	pci_write32(d, reg, lo);
	if (d->bar_64[i]) {
		hi = pci_read32(d, reg + 4);
		pci_write32(d, reg + 4, 0xffffffff);
		mhi = pci_read32(d, reg + 4);
		pci_write32(d, reg + 4, hi);
	}
	if (d->bar_io[i]) {
		d->bar[i] = lo & ~3u;
		mlo = (mlo & ~3u) | 0xffff0000u;
		d->bar_size[i] = mlo ? (uint32_t)(~mlo + 1) : 0;
	} else {
		uint64_t mask = (uint64_t)mhi << 32 | (mlo & ~0xfu);

		d->bar[i] = (uint64_t)hi << 32 | (lo & ~0xfu);
		d->bar_size[i] = mask ? ~mask + 1 : 0;
		if (!d->bar_64[i] && mlo == 0)
			d->bar_size[i] = 0;
	}
	return d->bar_64[i] ? 2 : 1;
}

/* Window for BARs the VMM left at zero, below the IOAPIC. */
static uint64_t bar_window = 0xf0000000ull;

static int check_bar(struct pci_dev *d, int i, const char *who)
{
	uint64_t a = d->bar[i], sz = d->bar_size[i];

	if (sz & (sz - 1)) {
		fail(who, "BAR%d size 0x%lx is not a power of two", i,
		     (unsigned long)sz);
		return -1;
	}
	if (a & (sz - 1)) {
		fail(who, "BAR%d at 0x%lx is not aligned to its size 0x%lx", i,
		     (unsigned long)a, (unsigned long)sz);
		return -1;
	}
	if (!d->bar_io[i] && a < 0x100000000ull &&
	    (a < 0xc0000000ull || a + sz > 0xfec00000ull)) {
		fail(who,
		     "BAR%d [0x%lx, +0x%lx) is outside the MMIO gap "
		     "[0xc0000000, 0xfec00000)",
		     i, (unsigned long)a, (unsigned long)sz);
		return -1;
	}
	return 0;
}

int pci_setup_bars(struct pci_dev *d, const char *who)
{
	uint16_t cmd = pci_read16(d, 0x04);
	int bad = 0;

	pci_write16(d, 0x04, cmd & ~3u);
	for (int i = 0; i < 6;) {
		int used = size_bar(d, i);

		if (d->bar_size[i] && !d->bar_io[i] && d->bar[i] == 0) {
			bar_window = ALIGN_UP(bar_window, d->bar_size[i]);
			printf("INFO %s: BAR%d unassigned by the VMM; putting "
			       "it at 0x%lx\n",
			       who, i, (unsigned long)bar_window);
			d->bar[i] = bar_window;
			bar_window += d->bar_size[i];
			pci_write32(d, 0x10 + 4 * i,
			            (uint32_t)d->bar[i] |
			                (pci_read32(d, 0x10 + 4 * i) & 0xf));
			if (d->bar_64[i])
				pci_write32(d, 0x14 + 4 * i, d->bar[i] >> 32);
		}
		if (d->bar_size[i] && check_bar(d, i, who))
			bad--;
		if (d->bar_size[i] && !d->bar_io[i])
			map_identity(d->bar[i], d->bar_size[i]);
		i += used;
	}
	pci_write16(d, 0x04, cmd | 0x6); /* memory space + bus master */
	return bad;
}

uint8_t pci_find_cap(const struct pci_dev *d, uint8_t id, uint8_t from)
{
	uint8_t p;

	if (!(pci_read16(d, 0x06) & 0x10))
		return 0;
	p = from ? pci_read8(d, from + 1) : pci_read8(d, 0x34);
	for (int guard = 0; guard < 48 && p >= 0x40; guard++) {
		p &= 0xfc;
		if (pci_read8(d, p) == id)
			return p;
		p = pci_read8(d, p + 1);
	}
	return 0;
}

/* ---- identity mappings above 4 GiB ---- */
static uint64_t *table_next(uint64_t *t, unsigned int idx)
{
	if (!(t[idx] & 1)) {
		uint64_t *n = palloc(4096, 4096);

		t[idx] = (uint64_t)n | 3;
	}
	return (uint64_t *)(t[idx] & 0x000ffffffffff000ull);
}

void map_identity(uint64_t addr, uint64_t len)
{
	uint64_t a = addr & ~0x1fffffull;

	if (addr + len <= 0x100000000ull)
		return; /* the VMM maps the first 4 GiB (boot.h) */
	for (; a < addr + len; a += 0x200000) {
		uint64_t *pml4 = (uint64_t *)(read_cr3() & ~0xfffull);
		uint64_t *pdpt = table_next(pml4, (a >> 39) & 511);
		uint64_t *pd;

		if ((pdpt[(a >> 30) & 511] & 0x81) == 0x81)
			continue; /* already a 1 GiB page */
		pd = table_next(pdpt, (a >> 30) & 511);
		pd[(a >> 21) & 511] = a | 0x83; /* present, RW, 2 MiB */
	}
	__asm__ volatile("mov %%cr3, %%rax; mov %%rax, %%cr3" ::
	                     : "rax", "memory");
}
