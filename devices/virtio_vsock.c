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

#include "hostsock.h"
#include "podvisor/log.h"
#include "podvisor/util.h"
#include "podvisor/virtio.h"
#include "podvisor/vm.h"
#include "vsock_priv.h"

/* ---- to the guest (rx queue) ---- */

static bool conn_has_output(const struct conn *c)
{
	if (c->pending & (PEND_REQUEST | PEND_RESPONSE | PEND_CREDIT))
		return true;
	if (c->state != CONN_OPEN)
		return false;
	if (c->to_guest.len)
		return vsock_peer_credit(c) > 0;
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
	} else if (c->state == CONN_OPEN && c->to_guest.len &&
	           vsock_peer_credit(c)) {
		n = (uint32_t)MIN((uint64_t)c->to_guest.len, room);
		n = MIN(n, vsock_peer_credit(c));
		n = MIN(n, (uint32_t)VSOCK_MAX_PAYLOAD);
		h->op = VSOCK_OP_RW;
		h->len = n;
	} else if ((c->pending & PEND_SHUTDOWN) && !c->to_guest.len) {
		c->pending &= ~PEND_SHUTDOWN;
		h->op = VSOCK_OP_SHUTDOWN;
		/* End of file from the host is only "no more data": a
		 * client that half-closed (socat does at end of input) still
		 * reads the answer; a full close shows up as a failed send,
		 * which resets the connection. */
		h->flags = VSOCK_SHUTDOWN_SEND;
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
		vsock_conn_update_io(c);
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

void vsock_rx_flush(struct vsock *vs)
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
		c = vsock_conn_new(vs, fd);
	if (!c) {
		log_debug("%s: guest port %u -> host port %u refused: %s",
		          vs->vdev.name, h->src_port, h->dst_port,
		          fd < 0 ? strerror(-fd) : "no room");
		if (fd >= 0)
			close(fd);
		vsock_queue_rst(vs, h->dst_port, h->src_port);
		return;
	}
	c->host_port = h->dst_port;
	c->guest_port = h->src_port;
	c->state = CONN_OPEN;
	vsock_conn_peer_update(c, h);
	c->pending |= PEND_RESPONSE;
	vsock_conn_update_io(c);
}

static void conn_opened(struct conn *c)
{
	char ok[32];
	int n = snprintf(ok, sizeof(ok), "OK %u\n", c->host_port);

	c->state = CONN_OPEN;
	event_del_noblock(c->timer);
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
		vsock_queue_rst(vs, c->host_port, c->guest_port);
		vsock_conn_close(c, "credit overrun");
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
		vsock_conn_flush_host(c);
		vsock_queue_rst(vs, c->host_port, c->guest_port);
		vsock_conn_close(c, "guest shut down");
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
		vsock_queue_rst(vs, h.dst_port, h.src_port);
	if (r < 0) {
		bad_packet(vs, &h, why);
		return;
	}
	c = vsock_conn_find(vs, h.dst_port, h.src_port);
	if (h.op == VSOCK_OP_REQUEST) {
		if (c)
			vsock_queue_rst(vs, h.dst_port, h.src_port);
		else
			guest_connect(vs, &h);
		return;
	}
	if (!c) {
		if (h.op != VSOCK_OP_RST)
			vsock_queue_rst(vs, h.dst_port, h.src_port);
		return;
	}
	vsock_conn_peer_update(c, &h);
	switch (h.op) {
	case VSOCK_OP_RESPONSE:
		if (c->state == CONN_REQUESTED)
			conn_opened(c);
		break;
	case VSOCK_OP_RST:
		vsock_conn_close(c, "guest reset it");
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
	if (!vsock_conn_flush_host(c)) {
		vsock_queue_rst(vs, c->host_port, c->guest_port);
		vsock_conn_close(c, "host socket write failed");
		return;
	}
	vsock_conn_update_io(c);
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
		vsock_rx_flush(vs);
}

static int vsock_activate(struct virtio_dev *vdev)
{
	vsock_rx_flush((struct vsock *)vdev);
	return 0;
}

static void vsock_reset(struct virtio_dev *vdev)
{
	struct vsock *vs = (struct vsock *)vdev;

	/* The guest's sockets are gone: so are their host ends. */
	for (unsigned int i = 0; i < VSOCK_MAX_CONNS; i++)
		if (vs->conns[i])
			vsock_conn_close(vs->conns[i], "device reset");
	vs->nr_rsts = 0;
}

static void vsock_free(struct virtio_dev *vdev)
{
	struct vsock *vs = (struct vsock *)vdev;

	vsock_reset(vdev);
	vsock_reap(vs);
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
	vs->connect_timeout_ms = VSOCK_CONNECT_TIMEOUT_MS;
	snprintf(vs->path, sizeof(vs->path), "%s", vc->uds_path);
	r = virtio_dev_init(&vs->vdev, vm, &vsock_ops, "virtio-vsock", 3,
	                    VSOCK_QUEUE_SIZE, 1ULL << VIRTIO_F_EVENT_IDX,
	                    &vs->config, sizeof(vs->config));
	vs->vdev.priv = vs;
	vs->lfd = r < 0 ? -1 : hostsock_listen(vs->path, "vsock.uds_path");
	if (r == 0 && vs->lfd < 0)
		r = vs->lfd;
	if (r == 0) {
		vs->listen_ev =
		    event_new(vm->evbase, vs->lfd, EV_READ | EV_PERSIST,
		              vsock_on_accept, vs);
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
