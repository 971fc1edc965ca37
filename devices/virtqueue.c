// SPDX-License-Identifier: Apache-2.0
/*
 * Split virtqueue, device side (virtio 1.2 §2.7). Every value read from the
 * rings is guest-controlled; see virtqueue.h for the rules enforced here.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "podvisor/guest_mem.h"
#include "podvisor/util.h"
#include "podvisor/virtqueue.h"

#define AVAIL_FLAGS 0
#define AVAIL_IDX   1
#define AVAIL_RING  2
#define USED_FLAGS  0
#define USED_IDX    2
#define USED_RING   4

static int vq_fail(struct virtq *vq, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int vq_fail(struct virtq *vq, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(vq->error, sizeof(vq->error), fmt, ap);
	va_end(ap);
	vq->broken = true;
	return err;
}

static inline uint16_t load16(const uint16_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline void store16(void *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)p, v, __ATOMIC_RELAXED);
}

void virtq_init(struct virtq *vq, const struct guest_mem *mem,
                const char *owner, uint16_t index)
{
	memset(vq, 0, sizeof(*vq));
	vq->mem = mem;
	vq->owner = owner;
	vq->index = index;
}

int virtq_setup(struct virtq *vq, uint16_t size, uint64_t desc, uint64_t avail,
                uint64_t used)
{
	uint64_t dlen = 16ULL * size;
	uint64_t alen = 6 + 2ULL * size;
	uint64_t ulen = 6 + 8ULL * size;

	virtq_reset(vq);
	if (size == 0 || size > VIRTQ_MAX_SIZE || (size & (size - 1)))
		return vq_fail(vq, -EINVAL,
		               "queue size %u is not a power of "
		               "two up to %u",
		               size, VIRTQ_MAX_SIZE);
	if (!IS_ALIGNED(desc, 16) || !IS_ALIGNED(avail, 2) ||
	    !IS_ALIGNED(used, 4))
		return vq_fail(vq, -EINVAL,
		               "misaligned ring (desc 0x%llx, "
		               "avail 0x%llx, used 0x%llx)",
		               (unsigned long long)desc,
		               (unsigned long long)avail,
		               (unsigned long long)used);
	vq->desc = gmem_ptr(vq->mem, desc, dlen);
	vq->avail = gmem_ptr(vq->mem, avail, alen);
	vq->used = gmem_ptr(vq->mem, used, ulen);
	if (!vq->desc || !vq->avail || !vq->used) {
		vq->desc = NULL;
		vq->avail = NULL;
		vq->used = NULL;
		return vq_fail(vq, -EFAULT,
		               "ring outside guest RAM (desc "
		               "0x%llx, avail 0x%llx, used 0x%llx, size %u)",
		               (unsigned long long)desc,
		               (unsigned long long)avail,
		               (unsigned long long)used, size);
	}
	vq->size = size;
	vq->desc_gpa = desc;
	vq->avail_gpa = avail;
	vq->used_gpa = used;
	vq->ready = true;
	return 0;
}

void virtq_reset(struct virtq *vq)
{
	vq->ready = false;
	vq->broken = false;
	vq->error[0] = '\0';
	vq->size = 0;
	vq->desc = NULL;
	vq->avail = NULL;
	vq->used = NULL;
	vq->last_avail = 0;
	vq->used_idx = 0;
	vq->signalled_used = 0;
	vq->signalled_valid = false;
}

bool virtq_has_avail(struct virtq *vq)
{
	if (!vq->ready || vq->broken)
		return false;
	return __atomic_load_n(&vq->avail[AVAIL_IDX], __ATOMIC_ACQUIRE) !=
	       vq->last_avail;
}

struct walk {
	const struct virtq_desc *table;
	uint16_t table_size;
	bool in_indirect;
	unsigned int count; /* buffers taken, across the indirect table */
	uint64_t seen[VIRTQ_MAX_SIZE / 64];
};

