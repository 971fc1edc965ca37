/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-vsock internals shared by virtio_vsock.c (the guest side: queues,
 * packets) and vsock_conn.c (the host side: connections, UNIX sockets);
 * devices/ internal. Every function runs with vs->vdev.lock held.
 */
#ifndef PODVISOR_DEVICES_VSOCK_PRIV_H
#define PODVISOR_DEVICES_VSOCK_PRIV_H

#include <event2/util.h>
#include <stdbool.h>
#include <stdint.h>

#include "bytering.h"
#include "podvisor/virtio.h"
#include "vsock_proto.h"

struct event;

#define VSOCK_QUEUE_SIZE         256
#define VSOCK_RXQ                0
#define VSOCK_TXQ                1
#define VSOCK_BUF                (64 * 1024)
#define VSOCK_MAX_CONNS          64
#define VSOCK_MAX_RSTS           64
#define VSOCK_CONNECT_TIMEOUT_MS 5000
#define VSOCK_EPHEMERAL          (1u << 30) /* first port for host clients */

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
	struct event *timer; /* host client: the guest must answer in time */
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
	unsigned int connect_timeout_ms; /* VSOCK_CONNECT_TIMEOUT_MS */
	unsigned long bad_packets;
	struct virtq_elem elem;
};

/* Connection (host port, guest port), or NULL; ignores clients that have
 * not sent their CONNECT line yet. */
struct conn *vsock_conn_find(struct vsock *vs, uint32_t host_port,
                             uint32_t guest_port);
/* A connection on host socket fd (taken over), or NULL when the table is
 * full or memory ran out (fd stays the caller's then). */
struct conn *vsock_conn_new(struct vsock *vs, int fd);
/* Unhooks c and closes its socket; the memory is freed by vsock_reap()
 * on the I/O thread, as a callback may still be waiting for the lock. */
void vsock_conn_close(struct conn *c, const char *why);
/* Frees closed connections; only where no connection callback can be
 * pending (I/O thread callbacks, destroy). */
void vsock_reap(struct vsock *vs);
/* Queues a RST for the guest (bounded; dropped when full). */
void vsock_queue_rst(struct vsock *vs, uint32_t host_port, uint32_t guest_port);
/* Bytes the guest can still take on c (§5.10.6.3). */
uint32_t vsock_peer_credit(const struct conn *c);
/* Records the guest's buf_alloc and fwd_cnt from a packet header. */
void vsock_conn_peer_update(struct conn *c, const struct vsock_hdr *h);
/* Writes staged guest data to the host socket; false when it failed. */
bool vsock_conn_flush_host(struct conn *c);
/* Reads the host socket only while the guest has room and credit. */
void vsock_conn_update_io(struct conn *c);
/* Listening socket callback: a host client connected. */
void vsock_on_accept(evutil_socket_t lfd, short what, void *arg);
/* Sends the guest what is owed (control packets, data) while it has rx
 * buffers (virtio_vsock.c). */
void vsock_rx_flush(struct vsock *vs);

#endif
