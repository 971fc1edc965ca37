// SPDX-License-Identifier: Apache-2.0
/*
 * Virtio over PCI, modern transport (virtio 1.2 §4.1): the PCI function,
 * its capabilities, BAR 0 (common / ISR / device / notify / MSI-X) and the
 * device status machine. Layout and locking are described in virtio.h.
 */
#include <errno.h>
#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "podvisor/kvm.h"
#include "podvisor/log.h"
#include "podvisor/util.h"
#include "podvisor/virtio.h"
#include "podvisor/vm.h"
#include "virtio_pci_priv.h"

/* virtio_pci_cap field offsets inside a vendor capability (§4.1.4). */
#define VCAP_CFG_TYPE 3
#define VCAP_BAR      4
#define VCAP_OFFSET   8
#define VCAP_LENGTH   12
#define VCAP_MULT     16 /* notify cap: notify_off_multiplier */
#define VCAP_DATA     16 /* pci_cfg cap: pci_cfg_data */

static void bar_read(void *opaque, uint64_t off, void *data, uint32_t len);
static void bar_write(void *opaque, uint64_t off, const void *data,
                      uint32_t len);

static const struct io_ops virtio_bar_ops = {
    .read = bar_read,
    .write = bar_write,
};

/* ---- notifications ---- */

static void queue_bind_notify(struct virtio_dev *vdev, struct virtio_queue *q)
{
	uint64_t want = 0;
	int r;

	if (q->enabled && vdev->bar_addr)
		want = vdev->bar_addr + VIRTIO_PCI_NOTIFY_OFF +
		       VIRTIO_PCI_NOTIFY_MULT * q->index;
	if (want == q->notify_addr)
		return;
	if (q->notify_addr)
		kvm_vm_ioeventfd(&vdev->vm->kvm, q->notify_addr, 2, false,
		                 q->kick_fd, false);
	q->notify_addr = 0;
	if (!want)
		return;
	r = kvm_vm_ioeventfd(&vdev->vm->kvm, want, 2, false, q->kick_fd, true);
	if (r < 0)
		log_warn("%s: queue %u: no ioeventfd, kicks take the slow "
		         "path: %s",
		         vdev->name, q->index, strerror(-r));
	else
		q->notify_addr = want;
}

static bool dev_running(const struct virtio_dev *vdev)
{
	return (vdev->status & VIRTIO_STATUS_DRIVER_OK) &&
	       !(vdev->status & VIRTIO_STATUS_NEEDS_RESET);
}

static void queue_kick(struct virtio_dev *vdev, unsigned int qi)
{
	if (qi >= vdev->nr_queues || !vdev->queues[qi].enabled ||
	    !dev_running(vdev) || vdev->ops->external_queues)
		return;
	vdev->ops->queue_notify(vdev, qi);
}

static void kick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct virtio_queue *q = arg;
	struct virtio_dev *vdev = q->vdev;
	uint64_t n;

	if (read(fd, &n, sizeof(n)) < 0)
		return;
	pthread_mutex_lock(&vdev->lock);
	queue_kick(vdev, q->index);
	pthread_mutex_unlock(&vdev->lock);
}

/* ---- status machine ---- */

static void queue_reset(struct virtio_dev *vdev, struct virtio_queue *q)
{
	uint64_t n;

	q->enabled = false;
	queue_bind_notify(vdev, q);
	virtio_queue_bind_irq(vdev, q);
	if (q->call_fd >= 0)
		while (read(q->call_fd, &n, sizeof(n)) > 0)
			;
	virtq_reset(&q->vq);
	q->size = q->max_size;
	q->msix_vector = VIRTIO_MSI_NO_VECTOR;
	q->desc = q->avail = q->used = 0;
}

static void dev_reset(struct virtio_dev *vdev)
{
	if (vdev->ops->reset)
		vdev->ops->reset(vdev);
	for (unsigned int i = 0; i < vdev->nr_queues; i++)
		queue_reset(vdev, &vdev->queues[i]);
	virtio_msix_drop_routes(vdev);
	vdev->status = 0;
	vdev->guest_features = 0;
	vdev->dfselect = vdev->gfselect = 0;
	vdev->isr = 0;
	vdev->msix_config = VIRTIO_MSI_NO_VECTOR;
	vdev->queue_select = 0;
}

