// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-vsock (virtio 1.2 §5.10), stream sockets only, with the host side
 * as hybrid vsock over UNIX sockets (Firecracker's convention):
 * - host -> guest: a client connects to cfg->vsock.uds_path and writes
 *   "CONNECT <port>\n"; the device sends REQUEST to the guest and answers
 *   "OK <hostport>\n" on RESPONSE, or closes the client on RST;
 * - guest -> host: REQUEST to port P connects to "<uds_path>_<P>"; RST
 *   when nothing listens there.
 * Queues: 0 rx (to the guest), 1 tx (from the guest), 2 event (unused).
 *
 * Credit (§5.10.6.3): each direction is bounded by the receiver's
 * buf_alloc. Ours is VSOCK_BUF per connection: guest data waits in
 * to_host until the host socket takes it, and fwd_cnt counts what it took.
 * Host data is read only while the guest has credit for it.
 *
 * Threads: everything runs under vdev->lock, from the I/O thread (socket
 * callbacks, ioeventfd kicks) or a vCPU (MMIO kicks, reset). A closed
 * connection is unhooked at once but freed later on the I/O thread
 * (reap()), so no callback blocked on the lock meets freed memory.
 */
#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bytering.h"
#include "hostsock.h"
#include "podvisor/log.h"
#include "podvisor/util.h"
#include "podvisor/virtio.h"
#include "podvisor/vm.h"
#include "vsock_proto.h"

#define VSOCK_QUEUE_SIZE 256
#define VSOCK_RXQ        0
#define VSOCK_TXQ        1
#define VSOCK_BUF        (64 * 1024)
#define VSOCK_MAX_CONNS  64
#define VSOCK_MAX_RSTS   64
#define VSOCK_EPHEMERAL  (1u << 30) /* first port for host clients */

enum conn_state {
	CONN_LINE,      /* host client: waiting for "CONNECT <port>\n" */
	CONN_REQUESTED, /* REQUEST sent, waiting for RESPONSE or RST */
	CONN_OPEN,
};

/* Control packets a connection owes the guest. */
#define PEND_REQUEST  (1u << 0)
#define PEND_RESPONSE (1u << 1)
#define PEND_CREDIT   (1u << 2)
#define PEND_SHUTDOWN (1u << 3)

struct conn {
	struct vsock *vs;
	struct conn *next_dead;
	enum conn_state state;
	uint32_t host_port, guest_port;
	int fd;
	struct event *rev, *wev;
	bool reading, dead, host_eof, shut_wr_pending;
	unsigned int pending;
	char line[VSOCK_CONNECT_LINE];
	size_t line_len;
	struct bytering to_host, to_guest;
	uint32_t fwd_cnt, fwd_cnt_sent; /* guest -> host bytes forwarded */
	uint32_t tx_cnt;                /* host -> guest bytes sent */
	uint32_t peer_buf_alloc, peer_fwd_cnt;
	uint8_t bufs[2 * VSOCK_BUF];
};

struct rst {
	uint32_t host_port, guest_port;
};

struct vsock {
	struct virtio_dev vdev;
	uint64_t config; /* guest_cid */
	uint64_t cid;
	char path[108];
	int lfd;
	struct event *listen_ev;
	struct conn *conns[VSOCK_MAX_CONNS];
	struct conn *dead;
	struct rst rsts[VSOCK_MAX_RSTS];
	unsigned int nr_rsts, rr;
	uint32_t next_port;
	unsigned long bad_packets;
	struct virtq_elem elem;
};

static void rx_flush(struct vsock *vs);
static void conn_update_io(struct conn *c);

/* ---- connections ---- */

static struct conn *conn_find(struct vsock *vs, uint32_t host_port,
                              uint32_t guest_port)
{
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++) {
		struct conn *c = vs->conns[i];

		if (c && c->state != CONN_LINE && c->host_port == host_port &&
		    c->guest_port == guest_port)
			return c;
	}
	return NULL;
}

