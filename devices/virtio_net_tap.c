/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-net with a tap back-end, for hosts without podvisor-switch
 * (virtio 1.2 §5.1). The VMM moves the frames itself: the tap is opened
 * with IFF_VNET_HDR and a 12-byte header, the same virtio_net_hdr (with
 * num_buffers) the guest uses under VERSION_1, so frames pass through
 * without conversion. TX on the guest's kick; RX when the tap is readable
 * and the guest has posted buffers (a popped buffer waits for the next
 * frame; an empty ring parks the tap until the guest kicks RX).
 *
 * Threads: tap events on vm->evbase and kicks both hold vdev->lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <event2/event.h>

#include "podvisor/log.h"
#include "podvisor/util.h"
#include "podvisor/virtio.h"
#include "podvisor/virtio_net.h"
#include "podvisor/vm.h"

#define TAP_HDR   12  /* virtio_net_hdr_mrg_rxbuf */
#define TX_BUDGET 256 /* frames per kick before yielding the thread */

struct vtap {
	struct virtio_dev vdev; /* first: ops->free frees the vtap */
	struct virtio_net_config cfg;
	int fd;
	struct event *rx_ev;
	bool rx_parked;  /* tap event off until the guest posts buffers */
	bool rx_pending; /* rx_elem popped, waiting for a frame */
	struct virtq_elem rx_elem;
	struct virtq_elem tx_elem;
	uint64_t tx_errors;
};

static bool vtap_running(const struct vtap *t)
{
	const struct virtio_dev *v = &t->vdev;

	return (v->status & VIRTIO_STATUS_DRIVER_OK) &&
	       !(v->status & VIRTIO_STATUS_NEEDS_RESET) &&
	       v->queues[0].enabled && v->queues[1].enabled;
}

static void vtap_tx(struct vtap *t)
{
	struct virtq *vq = &t->vdev.queues[1].vq;
	bool pushed = false;
	ssize_t n;
	int r = 0;

	for (int i = 0; i < TX_BUDGET && (r = virtq_pop(vq, &t->tx_elem)) > 0;
	     i++) {
		/* A frame the tap refuses is lost, as on a cable. */
		n = writev(t->fd, t->tx_elem.iov, (int)t->tx_elem.out_num);
		if (n < 0)
			t->tx_errors++;
		virtq_push(vq, &t->tx_elem, 0);
		pushed = true;
	}
	if (r < 0)
		virtio_dev_set_broken(&t->vdev, "TX queue: %s", vq->error);
	if (pushed)
		virtio_queue_interrupt(&t->vdev, 1);
}

/* Moves frames from the tap into posted RX buffers. Lock held. */
static void vtap_rx(struct vtap *t)
{
	struct virtq *vq = &t->vdev.queues[0].vq;
	struct virtq_elem *e = &t->rx_elem;
	bool pushed = false;
	ssize_t n;
	int r;

	for (int i = 0; i < TX_BUDGET; i++) {
		if (!t->rx_pending) {
			r = virtq_pop(vq, e);
			if (r < 0)
				virtio_dev_set_broken(&t->vdev, "RX queue: %s",
				                      vq->error);
			if (r <= 0) {
				/* No buffer: stop reading until a kick. */
				if (r == 0 && !t->rx_parked) {
					event_del_noblock(t->rx_ev);
					t->rx_parked = true;
				}
				break;
			}
			t->rx_pending = true;
		}
		n = readv(t->fd, e->iov + e->out_num, (int)e->in_num);
		if (n < 0)
			break; /* EAGAIN: keep the buffer for the next frame */
		virtq_push(vq, e, (uint32_t)n);
		t->rx_pending = false;
		pushed = true;
	}
	if (pushed)
		virtio_queue_interrupt(&t->vdev, 0);
}

static void vtap_rx_cb(evutil_socket_t fd, short what, void *arg)
{
	struct vtap *t = arg;

	pthread_mutex_lock(&t->vdev.lock);
	if (vtap_running(t))
		vtap_rx(t);
	pthread_mutex_unlock(&t->vdev.lock);
}