static bool features_ok(struct virtio_dev *vdev)
{
	uint64_t extra = vdev->guest_features & ~vdev->host_features;

	if (!virtio_has_feature(vdev, VIRTIO_F_VERSION_1)) {
		log_warn("%s: driver did not accept VERSION_1 (legacy drivers "
		         "are not supported); FEATURES_OK refused",
		         vdev->name);
		return false;
	}
	if (extra) {
		log_warn("%s: driver accepted features 0x%llx that were not "
		         "offered; FEATURES_OK refused",
		         vdev->name, (unsigned long long)extra);
		return false;
	}
	return true;
}

static void status_write(struct virtio_dev *vdev, uint8_t v)
{
	uint8_t old = vdev->status;
	int r;

	if (v == 0) {
		dev_reset(vdev);
		return;
	}
	if ((v & VIRTIO_STATUS_FEATURES_OK) &&
	    !(old & VIRTIO_STATUS_FEATURES_OK) && !features_ok(vdev))
		v &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
	if ((v & VIRTIO_STATUS_DRIVER_OK) && !(v & VIRTIO_STATUS_FEATURES_OK))
		v &= (uint8_t)~VIRTIO_STATUS_DRIVER_OK;
	vdev->status = v | (old & VIRTIO_STATUS_NEEDS_RESET);
	if ((v & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK)) {
		vdev->driven = true;
		vdev->vm->virtio_driven = true;
		log_debug("%s: driver ready, features 0x%llx", vdev->name,
		          (unsigned long long)vdev->guest_features);
		r = vdev->ops->activate ? vdev->ops->activate(vdev) : 0;
		if (r < 0)
			virtio_dev_set_broken(vdev, "cannot start: %s",
			                      strerror(-r));
	}
}

static void queue_enable(struct virtio_dev *vdev, struct virtio_queue *q)
{
	int r;

	if (q->enabled)
		return;
	if (q->size > q->max_size) {
		virtio_dev_set_broken(vdev,
		                      "queue %u: size %u above the "
		                      "offered %u",
		                      q->index, q->size, q->max_size);
		return;
	}
	r = virtq_setup(&q->vq, q->size, q->desc, q->avail, q->used);
	if (r < 0) {
		virtio_dev_set_broken(vdev, "queue %u: %s", q->index,
		                      q->vq.error);
		return;
	}
	q->vq.event_idx = virtio_has_feature(vdev, VIRTIO_F_EVENT_IDX);
	q->vq.indirect = virtio_has_feature(vdev, VIRTIO_F_INDIRECT_DESC);
	q->enabled = true;
	queue_bind_notify(vdev, q);
	virtio_queue_bind_irq(vdev, q);
}

/* ---- common configuration (§4.1.4.3) ---- */

static void put(uint8_t *b, uint32_t off, uint64_t v, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		b[off + i] = (uint8_t)(v >> (8 * i));
}

static void common_snapshot(struct virtio_dev *vdev, uint8_t *b)
{
	struct virtio_queue *q = NULL;
	uint64_t df = 0, gf = 0;

	if (vdev->dfselect < 2)
		df = vdev->host_features >> (32 * vdev->dfselect);
	if (vdev->gfselect < 2)
		gf = vdev->guest_features >> (32 * vdev->gfselect);
	put(b, VIRTIO_PCI_COMMON_DFSELECT, vdev->dfselect, 4);
	put(b, VIRTIO_PCI_COMMON_DF, (uint32_t)df, 4);
	put(b, VIRTIO_PCI_COMMON_GFSELECT, vdev->gfselect, 4);
	put(b, VIRTIO_PCI_COMMON_GF, (uint32_t)gf, 4);
	put(b, VIRTIO_PCI_COMMON_MSIX, vdev->msix_config, 2);
	put(b, VIRTIO_PCI_COMMON_NUMQ, vdev->nr_queues, 2);
	put(b, VIRTIO_PCI_COMMON_STATUS, vdev->status, 1);
	put(b, VIRTIO_PCI_COMMON_CFGGEN, vdev->config_generation, 1);
	put(b, VIRTIO_PCI_COMMON_Q_SELECT, vdev->queue_select, 2);
	if (vdev->queue_select < vdev->nr_queues)
		q = &vdev->queues[vdev->queue_select];
	if (!q) /* §4.1.4.3.1: a queue that does not exist has size 0. */
		return;
	put(b, VIRTIO_PCI_COMMON_Q_SIZE, q->size, 2);
	put(b, VIRTIO_PCI_COMMON_Q_MSIX, q->msix_vector, 2);
	put(b, VIRTIO_PCI_COMMON_Q_ENABLE, q->enabled, 2);
	put(b, VIRTIO_PCI_COMMON_Q_NOFF, q->index, 2);
	put(b, VIRTIO_PCI_COMMON_Q_DESCLO, q->desc, 8);
	put(b, VIRTIO_PCI_COMMON_Q_AVAILLO, q->avail, 8);
	put(b, VIRTIO_PCI_COMMON_Q_USEDLO, q->used, 8);
}