static void reap(struct vsock *vs)
{
	while (vs->dead) {
		struct conn *c = vs->dead;

		vs->dead = c->next_dead;
		if (c->rev)
			event_free(c->rev);
		if (c->wev)
			event_free(c->wev);
		free(c);
	}
}

static void conn_close(struct conn *c, const char *why)
{
	struct vsock *vs = c->vs;

	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++)
		if (vs->conns[i] == c)
			vs->conns[i] = NULL;
	log_debug("%s: connection host %u <-> guest %u closed: %s",
	          vs->vdev.name, c->host_port, c->guest_port, why);
	/* No wait: this may run on a vCPU while the I/O thread waits for
	 * the lock inside this connection's callback. */
	if (c->rev)
		event_del_noblock(c->rev);
	if (c->wev)
		event_del_noblock(c->wev);
	close(c->fd);
	c->fd = -1;
	c->dead = true;
	c->next_dead = vs->dead;
	vs->dead = c;
}

static void queue_rst(struct vsock *vs, uint32_t host_port, uint32_t guest_port)
{
	/* Bounded: when full the guest's connect times out instead. */
	if (vs->nr_rsts < VSOCK_MAX_RSTS)
		vs->rsts[vs->nr_rsts++] = (struct rst){host_port, guest_port};
}

static void on_conn_read(evutil_socket_t fd, short what, void *arg);
static void on_conn_write(evutil_socket_t fd, short what, void *arg);

static struct conn *conn_new(struct vsock *vs, int fd)
{
	struct event_base *base = vs->vdev.vm->evbase;
	struct conn *c;
	unsigned int i;

	for (i = 0; i < VSOCK_MAX_CONNS && vs->conns[i]; i++)
		;
	if (i == VSOCK_MAX_CONNS) {
		log_warn("%s: %u connections open; refusing another",
		         vs->vdev.name, VSOCK_MAX_CONNS);
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->vs = vs;
	c->fd = fd;
	c->to_host = (struct bytering){.buf = c->bufs, .cap = VSOCK_BUF};
	c->to_guest =
	    (struct bytering){.buf = c->bufs + VSOCK_BUF, .cap = VSOCK_BUF};
	c->rev = event_new(base, fd, EV_READ | EV_PERSIST, on_conn_read, c);
	c->wev = event_new(base, fd, EV_WRITE, on_conn_write, c);
	if (!c->rev || !c->wev) {
		if (c->rev)
			event_free(c->rev);
		free(c);
		return NULL;
	}
	vs->conns[i] = c;
	return c;
}

static uint32_t peer_credit(const struct conn *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;

	/* A peer that claims to have forwarded more than we sent (a stale
	 * or shared counter) has nothing in flight; Linux tolerates it too. */
	if ((int32_t)in_flight < 0)
		in_flight = 0;
	if (in_flight > c->peer_buf_alloc)
		return 0;
	return c->peer_buf_alloc - in_flight;
}

static void conn_peer_update(struct conn *c, const struct vsock_hdr *h)
{
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
}

/* Writes guest data to the host socket; returns false when it failed. */
static bool conn_flush_host(struct conn *c)
{
	size_t n;
	ssize_t w;

	while (c->to_host.len) {
		const uint8_t *p = bytering_peek(&c->to_host, &n);

		w = send(c->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			event_add(c->wev, NULL);
			return true;
		}
		if (w <= 0)
			return false;
		bytering_drop(&c->to_host, (size_t)w);
		c->fwd_cnt += (uint32_t)w;
	}
	if (c->shut_wr_pending) {
		shutdown(c->fd, SHUT_WR);
		c->shut_wr_pending = false;
	}
	/* Tell the guest about freed space before it runs dry. */
	if (c->fwd_cnt - c->fwd_cnt_sent >= VSOCK_BUF / 4)
		c->pending |= PEND_CREDIT;
	return true;
}

/* Whether to read the host socket: room for the guest and its credit. */
static void conn_update_io(struct conn *c)
{
	bool want;

	if (c->dead)
		return;
	want = !c->host_eof && bytering_room(&c->to_guest) &&
	       (c->state == CONN_LINE ||
	        (c->state == CONN_OPEN && peer_credit(c) > c->to_guest.len));
	if (want && !c->reading)
		event_add(c->rev, NULL);
	else if (!want && c->reading)
		event_del_noblock(c->rev);
	c->reading = want;
}

/* ---- host side ---- */

static void conn_got_line(struct conn *c, uint32_t port)
{
	struct vsock *vs = c->vs;

	do {
		c->host_port = vs->next_port++;
		if (vs->next_port < VSOCK_EPHEMERAL)
			vs->next_port = VSOCK_EPHEMERAL;
	} while (conn_find(vs, c->host_port, port));
	c->guest_port = port;
	c->state = CONN_REQUESTED;
	c->pending |= PEND_REQUEST;
	log_debug("%s: host client asks for guest port %u (host port %u)",
	          vs->vdev.name, port, c->host_port);
}

/* Reads the CONNECT line; bytes after it wait for the guest. */
static void conn_read_line(struct conn *c)
{
	ssize_t n = recv(c->fd, c->line + c->line_len,
	                 sizeof(c->line) - c->line_len, MSG_DONTWAIT);
	uint32_t port = 0;
	int used;

	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			conn_close(c, "client left before CONNECT");
		return;
	}
	c->line_len += (size_t)n;
	used = vsock_parse_connect(c->line, c->line_len, &port);
	if (used < 0) {
		log_warn("%s: host client sent a bad first line; expected "
		         "\"CONNECT <port>\\n\"",
		         c->vs->vdev.name);
		conn_close(c, "bad CONNECT line");
		return;
	}
	if (used == 0)
		return;
	bytering_put(&c->to_guest, c->line + used, c->line_len - (size_t)used);
	conn_got_line(c, port);
}