static bool walk_seen(struct walk *w, uint16_t i)
{
	uint64_t bit = 1ULL << (i % 64);
	bool was = w->seen[i / 64] & bit;

	w->seen[i / 64] |= bit;
	return was;
}

static int enter_indirect(struct virtq *vq, struct walk *w,
                          const struct virtq_desc *d, bool at_head)
{
	if (!vq->indirect)
		return vq_fail(vq, -EBADMSG,
		               "indirect descriptor but "
		               "INDIRECT_DESC was not negotiated");
	if (w->in_indirect)
		return vq_fail(vq, -EBADMSG, "nested indirect descriptor");
	if (!at_head || (d->flags & VIRTQ_DESC_F_NEXT))
		return vq_fail(vq, -EBADMSG,
		               "indirect descriptor chained "
		               "with other descriptors");
	if (d->len == 0 || d->len % 16 || d->len / 16 > vq->size)
		return vq_fail(vq, -EBADMSG,
		               "indirect table of %u bytes (must "
		               "be 16 * n, n in 1..%u)",
		               d->len, vq->size);
	w->table = gmem_ptr(vq->mem, d->addr, d->len);
	if (!w->table)
		return vq_fail(vq, -EFAULT,
		               "indirect table 0x%llx+%u outside "
		               "guest RAM",
		               (unsigned long long)d->addr, d->len);
	w->table_size = (uint16_t)(d->len / 16);
	w->in_indirect = true;
	memset(w->seen, 0, sizeof(w->seen));
	return 0;
}

static int take_buffer(struct virtq *vq, struct virtq_elem *e,
                       const struct virtq_desc *d)
{
	void *p;
	bool wr = d->flags & VIRTQ_DESC_F_WRITE;

	if (!wr && e->in_num)
		return vq_fail(vq, -EBADMSG,
		               "device-readable descriptor "
		               "after a device-writable one");
	p = gmem_ptr(vq->mem, d->addr, d->len);
	if (!p && d->len)
		return vq_fail(vq, -EFAULT,
		               "buffer 0x%llx+%u outside guest "
		               "RAM",
		               (unsigned long long)d->addr, d->len);
	e->iov[e->out_num + e->in_num] =
	    (struct iovec){.iov_base = p, .iov_len = d->len};
	if (wr) {
		e->in_num++;
		e->in_len += d->len;
	} else {
		e->out_num++;
		e->out_len += d->len;
	}
	return 0;
}

static int walk_chain(struct virtq *vq, struct virtq_elem *e, uint16_t head)
{
	struct walk w = {.table = vq->desc, .table_size = vq->size};
	uint16_t i = head;
	bool at_head = true;
	int r;

	for (;;) {
		struct virtq_desc d;

		if (i >= w.table_size)
			return vq_fail(vq, -EBADMSG,
			               "descriptor index %u out "
			               "of a table of %u",
			               i, w.table_size);
		if (walk_seen(&w, i))
			return vq_fail(vq, -EBADMSG,
			               "descriptor chain loops "
			               "back to entry %u",
			               i);
		/* One copy: the guest may rewrite the table meanwhile. */
		memcpy(&d, &w.table[i], sizeof(d));
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			r = enter_indirect(vq, &w, &d, at_head);
			if (r < 0)
				return r;
			i = 0;
			at_head = false;
			continue;
		}
		at_head = false;
		if (w.count++ >= vq->size)
			return vq_fail(vq, -EBADMSG,
			               "descriptor chain longer "
			               "than the queue size %u",
			               vq->size);
		r = take_buffer(vq, e, &d);
		if (r < 0)
			return r;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		i = d.next;
	}
}

