// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-pci modern transport and split virtqueues for the test guests.
 * Follows the driver initialization order of VIRTIO 1.2 section 3.1.1.
 */
#include "virtio.h"

static bool read_vendor_cap(struct vdev *v, uint8_t cap)
{
	uint8_t type = pci_read8(&v->pci, cap + 3);
	uint8_t bar = pci_read8(&v->pci, cap + 4);
	uint32_t off = pci_read32(&v->pci, cap + 8);
	uint32_t len = pci_read32(&v->pci, cap + 12);
	uint64_t base;

	if (type < 1 || type > 4)
		return true; /* PCI_CFG and unknown types: not used here */
	if (bar > 5 || !v->pci.bar_size[bar] || v->pci.bar_io[bar] ||
	    (uint64_t)off + len > v->pci.bar_size[bar]) {
		fail(v->name,
		     "vendor cap at 0x%x (type %u) names BAR%u "
		     "[0x%x, +0x%x) outside a memory BAR of size 0x%lx",
		     cap, type, bar, off, len,
		     (unsigned long)(bar < 6 ? v->pci.bar_size[bar] : 0));
		return false;
	}
	base = v->pci.bar[bar] + off;
	if (type == 1 && !v->common)
		v->common = base;
	else if (type == 2 && !v->notify) {
		v->notify = base;
		v->notify_mult = pci_read32(&v->pci, cap + 16);
	} else if (type == 3 && !v->isr)
		v->isr = base;
	else if (type == 4 && !v->devcfg) {
		v->devcfg = base;
		v->devcfg_len = len;
	}
	return true;
}

static bool read_msix_cap(struct vdev *v)
{
	uint8_t c = pci_find_cap(&v->pci, 0x11, 0);
	uint32_t t, p;

	if (!c)
		return true;
	v->msix_cap = c;
	v->msix_n = (pci_read16(&v->pci, c + 2) & 0x7ff) + 1;
	t = pci_read32(&v->pci, c + 4);
	p = pci_read32(&v->pci, c + 8);
	if (v->pci.bar_size[t & 7] < (t & ~7u) + 16ull * v->msix_n ||
	    v->pci.bar_size[p & 7] < (p & ~7u) + (v->msix_n + 63) / 64 * 8) {
		fail(v->name,
		     "MSI-X table (0x%x) or PBA (0x%x) for %u "
		     "vectors does not fit its BAR",
		     t, p, v->msix_n);
		return false;
	}
	v->msix_table = v->pci.bar[t & 7] + (t & ~7u);
	v->msix_pba = v->pci.bar[p & 7] + (p & ~7u);
	return true;
}

bool virtio_find(struct vdev *v, unsigned int type, int nth, const char *name)
{
	uint8_t cap = 0;

	memset(v, 0, sizeof(*v));
	v->name = name;
	if (!pci_find(VIRTIO_VENDOR, VIRTIO_PCI_ID(type), nth, &v->pci)) {
		fail(name,
		     "no PCI device %04x:%04x (is the device configured "
		     "on the VMM command line?)",
		     VIRTIO_VENDOR, VIRTIO_PCI_ID(type));
		return false;
	}
	if (pci_setup_bars(&v->pci, name) < 0)
		return false;
	while ((cap = pci_find_cap(&v->pci, 0x09, cap)))
		if (!read_vendor_cap(v, cap))
			return false;
	if (!v->common || !v->notify || !v->isr) {
		fail(name,
		     "missing virtio capability: common %s notify %s "
		     "isr %s",
		     v->common ? "ok" : "absent", v->notify ? "ok" : "absent",
		     v->isr ? "ok" : "absent");
		return false;
	}
	return read_msix_cap(v);
}

uint8_t virtio_status(const struct vdev *v)
{
	return mmio_r8(v->common + VC_STATUS);
}

bool virtio_reset(struct vdev *v)
{
	uint64_t end;

	mmio_w8(v->common + VC_STATUS, 0);
	end = now_us() + 1000000;
	while (virtio_status(v) != 0 && now_us() < end)
		cpu_relax();
	if (virtio_status(v)) {
		fail(v->name, "status reads 0x%x 1 s after reset",
		     virtio_status(v));
		return false;
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(v->vq); i++)
		memset(&v->vq[i], 0, sizeof(v->vq[i]));
	return true;
}

