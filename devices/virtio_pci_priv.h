/* SPDX-License-Identifier: Apache-2.0 */
/* Shared between virtio_pci.c (transport) and virtio_msix.c (interrupts);
 * devices/ internal. Every function runs with vdev->lock held. */
#ifndef PODVISOR_DEVICES_VIRTIO_PCI_PRIV_H
#define PODVISOR_DEVICES_VIRTIO_PCI_PRIV_H

#include <stdint.h>

#include "podvisor/virtio.h"

#define MSIX_CTRL_ENABLE 0x8000
#define MSIX_CTRL_FMASK  0x4000
#define MSIX_ENTRY_MASK  0x1

/* Re-evaluates every vector after a table, mask or enable change: routes
 * updated, queue irqfds bound or unbound, pending config irq delivered. */
void virtio_msix_update(struct virtio_dev *vdev);

/* Binds q's call eventfd to its vector's route when live, else unbinds. */
void virtio_queue_bind_irq(struct virtio_dev *vdev, struct virtio_queue *q);

/* MSI-X table accesses at off inside the table. */
void virtio_msix_read(struct virtio_dev *vdev, uint64_t off, void *data,
                      uint32_t len);
void virtio_msix_write(struct virtio_dev *vdev, uint64_t off, const void *data,
                       uint32_t len);

/* Device reset: deletes the KVM routes (re-created when next needed) and
 * clears pending bits. */
void virtio_msix_drop_routes(struct virtio_dev *vdev);

#endif
