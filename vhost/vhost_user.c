/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vhost-user front-end: the VMM hands guest RAM and virtqueues to a
 * back-end process (QEMU docs/interop/vhost-user.rst). One row per message
 * in msgs[]; vu_call() sends a row's request and waits for its reply or
 * for the REPLY_ACK, so every failure is reported under its own name.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "podvisor/log.h"
#include "podvisor/util.h"
#include "podvisor/vhost_user.h"

#define VARIES UINT32_MAX
#define U64    sizeof(uint64_t)
#define STATE  sizeof(struct vhost_user_vring_state)

static const struct vhost_user_msg_info msgs[] = {
    {VHOST_USER_GET_FEATURES, "GET_FEATURES", 0, U64, false},
    {VHOST_USER_SET_FEATURES, "SET_FEATURES", U64, 0, false},
    {VHOST_USER_SET_OWNER, "SET_OWNER", 0, 0, false},
    {VHOST_USER_RESET_OWNER, "RESET_OWNER", 0, 0, false},
    {VHOST_USER_SET_MEM_TABLE, "SET_MEM_TABLE", VARIES, 0, true},
    {VHOST_USER_SET_VRING_NUM, "SET_VRING_NUM", STATE, 0, false},
    {VHOST_USER_SET_VRING_ADDR, "SET_VRING_ADDR",
     sizeof(struct vhost_user_vring_addr), 0, false},
    {VHOST_USER_SET_VRING_BASE, "SET_VRING_BASE", STATE, 0, false},
    {VHOST_USER_GET_VRING_BASE, "GET_VRING_BASE", STATE, STATE, false},
    {VHOST_USER_SET_VRING_KICK, "SET_VRING_KICK", U64, 0, true},
    {VHOST_USER_SET_VRING_CALL, "SET_VRING_CALL", U64, 0, true},
    {VHOST_USER_SET_VRING_ERR, "SET_VRING_ERR", U64, 0, true},
    {VHOST_USER_GET_PROTOCOL_FEATURES, "GET_PROTOCOL_FEATURES", 0, U64, false},
    {VHOST_USER_SET_PROTOCOL_FEATURES, "SET_PROTOCOL_FEATURES", U64, 0, false},
    {VHOST_USER_GET_QUEUE_NUM, "GET_QUEUE_NUM", 0, U64, false},
    {VHOST_USER_SET_VRING_ENABLE, "SET_VRING_ENABLE", STATE, 0, false},
    {VHOST_USER_NET_SET_MTU, "NET_SET_MTU", U64, 0, false},
    {VHOST_USER_GET_CONFIG, "GET_CONFIG", VARIES, VARIES, false},
    {VHOST_USER_SET_CONFIG, "SET_CONFIG", VARIES, 0, false},
    {VHOST_USER_SET_STATUS, "SET_STATUS", U64, 0, false},
    {VHOST_USER_GET_STATUS, "GET_STATUS", 0, U64, false},
};

const struct vhost_user_msg_info *vhost_user_msg_info(uint32_t id)
{
	for (size_t i = 0; i < ARRAY_SIZE(msgs); i++)
		if (msgs[i].id == id)
			return &msgs[i];
	return NULL;
}

const char *vhost_user_msg_name(uint32_t id)
{
	const struct vhost_user_msg_info *m = vhost_user_msg_info(id);

	return m ? m->name : "UNKNOWN";
}