static void conn_read_data(struct conn *c)
{
	uint8_t buf[16384];
	size_t want = MIN(sizeof(buf), bytering_room(&c->to_guest));
	ssize_t n;

	if (peer_credit(c) <= c->to_guest.len)
		return;
	want = MIN(want, (size_t)(peer_credit(c) - c->to_guest.len));
	n = recv(c->fd, buf, want, MSG_DONTWAIT);
	if (n > 0) {
		bytering_put(&c->to_guest, buf, (size_t)n);
	} else if (n == 0) {
		/* The host closed its side: SHUTDOWN after the data. */
		c->host_eof = true;
		c->pending |= PEND_SHUTDOWN;
	} else if (errno != EAGAIN && errno != EINTR) {
		queue_rst(c->vs, c->host_port, c->guest_port);
		conn_close(c, strerror(errno));
	}
}

static void on_conn_read(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct vsock *vs = c->vs;

	pthread_mutex_lock(&vs->vdev.lock);
	if (!c->dead) {
		if (c->state == CONN_LINE)
			conn_read_line(c);
		else if (c->state == CONN_OPEN)
			conn_read_data(c);
		conn_update_io(c);
		rx_flush(vs);
	}
	reap(vs);
	pthread_mutex_unlock(&vs->vdev.lock);
}

static void on_conn_write(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct vsock *vs = c->vs;

	pthread_mutex_lock(&vs->vdev.lock);
	if (!c->dead) {
		if (!conn_flush_host(c)) {
			queue_rst(vs, c->host_port, c->guest_port);
			conn_close(c, "host socket write failed");
		}
		rx_flush(vs);
	}
	reap(vs);
	pthread_mutex_unlock(&vs->vdev.lock);
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct vsock *vs = arg;
	int fd = hostsock_accept(lfd);
	struct conn *c;

	if (fd < 0)
		return;
	pthread_mutex_lock(&vs->vdev.lock);
	reap(vs);
	c = conn_new(vs, fd);
	if (!c)
		close(fd);
	else
		conn_update_io(c);
	pthread_mutex_unlock(&vs->vdev.lock);
}

