/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-net with a vhost-user back-end (virtio 1.2 §5.1; QEMU's
 * docs/interop/vhost-user.rst). See include/podvisor/virtio_net.h.
 *
 * Threads: MMIO from vCPUs and the socket events on vm->evbase both run
 * under vdev->lock, so the front-end (not thread-safe) is serialised.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "podvisor/log.h"
#include "podvisor/util.h"
#include "podvisor/vhost_user.h"
#include "podvisor/virtio.h"
#include "podvisor/virtio_net.h"
#include "podvisor/vm.h"

struct vnet {
	struct virtio_dev vdev; /* first: ops->free frees the vnet */
	struct virtio_net_config cfg;
	struct vhost_user vu;
	struct event *listen_ev;
	struct event *conn_ev;
	unsigned int index;
};

/* Features the VMM serves itself through config space: the back-end
 * never hears of them, so they cannot be lost across a switch restart. */
#define VNET_LOCAL_F                                                           \
	(1ull << VIRTIO_NET_F_MAC | 1ull << VIRTIO_NET_F_STATUS |              \
	 1ull << VIRTIO_NET_F_MTU)

static void vnet_conn_cb(evutil_socket_t fd, short what, void *arg);

/*
 * (Re)binds the connection event to whatever fd the front-end holds now:
 * any call may have dropped or replaced the connection. I/O thread only,
 * lock held: event_del() of an event whose callback runs in another thread
 * waits for that callback, which may be waiting for our lock. A vCPU that
 * drops the connection leaves a stale event behind; epoll forgets closed
 * fds, and the next accept on the I/O thread replaces the event.
 */
static void vnet_sync_events(struct vnet *n)
{
	if (n->conn_ev) {
		event_free(n->conn_ev);
		n->conn_ev = NULL;
	}
	if (n->vu.fd < 0 || !n->vdev.vm->evbase)
		return;
	n->conn_ev = event_new(n->vdev.vm->evbase, n->vu.fd,
	                       EV_READ | EV_PERSIST, vnet_conn_cb, n);
	if (n->conn_ev)
		event_add(n->conn_ev, NULL);
}

static void vnet_conn_cb(evutil_socket_t fd, short what, void *arg)
{
	struct vnet *n = arg;

	pthread_mutex_lock(&n->vdev.lock);
	vhost_user_handle_event(&n->vu);
	if (n->vu.fd < 0)
		vnet_sync_events(n);
	pthread_mutex_unlock(&n->vdev.lock);
}

static void vnet_listen_cb(evutil_socket_t fd, short what, void *arg)
{
	struct vnet *n = arg;

	pthread_mutex_lock(&n->vdev.lock);
	vhost_user_accept(&n->vu);
	vnet_sync_events(n);
	pthread_mutex_unlock(&n->vdev.lock);
}

/* Front-end link callback, lock held: the guest sees LINK_UP follow the
 * switch (§5.1.4.2: a config change interrupt). */
static void vnet_link(struct vhost_user *vu, bool up, void *opaque)
{
	struct vnet *n = opaque;

	n->cfg.status = up ? VIRTIO_NET_S_LINK_UP : 0;
	log_info("%s: link %s", n->vdev.name, up ? "up" : "down (switch gone)");
	if (n->vdev.status & VIRTIO_STATUS_DRIVER_OK)
		virtio_config_changed(&n->vdev);
}

/* DRIVER_OK: hand guest RAM and both rings to the back-end. */
static int vnet_activate(struct virtio_dev *vdev)
{
	struct vnet *n = (struct vnet *)vdev;
	const struct guest_mem *gm = &vdev->vm->mem;
	struct vhost_user_ring rings[2];
	struct vhost_user_mem mem = {.nr = gm->nr_regions};
	int r;

	if (gm->fd < 0)
		return log_err_errno(
		    ENOTSUP,
		    "%s: guest RAM is not a memfd; a vhost-user "
		    "back-end cannot map it",
		    vdev->name);
	for (unsigned int i = 0; i < gm->nr_regions; i++) {
		mem.r[i].gpa = gm->regions[i].gpa;
		mem.r[i].size = gm->regions[i].size;
		mem.r[i].hva = gm->regions[i].hva;
		mem.r[i].fd = gm->fd;
		mem.r[i].fd_offset = gm->regions[i].fd_offset;
	}
	for (unsigned int q = 0; q < 2; q++) {
		struct virtio_queue *vq = &vdev->queues[q];

		/* virtq_setup() validated these against guest RAM. */
		if (!vq->enabled || !vq->vq.ready)
			return log_err_errno(EINVAL,
			                     "%s: queue %u not enabled at "
			                     "DRIVER_OK",
			                     vdev->name, q);
		rings[q] = (struct vhost_user_ring){
		    .num = vq->size,
		    .desc = vq->vq.desc,
		    .avail = vq->vq.avail,
		    .used = vq->vq.used,
		    .kick_fd = vq->kick_fd,
		    .call_fd = vq->call_fd,
		};
	}
	r = vhost_user_start(&n->vu, vdev->guest_features & ~VNET_LOCAL_F, &mem,
	                     rings, 2, vdev->status);
	if (r && n->vu.fd < 0) {
		/* The switch went away mid-sequence: the link is down and
		 * the rings are handed over when it returns. */
		return 0;
	}
	return r;
}