int vhost_user_send(int fd, uint32_t req, uint32_t flags, const void *payload,
                    uint32_t size, const int *fds, unsigned int nfds)
{
	uint32_t hdr[3] = {req, VHOST_USER_VERSION | flags, size};
	struct iovec iov[2] = {
	    {.iov_base = hdr, .iov_len = sizeof(hdr)},
	    {.iov_base = (void *)payload, .iov_len = size},
	};
	union {
		char buf[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_FDS)];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = size ? 2 : 1};
	struct cmsghdr *c;
	ssize_t n;

	if (nfds > VHOST_USER_MAX_FDS)
		return -EINVAL;
	if (nfds) {
		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	do {
		n = sendmsg(fd, &mh, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	/* The socket is a stream: finish a short write without the fds. */
	if ((size_t)n < sizeof(hdr) + size) {
		size_t done = (size_t)n;
		uint8_t all[VHOST_USER_HDR_SIZE +
		            sizeof(struct vhost_user_mem_table)];

		if (sizeof(hdr) + size > sizeof(all))
			return -EMSGSIZE;
		memcpy(all, hdr, sizeof(hdr));
		memcpy(all + sizeof(hdr), payload, size);
		return pv_write_full(fd, all + done, sizeof(hdr) + size - done);
	}
	return 0;
}

static void take_fds(struct msghdr *mh, int *fds, unsigned int *nfds)
{
	unsigned int cap = nfds ? *nfds : 0, got = 0;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int f;

			memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(f));
			if (got < cap)
				fds[got++] = f;
			else
				close(f); /* more than asked: never leak */
		}
	}
	if (nfds)
		*nfds = got;
}

int vhost_user_recv(int fd, uint32_t *req, uint32_t *flags, void *payload,
                    uint32_t cap, int *fds, unsigned int *nfds)
{
	uint32_t hdr[3];
	struct iovec iov = {.iov_base = hdr, .iov_len = sizeof(hdr)};
	union {
		char buf[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_FDS)];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {.msg_iov = &iov,
	                    .msg_iovlen = 1,
	                    .msg_control = u.buf,
	                    .msg_controllen = sizeof(u.buf)};
	ssize_t n;
	int r;

	do {
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_WAITALL);
	} while (n < 0 && errno == EINTR);
	take_fds(&mh, fds, nfds);
	if (n < 0)
		return -errno;
	if ((size_t)n < sizeof(hdr))
		return -EPIPE;
	if ((hdr[1] & 0x3) != VHOST_USER_VERSION)
		return -EPROTO;
	if (hdr[2] > cap)
		return -EMSGSIZE;
	r = pv_read_full(fd, payload, hdr[2]);
	if (r)
		return r;
	*req = hdr[0];
	*flags = hdr[1];
	return (int)hdr[2];
}

void vhost_user_init(struct vhost_user *vu, const char *path,
                     vhost_user_link_fn *link_fn, void *opaque)
{
	memset(vu, 0, sizeof(*vu));
	snprintf(vu->path, sizeof(vu->path), "%s", path ? path : "");
	vu->listen_fd = -1;
	vu->fd = -1;
	vu->link_fn = link_fn;
	vu->opaque = opaque;
}

static void link_report(struct vhost_user *vu, bool up)
{
	if (vu->link_up == up)
		return;
	vu->link_up = up;
	log_info("vhost-user %s: link %s", vu->path, up ? "up" : "down");
	if (vu->link_fn)
		vu->link_fn(vu, up, vu->opaque);
}

void vhost_user_disconnect(struct vhost_user *vu)
{
	if (vu->fd >= 0) {
		close(vu->fd);
		vu->fd = -1;
		log_info("vhost-user %s: back-end disconnected; waiting for "
		         "it to reconnect",
		         vu->path);
	}
	link_report(vu, false);
}

static int wait_readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int r;

	do {
		r = poll(&p, 1, VHOST_USER_TIMEOUT_MS);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return r == 0 ? -ETIMEDOUT : 0;
}

/* Reads the reply to id: its payload (reply_size bytes) or the REPLY_ACK. */
static int vu_reply(struct vhost_user *vu, uint32_t id, void *reply,
                    uint32_t size)
{
	uint64_t ack = 0;
	uint32_t rid, flags;
	void *buf = size ? reply : &ack;
	uint32_t want = size ? size : sizeof(ack);
	int n;

	n = wait_readable(vu->fd);
	if (n)
		return n;
	n = vhost_user_recv(vu->fd, &rid, &flags, buf, want, NULL, NULL);
	if (n < 0)
		return n;
	if (rid != id || !(flags & VHOST_USER_REPLY_MASK) ||
	    (uint32_t)n != want)
		return -EPROTO;
	return size || ack == 0 ? 0 : -EIO;
}

/*
 * One request and its reply. On failure: names the message, drops the
 * connection, returns -errno.
 */