/* ---- to the guest (rx queue) ---- */

static bool conn_has_output(const struct conn *c)
{
	if (c->pending & (PEND_REQUEST | PEND_RESPONSE | PEND_CREDIT))
		return true;
	if (c->state != CONN_OPEN)
		return false;
	if (c->to_guest.len)
		return peer_credit(c) > 0;
	return c->pending & PEND_SHUTDOWN;
}

/* Fills h for c's next packet; returns the RW payload length (or 0). */
static uint32_t conn_next_packet(struct conn *c, struct vsock_hdr *h,
                                 uint64_t room)
{
	uint32_t n = 0;

	*h = (struct vsock_hdr){
	    .src_cid = VSOCK_CID_HOST,
	    .dst_cid = c->vs->cid,
	    .src_port = c->host_port,
	    .dst_port = c->guest_port,
	    .type = VSOCK_TYPE_STREAM,
	    .buf_alloc = VSOCK_BUF,
	    .fwd_cnt = c->fwd_cnt,
	};
	c->fwd_cnt_sent = c->fwd_cnt; /* every packet carries the credit */
	if (c->pending & PEND_REQUEST) {
		c->pending &= ~PEND_REQUEST;
		h->op = VSOCK_OP_REQUEST;
	} else if (c->pending & PEND_RESPONSE) {
		c->pending &= ~PEND_RESPONSE;
		h->op = VSOCK_OP_RESPONSE;
	} else if (c->state == CONN_OPEN && c->to_guest.len && peer_credit(c)) {
		n = (uint32_t)MIN((uint64_t)c->to_guest.len, room);
		n = MIN(n, peer_credit(c));
		n = MIN(n, (uint32_t)VSOCK_MAX_PAYLOAD);
		h->op = VSOCK_OP_RW;
		h->len = n;
	} else if ((c->pending & PEND_SHUTDOWN) && !c->to_guest.len) {
		c->pending &= ~PEND_SHUTDOWN;
		h->op = VSOCK_OP_SHUTDOWN;
		h->flags = VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND;
	} else {
		c->pending &= ~PEND_CREDIT;
		h->op = VSOCK_OP_CREDIT_UPDATE;
	}
	c->pending &= ~PEND_CREDIT; /* any packet updates the credit */
	return n;
}

static struct conn *next_output(struct vsock *vs)
{
	for (unsigned int k = 0; k < VSOCK_MAX_CONNS; k++) {
		unsigned int i = (vs->rr + k) % VSOCK_MAX_CONNS;

		if (vs->conns[i] && conn_has_output(vs->conns[i])) {
			vs->rr = i + 1; /* round robin between connections */
			return vs->conns[i];
		}
	}
	return NULL;
}

/* Sends one packet into a popped rx element; false when nothing to send. */
static bool rx_one(struct vsock *vs, const struct virtq_elem *e, uint32_t *used)
{
	struct vsock_hdr h = {0};
	struct conn *c = NULL;
	uint32_t n = 0, off = 0;
	size_t k;

	if (vs->nr_rsts) {
		struct rst r = vs->rsts[--vs->nr_rsts];

		h = (struct vsock_hdr){VSOCK_CID_HOST,
		                       vs->cid,
		                       r.host_port,
		                       r.guest_port,
		                       0,
		                       VSOCK_TYPE_STREAM,
		                       VSOCK_OP_RST,
		                       0,
		                       VSOCK_BUF,
		                       0};
	} else {
		c = next_output(vs);
		if (!c)
			return false;
		n = conn_next_packet(c, &h, e->in_len - VSOCK_HDR_SIZE);
	}
	virtq_elem_write(e, 0, &h, sizeof(h));
	while (off < n) {
		const uint8_t *p = bytering_peek(&c->to_guest, &k);

		k = MIN(k, (size_t)(n - off));
		virtq_elem_write(e, VSOCK_HDR_SIZE + off, p, k);
		bytering_drop(&c->to_guest, k);
		off += (uint32_t)k;
	}
	if (c) {
		c->tx_cnt += n;
		conn_update_io(c);
	}
	*used = VSOCK_HDR_SIZE + n;
	return true;
}

