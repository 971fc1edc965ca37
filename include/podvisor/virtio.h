/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Virtio devices over the PCI modern transport (virtio 1.2 §4.1).
 *
 * A device model fills a struct virtio_dev (ops, features, config bytes,
 * queue count) and calls virtio_pci_add(): the transport creates the PCI
 * function (vendor 0x1af4, device 0x1040 + id, revision 1), one 64-bit BAR
 * holding COMMON / ISR / DEVICE / NOTIFY structures and the MSI-X table and
 * PBA, and the vendor capabilities pointing at them plus PCI_CFG.
 *
 * BAR 0 layout (VIRTIO_PCI_BAR_SIZE bytes):
 *   0x0000 common cfg   0x1000 ISR      0x2000 device cfg
 *   0x3000 notify (queue q at 0x3000 + 4 * q; notify_off_multiplier 4)
 *   0x4000 MSI-X table  0x5000 MSI-X PBA
 * MSI-X vectors: nr_queues + 1 (any vector may serve any queue or config).
 *
 * Interrupts: each queue has a call eventfd bound with KVM irqfd to the GSI
 * route of its MSI-X vector while that vector is enabled and unmasked;
 * signalling while masked leaves the eventfd count set and the PBA bit on,
 * and KVM delivers it when the irqfd is bound again at unmask. Notifications:
 * each enabled queue has a kick eventfd bound with KVM ioeventfd to its
 * notify address; the transport polls it on vm->evbase (the I/O thread)
 * and calls ops->queue_notify, unless ops->external_queues (vhost-user: the
 * back-end gets the kick and call fds). Guest writes that still reach the
 * MMIO handler are treated as the same kick.
 *
 * Errors from the guest never stop the VMM: virtio_dev_set_broken() sets
 * NEEDS_RESET, logs one line and raises the config interrupt. A status
 * write of 0 resets: queues, routes, irqfds and ioeventfds are dropped.
 *
 * Locking: vdev->lock protects everything in the device; the transport
 * takes it around every MMIO access and every kick, and calls the ops with
 * it held. A device's own fds (sockets) are served on vm->evbase and take it
 * too.
 */
#ifndef PODVISOR_VIRTIO_H
#define PODVISOR_VIRTIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "podvisor/pci.h"
#include "podvisor/virtqueue.h"

struct vm;
struct event;

#define VIRTIO_PCI_VENDOR        0x1af4
#define VIRTIO_PCI_DEVICE_BASE   0x1040
#define VIRTIO_PCI_SUBSYS_VENDOR 0x1af4

#define VIRTIO_ID_NET     1
#define VIRTIO_ID_BLOCK   2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG     4
#define VIRTIO_ID_VSOCK   19

#define VIRTIO_STATUS_ACKNOWLEDGE 0x01
#define VIRTIO_STATUS_DRIVER      0x02
#define VIRTIO_STATUS_DRIVER_OK   0x04
#define VIRTIO_STATUS_FEATURES_OK 0x08
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED      0x80

#define VIRTIO_F_INDIRECT_DESC   28
#define VIRTIO_F_EVENT_IDX       29
#define VIRTIO_F_VERSION_1       32
#define VIRTIO_F_ACCESS_PLATFORM 33
#define VIRTIO_F_RING_PACKED     34

#define VIRTIO_MSI_NO_VECTOR 0xffff

/* virtio-pci BAR 0 layout (see the file comment). */
#define VIRTIO_PCI_BAR_SIZE    0x8000
#define VIRTIO_PCI_COMMON_OFF  0x0000
#define VIRTIO_PCI_ISR_OFF     0x1000
#define VIRTIO_PCI_DEVICE_OFF  0x2000
#define VIRTIO_PCI_NOTIFY_OFF  0x3000
#define VIRTIO_PCI_MSIX_OFF    0x4000
#define VIRTIO_PCI_PBA_OFF     0x5000
#define VIRTIO_PCI_NOTIFY_MULT 4
#define VIRTIO_PCI_REGION_SIZE 0x1000

/* Vendor capability cfg_type values (§4.1.4). */
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG    3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_PCI_CAP_PCI_CFG    5

