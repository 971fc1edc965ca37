// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-console (virtio 1.2 §5.3), one port, no MULTIPORT: receiveq 0
 * carries host bytes to the guest, transmitq 1 guest bytes to the host.
 * The host side is a UNIX socket (cfg->console_socket) the VMM listens on,
 * one client at a time; its fds are served on vm->evbase.
 *
 * Buffering, both bounded by CON_BUF:
 * - guest -> host: while a client is connected and the socket is slow, the
 *   device stops taking transmit buffers (the guest waits); with no client
 *   it keeps only the newest CON_BUF bytes, so the guest never stalls and a
 *   client that connects later sees the latest output.
 * - host -> guest: bytes wait until the guest posts receive buffers; when
 *   the buffer is full the device stops reading the socket.
 */
#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bytering.h"
#include "hostsock.h"
#include "podvisor/log.h"
#include "podvisor/util.h"
#include "podvisor/virtio.h"
#include "podvisor/vm.h"

#define CON_QUEUE_SIZE 256
#define CON_BUF        (64 * 1024)
#define CON_RXQ        0
#define CON_TXQ        1

struct console {
	struct virtio_dev vdev;
	uint8_t config[12]; /* cols, rows, max_nr_ports, emerg_wr: unused */
	int lfd, cfd;
	struct event *listen_ev, *read_ev, *write_ev;
	bool reading;
	struct bytering to_host, to_guest;
	uint8_t to_host_buf[CON_BUF], to_guest_buf[CON_BUF];
	char path[108];
	struct virtq_elem elem;    /* receive side */
	struct virtq_elem tx_elem; /* transmit element being staged */
	bool tx_pending;
	uint64_t tx_off;
};

static void con_flush_host(struct console *c);

static void client_close(struct console *c, const char *why)
{
	if (c->cfd < 0)
		return;
	log_info("%s: console client left (%s)", c->vdev.name, why);
	/* Called on the I/O thread (socket callbacks) or at destroy. */
	event_free(c->read_ev);
	event_free(c->write_ev);
	c->read_ev = c->write_ev = NULL;
	close(c->cfd);
	c->cfd = -1;
	c->reading = false;
}

static bool running(const struct console *c)
{
	return (c->vdev.status & VIRTIO_STATUS_DRIVER_OK) &&
	       !(c->vdev.status & VIRTIO_STATUS_NEEDS_RESET);
}

/* Moves staged host bytes into the guest's receive buffers. */
static void con_fill_guest(struct console *c)
{
	struct virtq *vq = &c->vdev.queues[CON_RXQ].vq;
	bool pushed = false;
	int r = 0;

	while (running(c) && c->to_guest.len &&
	       (r = virtq_pop(vq, &c->elem)) > 0) {
		size_t done = 0, n;

		while (c->to_guest.len && done < c->elem.in_len) {
			const uint8_t *p = bytering_peek(&c->to_guest, &n);

			n = virtq_elem_write(&c->elem, done, p, n);
			if (!n)
				break;
			bytering_drop(&c->to_guest, n);
			done += n;
		}
		virtq_push(vq, &c->elem, (uint32_t)done);
		pushed = true;
	}
	if (r < 0)
		virtio_dev_set_broken(&c->vdev, "queue %u: %s", CON_RXQ,
		                      vq->error);
	if (pushed)
		virtio_queue_interrupt(&c->vdev, CON_RXQ);
	if (c->cfd >= 0 && !c->reading && bytering_room(&c->to_guest)) {
		c->reading = true;
		event_add(c->read_ev, NULL);
	}
}

/* Takes the guest's transmit buffers while there is room for them. */
/*
 * Copies the pending transmit element into to_host from tx_off on. Returns
 * false when it has to wait for the client to take bytes first.
 */
static bool con_copy_tx(struct console *c)
{
	uint8_t chunk[4096];
	size_t n, room;

	while (c->tx_off < c->tx_elem.out_len) {
		room = bytering_room(&c->to_host);
		if (!room && c->cfd >= 0)
			return false; /* the write event resumes us */
		if (!room) {
			/* Nobody listens: keep only the newest bytes. */
			bytering_drop(&c->to_host, sizeof(chunk));
			room = bytering_room(&c->to_host);
		}
		n = virtq_elem_read(&c->tx_elem, c->tx_off, chunk,
		                    MIN(sizeof(chunk), room));
		if (!n)
			break;
		bytering_put(&c->to_host, chunk, n);
		c->tx_off += n;
		con_flush_host(c);
	}
	return true;
}

/* Takes the guest's transmit buffers; an element is returned to the guest
 * only once all of its bytes are staged, so none is lost to a slow client. */
static void con_drain_guest(struct console *c)
{
	struct virtq *vq = &c->vdev.queues[CON_TXQ].vq;
	bool pushed = false;
	int r = 0;

	for (;;) {
		if (!c->tx_pending) {
			if (!running(c) ||
			    (r = virtq_pop(vq, &c->tx_elem)) <= 0)
				break;
			c->tx_pending = true;
			c->tx_off = 0;
		}
		if (!con_copy_tx(c))
			break;
		virtq_push(vq, &c->tx_elem, 0);
		c->tx_pending = false;
		pushed = true;
	}
	if (r < 0)
		virtio_dev_set_broken(&c->vdev, "queue %u: %s", CON_TXQ,
		                      vq->error);
	if (pushed)
		virtio_queue_interrupt(&c->vdev, CON_TXQ);
	con_flush_host(c);
}

