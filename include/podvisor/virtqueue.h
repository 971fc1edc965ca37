/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Split virtqueues (virtio 1.2 §2.7), device side. Everything in the rings is
 * written by the guest and untrusted: the avail index may not run ahead of
 * the used index by more than the queue size, a chain is at most the queue
 * size long (indirect tables included), loops are rejected, an indirect table
 * may not itself hold INDIRECT descriptors, device-readable descriptors come
 * before device-writable ones, and every buffer is translated through
 * gmem_ptr(). Each descriptor is read once into a local copy, so a guest
 * rewriting the ring meanwhile cannot change what was validated.
 *
 * A violation stores the reason in vq->error, sets vq->broken and returns
 * -EBADMSG (or -EFAULT for a bad address); the device then calls
 * virtio_dev_set_broken(), which logs one line with the device name and
 * the reason and marks the device NEEDS_RESET. A broken queue pops nothing
 * until reset.
 *
 * Not thread-safe: the owning device serialises pop/push under its lock.
 */
#ifndef PODVISOR_VIRTQUEUE_H
#define PODVISOR_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#define VIRTQ_MAX_SIZE 1024 /* largest queue size a device may offer */

#define VIRTQ_DESC_F_NEXT          1
#define VIRTQ_DESC_F_WRITE         2
#define VIRTQ_DESC_F_INDIRECT      4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY     1

struct guest_mem;

/* Guest-visible layouts, little-endian (x86 hosts only). */
struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct virtq_used_elem {
	uint32_t id;
	uint32_t len;
};

struct virtq {
	const struct guest_mem *mem;
	const char *owner; /* device name for logs */
	uint16_t index;    /* queue number in the device */
	uint16_t size;     /* power of two, <= VIRTQ_MAX_SIZE */
	bool ready;        /* rings set up by virtq_setup() */
	bool broken;
	bool event_idx; /* VIRTIO_F_EVENT_IDX negotiated */
	bool indirect;  /* VIRTIO_F_INDIRECT_DESC negotiated */
	uint64_t desc_gpa, avail_gpa, used_gpa;
	struct virtq_desc *desc; /* host views of the rings */
	uint16_t *avail;         /* flags, idx, ring[size], used_event */
	uint8_t *used;           /* flags, idx, ring[size], avail_event */
	uint16_t last_avail;     /* next avail entry the device consumes */
	uint16_t used_idx;       /* shadow of used->idx */
	uint16_t signalled_used; /* used idx at the last interrupt */
	bool signalled_valid;
	char error[112]; /* why the queue broke, for the device's log line */
};

/*
 * One popped chain: out (device-readable) segments first, then in
 * (device-writable) ones; iov[] points straight into guest RAM.
 */
struct virtq_elem {
	uint16_t head;
	unsigned int out_num, in_num;
	uint64_t out_len, in_len; /* byte totals */
	struct iovec iov[VIRTQ_MAX_SIZE];
};

/* Zeroes vq and names it (owner is kept by pointer). */
void virtq_init(struct virtq *vq, const struct guest_mem *mem,
                const char *owner, uint16_t index);

/*
 * Maps the three rings at the given guest addresses (alignment per §2.7:
 * desc 16, avail 2, used 4). Returns 0, -EINVAL for a size that is not a
 * power of two in 1..VIRTQ_MAX_SIZE or a misaligned address, -EFAULT when a
 * ring is not wholly in RAM (reason in vq->error).
 */
int virtq_setup(struct virtq *vq, uint16_t size, uint64_t desc, uint64_t avail,
                uint64_t used);

/* Forgets the rings and indices (device reset). */
void virtq_reset(struct virtq *vq);

/* True when the guest has made buffers available that are not popped yet. */
bool virtq_has_avail(struct virtq *vq);

/*
 * Takes the next available chain. Returns 1 with *elem filled, 0 when the
 * ring is empty (or broken), -EBADMSG / -EFAULT when the ring is hostile
 * (vq->broken and vq->error set).
 */
int virtq_pop(struct virtq *vq, struct virtq_elem *elem);

/*
 * Returns a chain to the guest with len bytes written into its in segments
 * (clamped to elem->in_len) and publishes used->idx after a write barrier.
 */
void virtq_push(struct virtq *vq, const struct virtq_elem *elem, uint32_t len);

/* Same by head index, for devices that keep only the head. */
void virtq_push_head(struct virtq *vq, uint16_t head, uint32_t len);

/*
 * After pushes: true when the guest wants an interrupt now (honours
 * VIRTQ_AVAIL_F_NO_INTERRUPT, or used_event with EVENT_IDX). Records the
 * used index it answered for.
 */
bool virtq_should_notify(struct virtq *vq);

/*
 * Asks the guest for (enable) or against kicks: used->flags NO_NOTIFY, or
 * avail_event with EVENT_IDX. A device that disables kicks re-enables them
 * and checks virtq_has_avail() again before sleeping.
 */
void virtq_set_notification(struct virtq *vq, bool enable);

/* Copies up to len bytes out of/into an element's segments starting at byte
 * offset off of the out (readable) or in (writable) part. Return the count. */
size_t virtq_elem_read(const struct virtq_elem *elem, uint64_t off, void *buf,
                       size_t len);
size_t virtq_elem_write(const struct virtq_elem *elem, uint64_t off,
                        const void *buf, size_t len);

#endif
