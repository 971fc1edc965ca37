// SPDX-License-Identifier: Apache-2.0
/*
 * Host side of virtio-vsock: the connection table and the UNIX sockets
 * (hybrid vsock, see virtio_vsock.c). Callbacks run on the I/O thread.
 */
#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "hostsock.h"
#include "podvisor/log.h"
#include "podvisor/util.h"
#include "podvisor/vm.h"
#include "vsock_priv.h"

/* ---- connections ---- */

struct conn *vsock_conn_find(struct vsock *vs, uint32_t host_port,
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

void vsock_reap(struct vsock *vs)
{
	while (vs->dead) {
		struct conn *c = vs->dead;

		vs->dead = c->next_dead;
		if (c->rev)
			event_free(c->rev);
		if (c->wev)
			event_free(c->wev);
		if (c->timer)
			event_free(c->timer);
		free(c);
	}
}

void vsock_conn_close(struct conn *c, const char *why)
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
	if (c->timer)
		event_del_noblock(c->timer);
	close(c->fd);
	c->fd = -1;
	c->dead = true;
	c->next_dead = vs->dead;
	vs->dead = c;
}

void vsock_queue_rst(struct vsock *vs, uint32_t host_port, uint32_t guest_port)
{
	/* Bounded: when full the guest's connect times out instead. */
	if (vs->nr_rsts < VSOCK_MAX_RSTS)
		vs->rsts[vs->nr_rsts++] = (struct rst){host_port, guest_port};
}

static void on_conn_read(evutil_socket_t fd, short what, void *arg);
static void on_conn_write(evutil_socket_t fd, short what, void *arg);
static void on_conn_timeout(evutil_socket_t fd, short what, void *arg);

struct conn *vsock_conn_new(struct vsock *vs, int fd)
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
	c->timer = event_new(base, -1, 0, on_conn_timeout, c);
	if (!c->rev || !c->wev || !c->timer) {
		if (c->rev)
			event_free(c->rev);
		if (c->wev)
			event_free(c->wev);
		if (c->timer)
			event_free(c->timer);
		free(c);
		return NULL;
	}
	vs->conns[i] = c;
	return c;
}

uint32_t vsock_peer_credit(const struct conn *c)
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

void vsock_conn_peer_update(struct conn *c, const struct vsock_hdr *h)
{
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
}

/* Writes guest data to the host socket; returns false when it failed. */
bool vsock_conn_flush_host(struct conn *c)
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
void vsock_conn_update_io(struct conn *c)
{
	bool want;

	if (c->dead)
		return;
	want =
	    !c->host_eof && bytering_room(&c->to_guest) &&
	    (c->state == CONN_LINE ||
	     (c->state == CONN_OPEN && vsock_peer_credit(c) > c->to_guest.len));
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
	} while (vsock_conn_find(vs, c->host_port, port));
	c->guest_port = port;
	c->state = CONN_REQUESTED;
	c->pending |= PEND_REQUEST;
	/* A guest without a listener answers RST; one without a driver
	 * never answers: the client learns it from a closed socket. */
	struct timeval tv = {vs->connect_timeout_ms / 1000,
	                     (vs->connect_timeout_ms % 1000) * 1000};
	event_add(c->timer, &tv);
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
			vsock_conn_close(c, "client left before CONNECT");
		return;
	}
	c->line_len += (size_t)n;
	used = vsock_parse_connect(c->line, c->line_len, &port);
	if (used < 0) {
		log_warn("%s: host client sent a bad first line; expected "
		         "\"CONNECT <port>\\n\"",
		         c->vs->vdev.name);
		vsock_conn_close(c, "bad CONNECT line");
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

	if (vsock_peer_credit(c) <= c->to_guest.len)
		return;
	want = MIN(want, (size_t)(vsock_peer_credit(c) - c->to_guest.len));
	n = recv(c->fd, buf, want, MSG_DONTWAIT);
	if (n > 0) {
		bytering_put(&c->to_guest, buf, (size_t)n);
	} else if (n == 0) {
		/* The host closed its side: SHUTDOWN after the data. */
		c->host_eof = true;
		c->pending |= PEND_SHUTDOWN;
	} else if (errno != EAGAIN && errno != EINTR) {
		vsock_queue_rst(c->vs, c->host_port, c->guest_port);
		vsock_conn_close(c, strerror(errno));
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
		vsock_conn_update_io(c);
		vsock_rx_flush(vs);
	}
	vsock_reap(vs);
	pthread_mutex_unlock(&vs->vdev.lock);
}

static void on_conn_write(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct vsock *vs = c->vs;

	pthread_mutex_lock(&vs->vdev.lock);
	if (!c->dead) {
		if (!vsock_conn_flush_host(c)) {
			vsock_queue_rst(vs, c->host_port, c->guest_port);
			vsock_conn_close(c, "host socket write failed");
		}
		vsock_rx_flush(vs);
	}
	vsock_reap(vs);
	pthread_mutex_unlock(&vs->vdev.lock);
}

static void on_conn_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct vsock *vs = c->vs;

	pthread_mutex_lock(&vs->vdev.lock);
	if (!c->dead && c->state == CONN_REQUESTED) {
		log_info("%s: guest port %u did not answer a host connection "
		         "within %u ms; closing the host client",
		         vs->vdev.name, c->guest_port, vs->connect_timeout_ms);
		/* A REQUEST already sent is withdrawn. */
		if (!(c->pending & PEND_REQUEST))
			vsock_queue_rst(vs, c->host_port, c->guest_port);
		vsock_conn_close(c, "no answer from the guest");
		vsock_rx_flush(vs);
	}
	vsock_reap(vs);
	pthread_mutex_unlock(&vs->vdev.lock);
}

void vsock_on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct vsock *vs = arg;
	int fd = hostsock_accept(lfd);
	struct conn *c;

	if (fd < 0)
		return;
	pthread_mutex_lock(&vs->vdev.lock);
	vsock_reap(vs);
	c = vsock_conn_new(vs, fd);
	if (!c)
		close(fd);
	else
		vsock_conn_update_io(c);
	pthread_mutex_unlock(&vs->vdev.lock);
}