static void set_half(uint64_t *p, bool hi, uint32_t v)
{
	if (hi)
		*p = (*p & 0xffffffffULL) | (uint64_t)v << 32;
	else
		*p = (*p & ~0xffffffffULL) | v;
}

static uint16_t vector_arg(struct virtio_dev *vdev, uint32_t v)
{
	/* §4.1.5.1.2: a vector the device cannot use reads back as none. */
	return v < vdev->nr_msix ? (uint16_t)v : VIRTIO_MSI_NO_VECTOR;
}

static void queue_field_write(struct virtio_dev *vdev, uint32_t off, uint32_t v)
{
	struct virtio_queue *q;

	if (vdev->queue_select >= vdev->nr_queues)
		return;
	q = &vdev->queues[vdev->queue_select];
	if (off == VIRTIO_PCI_COMMON_Q_MSIX) {
		q->msix_vector = vector_arg(vdev, v);
		virtio_queue_bind_irq(vdev, q);
		return;
	}
	if (off == VIRTIO_PCI_COMMON_Q_ENABLE) {
		if (v == 1)
			queue_enable(vdev, q);
		return;
	}
	if (q->enabled) /* §4.1.4.3.2: fixed once enabled. */
		return;
	switch (off) {
	case VIRTIO_PCI_COMMON_Q_SIZE:
		q->size = (uint16_t)v;
		break;
	case VIRTIO_PCI_COMMON_Q_DESCLO:
	case VIRTIO_PCI_COMMON_Q_DESCHI:
		set_half(&q->desc, off == VIRTIO_PCI_COMMON_Q_DESCHI, v);
		break;
	case VIRTIO_PCI_COMMON_Q_AVAILLO:
	case VIRTIO_PCI_COMMON_Q_AVAILHI:
		set_half(&q->avail, off == VIRTIO_PCI_COMMON_Q_AVAILHI, v);
		break;
	case VIRTIO_PCI_COMMON_Q_USEDLO:
	case VIRTIO_PCI_COMMON_Q_USEDHI:
		set_half(&q->used, off == VIRTIO_PCI_COMMON_Q_USEDHI, v);
		break;
	}
}

static void common_write(struct virtio_dev *vdev, uint32_t off, uint32_t v,
                         uint32_t len)
{
	uint64_t mask;

	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT:
		vdev->dfselect = v;
		return;
	case VIRTIO_PCI_COMMON_GFSELECT:
		vdev->gfselect = v;
		return;
	case VIRTIO_PCI_COMMON_GF:
		if (vdev->gfselect >= 2 ||
		    (vdev->status & VIRTIO_STATUS_FEATURES_OK))
			return;
		mask = 0xffffffffULL << (32 * vdev->gfselect);
		vdev->guest_features = (vdev->guest_features & ~mask) |
		                       ((uint64_t)v << (32 * vdev->gfselect));
		return;
	case VIRTIO_PCI_COMMON_MSIX:
		vdev->msix_config = vector_arg(vdev, v);
		return;
	case VIRTIO_PCI_COMMON_STATUS:
		status_write(vdev, (uint8_t)v);
		return;
	case VIRTIO_PCI_COMMON_Q_SELECT:
		vdev->queue_select = (uint16_t)v;
		return;
	default:
		queue_field_write(vdev, off, v);
	}
}

/* ---- BAR 0 ---- */