static void vtap_notify(struct virtio_dev *vdev, unsigned int q)
{
	struct vtap *t = (struct vtap *)vdev;

	if (!vtap_running(t))
		return;
	if (q == 1) {
		vtap_tx(t);
		return;
	}
	/* The guest posted RX buffers: take frames again. */
	if (t->rx_parked) {
		t->rx_parked = false;
		event_add(t->rx_ev, NULL);
	}
	vtap_rx(t);
}

static int vtap_activate(struct virtio_dev *vdev)
{
	struct vtap *t = (struct vtap *)vdev;

	t->rx_pending = false;
	t->rx_parked = false;
	if (t->rx_ev)
		event_add(t->rx_ev, NULL);
	return 0;
}

static void vtap_reset(struct virtio_dev *vdev)
{
	struct vtap *t = (struct vtap *)vdev;

	/* A popped buffer belongs to the rings being forgotten. */
	t->rx_pending = false;
	if (t->rx_ev)
		event_del_noblock(t->rx_ev);
	t->rx_parked = true;
}

static void vtap_free(struct virtio_dev *vdev)
{
	struct vtap *t = (struct vtap *)vdev;

	if (t->rx_ev)
		event_free(t->rx_ev);
	if (t->fd >= 0)
		close(t->fd);
	free(t);
}

static const struct virtio_dev_ops vtap_ops = {
    .device_id = VIRTIO_ID_NET,
    .activate = vtap_activate,
    .queue_notify = vtap_notify,
    .reset = vtap_reset,
    .free = vtap_free,
};

/* Opens the tap with virtio-net headers of our size. Returns fd or -errno. */
static int vtap_open(const char *name, unsigned int index)
{
	struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR};
	int hdr = TAP_HDR, fd, e;

	if (strlen(name) >= IFNAMSIZ)
		return log_err_errno(EINVAL,
		                     "nets[%u].tap: \"%s\" is longer than %d "
		                     "characters",
		                     index, name, IFNAMSIZ - 1);
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return log_err_errno(errno,
		                     "nets[%u].tap: cannot open /dev/net/tun "
		                     "(needs CAP_NET_ADMIN or a persistent tap "
		                     "owned by this user)",
		                     index);
	strcpy(ifr.ifr_name, name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0 ||
	    ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		e = errno;
		close(fd);
		return log_err_errno(e, "nets[%u].tap: cannot attach to tap %s",
		                     index, name);
	}
	return fd;
}

int virtio_net_tap_create(struct vm *vm, unsigned int index, unsigned int slot)
{
	const struct vm_net_config *nc = &vm->cfg->nets[index];
	uint64_t f = 1ull << VIRTIO_NET_F_MAC | 1ull << VIRTIO_NET_F_STATUS |
	             1ull << VIRTIO_F_INDIRECT_DESC |
	             1ull << VIRTIO_F_EVENT_IDX;
	char name[32];
	struct vtap *t;
	int r;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->fd = vtap_open(nc->tap, index);
	if (t->fd < 0) {
		r = t->fd;
		free(t);
		return r;
	}
	memcpy(t->cfg.mac, nc->mac, 6);
	t->cfg.status = VIRTIO_NET_S_LINK_UP;
	t->cfg.max_virtqueue_pairs = 1;
	t->cfg.mtu = nc->mtu;
	if (nc->mtu)
		f |= 1ull << VIRTIO_NET_F_MTU;
	snprintf(name, sizeof(name), "virtio-net%u", index);
	r = virtio_dev_init(&t->vdev, vm, &vtap_ops, name, 2,
	                    VIRTIO_NET_QUEUE_SIZE, f, &t->cfg, sizeof(t->cfg));
	t->vdev.priv = t;
	if (!r && vm->evbase) {
		t->rx_ev = event_new(vm->evbase, t->fd, EV_READ | EV_PERSIST,
		                     vtap_rx_cb, t);
		if (!t->rx_ev)
			r = -ENOMEM;
	}
	if (!r)
		r = virtio_pci_add(&t->vdev, slot);
	if (r < 0) {
		virtio_dev_destroy(&t->vdev);
		return r;
	}
	log_info("%s: %02x:%02x:%02x:%02x:%02x:%02x on tap %s", name,
	         nc->mac[0], nc->mac[1], nc->mac[2], nc->mac[3], nc->mac[4],
	         nc->mac[5], nc->tap);
	return 0;
}