static int vu_call(struct vhost_user *vu, uint32_t id, const void *payload,
                   uint32_t size, const int *fds, unsigned int nfds,
                   void *reply)
{
	const struct vhost_user_msg_info *m = vhost_user_msg_info(id);
	bool ack =
	    !m->reply_size &&
	    (vu->protocol_features & (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK));
	int r = -ENOTCONN;

	if (vu->fd >= 0)
		r = vhost_user_send(vu->fd, id, ack ? VHOST_USER_NEED_REPLY : 0,
		                    payload, size, fds, nfds);
	if (!r && (m->reply_size || ack))
		r = vu_reply(vu, id, reply, m->reply_size);
	if (r) {
		vu->failed_msg = m->name;
		log_err("vhost-user %s: %s failed: %s", vu->path, m->name,
		        r == -EIO         ? "refused by the back-end"
		        : r == -EPROTO    ? "malformed reply"
		        : r == -ETIMEDOUT ? "no reply in time"
		                          : strerror(-r));
		vhost_user_disconnect(vu);
	}
	return r;
}

static int vu_u64(struct vhost_user *vu, uint32_t id, uint64_t v)
{
	return vu_call(vu, id, &v, sizeof(v), NULL, 0, NULL);
}

static int vu_state(struct vhost_user *vu, uint32_t id, uint32_t i,
                    uint32_t num)
{
	struct vhost_user_vring_state s = {.index = i, .num = num};

	return vu_call(vu, id, &s, sizeof(s), NULL, 0, NULL);
}

static int vu_get_u64(struct vhost_user *vu, uint32_t id, uint64_t *out)
{
	return vu_call(vu, id, NULL, 0, NULL, 0, out);
}

static bool has_protocol(const struct vhost_user *vu, unsigned int bit)
{
	return vu->protocol_features & (1ull << bit);
}

static bool has_pf(const struct vhost_user *vu)
{
	return vu->features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES);
}

/* SET_OWNER, GET_FEATURES, GET/SET_PROTOCOL_FEATURES, GET_QUEUE_NUM. */
static int vu_connect_seq(struct vhost_user *vu)
{
	uint64_t pf = 0, qn = 1;
	int r;

	vu->protocol_features = 0;
	r = vu_call(vu, VHOST_USER_SET_OWNER, NULL, 0, NULL, 0, NULL);
	if (!r)
		r = vu_get_u64(vu, VHOST_USER_GET_FEATURES, &vu->features);
	if (!r && has_pf(vu))
		r = vu_get_u64(vu, VHOST_USER_GET_PROTOCOL_FEATURES, &pf);
	if (!r && has_pf(vu))
		r = vu_u64(vu, VHOST_USER_SET_PROTOCOL_FEATURES,
		           pf & VHOST_USER_PROTOCOL_SUPPORTED);
	if (r)
		return r;
	vu->protocol_features = pf & VHOST_USER_PROTOCOL_SUPPORTED;
	if (has_protocol(vu, VHOST_USER_PROTOCOL_F_MQ))
		r = vu_get_u64(vu, VHOST_USER_GET_QUEUE_NUM, &qn);
	if (r)
		return r;
	vu->queue_num = (uint32_t)qn;
	return 0;
}

static int vu_send_mem(struct vhost_user *vu)
{
	struct vhost_user_mem_table t = {.nregions = vu->mem.nr};
	int fds[VHOST_USER_MAX_REGIONS];

	for (unsigned int i = 0; i < vu->mem.nr; i++) {
		t.regions[i] = (struct vhost_user_region){
		    .gpa = vu->mem.r[i].gpa,
		    .size = vu->mem.r[i].size,
		    .user_addr = (uint64_t)(uintptr_t)vu->mem.r[i].hva,
		    .mmap_offset = vu->mem.r[i].fd_offset,
		};
		fds[i] = vu->mem.r[i].fd;
	}
	return vu_call(vu, VHOST_USER_SET_MEM_TABLE, &t,
	               (uint32_t)(8 + vu->mem.nr * sizeof(t.regions[0])), fds,
	               vu->mem.nr, NULL);
}