int virtq_pop(struct virtq *vq, struct virtq_elem *elem)
{
	uint16_t avail_idx, pending, head;
	int r;

	if (!vq->ready || vq->broken)
		return 0;
	if (vq->event_idx) {
		/* §2.7.10: ask for a kick at the next entry we have not seen,
		 * before looking, so an entry added meanwhile is not missed. */
		store16(vq->used + USED_RING + 8 * vq->size, vq->last_avail);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
	}
	avail_idx = __atomic_load_n(&vq->avail[AVAIL_IDX], __ATOMIC_ACQUIRE);
	pending = (uint16_t)(avail_idx - vq->last_avail);
	if (pending == 0)
		return 0;
	if (pending > vq->size)
		return vq_fail(vq, -EBADMSG,
		               "avail index %u is %u entries "
		               "ahead of %u (queue size %u)",
		               avail_idx, pending, vq->last_avail, vq->size);
	head = load16(&vq->avail[AVAIL_RING + vq->last_avail % vq->size]);
	elem->head = head;
	elem->out_num = elem->in_num = 0;
	elem->out_len = elem->in_len = 0;
	r = walk_chain(vq, elem, head);
	if (r < 0)
		return r;
	vq->last_avail++;
	return 1;
}

void virtq_push_head(struct virtq *vq, uint16_t head, uint32_t len)
{
	uint8_t *slot;
	uint32_t v[2] = {head, len};

	if (!vq->ready)
		return;
	slot = vq->used + USED_RING + 8 * (vq->used_idx % vq->size);
	memcpy(slot, v, sizeof(v));
	vq->used_idx++;
	/* The element must be visible before the index that publishes it. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	store16(vq->used + USED_IDX, vq->used_idx);
}

void virtq_push(struct virtq *vq, const struct virtq_elem *elem, uint32_t len)
{
	virtq_push_head(vq, elem->head,
	                (uint32_t)MIN((uint64_t)len, elem->in_len));
}

bool virtq_should_notify(struct virtq *vq)
{
	uint16_t old, now, event;
	bool valid;

	if (!vq->ready)
		return false;
	/* Order our used->idx store before reading the guest's flags or
	 * used_event (§2.7.10: otherwise an interrupt can be lost). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!vq->event_idx)
		return !(load16(&vq->avail[AVAIL_FLAGS]) &
		         VIRTQ_AVAIL_F_NO_INTERRUPT);
	old = vq->signalled_used;
	valid = vq->signalled_valid;
	now = vq->used_idx;
	vq->signalled_used = now;
	vq->signalled_valid = true;
	if (!valid)
		return true;
	event = load16(&vq->avail[AVAIL_RING + vq->size]);
	return (uint16_t)(now - event - 1) < (uint16_t)(now - old);
}

void virtq_set_notification(struct virtq *vq, bool enable)
{
	if (!vq->ready)
		return;
	if (vq->event_idx) {
		if (enable)
			store16(vq->used + USED_RING + 8 * vq->size,
			        vq->last_avail);
	} else {
		store16(vq->used + USED_FLAGS,
		        enable ? 0 : VIRTQ_USED_F_NO_NOTIFY);
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static size_t iov_copy(const struct iovec *iov, unsigned int n, uint64_t off,
                       void *buf, size_t len, bool to_iov)
{
	size_t done = 0;

	for (unsigned int i = 0; i < n && done < len; i++) {
		size_t seg = iov[i].iov_len, c;

		if (off >= seg) {
			off -= seg;
			continue;
		}
		c = MIN(seg - off, len - done);
		if (to_iov)
			memcpy((uint8_t *)iov[i].iov_base + off,
			       (uint8_t *)buf + done, c);
		else
			memcpy((uint8_t *)buf + done,
			       (uint8_t *)iov[i].iov_base + off, c);
		done += c;
		off = 0;
	}
	return done;
}

size_t virtq_elem_read(const struct virtq_elem *elem, uint64_t off, void *buf,
                       size_t len)
{
	return iov_copy(elem->iov, elem->out_num, off, buf, len, false);
}

size_t virtq_elem_write(const struct virtq_elem *elem, uint64_t off,
                        const void *buf, size_t len)
{
	return iov_copy(elem->iov + elem->out_num, elem->in_num, off,
	                (void *)buf, len, true);
}
