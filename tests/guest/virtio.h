/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A small virtio 1.x PCI modern driver for the test guests (OASIS VIRTIO 1.2,
 * 4.1 "Virtio Over PCI Bus", 2.7 "Split Virtqueues"). Polls or takes MSI-X
 * interrupts; every failure is reported as a FAIL line naming the device.
 */
#ifndef PVGUEST_VIRTIO_H
#define PVGUEST_VIRTIO_H

#include "rt.h"

#define VIRTIO_VENDOR    0x1af4
#define VIRTIO_PCI_ID(t) (0x1040 + (t))
enum {
	VIRTIO_ID_NET = 1,
	VIRTIO_ID_BLK = 2,
	VIRTIO_ID_CONSOLE = 3,
	VIRTIO_ID_RNG = 4,
	VIRTIO_ID_VSOCK = 19,
};

#define VIRTIO_S_ACK         1
#define VIRTIO_S_DRIVER      2
#define VIRTIO_S_DRIVER_OK   4
#define VIRTIO_S_FEATURES_OK 8
#define VIRTIO_S_NEEDS_RESET 0x40
#define VIRTIO_S_FAILED      0x80

#define VIRTIO_F_INDIRECT_DESC (1ull << 28)
#define VIRTIO_F_VERSION_1     (1ull << 32)

/* Common configuration structure offsets (4.1.4.3). */
#define VC_DFSELECT      0
#define VC_DFEATURE      4
#define VC_GFSELECT      8
#define VC_GFEATURE      12
#define VC_MSIX_CONFIG   16
#define VC_NUM_QUEUES    18
#define VC_STATUS        20
#define VC_CFG_GEN       21
#define VC_Q_SELECT      22
#define VC_Q_SIZE        24
#define VC_Q_MSIX        26
#define VC_Q_ENABLE      28
#define VC_Q_NOTIFY_OFF  30
#define VC_Q_DESC        32
#define VC_Q_DRIVER      40
#define VC_Q_DEVICE      48
#define VIRTIO_NO_VECTOR 0xffff

#define VRING_F_NEXT     1
#define VRING_F_WRITE    2
#define VRING_F_INDIRECT 4

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vring_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[];
};

struct vring_used_elem {
	uint32_t id;
	uint32_t len;
};

struct vring_used {
	uint16_t flags;
	uint16_t idx;
	struct vring_used_elem ring[];
};

#define VQ_MAX 256

struct vq {
	uint16_t index, size;
	struct vring_desc *desc;
	struct vring_avail *avail;
	volatile struct vring_used *used;
	uint16_t free_head, num_free;
	uint16_t avail_idx, last_used;
	uint64_t notify_addr;
	uint16_t vector; /* MSI-X table entry, or VIRTIO_NO_VECTOR */
	uint8_t chain[VQ_MAX];
};

struct vbuf {
	const void *addr;
	uint32_t len;
	bool write; /* device writes it */
};

struct vdev {
	struct pci_dev pci;
	const char *name;
	uint64_t common, notify, isr, devcfg;
	uint32_t notify_mult, devcfg_len;
	uint8_t msix_cap;
	uint16_t msix_n;
	uint64_t msix_table, msix_pba;
	uint64_t features;
	uint16_t num_queues;
	struct vq vq[4];
	/* Ring pages per queue, kept across resets so re-setup reuses them. */
	uint8_t *ring_mem[4];
};

/* Finds the nth virtio device of type, sizes its BARs and reads its
 * capabilities. Returns false (after a FAIL line) when absent or broken. */
bool virtio_find(struct vdev *v, unsigned int type, int nth, const char *name);
/* Reset, ACK, DRIVER, negotiate want & offered (VERSION_1 required),
 * FEATURES_OK. Returns false after a FAIL line. */
bool virtio_init(struct vdev *v, uint64_t want);
/* Sets queue idx up with at most size entries; vector is an MSI-X table
 * entry or VIRTIO_NO_VECTOR. Returns false after a FAIL line. */
bool virtio_setup_vq(struct vdev *v, unsigned int idx, uint16_t size,
                     uint16_t vector);
void virtio_driver_ok(struct vdev *v);
uint8_t virtio_status(const struct vdev *v);
/* Writes 0 and waits until the device reads back 0 (4.1.4.3.2). */
bool virtio_reset(struct vdev *v);

uint8_t vcfg_r8(const struct vdev *v, uint32_t off);
uint32_t vcfg_r32(const struct vdev *v, uint32_t off);
uint64_t vcfg_r64(const struct vdev *v, uint32_t off);

/* Enables MSI-X and routes table entry e to vector on this CPU. */
void msix_enable(struct vdev *v);
void msix_route(struct vdev *v, uint16_t e, uint8_t vector, bool masked);
/* Same, to the CPU with that APIC id (physical destination). */
void msix_route_to(struct vdev *v, uint16_t e, uint8_t vector, uint32_t apic,
                   bool masked);
void msix_mask(struct vdev *v, uint16_t e, bool masked);
bool msix_pending(const struct vdev *v, uint16_t e);

/* Chains n buffers and publishes the head; returns it, or -1 when the ring
 * is full. Does not notify. */
int vq_add(struct vq *q, const struct vbuf *b, int n);
void vq_kick(struct vq *q);
/* Takes one used element: returns its head id (and len), -1 if none. */
int vq_poll(struct vq *q, uint32_t *len);
/* vq_poll until an element arrives or timeout_us passes. */
int vq_wait(struct vq *q, uint32_t *len, uint64_t timeout_us);

#endif
