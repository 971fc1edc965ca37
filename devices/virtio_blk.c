// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-blk (virtio 1.2 §5.2) over a raw image file. Requests are served
 * synchronously on the thread that drains the queue (the I/O thread).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "podvisor/log.h"
#include "podvisor/util.h"
#include "podvisor/virtio.h"
#include "podvisor/vm.h"

#define BLK_QUEUE_SIZE 256
#define SECTOR         512ULL
#define BLK_ID_BYTES   20

#define VIRTIO_BLK_F_SEG_MAX  2
#define VIRTIO_BLK_F_RO       5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH    9

#define VIRTIO_BLK_T_IN     0
#define VIRTIO_BLK_T_OUT    1
#define VIRTIO_BLK_T_FLUSH  4
#define VIRTIO_BLK_T_GET_ID 8

#define VIRTIO_BLK_S_OK     0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

/* Config offsets (§5.2.4). */
#define BLK_CFG_CAPACITY 0
#define BLK_CFG_SEG_MAX  12
#define BLK_CFG_BLK_SIZE 20
#define BLK_CFG_SIZE     60

struct blk_req_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

struct blk {
	struct virtio_dev vdev;
	/* The worker thread serves requests so disk I/O blocks neither the
	 * I/O thread nor vCPUs; wlock/kick wake it (see blk_worker()). */
	pthread_t worker;
	bool worker_started, kicked, stopping;
	pthread_mutex_t wlock;
	pthread_cond_t kick;
	pthread_cond_t idle; /* with vdev.lock: busy went false */
	bool busy;           /* a request is in flight outside vdev.lock */
	uint64_t gen;        /* bumped at reset: drop in-flight results */
	int fd;
	bool readonly;
	uint64_t capacity; /* sectors */
	char serial[BLK_ID_BYTES];
	char path[256];
	uint8_t config[64];
	struct virtq_elem *elem;
	struct iovec iov[VIRTQ_MAX_SIZE];
};

/*
 * Copies the part of iov[0..n) that starts at byte skip and is len bytes
 * long into out[]; returns the number of segments.
 */
static unsigned int iov_slice(const struct iovec *iov, unsigned int n,
                              uint64_t skip, uint64_t len, struct iovec *out)
{
	unsigned int k = 0;

	for (unsigned int i = 0; i < n && len; i++) {
		uint64_t seg = iov[i].iov_len, c;

		if (skip >= seg) {
			skip -= seg;
			continue;
		}
		c = MIN(seg - skip, len);
		out[k].iov_base = (uint8_t *)iov[i].iov_base + skip;
		out[k++].iov_len = c;
		len -= c;
		skip = 0;
	}
	return k;
}