static int vu_send_fd(struct vhost_user *vu, uint32_t id, unsigned int i,
                      int fd)
{
	uint64_t v = i | (fd < 0 ? VHOST_USER_VRING_NOFD : 0);

	return vu_call(vu, id, &v, sizeof(v), fd < 0 ? NULL : &fd,
	               fd < 0 ? 0 : 1, NULL);
}

static int vu_send_ring(struct vhost_user *vu, unsigned int i)
{
	const struct vhost_user_ring *ring = &vu->rings[i];
	struct vhost_user_vring_addr a = {
	    .index = i,
	    .desc = (uint64_t)(uintptr_t)ring->desc,
	    .used = (uint64_t)(uintptr_t)ring->used,
	    .avail = (uint64_t)(uintptr_t)ring->avail,
	};
	int r;

	r = vu_state(vu, VHOST_USER_SET_VRING_NUM, i, ring->num);
	if (!r)
		r = vu_state(vu, VHOST_USER_SET_VRING_BASE, i, ring->base);
	if (!r)
		r = vu_call(vu, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL,
		            0, NULL);
	if (!r)
		r = vu_send_fd(vu, VHOST_USER_SET_VRING_KICK, i, ring->kick_fd);
	if (!r)
		r = vu_send_fd(vu, VHOST_USER_SET_VRING_CALL, i, ring->call_fd);
	return r;
}

/* The DRIVER_OK sequence (also the replay after a reconnect). */
static int vu_start_seq(struct vhost_user *vu)
{
	uint64_t f = vu->acked & vu->features;
	int r;

	if (has_pf(vu))
		f |= 1ull << VHOST_USER_F_PROTOCOL_FEATURES;
	r = vu_u64(vu, VHOST_USER_SET_FEATURES, f);
	if (!r)
		r = vu_send_mem(vu);
	for (unsigned int i = 0; !r && i < vu->nr_rings; i++)
		r = vu_send_ring(vu, i);
	/* Without PROTOCOL_FEATURES rings start enabled (spec: "Ring
	 * states"); with it they wait for SET_VRING_ENABLE. */
	for (unsigned int i = 0; !r && has_pf(vu) && i < vu->nr_rings; i++)
		r = vu_state(vu, VHOST_USER_SET_VRING_ENABLE, i, 1);
	if (!r && has_protocol(vu, VHOST_USER_PROTOCOL_F_STATUS))
		r = vu_u64(vu, VHOST_USER_SET_STATUS, vu->status);
	if (r)
		return r;
	log_info("vhost-user %s: %u rings handed to the back-end (features "
	         "%#llx)",
	         vu->path, vu->nr_rings, (unsigned long long)f);
	return 0;
}

/* After a reconnect the back-end resumes where the guest's used ring is:
 * entries it had consumed without completing are lost, like frames on a
 * cable pulled mid-flight. */
static void vu_bases_from_used(struct vhost_user *vu)
{
	for (unsigned int i = 0; i < vu->nr_rings; i++) {
		const volatile uint16_t *used = vu->rings[i].used;

		vu->rings[i].base = used ? used[1] : 0;
	}
}

int vhost_user_attach(struct vhost_user *vu, int fd)
{
	int r;

	if (vu->fd >= 0) {
		close(fd);
		log_warn("vhost-user %s: a second back-end tried to connect; "
		         "refused",
		         vu->path);
		return -EBUSY;
	}
	vu->fd = fd;
	vu->failed_msg = NULL;
	r = vu_connect_seq(vu);
	if (r)
		return r;
	if (vu->have_connected && vu->started && (vu->acked & ~vu->features)) {
		log_err(
		    "vhost-user %s: the reconnected back-end lacks features "
		    "%#llx the guest uses; refused",
		    vu->path, (unsigned long long)(vu->acked & ~vu->features));
		vhost_user_disconnect(vu);
		return -EPROTO;
	}
	if (!vu->have_connected)
		vu->first_features = vu->features;
	log_info("vhost-user %s: back-end connected (features %#llx, "
	         "protocol %#llx, %u queue pairs)",
	         vu->path, (unsigned long long)vu->features,
	         (unsigned long long)vu->protocol_features, vu->queue_num);
	if (vu->started) {
		if (vu->have_connected)
			vu_bases_from_used(vu);
		r = vu_start_seq(vu);
	}
	vu->have_connected = true;
	if (!r)
		link_report(vu, true);
	return r;
}