static void bar_access(struct virtio_dev *vdev, uint64_t off, void *data,
                       uint32_t len, bool wr)
{
	uint8_t snap[VIRTIO_PCI_COMMON_SIZE];
	uint32_t v = 0;

	if (!wr)
		memset(data, 0, len);
	else
		memcpy(&v, data, MIN(len, 4u));
	if (off + len <= VIRTIO_PCI_COMMON_SIZE) {
		if (wr) {
			common_write(vdev, (uint32_t)off, v, len);
		} else {
			memset(snap, 0, sizeof(snap));
			common_snapshot(vdev, snap);
			memcpy(data, snap + off, len);
		}
	} else if (off == VIRTIO_PCI_ISR_OFF && !wr) {
		/* Reading the ISR acknowledges it (§4.1.4.5). */
		*(uint8_t *)data = vdev->isr;
		vdev->isr = 0;
	} else if (off >= VIRTIO_PCI_DEVICE_OFF &&
	           off + len <= VIRTIO_PCI_DEVICE_OFF + vdev->config_size) {
		uint32_t c = (uint32_t)(off - VIRTIO_PCI_DEVICE_OFF);

		if (!wr) {
			memcpy(data, vdev->config + c, len);
		} else if (vdev->config_wmask) {
			for (uint32_t i = 0; i < len; i++) {
				uint8_t m = vdev->config_wmask[c + i];
				uint8_t *p = &vdev->config[c + i];

				*p = (uint8_t)((*p & ~m) |
				               (((uint8_t *)data)[i] & m));
			}
			if (vdev->ops->config_write)
				vdev->ops->config_write(vdev, c, len);
		}
	} else if (off >= VIRTIO_PCI_NOTIFY_OFF &&
	           off < VIRTIO_PCI_NOTIFY_OFF +
	                     VIRTIO_PCI_NOTIFY_MULT * vdev->nr_queues) {
		if (wr)
			queue_kick(vdev,
			           (unsigned int)(off - VIRTIO_PCI_NOTIFY_OFF) /
			               VIRTIO_PCI_NOTIFY_MULT);
	} else if (off >= VIRTIO_PCI_MSIX_OFF &&
	           off < VIRTIO_PCI_MSIX_OFF + 16ULL * vdev->nr_msix) {
		if (wr)
			virtio_msix_write(vdev, off - VIRTIO_PCI_MSIX_OFF, data,
			                  len);
		else
			virtio_msix_read(vdev, off - VIRTIO_PCI_MSIX_OFF, data,
			                 len);
	} else if (off >= VIRTIO_PCI_PBA_OFF &&
	           off + len <= VIRTIO_PCI_PBA_OFF + 8) {
		if (!wr)
			memcpy(data,
			       (uint8_t *)&vdev->msix_pba +
			           (off - VIRTIO_PCI_PBA_OFF),
			       len);
	}
}

static void bar_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	struct virtio_dev *vdev = opaque;

	pthread_mutex_lock(&vdev->lock);
	bar_access(vdev, off, data, len, false);
	pthread_mutex_unlock(&vdev->lock);
}

static void bar_write(void *opaque, uint64_t off, const void *data,
                      uint32_t len)
{
	struct virtio_dev *vdev = opaque;

	pthread_mutex_lock(&vdev->lock);
	bar_access(vdev, off, (void *)data, len, true);
	pthread_mutex_unlock(&vdev->lock);
}

/* ---- PCI hooks (bus lock held) ---- */

static bool overlaps(uint32_t off, uint32_t len, uint32_t start, uint32_t n)
{
	return off < start + n && start < off + len;
}

/* §4.1.4.9: the PCI_CFG window reads or writes BAR 0 through config
 * space. Returns false when the window is not programmed sensibly. */
static bool pcicfg_window(struct virtio_dev *vdev, uint32_t *boff,
                          uint32_t *blen)
{
	struct pci_dev *d = &vdev->pci;
	uint8_t c = vdev->pcicfg_cap;

	*boff = pci_cfg_get32(d, c + VCAP_OFFSET);
	*blen = pci_cfg_get32(d, c + VCAP_LENGTH);
	return d->cfg[c + VCAP_BAR] == 0 &&
	       (*blen == 1 || *blen == 2 || *blen == 4) && *boff % *blen == 0 &&
	       *boff < VIRTIO_PCI_BAR_SIZE;
}