static bool has_output(struct vsock *vs)
{
	if (vs->nr_rsts)
		return true;
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++)
		if (vs->conns[i] && conn_has_output(vs->conns[i]))
			return true;
	return false;
}

static void rx_flush(struct vsock *vs)
{
	struct virtio_dev *vdev = &vs->vdev;
	struct virtq *vq = &vdev->queues[VSOCK_RXQ].vq;
	bool pushed = false;
	uint32_t used;
	int r;

	if (!(vdev->status & VIRTIO_STATUS_DRIVER_OK) ||
	    (vdev->status & VIRTIO_STATUS_NEEDS_RESET))
		return;
	while (has_output(vs)) {
		r = virtq_pop(vq, &vs->elem);
		if (r < 0)
			virtio_dev_set_broken(vdev, "queue %u: %s", VSOCK_RXQ,
			                      vq->error);
		if (r <= 0)
			break;
		if (vs->elem.in_len < VSOCK_HDR_SIZE) {
			virtio_dev_set_broken(
			    vdev,
			    "rx buffer of %llu bytes "
			    "cannot hold the 44-byte header",
			    (unsigned long long)vs->elem.in_len);
			break;
		}
		if (!rx_one(vs, &vs->elem, &used))
			used = 0;
		virtq_push(vq, &vs->elem, used);
		pushed = true;
	}
	if (pushed)
		virtio_queue_interrupt(vdev, VSOCK_RXQ);
}

/* ---- from the guest (tx queue) ---- */

static void bad_packet(struct vsock *vs, const struct vsock_hdr *h,
                       const char *why)
{
	/* One actionable line; a guest flooding junk only bumps a count. */
	enum pv_log_level lvl = vs->bad_packets++ ? PV_LOG_DEBUG : PV_LOG_WARN;

	pv_log(lvl,
	       "%s: dropped a guest packet: %s (src %llu:%u dst %llu:%u "
	       "op %u len %u); further ones are counted only",
	       vs->vdev.name, why, (unsigned long long)h->src_cid, h->src_port,
	       (unsigned long long)h->dst_cid, h->dst_port, h->op, h->len);
}

static void guest_connect(struct vsock *vs, const struct vsock_hdr *h)
{
	char path[160];
	struct conn *c = NULL;
	int fd;

	snprintf(path, sizeof(path), "%s_%u", vs->path, h->dst_port);
	fd = hostsock_connect(path);
	if (fd >= 0)
		c = conn_new(vs, fd);
	if (!c) {
		log_debug("%s: guest port %u -> host port %u refused: %s",
		          vs->vdev.name, h->src_port, h->dst_port,
		          fd < 0 ? strerror(-fd) : "no room");
		if (fd >= 0)
			close(fd);
		queue_rst(vs, h->dst_port, h->src_port);
		return;
	}
	c->host_port = h->dst_port;
	c->guest_port = h->src_port;
	c->state = CONN_OPEN;
	conn_peer_update(c, h);
	c->pending |= PEND_RESPONSE;
	conn_update_io(c);
}

static void conn_opened(struct conn *c)
{
	char ok[32];
	int n = snprintf(ok, sizeof(ok), "OK %u\n", c->host_port);

	c->state = CONN_OPEN;
	bytering_put(&c->to_host, ok, (size_t)n);
}