static void con_flush_host(struct console *c)
{
	size_t n;
	ssize_t w;

	while (c->cfd >= 0 && c->to_host.len) {
		const uint8_t *p = bytering_peek(&c->to_host, &n);

		w = send(c->cfd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			event_add(c->write_ev, NULL);
			return;
		}
		if (w <= 0)
			return; /* the read callback notices the hang-up */
		bytering_drop(&c->to_host, (size_t)w);
	}
}

static void on_client_write(evutil_socket_t fd, short what, void *arg)
{
	struct console *c = arg;

	pthread_mutex_lock(&c->vdev.lock);
	con_flush_host(c);
	/* Room again: take what the guest queued meanwhile. */
	con_drain_guest(c);
	pthread_mutex_unlock(&c->vdev.lock);
}

static void on_client_read(evutil_socket_t fd, short what, void *arg)
{
	struct console *c = arg;
	uint8_t buf[4096];
	ssize_t n;

	pthread_mutex_lock(&c->vdev.lock);
	if (!bytering_room(&c->to_guest)) {
		pthread_mutex_unlock(&c->vdev.lock);
		return;
	}
	n = recv(fd, buf, MIN(sizeof(buf), bytering_room(&c->to_guest)),
	         MSG_DONTWAIT);
	if (n > 0) {
		bytering_put(&c->to_guest, buf, (size_t)n);
		if (!bytering_room(&c->to_guest)) {
			/* Full: stop reading until the guest takes some. */
			event_del(c->read_ev);
			c->reading = false;
		}
		con_fill_guest(c);
	} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		client_close(c, n == 0 ? "hang-up" : strerror(errno));
		con_drain_guest(c); /* a waiting element may go on now */
	}
	pthread_mutex_unlock(&c->vdev.lock);
}

static void on_accept(evutil_socket_t fd, short what, void *arg)
{
	struct console *c = arg;
	struct event_base *base = c->vdev.vm->evbase;
	int cfd = hostsock_accept(fd);

	if (cfd < 0)
		return;
	pthread_mutex_lock(&c->vdev.lock);
	if (c->cfd >= 0) {
		pthread_mutex_unlock(&c->vdev.lock);
		log_warn("%s: a console client is already connected; refusing "
		         "another",
		         c->vdev.name);
		close(cfd);
		return;
	}
	c->cfd = cfd;
	c->read_ev =
	    event_new(base, cfd, EV_READ | EV_PERSIST, on_client_read, c);
	c->write_ev = event_new(base, cfd, EV_WRITE, on_client_write, c);
	c->reading = true;
	event_add(c->read_ev, NULL);
	log_info("%s: console client connected on %s", c->vdev.name, c->path);
	con_flush_host(c);
	pthread_mutex_unlock(&c->vdev.lock);
}

static void con_notify(struct virtio_dev *vdev, unsigned int qi)
{
	struct console *c = (struct console *)vdev;

	if (qi == CON_RXQ)
		con_fill_guest(c);
	else
		con_drain_guest(c);
}

/* Status 0: the element being staged belongs to the old ring. */
static void con_reset(struct virtio_dev *vdev)
{
	((struct console *)vdev)->tx_pending = false;
}

static int con_activate(struct virtio_dev *vdev)
{
	struct console *c = (struct console *)vdev;

	con_drain_guest(c);
	con_fill_guest(c);
	return 0;
}

static void con_free(struct virtio_dev *vdev)
{
	struct console *c = (struct console *)vdev;

	client_close(c, "VM stopped");
	if (c->listen_ev)
		event_free(c->listen_ev);
	if (c->lfd >= 0) {
		close(c->lfd);
		unlink(c->path);
	}
	free(c);
}

static const struct virtio_dev_ops con_ops = {
    .device_id = VIRTIO_ID_CONSOLE,
    .queue_notify = con_notify,
    .activate = con_activate,
    .reset = con_reset,
    .free = con_free,
};

int virtio_console_create(struct vm *vm, unsigned int slot)
{
	const char *path = vm->cfg->console_socket;
	struct console *c;
	int r;

	if (!vm->evbase)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->cfd = -1;
	c->to_host = (struct bytering){.buf = c->to_host_buf, .cap = CON_BUF};
	c->to_guest = (struct bytering){.buf = c->to_guest_buf, .cap = CON_BUF};
	snprintf(c->path, sizeof(c->path), "%s", path);
	r = virtio_dev_init(
	    &c->vdev, vm, &con_ops, "virtio-console", 2, CON_QUEUE_SIZE,
	    1ULL << VIRTIO_F_INDIRECT_DESC | 1ULL << VIRTIO_F_EVENT_IDX,
	    c->config, sizeof(c->config));
	c->vdev.priv = c;
	c->lfd = r < 0 ? r : hostsock_listen(path, "console_socket");
	if (c->lfd >= 0) {
		c->listen_ev = event_new(vm->evbase, c->lfd,
		                         EV_READ | EV_PERSIST, on_accept, c);
		if (!c->listen_ev || event_add(c->listen_ev, NULL) < 0)
			r = -ENOMEM;
	} else {
		r = c->lfd;
	}
	if (r == 0)
		r = virtio_pci_add(&c->vdev, slot);
	if (r < 0) {
		virtio_dev_destroy(&c->vdev);
		return r;
	}
	log_info("virtio-console: host side on %s", path);
	return 0;
}