static void on_cfg_read(struct pci_dev *d, uint32_t off, uint32_t len)
{
	struct virtio_dev *vdev = d->priv;
	uint32_t boff, blen, v = 0;

	if (!overlaps(off, len, vdev->pcicfg_cap + VCAP_DATA, 4) ||
	    !pcicfg_window(vdev, &boff, &blen))
		return;
	bar_read(vdev, boff, &v, blen);
	pci_cfg_set32(d, vdev->pcicfg_cap + VCAP_DATA, v);
}

static void on_cfg_write(struct pci_dev *d, uint32_t off, uint32_t len)
{
	struct virtio_dev *vdev = d->priv;
	uint32_t boff, blen, v;
	uint16_t ctrl;

	if (overlaps(off, len, vdev->msix_cap + 2, 2)) {
		ctrl = pci_cfg_get16(d, vdev->msix_cap + 2);
		pthread_mutex_lock(&vdev->lock);
		vdev->msix_enabled = ctrl & MSIX_CTRL_ENABLE;
		vdev->msix_fmask = ctrl & MSIX_CTRL_FMASK;
		virtio_msix_update(vdev);
		pthread_mutex_unlock(&vdev->lock);
	}
	if (overlaps(off, len, vdev->pcicfg_cap + VCAP_DATA, 4) &&
	    pcicfg_window(vdev, &boff, &blen)) {
		v = pci_cfg_get32(d, vdev->pcicfg_cap + VCAP_DATA);
		bar_write(vdev, boff, &v, blen);
	}
}

static void on_bar_moved(struct pci_dev *d, unsigned int bar, bool mapped,
                         uint64_t addr)
{
	struct virtio_dev *vdev = d->priv;

	pthread_mutex_lock(&vdev->lock);
	vdev->bar_addr = mapped ? addr : 0;
	for (unsigned int i = 0; i < vdev->nr_queues; i++)
		queue_bind_notify(vdev, &vdev->queues[i]);
	pthread_mutex_unlock(&vdev->lock);
}

/* ---- setup ---- */

static int add_vcap(struct pci_dev *d, uint8_t type, uint8_t len, uint32_t off,
                    uint32_t size)
{
	int c = pci_dev_add_cap(d, PCI_CAP_ID_VNDR, len);

	if (c < 0)
		return c;
	d->cfg[c + 2] = len;
	d->cfg[c + VCAP_CFG_TYPE] = type;
	d->cfg[c + VCAP_BAR] = 0;
	pci_cfg_set32(d, (uint32_t)c + VCAP_OFFSET, off);
	pci_cfg_set32(d, (uint32_t)c + VCAP_LENGTH, size);
	return c;
}

static uint32_t class_of(uint16_t id)
{
	switch (id) {
	case VIRTIO_ID_NET:
		return 0x020000; /* network, ethernet */
	case VIRTIO_ID_BLOCK:
		return 0x018000; /* mass storage, other */
	case VIRTIO_ID_CONSOLE:
		return 0x078000; /* simple communication, other */
	default:
		return 0xff0000; /* unassigned class */
	}
}

static int add_caps(struct virtio_dev *vdev)
{
	struct pci_dev *d = &vdev->pci;
	int c;

	c = pci_dev_add_cap(d, PCI_CAP_ID_MSIX, 12);
	if (c < 0)
		return c;
	vdev->msix_cap = (uint8_t)c;
	pci_cfg_set16(d, (uint32_t)c + 2, (uint16_t)(vdev->nr_msix - 1));
	d->wmask[c + 3] = (MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK) >> 8;
	pci_cfg_set32(d, (uint32_t)c + 4, VIRTIO_PCI_MSIX_OFF); /* BIR 0 */
	pci_cfg_set32(d, (uint32_t)c + 8, VIRTIO_PCI_PBA_OFF);
	if (add_vcap(d, VIRTIO_PCI_CAP_COMMON_CFG, 16, VIRTIO_PCI_COMMON_OFF,
	             VIRTIO_PCI_COMMON_SIZE) < 0)
		return -ENOSPC;
	c = add_vcap(d, VIRTIO_PCI_CAP_NOTIFY_CFG, 20, VIRTIO_PCI_NOTIFY_OFF,
	             VIRTIO_PCI_NOTIFY_MULT * vdev->nr_queues);
	if (c < 0)
		return c;
	pci_cfg_set32(d, (uint32_t)c + VCAP_MULT, VIRTIO_PCI_NOTIFY_MULT);
	if (add_vcap(d, VIRTIO_PCI_CAP_ISR_CFG, 16, VIRTIO_PCI_ISR_OFF, 1) < 0)
		return -ENOSPC;
	if (vdev->config_size &&
	    add_vcap(d, VIRTIO_PCI_CAP_DEVICE_CFG, 16, VIRTIO_PCI_DEVICE_OFF,
	             vdev->config_size) < 0)
		return -ENOSPC;
	c = add_vcap(d, VIRTIO_PCI_CAP_PCI_CFG, 20, 0, 0);
	if (c < 0)
		return c;
	vdev->pcicfg_cap = (uint8_t)c;
	pci_cfg_set_writable(d, (uint32_t)c + VCAP_BAR, 1);
	pci_cfg_set_writable(d, (uint32_t)c + VCAP_OFFSET, 12);
	return 0;
}

