// SPDX-License-Identifier: Apache-2.0
/*
 * MSI-X for virtio-pci devices (PCI 3.0 §6.8.2): the table and PBA in BAR 0,
 * one KVM GSI route per live vector and one irqfd per queue bound to its
 * vector's route while the vector is enabled and unmasked (virtio.h).
 * Everything here runs with vdev->lock held.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "podvisor/kvm.h"
#include "podvisor/log.h"
#include "podvisor/virtio.h"
#include "podvisor/vm.h"
#include "virtio_pci_priv.h"

static void put(uint8_t *b, uint32_t off, uint64_t v, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		b[off + i] = (uint8_t)(v >> (8 * i));
}

static bool vector_live(const struct virtio_dev *vdev, uint16_t v)
{
	return vdev->msix_enabled && !vdev->msix_fmask && v < vdev->nr_msix &&
	       !(vdev->msix[v].ctrl & MSIX_ENTRY_MASK);
}

static uint64_t msix_addr(const struct virtio_msix_entry *e)
{
	return (uint64_t)e->addr_hi << 32 | e->addr_lo;
}

/* Makes sure a live vector has a KVM route; returns its GSI or -1. */
static int vector_gsi(struct virtio_dev *vdev, uint16_t v)
{
	struct virtio_msix_entry *e;
	int gsi;

	if (!vector_live(vdev, v))
		return -1;
	e = &vdev->msix[v];
	if (e->gsi >= 0)
		return e->gsi;
	gsi = kvm_vm_msi_route_add(&vdev->vm->kvm, msix_addr(e), e->data);
	if (gsi < 0) {
		log_warn("%s: no KVM route for MSI-X vector %u: %s", vdev->name,
		         v, strerror(-gsi));
		return -1;
	}
	e->gsi = gsi;
	e->route_addr = msix_addr(e);
	e->route_data = e->data;
	return gsi;
}

void virtio_queue_bind_irq(struct virtio_dev *vdev, struct virtio_queue *q)
{
	int gsi = q->enabled ? vector_gsi(vdev, q->msix_vector) : -1;
	int r;

	if (q->irqfd_gsi == gsi)
		return;
	if (q->irqfd_gsi >= 0)
		kvm_vm_irqfd(&vdev->vm->kvm, q->call_fd, (uint32_t)q->irqfd_gsi,
		             false);
	q->irqfd_gsi = -1;
	if (gsi < 0 || q->call_fd < 0)
		return;
	r = kvm_vm_irqfd(&vdev->vm->kvm, q->call_fd, (uint32_t)gsi, true);
	if (r < 0)
		log_warn("%s: queue %u: cannot bind irqfd to GSI %d: %s",
		         vdev->name, q->index, gsi, strerror(-r));
	else
		q->irqfd_gsi = gsi;
}

static void config_irq_deliver(struct virtio_dev *vdev)
{
	uint16_t v = vdev->msix_config;
	struct virtio_msix_entry *e;

	if (v >= vdev->nr_msix)
		return;
	if (!vector_live(vdev, v)) {
		vdev->msix_pba |= 1ULL << v;
		return;
	}
	e = &vdev->msix[v];
	vdev->msix_pba &= ~(1ULL << v);
	kvm_vm_signal_msi(&vdev->vm->kvm, msix_addr(e), e->data);
}

/* Re-evaluates every vector after a table, mask or enable change. */
void virtio_msix_update(struct virtio_dev *vdev)
{
	for (unsigned int v = 0; v < vdev->nr_msix; v++) {
		struct virtio_msix_entry *e = &vdev->msix[v];

		/* Each update recommits KVM's whole routing table: only
		 * when the message really changed. */
		if (!vector_live(vdev, v) || e->gsi < 0 ||
		    (e->route_addr == msix_addr(e) && e->route_data == e->data))
			continue;
		kvm_vm_msi_route_update(&vdev->vm->kvm, (uint32_t)e->gsi,
		                        msix_addr(e), e->data);
		e->route_addr = msix_addr(e);
		e->route_data = e->data;
	}
	for (unsigned int i = 0; i < vdev->nr_queues; i++) {
		struct virtio_queue *q = &vdev->queues[i];

		virtio_queue_bind_irq(vdev, q);
		/* A bound irqfd delivers what accumulated while masked. */
		if (q->irqfd_gsi >= 0 && q->msix_vector < 64)
			vdev->msix_pba &= ~(1ULL << q->msix_vector);
	}
	if (vdev->msix_config < vdev->nr_msix &&
	    (vdev->msix_pba >> vdev->msix_config & 1) &&
	    vector_live(vdev, vdev->msix_config))
		config_irq_deliver(vdev);
}