/* preadv/pwritev until every byte moved; returns 0 or -errno. */
static int rw_full(int fd, struct iovec *iov, unsigned int n, uint64_t off,
                   bool wr)
{
	while (n) {
		ssize_t r = wr ? pwritev(fd, iov, (int)n, (off_t)off)
		               : preadv(fd, iov, (int)n, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EIO; /* the image shrank under us */
		off += (uint64_t)r;
		while (n && (size_t)r >= iov->iov_len) {
			r -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n) {
			iov->iov_base = (uint8_t *)iov->iov_base + r;
			iov->iov_len -= (size_t)r;
		}
	}
	return 0;
}

static bool in_range(const struct blk *b, uint64_t sector, uint64_t len)
{
	uint64_t nsec = (len + SECTOR - 1) / SECTOR;

	return sector <= b->capacity && nsec <= b->capacity - sector;
}

/* Serves one request; returns the status byte, *written = data bytes put
 * into the guest's writable buffers. */
static uint8_t blk_do(struct blk *b, const struct virtq_elem *e,
                      const struct blk_req_hdr *h, uint32_t *written)
{
	uint64_t data_in = e->in_len - 1, data_out = e->out_len - sizeof(*h);
	unsigned int n;
	int r;

	*written = 0;
	switch (h->type) {
	case VIRTIO_BLK_T_IN:
		/* Data must go into device-writable buffers (§2.7.4): a read
		 * aimed at readable ones fails rather than writing them. */
		if (e->out_len != sizeof(*h) ||
		    !in_range(b, h->sector, data_in))
			return VIRTIO_BLK_S_IOERR;
		n = iov_slice(e->iov + e->out_num, e->in_num, 0, data_in,
		              b->iov);
		r = rw_full(b->fd, b->iov, n, h->sector * SECTOR, false);
		if (r < 0)
			return VIRTIO_BLK_S_IOERR;
		*written = (uint32_t)data_in;
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_OUT:
		if (b->readonly || e->in_len != 1 ||
		    !in_range(b, h->sector, data_out))
			return VIRTIO_BLK_S_IOERR;
		n = iov_slice(e->iov, e->out_num, sizeof(*h), data_out, b->iov);
		r = rw_full(b->fd, b->iov, n, h->sector * SECTOR, true);
		return r < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_FLUSH:
		if (b->readonly)
			return VIRTIO_BLK_S_OK;
		return fdatasync(b->fd) < 0 ? VIRTIO_BLK_S_IOERR
		                            : VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_GET_ID:
		*written = (uint32_t)virtq_elem_write(
		    e, 0, b->serial, MIN(data_in, (uint64_t)BLK_ID_BYTES));
		return VIRTIO_BLK_S_OK;
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

static bool blk_running(const struct blk *b)
{
	const struct virtio_dev *vdev = &b->vdev;

	return (vdev->status & VIRTIO_STATUS_DRIVER_OK) &&
	       !(vdev->status & VIRTIO_STATUS_NEEDS_RESET) &&
	       vdev->queues[0].enabled;
}

/*
 * Serves one popped request with vdev.lock dropped around the disk I/O;
 * returns with it held again. Returns -EBADMSG for a request the device
 * cannot even answer (no header or no status byte).
 */
static int blk_serve(struct blk *b, const struct virtq_elem *e)
{
	struct virtio_dev *vdev = &b->vdev;
	struct blk_req_hdr h;
	uint64_t gen = b->gen;
	uint32_t written;
	uint8_t status;

	/* §5.2.6: header first (device-readable), status byte last
	 * (device-writable). Without both there is nothing to answer. */
	if (e->out_len < sizeof(h) || e->in_len < 1 ||
	    virtq_elem_read(e, 0, &h, sizeof(h)) != sizeof(h))
		return -EBADMSG;
	b->busy = true;
	pthread_mutex_unlock(&vdev->lock);
	status = blk_do(b, e, &h, &written);
	pthread_mutex_lock(&vdev->lock);
	b->busy = false;
	pthread_cond_broadcast(&b->idle);
	if (gen != b->gen)
		return 0; /* reset meanwhile: the ring is gone */
	if (status == VIRTIO_BLK_S_IOERR && h.type != VIRTIO_BLK_T_FLUSH)
		log_debug("%s: request type %u sector %llu failed", vdev->name,
		          h.type, (unsigned long long)h.sector);
	virtq_elem_write(e, e->in_len - 1, &status, 1);
	virtq_push(&vdev->queues[0].vq, e, written + 1);
	virtio_queue_interrupt(vdev, 0);
	return 0;
}

/* Drains queue 0; vdev.lock held (dropped inside blk_serve). */
static void blk_drain(struct blk *b)
{
	struct virtio_dev *vdev = &b->vdev;
	struct virtq *vq = &vdev->queues[0].vq;
	int r;

	while (blk_running(b) && (r = virtq_pop(vq, b->elem)) != 0) {
		if (r < 0) {
			virtio_dev_set_broken(vdev, "queue 0: %s", vq->error);
			return;
		}
		if (blk_serve(b, b->elem) < 0) {
			virtio_dev_set_broken(vdev,
			                      "queue 0: request without "
			                      "a 16-byte header and a status "
			                      "byte");
			return;
		}
	}
}

static void *blk_worker(void *arg)
{
	struct blk *b = arg;

	for (;;) {
		pthread_mutex_lock(&b->wlock);
		while (!b->kicked && !b->stopping)
			pthread_cond_wait(&b->kick, &b->wlock);
		if (b->stopping) {
			pthread_mutex_unlock(&b->wlock);
			return NULL;
		}
		b->kicked = false;
		pthread_mutex_unlock(&b->wlock);
		pthread_mutex_lock(&b->vdev.lock);
		blk_drain(b);
		pthread_mutex_unlock(&b->vdev.lock);
	}
}

/* A kick (vdev.lock held): wake the worker. */
static void blk_notify(struct virtio_dev *vdev, unsigned int qi)
{
	struct blk *b = (struct blk *)vdev;

	pthread_mutex_lock(&b->wlock);
	b->kicked = true;
	pthread_cond_signal(&b->kick);
	pthread_mutex_unlock(&b->wlock);
}

/* Status 0 (vdev.lock held): wait out the request in flight, whose result
 * is then dropped, so nothing touches the rings after the reset. */
static void blk_reset(struct virtio_dev *vdev)
{
	struct blk *b = (struct blk *)vdev;

	b->gen++;
	while (b->busy)
		pthread_cond_wait(&b->idle, &vdev->lock);
}

static void blk_stop(struct virtio_dev *vdev)
{
	struct blk *b = (struct blk *)vdev;

	if (!b->worker_started)
		return;
	pthread_mutex_lock(&b->wlock);
	b->stopping = true;
	pthread_cond_signal(&b->kick);
	pthread_mutex_unlock(&b->wlock);
	pthread_join(b->worker, NULL);
	b->worker_started = false;
}

static void blk_free(struct virtio_dev *vdev)
{
	struct blk *b = (struct blk *)vdev; /* vdev is the first member */

	blk_stop(vdev);
	if (b->fd >= 0)
		close(b->fd);
	pthread_mutex_destroy(&b->wlock);
	pthread_cond_destroy(&b->kick);
	pthread_cond_destroy(&b->idle);
	free(b->elem);
	free(b);
}

static const struct virtio_dev_ops blk_ops = {
    .device_id = VIRTIO_ID_BLOCK,
    .queue_notify = blk_notify,
    .reset = blk_reset,
    .stop = blk_stop,
    .free = blk_free,
};

static int blk_open(struct blk *b, const struct vm_disk_config *dc,
                    unsigned int index)
{
	struct stat st;

	if (!dc->path)
		return log_err_errno(EINVAL,
		                     "disks[%u].path is missing; name "
		                     "a raw image file",
		                     index);
	b->fd = open(dc->path, (dc->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (b->fd < 0)
		return log_err_errno(errno, "disk %u: cannot open %s%s", index,
		                     dc->path,
		                     dc->readonly ? "" : " for writing");
	if (fstat(b->fd, &st) < 0)
		return log_err_errno(errno, "disk %u: stat %s", index,
		                     dc->path);
	b->capacity = (uint64_t)st.st_size / SECTOR;
	if ((uint64_t)st.st_size % SECTOR)
		log_warn("disk %u: %s is %lld bytes, not a multiple of 512; "
		         "the last %lld bytes are not visible to the guest",
		         index, dc->path, (long long)st.st_size,
		         (long long)((uint64_t)st.st_size % SECTOR));
	return 0;
}

static uint64_t blk_features(const struct blk *b)
{
	uint64_t f =
	    1ULL << VIRTIO_BLK_F_SEG_MAX | 1ULL << VIRTIO_BLK_F_BLK_SIZE |
	    1ULL << VIRTIO_BLK_F_FLUSH | 1ULL << VIRTIO_F_INDIRECT_DESC |
	    1ULL << VIRTIO_F_EVENT_IDX;

	if (b->readonly)
		f |= 1ULL << VIRTIO_BLK_F_RO;
	return f;
}

int virtio_blk_create(struct vm *vm, unsigned int index, unsigned int slot)
{
	const struct vm_disk_config *dc = &vm->cfg->disks[index];
	struct blk *b = calloc(1, sizeof(*b));
	char name[32];
	int r;

	if (!b)
		return -ENOMEM;
	b->fd = -1;
	b->readonly = dc->readonly;
	pthread_mutex_init(&b->wlock, NULL);
	pthread_cond_init(&b->kick, NULL);
	pthread_cond_init(&b->idle, NULL);
	b->elem = malloc(sizeof(*b->elem));
	if (!b->elem) {
		free(b);
		return -ENOMEM;
	}
	r = blk_open(b, dc, index);
	if (r < 0) {
		blk_free(&b->vdev);
		return r;
	}
	snprintf(b->path, sizeof(b->path), "%s", dc->path);
	/* GET_ID: 20 bytes, NUL-padded, not necessarily terminated. */
	if (dc->serial)
		memcpy(b->serial, dc->serial,
		       MIN(strlen(dc->serial), sizeof(b->serial)));
	else
		snprintf(b->serial, sizeof(b->serial), "podvisor%u", index);
	memcpy(b->config + BLK_CFG_CAPACITY, &b->capacity, 8);
	uint32_t seg_max = BLK_QUEUE_SIZE - 2, blk_size = SECTOR;
	memcpy(b->config + BLK_CFG_SEG_MAX, &seg_max, 4);
	memcpy(b->config + BLK_CFG_BLK_SIZE, &blk_size, 4);

	snprintf(name, sizeof(name), "virtio-blk%u", index);
	r = virtio_dev_init(&b->vdev, vm, &blk_ops, name, 1, BLK_QUEUE_SIZE,
	                    blk_features(b), b->config, BLK_CFG_SIZE);
	b->vdev.priv = b;
	if (r == 0)
		r = -pthread_create(&b->worker, NULL, blk_worker, b);
	b->worker_started = r == 0;
	if (r == 0)
		r = virtio_pci_add(&b->vdev, slot);
	if (r < 0) {
		virtio_dev_destroy(&b->vdev);
		return r;
	}
	log_info("%s: %s, %llu sectors%s, serial \"%.20s\"", name, b->path,
	         (unsigned long long)b->capacity,
	         b->readonly ? ", read-only" : "", b->serial);
	return 0;
}
