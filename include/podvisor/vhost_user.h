/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vhost-user front-end (the VMM side), QEMU docs/interop/vhost-user.rst.
 *
 * The VMM listens on a UNIX socket; the back-end (podvisor-switch, or
 * testpmd) connects as client and may go away and come back at any time.
 * Life of a connection:
 *
 *   vhost_user_listen()                    once, at VM creation
 *   vhost_user_accept() / _attach(fd)      connect sequence: SET_OWNER,
 *                                          GET_FEATURES, GET/SET_PROTOCOL_
 *                                          FEATURES, GET_QUEUE_NUM
 *   vhost_user_start(acked, mem, rings)    at guest DRIVER_OK: SET_FEATURES,
 *                                          SET_MEM_TABLE, per ring NUM, BASE,
 *                                          ADDR, KICK, CALL; ENABLE(1) each
 *                                          ring; SET_STATUS
 *   vhost_user_stop()                      ENABLE(0), GET_VRING_BASE per ring
 *   vhost_user_disconnect()                the back-end hung up (EOF on fd)
 *
 * When a back-end connects while the guest driver is running, accept()
 * replays the whole start sequence by itself; each ring's base comes from
 * the guest's used->idx, because GET_VRING_BASE cannot be asked of a dead
 * peer. A back-end must offer every feature in `acked`, or it is refused
 * (the guest cannot renegotiate without a reset): pass only the features
 * the back-end implements, not those the VMM serves itself (net: MAC,
 * STATUS, MTU live in the VMM's config space).
 *
 * When REPLY_ACK is negotiated every message without a reply carries
 * NEED_REPLY, so a refused step is reported by its own name. Every failure
 * logs "vhost-user <path>: <MESSAGE> failed: <reason>", drops the
 * connection and leaves the name in vu->failed_msg.
 *
 * Not thread-safe: the owner (the virtio-net device) serialises calls.
 * Blocking: each message waits at most VHOST_USER_TIMEOUT_MS for a reply.
 */
#ifndef PODVISOR_VHOST_USER_H
#define PODVISOR_VHOST_USER_H

#include <stdbool.h>
#include <stdint.h>

enum vhost_user_req {
	VHOST_USER_GET_FEATURES = 1,
	VHOST_USER_SET_FEATURES = 2,
	VHOST_USER_SET_OWNER = 3,
	VHOST_USER_RESET_OWNER = 4,
	VHOST_USER_SET_MEM_TABLE = 5,
	VHOST_USER_SET_VRING_NUM = 8,
	VHOST_USER_SET_VRING_ADDR = 9,
	VHOST_USER_SET_VRING_BASE = 10,
	VHOST_USER_GET_VRING_BASE = 11,
	VHOST_USER_SET_VRING_KICK = 12,
	VHOST_USER_SET_VRING_CALL = 13,
	VHOST_USER_SET_VRING_ERR = 14,
	VHOST_USER_GET_PROTOCOL_FEATURES = 15,
	VHOST_USER_SET_PROTOCOL_FEATURES = 16,
	VHOST_USER_GET_QUEUE_NUM = 17,
	VHOST_USER_SET_VRING_ENABLE = 18,
	VHOST_USER_NET_SET_MTU = 20,
	VHOST_USER_GET_CONFIG = 24,
	VHOST_USER_SET_CONFIG = 25,
	VHOST_USER_SET_STATUS = 39,
	VHOST_USER_GET_STATUS = 40,
};

#define VHOST_USER_VERSION    0x1
#define VHOST_USER_REPLY_MASK 0x4
#define VHOST_USER_NEED_REPLY 0x8
#define VHOST_USER_HDR_SIZE   12

#define VHOST_USER_F_PROTOCOL_FEATURES  30 /* back-end only, never guest */
#define VHOST_USER_PROTOCOL_F_MQ        0
#define VHOST_USER_PROTOCOL_F_REPLY_ACK 3
#define VHOST_USER_PROTOCOL_F_MTU       4
#define VHOST_USER_PROTOCOL_F_CONFIG    9
#define VHOST_USER_PROTOCOL_F_STATUS    16
/* What this front-end can use. */
#define VHOST_USER_PROTOCOL_SUPPORTED                                          \
	((1ull << VHOST_USER_PROTOCOL_F_MQ) |                                  \
	 (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) |                           \
	 (1ull << VHOST_USER_PROTOCOL_F_MTU) |                                 \
	 (1ull << VHOST_USER_PROTOCOL_F_STATUS))

#define VHOST_USER_MAX_FDS     8
#define VHOST_USER_MAX_REGIONS 8
#define VHOST_USER_MAX_RINGS   8
#define VHOST_USER_VRING_NOFD  0x100
#define VHOST_USER_TIMEOUT_MS  5000

/* One row of the message table. */
struct vhost_user_msg_info {
	uint32_t id;
	const char *name; /* "SET_MEM_TABLE" */
	uint32_t size; /* request payload bytes; 0 none; UINT32_MAX: varies */
	uint32_t reply_size; /* reply payload bytes; 0: no reply */
	bool takes_fd;       /* the request may carry fds */
};

/* Row for id, or NULL for a message this front-end does not know. */
const struct vhost_user_msg_info *vhost_user_msg_info(uint32_t id);
/* Its name, or "UNKNOWN". */
const char *vhost_user_msg_name(uint32_t id);

/* Payload layouts (native order). */
struct vhost_user_vring_state {
	uint32_t index;
	uint32_t num;
};

struct vhost_user_vring_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc; /* front-end virtual addresses of the rings */
	uint64_t used;
	uint64_t avail;
	uint64_t log;
};