static void guest_data(struct vsock *vs, struct conn *c,
                       const struct virtq_elem *e, const struct vsock_hdr *h)
{
	uint8_t chunk[4096];
	uint32_t off = 0;

	/* §5.10.6.3.1: the guest may not send more than our credit. */
	if (h->len > bytering_room(&c->to_host)) {
		bad_packet(vs, h, "data beyond the advertised credit");
		queue_rst(vs, c->host_port, c->guest_port);
		conn_close(c, "credit overrun");
		return;
	}
	while (off < h->len) {
		size_t n =
		    virtq_elem_read(e, VSOCK_HDR_SIZE + off, chunk,
		                    MIN(sizeof(chunk), (size_t)(h->len - off)));

		if (!n)
			break;
		bytering_put(&c->to_host, chunk, n);
		off += (uint32_t)n;
	}
}

static void guest_shutdown(struct vsock *vs, struct conn *c, uint32_t flags)
{
	if ((flags & VSOCK_SHUTDOWN_SEND) && (flags & VSOCK_SHUTDOWN_RCV)) {
		/* Full close: last bytes out if the socket takes them, then
		 * the RST that completes the guest's close (§5.10.6.6). */
		conn_flush_host(c);
		queue_rst(vs, c->host_port, c->guest_port);
		conn_close(c, "guest shut down");
		return;
	}
	if (flags & VSOCK_SHUTDOWN_SEND)
		c->shut_wr_pending = true;
	if (flags & VSOCK_SHUTDOWN_RCV)
		c->host_eof = true; /* stop reading for a guest that won't */
}

static void tx_packet(struct vsock *vs, const struct virtq_elem *e)
{
	struct vsock_hdr h = {0};
	const char *why = NULL;
	struct conn *c;
	int r;

	if (e->out_len < VSOCK_HDR_SIZE) {
		bad_packet(vs, &h, "shorter than the 44-byte header");
		return;
	}
	virtq_elem_read(e, 0, &h, sizeof(h));
	r = vsock_hdr_check(&h, vs->cid, e->out_len - VSOCK_HDR_SIZE, &why);
	if (r == -EPROTOTYPE)
		queue_rst(vs, h.dst_port, h.src_port);
	if (r < 0) {
		bad_packet(vs, &h, why);
		return;
	}
	c = conn_find(vs, h.dst_port, h.src_port);
	if (h.op == VSOCK_OP_REQUEST) {
		if (c)
			queue_rst(vs, h.dst_port, h.src_port);
		else
			guest_connect(vs, &h);
		return;
	}
	if (!c) {
		if (h.op != VSOCK_OP_RST)
			queue_rst(vs, h.dst_port, h.src_port);
		return;
	}
	conn_peer_update(c, &h);
	switch (h.op) {
	case VSOCK_OP_RESPONSE:
		if (c->state == CONN_REQUESTED)
			conn_opened(c);
		break;
	case VSOCK_OP_RST:
		conn_close(c, "guest reset it");
		return;
	case VSOCK_OP_SHUTDOWN:
		guest_shutdown(vs, c, h.flags);
		if (c->dead)
			return;
		break;
	case VSOCK_OP_RW:
		if (c->state != CONN_OPEN)
			break;
		guest_data(vs, c, e, &h);
		if (c->dead)
			return;
		break;
	case VSOCK_OP_CREDIT_REQUEST:
		c->pending |= PEND_CREDIT;
		break;
	}
	if (!conn_flush_host(c)) {
		queue_rst(vs, c->host_port, c->guest_port);
		conn_close(c, "host socket write failed");
		return;
	}
	conn_update_io(c);
}

static void tx_drain(struct vsock *vs)
{
	struct virtq *vq = &vs->vdev.queues[VSOCK_TXQ].vq;
	bool pushed = false;
	int r;

	while ((r = virtq_pop(vq, &vs->elem)) > 0) {
		tx_packet(vs, &vs->elem);
		virtq_push(vq, &vs->elem, 0);
		pushed = true;
	}
	if (r < 0)
		virtio_dev_set_broken(&vs->vdev, "queue %u: %s", VSOCK_TXQ,
		                      vq->error);
	if (pushed)
		virtio_queue_interrupt(&vs->vdev, VSOCK_TXQ);
}

/* ---- device ---- */

