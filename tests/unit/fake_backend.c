/* SPDX-License-Identifier: Apache-2.0 */
/* A fake vhost-user back-end for unit tests (see fake_backend.h). */
#include <check.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fake_backend.h"

static void fake_reply(struct fake *f, uint32_t id, const void *p,
                       uint32_t size)
{
	vhost_user_send(f->fd, id, VHOST_USER_REPLY_MASK, p, size, NULL, 0);
}

static void fake_record_fds(struct rec *r, int *fds)
{
	struct stat st;

	for (unsigned int i = 0; i < r->nfds; i++) {
		fstat(fds[i], &st);
		r->ino[i] = st.st_ino;
		/* Prove a kick/call fd is the caller's eventfd: signal it. */
		if (r->id == VHOST_USER_SET_VRING_KICK ||
		    r->id == VHOST_USER_SET_VRING_CALL) {
			r->written = 100 + r->payload[0] * 2 +
			             (r->id == VHOST_USER_SET_VRING_CALL);
			if (write(fds[i], &r->written, 8) != 8)
				r->written = 0;
		}
		close(fds[i]);
	}
}

static bool fake_answer(struct fake *f, const struct rec *r)
{
	uint64_t v = 0, ack = 0;
	struct vhost_user_vring_state s;

	if (r->id == f->fail_id) {
		if (f->hang_up || !(r->flags & VHOST_USER_NEED_REPLY))
			return false;
		ack = 1;
		fake_reply(f, r->id, &ack, 8);
		return true;
	}
	switch (r->id) {
	case VHOST_USER_GET_FEATURES:
		fake_reply(f, r->id, &f->features, 8);
		return true;
	case VHOST_USER_GET_PROTOCOL_FEATURES:
		fake_reply(f, r->id, &f->protocol, 8);
		return true;
	case VHOST_USER_GET_QUEUE_NUM:
		v = 1;
		fake_reply(f, r->id, &v, 8);
		return true;
	case VHOST_USER_GET_VRING_BASE:
		memcpy(&s, r->payload, sizeof(s));
		s.num = 42;
		fake_reply(f, r->id, &s, sizeof(s));
		return true;
	}
	if (r->flags & VHOST_USER_NEED_REPLY)
		fake_reply(f, r->id, &ack, 8);
	return true;
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;
	int fds[VHOST_USER_MAX_FDS];

	while (f->n < 64) {
		struct rec *r = &f->log[f->n];

		r->nfds = VHOST_USER_MAX_FDS;
		r->size = vhost_user_recv(f->fd, &r->id, &r->flags, r->payload,
		                          sizeof(r->payload), fds, &r->nfds);
		if (r->size < 0)
			break;
		fake_record_fds(r, fds);
		f->n++;
		if (!fake_answer(f, r))
			break;
	}
	close(f->fd);
	return NULL;
}

int fake_start(struct fake *f, uint64_t features, uint64_t protocol)
{
	int sv[2];

	memset(f, 0, sizeof(*f));
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	f->fd = sv[1];
	f->features = features;
	f->protocol = protocol;
	ck_assert_int_eq(pthread_create(&f->thread, NULL, fake_main, f), 0);
	return sv[0];
}

void fake_join(struct fake *f)
{
	pthread_join(f->thread, NULL);
}

void fake_run(struct fake *f, int fd, uint64_t features, uint64_t protocol)
{
	memset(f, 0, sizeof(*f));
	f->fd = fd;
	f->features = features;
	f->protocol = protocol;
	ck_assert_int_eq(pthread_create(&f->thread, NULL, fake_main, f), 0);
}
