// SPDX-License-Identifier: Apache-2.0
/*
 * PCI enumeration as a driver sees it: host bridge, each virtio function's
 * ids, BAR sizes (written with all ones), the capability chain with the
 * virtio vendor capabilities and MSI-X, and a BAR move.
 * Command line: test=pci expect=blk,rng,console,vsock (any subset).
 */
#include "virtio.h"

static const struct {
	const char *name;
	unsigned int id;
} kinds[] = {
    {"net", VIRTIO_ID_NET},         {"blk", VIRTIO_ID_BLK},
    {"console", VIRTIO_ID_CONSOLE}, {"rng", VIRTIO_ID_RNG},
    {"vsock", VIRTIO_ID_VSOCK},
};

static void check_bridge(const struct pci_dev *all, int n)
{
	struct pci_dev absent = {.bus = 0, .dev = 31, .fn = 0};

	check(n > 0 && all[0].dev == 0 && all[0].class == 0x06 &&
	          all[0].subclass == 0x00,
	      "pci_host_bridge",
	      "00:00.0 is %04x:%04x class %02x%02x, "
	      "expected a host bridge (class 0600)",
	      n ? all[0].vendor : 0, n ? all[0].device : 0,
	      n ? all[0].class : 0, n ? all[0].subclass : 0);
	if (n && all[n - 1].dev == 31)
		return;
	check(pci_read32(&absent, 0) == 0xffffffff, "pci_absent_reads_ones",
	      "config read of empty slot 31 gave 0x%x", pci_read32(&absent, 0));
}

/* Walks the chain; every vendor cap must name a real BAR region and the
 * four structures a driver needs must all be there. */
static void check_caps(struct vdev *v, const char *tag, bool has_cfg)
{
	unsigned int want = has_cfg ? 0x3e : 0x2e;
	unsigned int seen = 0, count = 0;
	uint8_t c = 0;
	char nm[48];

	while ((c = pci_find_cap(&v->pci, 0x09, c)) && count++ < 16) {
		uint8_t type = pci_read8(&v->pci, c + 3);
		uint8_t len = pci_read8(&v->pci, c + 2);

		printf("INFO %s: vendor cap at 0x%02x type %u len %u bar %u "
		       "off 0x%x len 0x%x\n",
		       tag, c, type, len, pci_read8(&v->pci, c + 4),
		       pci_read32(&v->pci, c + 8), pci_read32(&v->pci, c + 12));
		if (type < 8)
			seen |= 1u << type;
		if (type == 2 && len < 20)
			fail(tag, "notify cap length %u < 20", len);
	}
	snprintf(nm, sizeof(nm), "%s_virtio_caps", tag);
	/* Device config exists only for devices that have one (rng has none).
	 */
	check((seen & want) == want, nm,
	      "cfg types present 0x%x, expected 0x%x (COMMON NOTIFY ISR "
	      "PCI_CFG, DEVICE when the device has config)",
	      seen, want);
	snprintf(nm, sizeof(nm), "%s_msix_cap", tag);
	check(v->msix_cap && v->msix_n >= 2, nm,
	      "MSI-X cap 0x%x with %u "
	      "vectors",
	      v->msix_cap, v->msix_n);
}

/* Moves BAR0 to a new address and reads the common config there. */
static void check_bar_move(struct vdev *v, const char *tag)
{
	uint64_t old = v->pci.bar[0], sz = v->pci.bar_size[0];
	uint64_t to = (old + 0x10000000ull) & ~(sz - 1);
	uint16_t nq_old, nq_new;
	char nm[48];

	if (to + sz > 0xfec00000ull || to < 0xc0000000ull)
		to = 0xe8000000ull;
	nq_old = mmio_r16(v->common + VC_NUM_QUEUES);
	pci_write32(&v->pci, 0x10,
	            (uint32_t)to | (pci_read32(&v->pci, 0x10) & 0xf));
	if (v->pci.bar_64[0])
		pci_write32(&v->pci, 0x14, to >> 32);
	nq_new = mmio_r16(v->common - old + to + VC_NUM_QUEUES);
	pci_write32(&v->pci, 0x10,
	            (uint32_t)old | (pci_read32(&v->pci, 0x10) & 0xf));
	if (v->pci.bar_64[0])
		pci_write32(&v->pci, 0x14, old >> 32);
	snprintf(nm, sizeof(nm), "%s_bar_move", tag);
	check(nq_new == nq_old && nq_old && nq_old < 64 &&
	          mmio_r16(v->common + VC_NUM_QUEUES) == nq_old,
	      nm, "num_queues %u at 0x%lx, %u after moving BAR0 to 0x%lx",
	      nq_old, (unsigned long)old, nq_new, (unsigned long)to);
}

static void check_virtio(unsigned int k)
{
	struct vdev v;
	char nm[48];
	uint16_t ssv;

	if (!virtio_find(&v, kinds[k].id, 0, kinds[k].name))
		return;
	ssv = pci_read16(&v.pci, 0x2c);
	snprintf(nm, sizeof(nm), "%s_ids", kinds[k].name);
	check(v.pci.revision >= 1 && ssv == 0x1af4, nm,
	      "revision %u class %02x subsystem vendor %04x", v.pci.revision,
	      v.pci.class, ssv);
	for (int i = 0; i < 6; i++)
		if (v.pci.bar_size[i])
			printf("INFO %s: BAR%d %s%s at 0x%lx size 0x%lx\n",
			       kinds[k].name, i, v.pci.bar_io[i] ? "io" : "mem",
			       v.pci.bar_64[i] ? "64" : "32",
			       (unsigned long)v.pci.bar[i],
			       (unsigned long)v.pci.bar_size[i]);
	snprintf(nm, sizeof(nm), "%s_bar0", kinds[k].name);
	check(v.pci.bar_size[0] >= 0x1000 && !v.pci.bar_io[0], nm,
	      "BAR0 size 0x%lx", (unsigned long)v.pci.bar_size[0]);
	check_caps(&v, kinds[k].name, kinds[k].id != VIRTIO_ID_RNG);
	check_bar_move(&v, kinds[k].name);
}

void test_pci(void)
{
	struct pci_dev all[64];
	int n = pci_scan(all, 64);
	char expect[64];

	for (int i = 0; i < n; i++)
		printf("PCI %02x:%02x.%x %04x:%04x class %02x%02x rev %u\n",
		       all[i].bus, all[i].dev, all[i].fn, all[i].vendor,
		       all[i].device, all[i].class, all[i].subclass,
		       all[i].revision);
	check_bridge(all, n);
	if (!arg_str("expect", expect, sizeof(expect)))
		expect[0] = 0;
	for (unsigned int k = 0; k < ARRAY_SIZE(kinds); k++)
		if (strstr(expect, kinds[k].name))
			check_virtio(k);
}