static void set_status(struct vdev *v, uint8_t bits)
{
	mmio_w8(v->common + VC_STATUS, virtio_status(v) | bits);
}

bool virtio_init(struct vdev *v, uint64_t want)
{
	uint64_t offered;

	if (!virtio_reset(v))
		return false;
	set_status(v, VIRTIO_S_ACK);
	set_status(v, VIRTIO_S_DRIVER);
	mmio_w32(v->common + VC_DFSELECT, 0);
	offered = mmio_r32(v->common + VC_DFEATURE);
	mmio_w32(v->common + VC_DFSELECT, 1);
	offered |= (uint64_t)mmio_r32(v->common + VC_DFEATURE) << 32;
	if (!(offered & VIRTIO_F_VERSION_1)) {
		fail(v->name, "VERSION_1 not offered (features 0x%lx)",
		     (unsigned long)offered);
		return false;
	}
	v->features = offered & (want | VIRTIO_F_VERSION_1);
	mmio_w32(v->common + VC_GFSELECT, 0);
	mmio_w32(v->common + VC_GFEATURE, (uint32_t)v->features);
	mmio_w32(v->common + VC_GFSELECT, 1);
	mmio_w32(v->common + VC_GFEATURE, v->features >> 32);
	set_status(v, VIRTIO_S_FEATURES_OK);
	if (!(virtio_status(v) & VIRTIO_S_FEATURES_OK)) {
		fail(v->name, "device cleared FEATURES_OK for 0x%lx",
		     (unsigned long)v->features);
		return false;
	}
	v->num_queues = mmio_r16(v->common + VC_NUM_QUEUES);
	printf("INFO %s: %02x:%02x.%x features offered 0x%lx accepted 0x%lx "
	       "queues %u msix %u\n",
	       v->name, v->pci.bus, v->pci.dev, v->pci.fn,
	       (unsigned long)offered, (unsigned long)v->features,
	       v->num_queues, v->msix_n);
	return true;
}

static void w64(uint64_t a, uint64_t val)
{
	/* Two 32-bit halves, as drivers may (4.1.3.1). */
	mmio_w32(a, (uint32_t)val);
	mmio_w32(a + 4, val >> 32);
}

bool virtio_setup_vq(struct vdev *v, unsigned int idx, uint16_t size,
                     uint16_t vector)
{
	struct vq *q;
	uint16_t max, noff;

	if (idx >= ARRAY_SIZE(v->vq)) {
		fail(v->name, "queue %u: this driver handles queues 0-3", idx);
		return false;
	}
	q = &v->vq[idx];
	mmio_w16(v->common + VC_Q_SELECT, idx);
	max = mmio_r16(v->common + VC_Q_SIZE);
	if (!max || (max & (max - 1))) {
		fail(v->name, "queue %u size %u (expected a power of two)", idx,
		     max);
		return false;
	}
	q->index = idx;
	q->size = size < max ? size : max;
	if (q->size > VQ_MAX)
		q->size = VQ_MAX;
	/* Three pages hold any ring up to VQ_MAX (256) entries. */
	if (!v->ring_mem[idx])
		v->ring_mem[idx] = palloc(3 * 4096, 4096);
	memset(v->ring_mem[idx], 0, 3 * 4096);
	q->desc = (void *)v->ring_mem[idx];
	q->avail = (void *)(v->ring_mem[idx] + 4096);
	q->used = (void *)(v->ring_mem[idx] + 8192);
	for (uint16_t i = 0; i < q->size; i++)
		q->desc[i].next = i + 1;
	q->num_free = q->size;
	mmio_w16(v->common + VC_Q_SIZE, q->size);
	w64(v->common + VC_Q_DESC, (uint64_t)q->desc);
	w64(v->common + VC_Q_DRIVER, (uint64_t)q->avail);
	w64(v->common + VC_Q_DEVICE, (uint64_t)q->used);
	q->vector = vector;
	mmio_w16(v->common + VC_Q_MSIX, vector);
	if (mmio_r16(v->common + VC_Q_MSIX) != vector) {
		fail(v->name, "queue %u refused MSI-X vector %u (reads %u)",
		     idx, vector, mmio_r16(v->common + VC_Q_MSIX));
		return false;
	}
	noff = mmio_r16(v->common + VC_Q_NOTIFY_OFF);
	q->notify_addr = v->notify + (uint64_t)noff * v->notify_mult;
	mmio_w16(v->common + VC_Q_ENABLE, 1);
	return true;
}