/* Common configuration offsets (§4.1.4.3). */
#define VIRTIO_PCI_COMMON_DFSELECT  0
#define VIRTIO_PCI_COMMON_DF        4
#define VIRTIO_PCI_COMMON_GFSELECT  8
#define VIRTIO_PCI_COMMON_GF        12
#define VIRTIO_PCI_COMMON_MSIX      16
#define VIRTIO_PCI_COMMON_NUMQ      18
#define VIRTIO_PCI_COMMON_STATUS    20
#define VIRTIO_PCI_COMMON_CFGGEN    21
#define VIRTIO_PCI_COMMON_Q_SELECT  22
#define VIRTIO_PCI_COMMON_Q_SIZE    24
#define VIRTIO_PCI_COMMON_Q_MSIX    26
#define VIRTIO_PCI_COMMON_Q_ENABLE  28
#define VIRTIO_PCI_COMMON_Q_NOFF    30
#define VIRTIO_PCI_COMMON_Q_DESCLO  32
#define VIRTIO_PCI_COMMON_Q_DESCHI  36
#define VIRTIO_PCI_COMMON_Q_AVAILLO 40
#define VIRTIO_PCI_COMMON_Q_AVAILHI 44
#define VIRTIO_PCI_COMMON_Q_USEDLO  48
#define VIRTIO_PCI_COMMON_Q_USEDHI  52
#define VIRTIO_PCI_COMMON_SIZE      56

#define VIRTIO_ISR_QUEUE  0x1
#define VIRTIO_ISR_CONFIG 0x2

/* The fixed PCI slots (also in devices.h). */
#define VIRTIO_SLOT_DISK0   1 /* disk i at slot 1 + i, i < VM_MAX_DISKS */
#define VIRTIO_SLOT_CONSOLE 9
#define VIRTIO_SLOT_RNG     10
#define VIRTIO_SLOT_VSOCK   11
#define VIRTIO_SLOT_NET0    12 /* net i at slot 12 + i, i < VM_MAX_NETS */

struct virtio_dev;

struct virtio_dev_ops {
	uint16_t device_id; /* VIRTIO_ID_* */
	/*
	 * Queues are served outside the VMM (vhost-user): the transport does
	 * not poll kick fds; the device hands kick_fd/call_fd to the back-end
	 * in activate().
	 */
	bool external_queues;
	/* DRIVER_OK was set: features and queues are final. Return 0 or
	 * -errno (the device then becomes NEEDS_RESET). Optional. */
	int (*activate)(struct virtio_dev *vdev);
	/* The guest kicked queue q. Required unless external_queues. */
	void (*queue_notify)(struct virtio_dev *vdev, unsigned int q);
	/* Status 0 was written (or the device is freed): drop in-flight
	 * work, forget the queues. Optional. */
	void (*reset)(struct virtio_dev *vdev);
	/* A driver write to device config at off (bytes already stored in
	 * vdev->config when writable). Optional: config is read-only. */
	void (*config_write)(struct virtio_dev *vdev, uint32_t off,
	                     uint32_t len);
	/* Stops the device's own threads; virtio_dev_destroy() calls it
	 * first, without the lock. Optional. */
	void (*stop)(struct virtio_dev *vdev);
	/* Frees vdev->priv and what the device owns. Optional. */
	void (*free)(struct virtio_dev *vdev);
};

struct virtio_queue {
	struct virtq vq;
	uint16_t max_size; /* offered queue size */
	uint16_t size;     /* driver's choice, <= max_size */
	uint16_t msix_vector;
	bool enabled;
	uint64_t desc, avail, used; /* guest addresses set by the driver */
	int kick_fd;          /* eventfd + KVM ioeventfd, -1 when disabled */
	int call_fd;          /* eventfd + KVM irqfd while the vector is live */
	int irqfd_gsi;        /* GSI call_fd is bound to, -1: unbound */
	uint64_t notify_addr; /* kick_fd's ioeventfd address, 0: unbound */
	struct event *kick_ev;
	struct virtio_dev *vdev;
	unsigned int index;
};