static int queues_open(struct virtio_dev *vdev)
{
	for (unsigned int i = 0; i < vdev->nr_queues; i++) {
		struct virtio_queue *q = &vdev->queues[i];

		q->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		q->call_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (q->kick_fd < 0 || q->call_fd < 0)
			return log_err_errno(errno, "%s: eventfd", vdev->name);
		if (vdev->ops->external_queues || !vdev->vm->evbase)
			continue;
		/* The kick event lives as long as the device: resets never
		 * free it, so no vCPU waits on the I/O thread's callback. */
		q->kick_ev = event_new(vdev->vm->evbase, q->kick_fd,
		                       EV_READ | EV_PERSIST, kick_cb, q);
		if (!q->kick_ev || event_add(q->kick_ev, NULL) < 0)
			return log_err_errno(ENOMEM, "%s: kick event",
			                     vdev->name);
	}
	return 0;
}

int virtio_dev_init(struct virtio_dev *vdev, struct vm *vm,
                    const struct virtio_dev_ops *ops, const char *name,
                    unsigned int nr_queues, uint16_t queue_size,
                    uint64_t features, void *config, uint32_t config_size)
{
	memset(vdev, 0, sizeof(*vdev));
	vdev->vm = vm;
	vdev->ops = ops;
	snprintf(vdev->name, sizeof(vdev->name), "%s", name);
	pthread_mutex_init(&vdev->lock, NULL);
	/* Checked after the fields virtio_dev_destroy() needs are set. */
	if (nr_queues == 0 || nr_queues > 63 || queue_size == 0 ||
	    queue_size > VIRTQ_MAX_SIZE || (queue_size & (queue_size - 1)) ||
	    config_size > VIRTIO_PCI_REGION_SIZE)
		return -EINVAL;
	vdev->host_features = features | 1ULL << VIRTIO_F_VERSION_1;
	vdev->config = config;
	vdev->config_size = config_size;
	vdev->msix_config = VIRTIO_MSI_NO_VECTOR;
	vdev->nr_queues = nr_queues;
	vdev->nr_msix = nr_queues + 1;
	vdev->queues = calloc(nr_queues, sizeof(*vdev->queues));
	vdev->msix = calloc(vdev->nr_msix, sizeof(*vdev->msix));
	if (!vdev->queues || !vdev->msix)
		return -ENOMEM;
	for (unsigned int v = 0; v < vdev->nr_msix; v++) {
		vdev->msix[v].ctrl = MSIX_ENTRY_MASK; /* masked at reset */
		vdev->msix[v].gsi = -1;
	}
	for (unsigned int i = 0; i < nr_queues; i++) {
		struct virtio_queue *q = &vdev->queues[i];

		virtq_init(&q->vq, &vm->mem, vdev->name, (uint16_t)i);
		q->vdev = vdev;
		q->index = i;
		q->max_size = q->size = queue_size;
		q->msix_vector = VIRTIO_MSI_NO_VECTOR;
		q->kick_fd = q->call_fd = q->irqfd_gsi = -1;
	}
	return 0;
}

