/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A fake vhost-user back-end for unit tests: a thread on one end of a
 * socket that records every message (id, flags, payload, the inodes of the
 * fds it carried), answers the GET_* queries and the REPLY_ACKs, signals
 * every kick/call eventfd it receives (so a test can prove the fd is its
 * own), and refuses or hangs up on one chosen message.
 */
#ifndef PODVISOR_TEST_FAKE_BACKEND_H
#define PODVISOR_TEST_FAKE_BACKEND_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "podvisor/vhost_user.h"

struct rec {
	uint32_t id, flags;
	int size;
	uint8_t payload[272];
	unsigned int nfds;
	ino_t ino[VHOST_USER_MAX_FDS];
	uint64_t written; /* value written through a received eventfd */
};

struct fake {
	int fd;
	uint64_t features, protocol;
	uint32_t fail_id; /* refuse (ack 1) or hang up on this message */
	bool hang_up;     /* close instead of refusing */
	struct rec log[64];
	unsigned int n;
	pthread_t thread;
};

/* Starts a fake on one end of a socketpair; returns the other end. */
int fake_start(struct fake *f, uint64_t features, uint64_t protocol);
/* Starts a fake on an already connected socket (the fake owns fd). */
void fake_run(struct fake *f, int fd, uint64_t features, uint64_t protocol);
/* Waits for the fake to see end of file or its failure point. */
void fake_join(struct fake *f);

#endif
