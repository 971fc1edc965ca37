// SPDX-License-Identifier: Apache-2.0
#include <string.h>
#include <unistd.h>

#include "fake_driver.h"
#include "fake_vm.h"
#include "podvisor/pci.h"
#include "podvisor/virtio.h"

int drv_probe(struct drv *d, struct vm *vm, unsigned int slot)
{
	uint32_t lo, hi;

	memset(d, 0, sizeof(*d));
	d->vm = vm;
	d->slot = slot;
	if (fake_cfg_read(vm, slot, 0, 2) != VIRTIO_PCI_VENDOR)
		return -1;
	lo = fake_cfg_read(vm, slot, 0x10, 4);
	hi = fake_cfg_read(vm, slot, 0x14, 4);
	d->bar = ((uint64_t)hi << 32 | lo) & ~0xfULL;
	/* MSI-X on, every vector unmasked with a distinct data value. */
	for (unsigned int v = 0; v <= DRV_MAX_QUEUES; v++) {
		uint64_t e = d->bar + VIRTIO_PCI_MSIX_OFF + 16 * v;

		fake_mmio_write(vm, e, 4, 0xfee00000);
		fake_mmio_write(vm, e + 4, 4, 0);
		fake_mmio_write(vm, e + 8, 4, 0x40 + v);
		fake_mmio_write(vm, e + 12, 4, 0);
	}
	fake_cfg_write(vm, slot, 0x42, 2, 0x8000);
	return 0;
}

uint32_t drv_common_read(struct drv *d, uint32_t off, uint32_t len)
{
	return fake_mmio_read(d->vm, d->bar + off, len);
}

void drv_common_write(struct drv *d, uint32_t off, uint32_t len, uint32_t v)
{
	fake_mmio_write(d->vm, d->bar + off, len, v);
}

uint8_t drv_status(struct drv *d)
{
	return (uint8_t)drv_common_read(d, VIRTIO_PCI_COMMON_STATUS, 1);
}

uint8_t drv_negotiate(struct drv *d, uint64_t want)
{
	uint64_t offered;

	drv_common_write(d, VIRTIO_PCI_COMMON_STATUS, 1, 0);
	drv_common_write(d, VIRTIO_PCI_COMMON_STATUS, 1, 1);
	drv_common_write(d, VIRTIO_PCI_COMMON_STATUS, 1, 3);
	drv_common_write(d, VIRTIO_PCI_COMMON_DFSELECT, 4, 0);
	offered = drv_common_read(d, VIRTIO_PCI_COMMON_DF, 4);
	drv_common_write(d, VIRTIO_PCI_COMMON_DFSELECT, 4, 1);
	offered |= (uint64_t)drv_common_read(d, VIRTIO_PCI_COMMON_DF, 4) << 32;
	d->features = (want | 1ULL << VIRTIO_F_VERSION_1) & offered;
	drv_common_write(d, VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	drv_common_write(d, VIRTIO_PCI_COMMON_GF, 4, (uint32_t)d->features);
	drv_common_write(d, VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	drv_common_write(d, VIRTIO_PCI_COMMON_GF, 4,
	                 (uint32_t)(d->features >> 32));
	drv_common_write(d, VIRTIO_PCI_COMMON_STATUS, 1, 0xb);
	return drv_status(d);
}

void drv_setup_queue(struct drv *d, unsigned int qi, uint16_t size,
                     uint64_t base)
{
	struct drv_queue *q = &d->q[qi];

	memset(q, 0, sizeof(*q));
	q->size = size;
	q->desc = base;
	q->avail = base + 16ULL * size;
	q->used = (q->avail + 6 + 2ULL * size + 3) & ~3ULL;
	memset(fake_gpa(d->vm, base), 0,
	       (size_t)(q->used + 6 + 8ULL * size - base));
	drv_common_write(d, VIRTIO_PCI_COMMON_Q_SELECT, 2, qi);
	drv_common_write(d, VIRTIO_PCI_COMMON_Q_SIZE, 2, size);
	drv_common_write(d, VIRTIO_PCI_COMMON_Q_DESCLO, 4, (uint32_t)q->desc);
	drv_common_write(d, VIRTIO_PCI_COMMON_Q_DESCHI, 4, 0);
	drv_common_write(d, VIRTIO_PCI_COMMON_Q_AVAILLO, 4, (uint32_t)q->avail);
	drv_common_write(d, VIRTIO_PCI_COMMON_Q_AVAILHI, 4, 0);
	drv_common_write(d, VIRTIO_PCI_COMMON_Q_USEDLO, 4, (uint32_t)q->used);
	drv_common_write(d, VIRTIO_PCI_COMMON_Q_USEDHI, 4, 0);
	drv_common_write(d, VIRTIO_PCI_COMMON_Q_MSIX, 2, qi + 1);
	drv_common_write(d, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
}

void drv_driver_ok(struct drv *d)
{
	drv_common_write(d, VIRTIO_PCI_COMMON_MSIX, 2, 0);
	drv_common_write(d, VIRTIO_PCI_COMMON_STATUS, 1, 0xf);
}

void drv_kick(struct drv *d, unsigned int qi)
{
	fake_mmio_write(d->vm, d->bar + VIRTIO_PCI_NOTIFY_OFF + 4 * qi, 2, qi);
}

uint16_t drv_submit(struct drv *d, unsigned int qi, const struct drv_buf *b,
                    unsigned int n, bool kick)
{
	struct drv_queue *q = &d->q[qi];
	struct virtq_desc *desc = fake_gpa(d->vm, q->desc);
	uint16_t *avail = fake_gpa(d->vm, q->avail);
	uint16_t head = q->next_desc;

	for (unsigned int i = 0; i < n; i++) {
		uint16_t k = (uint16_t)((head + i) % q->size);

		desc[k].addr = b[i].addr;
		desc[k].len = b[i].len;
		desc[k].flags =
		    (uint16_t)((b[i].write ? VIRTQ_DESC_F_WRITE : 0) |
		               (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0));
		desc[k].next = (uint16_t)((k + 1) % q->size);
	}
	q->next_desc = (uint16_t)((head + n) % q->size);
	avail[2 + q->avail_idx % q->size] = head;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	avail[1] = ++q->avail_idx;
	if (kick)
		drv_kick(d, qi);
	return head;
}

bool drv_get_used(struct drv *d, unsigned int qi, uint32_t *id, uint32_t *len)
{
	struct drv_queue *q = &d->q[qi];
	uint8_t *used = fake_gpa(d->vm, q->used);
	uint16_t idx;
	uint32_t e[2];

	memcpy(&idx, used + 2, 2);
	if (idx == q->used_seen)
		return false;
	memcpy(e, used + 4 + 8 * (q->used_seen % q->size), 8);
	q->used_seen++;
	*id = e[0];
	*len = e[1];
	return true;
}

void drv_config_read(struct drv *d, uint32_t off, void *buf, uint32_t len)
{
	uint8_t *p = buf;

	for (uint32_t i = 0; i < len; i++)
		p[i] = (uint8_t)fake_mmio_read(
		    d->vm, d->bar + VIRTIO_PCI_DEVICE_OFF + off + i, 1);
}

bool drv_wait_used(struct drv *d, unsigned int qi, uint32_t *id, uint32_t *len,
                   unsigned int timeout_ms)
{
	for (unsigned int t = 0; t <= timeout_ms; t++) {
		if (drv_get_used(d, qi, id, len))
			return true;
		usleep(1000);
	}
	return false;
}