int vhost_user_listen(struct vhost_user *vu)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (!vu->path[0] || strlen(vu->path) >= sizeof(sa.sun_path))
		return log_err_errno(EINVAL,
		                     "vhost-user: socket path \"%s\" is empty "
		                     "or longer than 107 bytes",
		                     vu->path);
	strcpy(sa.sun_path, vu->path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return log_err_errno(errno, "vhost-user %s: socket", vu->path);
	unlink(vu->path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 1)) {
		int e = errno;

		close(fd);
		return log_err_errno(e, "vhost-user %s: cannot listen",
		                     vu->path);
	}
	vu->listen_fd = fd;
	log_info("vhost-user %s: listening for the back-end", vu->path);
	return 0;
}

int vhost_user_accept(struct vhost_user *vu)
{
	int fd = accept4(vu->listen_fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return errno == EAGAIN
		           ? -EAGAIN
		           : log_err_errno(errno, "vhost-user %s: accept",
		                           vu->path);
	return vhost_user_attach(vu, fd);
}

int vhost_user_start(struct vhost_user *vu, uint64_t acked,
                     const struct vhost_user_mem *mem,
                     const struct vhost_user_ring *rings, unsigned int nr_rings,
                     uint8_t status)
{
	if (nr_rings > VHOST_USER_MAX_RINGS ||
	    mem->nr > VHOST_USER_MAX_REGIONS ||
	    (acked & (1ull << VHOST_USER_F_PROTOCOL_FEATURES)))
		return -EINVAL;
	vu->acked = acked;
	vu->mem = *mem;
	memcpy(vu->rings, rings, nr_rings * sizeof(rings[0]));
	vu->nr_rings = nr_rings;
	vu->status = status;
	vu->started = true;
	if (vu->fd < 0)
		return 0;
	if (acked & ~vu->features) {
		vu->failed_msg = "SET_FEATURES";
		log_err("vhost-user %s: the guest acked features %#llx the "
		        "back-end lacks",
		        vu->path, (unsigned long long)(acked & ~vu->features));
		return -ENOTSUP;
	}
	return vu_start_seq(vu);
}

int vhost_user_stop(struct vhost_user *vu)
{
	struct vhost_user_vring_state s;
	int r = 0;

	for (unsigned int i = 0; vu->fd >= 0 && has_pf(vu) && i < vu->nr_rings;
	     i++)
		r = vu_state(vu, VHOST_USER_SET_VRING_ENABLE, i, 0);
	for (unsigned int i = 0; !r && vu->fd >= 0 && i < vu->nr_rings; i++) {
		s = (struct vhost_user_vring_state){.index = i};
		r = vu_call(vu, VHOST_USER_GET_VRING_BASE, &s, sizeof(s), NULL,
		            0, &s);
		if (!r)
			vu->rings[i].base = (uint16_t)s.num;
	}
	vu->started = false;
	vu->nr_rings = 0;
	return r;
}

void vhost_user_handle_event(struct vhost_user *vu)
{
	uint8_t junk[256];
	uint32_t id, flags;
	ssize_t n;

	if (vu->fd < 0)
		return;
	n = recv(vu->fd, junk, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0 && vhost_user_recv(vu->fd, &id, &flags, junk, sizeof(junk),
	                             NULL, NULL) >= 0) {
		log_debug("vhost-user %s: ignored unasked %s from the back-end",
		          vu->path, vhost_user_msg_name(id));
		return;
	}
	vhost_user_disconnect(vu);
}

void vhost_user_close(struct vhost_user *vu)
{
	if (vu->fd >= 0) {
		close(vu->fd);
		vu->fd = -1;
	}
	if (vu->listen_fd >= 0) {
		close(vu->listen_fd);
		vu->listen_fd = -1;
		unlink(vu->path);
	}
	vu->link_up = false;
}