int virtio_pci_add(struct virtio_dev *vdev, unsigned int slot)
{
	struct pci_dev *d = &vdev->pci;
	uint16_t id = vdev->ops->device_id;
	int r;

	pci_dev_init(d, vdev->name, VIRTIO_PCI_VENDOR,
	             (uint16_t)(VIRTIO_PCI_DEVICE_BASE + id), class_of(id));
	pci_cfg_set8(d, PCI_REVISION_ID, 1);
	pci_cfg_set16(d, PCI_SUBSYSTEM_VENDOR_ID, VIRTIO_PCI_SUBSYS_VENDOR);
	pci_cfg_set16(d, PCI_SUBSYSTEM_ID, 0x40 + id);
	d->priv = vdev;
	d->cfg_read = on_cfg_read;
	d->cfg_write = on_cfg_write;
	d->bar_moved = on_bar_moved;
	r = pci_dev_set_bar(d, 0, VIRTIO_PCI_BAR_SIZE, true, &virtio_bar_ops,
	                    vdev);
	if (r == 0)
		r = add_caps(vdev);
	if (r == 0)
		r = queues_open(vdev);
	if (r == 0)
		r = pci_bus_add_dev(vdev->vm->pci, d, slot);
	if (r < 0)
		return log_err_errno(r, "%s: cannot add at PCI slot %u",
		                     vdev->name, slot);
	vdev->added = true;
	log_info("%s: PCI 00:%02x.0 (1af4:%04x), BAR 0x%llx", vdev->name, slot,
	         VIRTIO_PCI_DEVICE_BASE + id,
	         (unsigned long long)vdev->bar_addr);
	return 0;
}

/* The guest kernel option whose driver takes a device (for a hint when a
 * device was never driven). */
static const char *driver_option(uint16_t id)
{
	switch (id) {
	case VIRTIO_ID_NET:
		return "CONFIG_VIRTIO_NET";
	case VIRTIO_ID_BLOCK:
		return "CONFIG_VIRTIO_BLK";
	case VIRTIO_ID_CONSOLE:
		return "CONFIG_VIRTIO_CONSOLE";
	case VIRTIO_ID_RNG:
		return "CONFIG_HW_RANDOM_VIRTIO";
	case VIRTIO_ID_VSOCK:
		return "CONFIG_VIRTIO_VSOCKETS";
	default:
		return "its virtio driver";
	}
}

/* Whether the guest reached its virtio driver probes: some virtio device
 * was driven, or the guest ended its own life (poweroff, reboot). A guest
 * stopped from outside before that (a slow PVM guest, say) tells nothing
 * about its kernel's drivers. */
static bool guest_reached_probes(struct vm *vm)
{
	enum vm_exit_reason why;

	if (vm->virtio_driven)
		return true;
	pthread_mutex_lock(&vm->lock);
	why = vm->exit_reason;
	pthread_mutex_unlock(&vm->lock);
	return why == VM_EXIT_POWEROFF || why == VM_EXIT_REBOOT;
}

void virtio_dev_destroy(struct virtio_dev *vdev)
{
	if (vdev->added && !vdev->driven && guest_reached_probes(vdev->vm))
		log_info("%s: the guest never started a driver for it; does "
		         "its kernel have CONFIG_VIRTIO_PCI and %s?",
		         vdev->name, driver_option(vdev->ops->device_id));
	if (vdev->ops && vdev->ops->stop)
		vdev->ops->stop(vdev);
	if (vdev->queues) {
		pthread_mutex_lock(&vdev->lock);
		dev_reset(vdev);
		pthread_mutex_unlock(&vdev->lock);
	}
	if (vdev->added)
		pci_bus_remove_dev(vdev->vm->pci, &vdev->pci);
	for (unsigned int i = 0; vdev->queues && i < vdev->nr_queues; i++) {
		struct virtio_queue *q = &vdev->queues[i];

		if (q->kick_ev)
			event_free(q->kick_ev);
		if (q->kick_fd >= 0)
			close(q->kick_fd);
		if (q->call_fd >= 0)
			close(q->call_fd);
	}
	free(vdev->queues);
	free(vdev->msix);
	vdev->queues = NULL;
	vdev->msix = NULL;
	pthread_mutex_destroy(&vdev->lock);
	if (vdev->ops && vdev->ops->free)
		vdev->ops->free(vdev);
}

struct virtio_dev *virtio_dev_at_slot(struct vm *vm, unsigned int slot)
{
	struct pci_dev *d;

	if (!vm->pci || slot == 0 || slot >= PCI_MAX_SLOTS)
		return NULL;
	d = vm->pci->devs[slot];
	if (!d || d->bar_moved != on_bar_moved)
		return NULL;
	return d->priv;
}