struct vhost_user_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t user_addr;
	uint64_t mmap_offset;
};

struct vhost_user_mem_table {
	uint32_t nregions;
	uint32_t padding;
	struct vhost_user_region regions[VHOST_USER_MAX_REGIONS];
};

/* Guest RAM as the back-end must map it: one fd per region (memfd). */
struct vhost_user_mem {
	unsigned int nr;
	struct {
		uint64_t gpa, size;
		void *hva;
		int fd;
		uint64_t fd_offset;
	} r[VHOST_USER_MAX_REGIONS];
};

/* One ring as the guest set it up, in the VMM's address space. */
struct vhost_user_ring {
	uint16_t num;
	void *desc, *avail, *used; /* VMM virtual addresses */
	int kick_fd;               /* eventfd the guest's notify writes */
	int call_fd;               /* eventfd that interrupts the guest */
	uint16_t base;             /* next avail index the back-end reads */
};

struct vhost_user;
/* up: the back-end is connected and (when started) serving the rings. */
typedef void vhost_user_link_fn(struct vhost_user *vu, bool up, void *opaque);

struct vhost_user {
	char path[108];
	int listen_fd;     /* -1 when attach() is used without listen() */
	int fd;            /* connection, -1 when none */
	uint64_t features; /* back-end's GET_FEATURES */
	uint64_t protocol_features; /* negotiated (ours & theirs) */
	uint64_t acked;             /* guest's features, kept for replays */
	uint32_t queue_num;         /* back-end's max queue pairs */
	uint8_t status;             /* virtio status sent with SET_STATUS */
	bool started;               /* guest driver running: replay on accept */
	bool have_connected;        /* a back-end was seen before */
	bool link_up;               /* last state given to link_fn */
	uint64_t first_features;    /* first back-end's features */
	struct vhost_user_mem mem;
	struct vhost_user_ring rings[VHOST_USER_MAX_RINGS];
	unsigned int nr_rings;
	const char *failed_msg; /* name of the message that failed last */
	vhost_user_link_fn *link_fn;
	void *opaque;
};

/* Zeroes vu; fds -1. link_fn may be NULL. */
void vhost_user_init(struct vhost_user *vu, const char *path,
                     vhost_user_link_fn *link_fn, void *opaque);

/* Creates the listening socket at vu->path (a stale socket file is
 * replaced). Non-blocking: poll vu->listen_fd. Returns 0 or -errno. */
int vhost_user_listen(struct vhost_user *vu);

/*
 * Accepts one back-end (listen_fd readable) and runs the connect sequence,
 * then the start sequence when the guest driver is running. A second
 * back-end while one is connected is refused. Returns 0 or -errno.
 */
int vhost_user_accept(struct vhost_user *vu);

/* Same as accept() on an already connected socket (tests, socketpair).
 * Takes ownership of fd. */
int vhost_user_attach(struct vhost_user *vu, int fd);

/*
 * Guest DRIVER_OK: remembers acked features, memory and rings (fds stay the
 * caller's; they are sent, not closed), then runs the start sequence if a
 * back-end is connected. acked must not contain bit 30. status is the
 * virtio status byte for SET_STATUS. Returns 0 (also when no back-end is
 * connected yet: the sequence runs at accept), -ENOTSUP when the connected
 * back-end lacks a feature in acked, or -errno.
 */
int vhost_user_start(struct vhost_user *vu, uint64_t acked,
                     const struct vhost_user_mem *mem,
                     const struct vhost_user_ring *rings, unsigned int nr_rings,
                     uint8_t status);

/* Guest reset: ENABLE(0) and GET_VRING_BASE per ring (bases stored).
 * Forgets the rings. Returns 0 or -errno. */
int vhost_user_stop(struct vhost_user *vu);

/* Call when vu->fd is readable: a back-end never sends unasked, so this
 * is a hang-up. Drops the connection and reports link down. */
void vhost_user_handle_event(struct vhost_user *vu);

/* Closes the connection (link down if it was up); keeps listening. */
void vhost_user_disconnect(struct vhost_user *vu);

/* Closes every fd and removes the socket file. */
void vhost_user_close(struct vhost_user *vu);

/* Low level, for tests: one request, fds attached (nfds <= 8). flags adds
 * to the version bits. Returns 0 or -errno. */
int vhost_user_send(int fd, uint32_t req, uint32_t flags, const void *payload,
                    uint32_t size, const int *fds, unsigned int nfds);

/*
 * Receives one message (header and payload up to cap bytes); fds received
 * are stored in fds[] (up to *nfds, which is updated; extras are closed).
 * Returns the payload size or -errno (-EPIPE on end of file, -EMSGSIZE
 * when the payload is larger than cap, -EPROTO on a bad header).
 */
int vhost_user_recv(int fd, uint32_t *req, uint32_t *flags, void *payload,
                    uint32_t cap, int *fds, unsigned int *nfds);

#endif