struct virtio_msix_entry {
	uint32_t addr_lo, addr_hi, data, ctrl; /* ctrl bit 0: masked */
	int gsi; /* KVM route, -1 until the vector is first unmasked */
	uint64_t route_addr; /* what the route holds now */
	uint32_t route_data;
};

struct virtio_dev {
	struct vm *vm;
	const struct virtio_dev_ops *ops;
	void *priv;
	char name[32]; /* "virtio-blk0": every log line carries it */
	pthread_mutex_t lock;

	uint64_t host_features;  /* offered; VERSION_1 is always set */
	uint64_t guest_features; /* written by the driver */
	uint32_t dfselect, gfselect;
	uint8_t status;
	uint8_t config_generation;
	uint8_t isr;
	uint16_t msix_config;
	uint16_t queue_select;
	uint8_t *config; /* device config bytes, config_size long */
	uint32_t config_size;
	uint8_t *config_wmask; /* NULL: read-only config */

	struct virtio_queue *queues;
	unsigned int nr_queues;

	struct pci_dev pci;
	struct virtio_msix_entry *msix; /* nr_queues + 1 entries */
	unsigned int nr_msix;
	uint64_t msix_pba;             /* pending bits, nr_msix <= 64 */
	bool msix_enabled, msix_fmask; /* from the capability control */
	uint8_t msix_cap, pcicfg_cap;  /* capability offsets */
	uint64_t bar_addr;             /* where BAR 0 is mapped, 0: not */
	bool added;
	bool driven; /* DRIVER_OK was reached at least once */
};

/*
 * Prepares vdev: ops, name, nr_queues queues of queue_size entries, the
 * offered features (VERSION_1 added) and config (config_size bytes, owned
 * by the caller, read by the driver through the DEVICE structure).
 * Returns 0 or -errno (-EINVAL for more than 63 queues or a bad size).
 */
int virtio_dev_init(struct virtio_dev *vdev, struct vm *vm,
                    const struct virtio_dev_ops *ops, const char *name,
                    unsigned int nr_queues, uint16_t queue_size,
                    uint64_t features, void *config, uint32_t config_size);

/* Creates the PCI function at slot on vm->pci. Returns 0 or -errno. */
int virtio_pci_add(struct virtio_dev *vdev, unsigned int slot);

/*
 * Resets the device, removes it from the bus, closes every fd, frees what
 * virtio_dev_init allocated and last calls ops->free, which frees the
 * device model (usually the struct that embeds vdev). Call it only when no
 * other thread runs the device (the I/O thread and vCPUs stopped).
 * Accepts a vdev that was only initialised.
 */
void virtio_dev_destroy(struct virtio_dev *vdev);

/* Looks up the virtio device at a PCI slot of vm, or NULL. */
struct virtio_dev *virtio_dev_at_slot(struct vm *vm, unsigned int slot);

/* True when the driver accepted feature bit. */
static inline bool virtio_has_feature(const struct virtio_dev *vdev,
                                      unsigned int bit)
{
	return (vdev->guest_features >> bit) & 1;
}

/*
 * After pushing used buffers on queue q: interrupts the guest when the ring
 * asks for it (virtq_should_notify). Lock held.
 */
void virtio_queue_interrupt(struct virtio_dev *vdev, unsigned int q);

/* Device config changed: bumps config_generation, raises the config
 * interrupt. Lock held. */
void virtio_config_changed(struct virtio_dev *vdev);

/*
 * The device cannot go on (hostile ring, backing file error): logs
 * "<name>: <reason>; device needs reset", sets NEEDS_RESET and raises the
 * config interrupt. Lock held. Never stops the VM.
 */
void virtio_dev_set_broken(struct virtio_dev *vdev, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Device constructors (devices/virtio_*.c). Each registers at slot on
 * vm->pci and is freed by devices_destroy(). Return 0 or -errno. */
int virtio_blk_create(struct vm *vm, unsigned int index, unsigned int slot);
int virtio_rng_create(struct vm *vm, unsigned int slot);
int virtio_console_create(struct vm *vm, unsigned int slot);
int virtio_vsock_create(struct vm *vm, unsigned int slot);

#endif
