/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A real api_server on a UNIX socket with its event loop on a thread, for
 * unit tests that talk to it through the client. The loop wakes every few
 * ms to check its stop flag: a break asked for before the loop starts
 * would be lost.
 */
#ifndef PODVISOR_TEST_LIVE_SERVER_H
#define PODVISOR_TEST_LIVE_SERVER_H

#include <pthread.h>
#include <stddef.h>

#include "podvisor/api.h"

struct live_server {
	struct event_base *base;
	struct api_server *srv; /* NULL once a test frees it itself */
	char sock_path[64];
	pthread_t thread;
	struct event *tick;
	volatile int stop;
};

/* Serves routes on /tmp/pv-test-<name>-<pid>.sock (mode 0660). */
void live_server_start(struct live_server *ls, const char *name,
                       const struct api_route *routes, size_t nr);
/* Ends the loop thread; again is a no-op. */
void live_server_stop_loop(struct live_server *ls);
/* Ends the loop, frees the server (removing its socket) and the base. */
void live_server_free(struct live_server *ls);

#endif