static void vnet_reset(struct virtio_dev *vdev)
{
	struct vnet *n = (struct vnet *)vdev;

	if (n->vu.started)
		vhost_user_stop(&n->vu);
}

static void vnet_free(struct virtio_dev *vdev)
{
	struct vnet *n = (struct vnet *)vdev;

	if (n->conn_ev)
		event_free(n->conn_ev);
	if (n->listen_ev)
		event_free(n->listen_ev);
	vhost_user_close(&n->vu);
	free(n);
}

static const struct virtio_dev_ops vnet_ops = {
    .device_id = VIRTIO_ID_NET,
    .external_queues = true,
    .activate = vnet_activate,
    .reset = vnet_reset,
    .free = vnet_free,
};

/* What we offer the guest: what DPDK's vhost library serves and we can
 * keep identical across switch restarts. VERSION_1 comes from the
 * transport. */
static uint64_t vnet_features(const struct vm_net_config *nc)
{
	uint64_t f = 1ull << VIRTIO_NET_F_MAC | 1ull << VIRTIO_NET_F_STATUS |
	             1ull << VIRTIO_NET_F_MRG_RXBUF |
	             1ull << VIRTIO_F_INDIRECT_DESC |
	             1ull << VIRTIO_F_EVENT_IDX;

	if (nc->mtu)
		f |= 1ull << VIRTIO_NET_F_MTU;
	return f;
}

static int vnet_listen(struct vnet *n)
{
	int r = vhost_user_listen(&n->vu);

	if (r)
		return r;
	if (!n->vdev.vm->evbase)
		return 0;
	n->listen_ev = event_new(n->vdev.vm->evbase, n->vu.listen_fd,
	                         EV_READ | EV_PERSIST, vnet_listen_cb, n);
	if (!n->listen_ev || event_add(n->listen_ev, NULL))
		return log_err_errno(ENOMEM, "%s: cannot watch %s",
		                     n->vdev.name, n->vu.path);
	return 0;
}

int virtio_net_create(struct vm *vm, unsigned int index, unsigned int slot)
{
	const struct vm_net_config *nc = &vm->cfg->nets[index];
	char name[32];
	struct vnet *n;
	int r;

	if (!nc->vhost_user_socket && nc->tap)
		return virtio_net_tap_create(vm, index, slot);
	if (!nc->vhost_user_socket)
		return log_err_errno(
		    EINVAL,
		    "nets[%u]: give vhost_user_socket (the "
		    "socket podvisor-switch connects to) or tap",
		    index);
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->index = index;
	memcpy(n->cfg.mac, nc->mac, 6);
	n->cfg.max_virtqueue_pairs = 1;
	n->cfg.mtu = nc->mtu;
	snprintf(name, sizeof(name), "virtio-net%u", index);
	vhost_user_init(&n->vu, nc->vhost_user_socket, vnet_link, n);
	r = virtio_dev_init(&n->vdev, vm, &vnet_ops, name, 2,
	                    VIRTIO_NET_QUEUE_SIZE, vnet_features(nc), &n->cfg,
	                    sizeof(n->cfg));
	n->vdev.priv = n;
	if (!r)
		r = vnet_listen(n);
	if (!r)
		r = virtio_pci_add(&n->vdev, slot);
	if (r < 0) {
		virtio_dev_destroy(&n->vdev);
		return r;
	}
	log_info("%s: %02x:%02x:%02x:%02x:%02x:%02x, vhost-user socket %s",
	         name, nc->mac[0], nc->mac[1], nc->mac[2], nc->mac[3],
	         nc->mac[4], nc->mac[5], nc->vhost_user_socket);
	return 0;
}