void virtio_driver_ok(struct vdev *v)
{
	set_status(v, VIRTIO_S_DRIVER_OK);
}

uint8_t vcfg_r8(const struct vdev *v, uint32_t off)
{
	return mmio_r8(v->devcfg + off);
}

uint32_t vcfg_r32(const struct vdev *v, uint32_t off)
{
	return mmio_r32(v->devcfg + off);
}

uint64_t vcfg_r64(const struct vdev *v, uint32_t off)
{
	return mmio_r32(v->devcfg + off) |
	       (uint64_t)mmio_r32(v->devcfg + off + 4) << 32;
}

/* ---- MSI-X ---- */
void msix_enable(struct vdev *v)
{
	uint16_t ctl = pci_read16(&v->pci, v->msix_cap + 2);

	pci_write16(&v->pci, v->msix_cap + 2, (ctl | 0x8000) & ~0x4000);
}

void msix_route(struct vdev *v, uint16_t e, uint8_t vector, bool masked)
{
	msix_route_to(v, e, vector, lapic_id(), masked);
}

void msix_route_to(struct vdev *v, uint16_t e, uint8_t vector, uint32_t apic,
                   bool masked)
{
	uint64_t ent = v->msix_table + 16ull * e;

	mmio_w32(ent + 0, 0xfee00000u | apic << 12);
	mmio_w32(ent + 4, 0);
	mmio_w32(ent + 8, vector); /* fixed delivery, edge */
	mmio_w32(ent + 12, masked ? 1 : 0);
}

void msix_mask(struct vdev *v, uint16_t e, bool masked)
{
	mmio_w32(v->msix_table + 16ull * e + 12, masked ? 1 : 0);
}

bool msix_pending(const struct vdev *v, uint16_t e)
{
	return (mmio_r64(v->msix_pba + 8ull * (e / 64)) >> (e % 64)) & 1;
}

/* ---- split virtqueue ---- */
int vq_add(struct vq *q, const struct vbuf *b, int n)
{
	uint16_t head = q->free_head, i = head, last = head;

	if (n <= 0 || q->num_free < n)
		return -1;
	for (int k = 0; k < n; k++) {
		q->desc[i].addr = (uint64_t)b[k].addr;
		q->desc[i].len = b[k].len;
		q->desc[i].flags = (b[k].write ? VRING_F_WRITE : 0) |
		                   (k + 1 < n ? VRING_F_NEXT : 0);
		last = i;
		i = q->desc[i].next;
	}
	q->free_head = q->desc[last].next;
	q->num_free -= n;
	q->chain[head] = n;
	q->avail->ring[q->avail_idx % q->size] = head;
	barrier();
	q->avail->idx = ++q->avail_idx;
	return head;
}

void vq_kick(struct vq *q)
{
	mb();
	mmio_w16(q->notify_addr, q->index);
}

int vq_poll(struct vq *q, uint32_t *len)
{
	struct vring_used_elem e;
	uint16_t id, i;

	if (q->used->idx == q->last_used)
		return -1;
	barrier();
	e.id = q->used->ring[q->last_used % q->size].id;
	e.len = q->used->ring[q->last_used % q->size].len;
	q->last_used++;
	if (e.id >= q->size || !q->chain[e.id]) {
		fail("virtqueue",
		     "queue %u: device returned id %u that is not "
		     "an outstanding head",
		     q->index, e.id);
		return -1;
	}
	id = i = (uint16_t)e.id;
	for (int k = 1; k < q->chain[id]; k++)
		i = q->desc[i].next;
	q->desc[i].next = q->free_head;
	q->free_head = id;
	q->num_free += q->chain[id];
	q->chain[id] = 0;
	if (len)
		*len = e.len;
	return id;
}

int vq_wait(struct vq *q, uint32_t *len, uint64_t timeout_us)
{
	uint64_t end = now_us() + timeout_us;
	int id;

	while ((id = vq_poll(q, len)) < 0 && now_us() < end)
		cpu_relax();
	return id;
}