void virtio_queue_interrupt(struct virtio_dev *vdev, unsigned int qi)
{
	struct virtio_queue *q = &vdev->queues[qi];
	uint64_t one = 1;

	if (!virtq_should_notify(&q->vq))
		return;
	vdev->isr |= VIRTIO_ISR_QUEUE;
	if (q->msix_vector >= vdev->nr_msix)
		return; /* Limitation: no INTx, so no vector means no irq. */
	if (q->irqfd_gsi < 0)
		vdev->msix_pba |= 1ULL << q->msix_vector;
	/* The eventfd keeps the count while unbound; KVM injects it when
	 * the irqfd is bound again at unmask. */
	if (write(q->call_fd, &one, sizeof(one)) < 0)
		log_warn("%s: queue %u: call eventfd: %m", vdev->name, qi);
}

void virtio_config_changed(struct virtio_dev *vdev)
{
	vdev->config_generation++;
	vdev->isr |= VIRTIO_ISR_CONFIG;
	config_irq_deliver(vdev);
}

void virtio_dev_set_broken(struct virtio_dev *vdev, const char *fmt, ...)
{
	char msg[192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (vdev->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	log_warn("%s: %s; device needs reset", vdev->name, msg);
	vdev->status |= VIRTIO_STATUS_NEEDS_RESET;
	/* §2.1.2: after DRIVER_OK the driver learns it from a config
	 * change notification. */
	if (vdev->status & VIRTIO_STATUS_DRIVER_OK) {
		vdev->isr |= VIRTIO_ISR_CONFIG;
		config_irq_deliver(vdev);
	}
}

void virtio_msix_read(struct virtio_dev *vdev, uint64_t off, void *data,
                      uint32_t len)
{
	uint8_t b[16];
	unsigned int v = (unsigned int)(off / 16);
	struct virtio_msix_entry *e;

	memset(data, 0, len);
	if (v >= vdev->nr_msix || (off % 16) + len > 16)
		return;
	e = &vdev->msix[v];
	put(b, 0, e->addr_lo, 4);
	put(b, 4, e->addr_hi, 4);
	put(b, 8, e->data, 4);
	put(b, 12, e->ctrl, 4);
	memcpy(data, b + off % 16, len);
}

void virtio_msix_write(struct virtio_dev *vdev, uint64_t off, const void *data,
                       uint32_t len)
{
	unsigned int v = (unsigned int)(off / 16), f = off % 16;
	struct virtio_msix_entry *e;
	uint32_t w[2] = {0, 0};

	/* PCI 3.0 §6.8.2: the table takes aligned dword and qword accesses. */
	if (v >= vdev->nr_msix || (len != 4 && len != 8) || f % len)
		return;
	memcpy(w, data, len);
	e = &vdev->msix[v];
	for (unsigned int i = 0; i < len / 4; i++, f += 4) {
		if (f == 0)
			e->addr_lo = w[i];
		else if (f == 4)
			e->addr_hi = w[i];
		else if (f == 8)
			e->data = w[i];
		else
			e->ctrl = w[i] & MSIX_ENTRY_MASK;
	}
	virtio_msix_update(vdev);
}

void virtio_msix_drop_routes(struct virtio_dev *vdev)
{
	for (unsigned int v = 0; v < vdev->nr_msix; v++) {
		if (vdev->msix[v].gsi >= 0)
			kvm_vm_msi_route_del(&vdev->vm->kvm,
			                     (uint32_t)vdev->msix[v].gsi);
		vdev->msix[v].gsi = -1;
	}
	vdev->msix_pba = 0;
}
