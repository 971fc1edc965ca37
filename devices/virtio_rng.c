// SPDX-License-Identifier: Apache-2.0
/* virtio-rng (virtio 1.2 §5.4): one queue of device-writable buffers that
 * the device fills from getrandom(). */
#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

#include "podvisor/log.h"
#include "podvisor/util.h"
#include "podvisor/virtio.h"
#include "podvisor/vm.h"

#define RNG_QUEUE_SIZE 64
#define RNG_MAX_FILL   (64 * 1024) /* per request: bounds the time spent */

struct rng {
	struct virtio_dev vdev;
	struct virtq_elem elem;
};

static uint32_t rng_fill(const struct virtq_elem *e)
{
	uint64_t want = MIN(e->in_len, (uint64_t)RNG_MAX_FILL), done = 0;

	for (unsigned int i = e->out_num;
	     i < e->out_num + e->in_num && done < want; i++) {
		size_t len = MIN(e->iov[i].iov_len, want - done);
		ssize_t r = getrandom(e->iov[i].iov_base, len, 0);

		if (r < 0) {
			if (errno == EINTR) {
				i--;
				continue;
			}
			break;
		}
		done += (uint64_t)r;
		if ((size_t)r < len)
			break;
	}
	return (uint32_t)done;
}

static void rng_notify(struct virtio_dev *vdev, unsigned int qi)
{
	struct rng *g = (struct rng *)vdev;
	struct virtq *vq = &vdev->queues[qi].vq;
	bool pushed = false;
	int r;

	while ((r = virtq_pop(vq, &g->elem)) > 0) {
		virtq_push(vq, &g->elem, rng_fill(&g->elem));
		pushed = true;
	}
	if (r < 0)
		virtio_dev_set_broken(vdev, "queue %u: %s", qi, vq->error);
	if (pushed)
		virtio_queue_interrupt(vdev, qi);
}

static void rng_free(struct virtio_dev *vdev)
{
	free(vdev); /* vdev is the first member of struct rng */
}

static const struct virtio_dev_ops rng_ops = {
    .device_id = VIRTIO_ID_RNG,
    .queue_notify = rng_notify,
    .free = rng_free,
};

int virtio_rng_create(struct vm *vm, unsigned int slot)
{
	struct rng *g = calloc(1, sizeof(*g));
	int r;

	if (!g)
		return -ENOMEM;
	r = virtio_dev_init(
	    &g->vdev, vm, &rng_ops, "virtio-rng", 1, RNG_QUEUE_SIZE,
	    1ULL << VIRTIO_F_INDIRECT_DESC | 1ULL << VIRTIO_F_EVENT_IDX, NULL,
	    0);
	g->vdev.priv = g;
	if (r == 0)
		r = virtio_pci_add(&g->vdev, slot);
	if (r < 0)
		virtio_dev_destroy(&g->vdev);
	return r;
}