static void vsock_notify(struct virtio_dev *vdev, unsigned int qi)
{
	struct vsock *vs = (struct vsock *)vdev;

	if (qi == VSOCK_TXQ)
		tx_drain(vs);
	/* Rx buffers came back, or tx changed what we owe the guest. */
	if (qi != 2)
		rx_flush(vs);
}

static int vsock_activate(struct virtio_dev *vdev)
{
	rx_flush((struct vsock *)vdev);
	return 0;
}

static void vsock_reset(struct virtio_dev *vdev)
{
	struct vsock *vs = (struct vsock *)vdev;

	/* The guest's sockets are gone: so are their host ends. */
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++)
		if (vs->conns[i])
			conn_close(vs->conns[i], "device reset");
	vs->nr_rsts = 0;
}

static void vsock_free(struct virtio_dev *vdev)
{
	struct vsock *vs = (struct vsock *)vdev;

	vsock_reset(vdev);
	reap(vs);
	if (vs->listen_ev)
		event_free(vs->listen_ev);
	if (vs->lfd >= 0) {
		close(vs->lfd);
		unlink(vs->path);
	}
	free(vs);
}

static const struct virtio_dev_ops vsock_ops = {
    .device_id = VIRTIO_ID_VSOCK,
    .queue_notify = vsock_notify,
    .activate = vsock_activate,
    .reset = vsock_reset,
    .free = vsock_free,
};

static int vsock_check_config(const struct vm_vsock_config *vc)
{
	if (vc->guest_cid < 3 || vc->guest_cid >= UINT32_MAX)
		return log_err_errno(EINVAL,
		                     "vsock.guest_cid %llu is "
		                     "reserved; use 3 up to 4294967294",
		                     (unsigned long long)vc->guest_cid);
	if (!vc->uds_path || !*vc->uds_path)
		return log_err_errno(EINVAL, "vsock.uds_path is missing; name "
		                             "the host UNIX socket");
	/* Room for "_<port>" after it in a sockaddr_un. */
	if (strlen(vc->uds_path) > 96)
		return log_err_errno(ENAMETOOLONG,
		                     "vsock.uds_path is longer "
		                     "than 96 bytes; use a shorter path");
	return 0;
}

int virtio_vsock_create(struct vm *vm, unsigned int slot)
{
	const struct vm_vsock_config *vc = &vm->cfg->vsock;
	struct vsock *vs;
	int r = vsock_check_config(vc);

	if (r < 0)
		return r;
	if (!vm->evbase)
		return -EINVAL;
	vs = calloc(1, sizeof(*vs));
	if (!vs)
		return -ENOMEM;
	vs->cid = vs->config = vc->guest_cid;
	vs->next_port = VSOCK_EPHEMERAL;
	snprintf(vs->path, sizeof(vs->path), "%s", vc->uds_path);
	r = virtio_dev_init(&vs->vdev, vm, &vsock_ops, "virtio-vsock", 3,
	                    VSOCK_QUEUE_SIZE, 1ULL << VIRTIO_F_EVENT_IDX,
	                    &vs->config, sizeof(vs->config));
	vs->vdev.priv = vs;
	vs->lfd = r < 0 ? -1 : hostsock_listen(vs->path, "vsock.uds_path");
	if (r == 0 && vs->lfd < 0)
		r = vs->lfd;
	if (r == 0) {
		vs->listen_ev = event_new(vm->evbase, vs->lfd,
		                          EV_READ | EV_PERSIST, on_accept, vs);
		if (!vs->listen_ev || event_add(vs->listen_ev, NULL) < 0)
			r = -ENOMEM;
	}
	if (r == 0)
		r = virtio_pci_add(&vs->vdev, slot);
	if (r < 0) {
		virtio_dev_destroy(&vs->vdev);
		return r;
	}
	log_info("virtio-vsock: guest CID %llu, host side on %s",
	         (unsigned long long)vs->cid, vs->path);
	return 0;
}
