// SPDX-License-Identifier: Apache-2.0
/* A live API server for unit tests (live_server.h). */
#include <check.h>
#include <stdio.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "live_server.h"

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

static void *loop_main(void *arg)
{
	struct live_server *ls = arg;

	while (!ls->stop)
		event_base_loop(ls->base, EVLOOP_ONCE);
	return NULL;
}

void live_server_start(struct live_server *ls, const char *name,
                       const struct api_route *routes, size_t nr)
{
	ck_assert_int_eq(evthread_use_pthreads(), 0);
	snprintf(ls->sock_path, sizeof(ls->sock_path),
	         "/tmp/pv-test-%s-%d.sock", name, (int)getpid());
	unlink(ls->sock_path);
	ls->base = event_base_new();
	ck_assert_ptr_nonnull(ls->base);
	ck_assert_int_eq(api_server_new(ls->base, ls->sock_path, 0660, routes,
	                                nr, NULL, &ls->srv),
	                 0);
	ls->stop = 0;
	ls->tick = event_new(ls->base, -1, EV_PERSIST, on_tick, NULL);
	event_add(ls->tick, &(struct timeval){0, 5000});
	ck_assert_int_eq(pthread_create(&ls->thread, NULL, loop_main, ls), 0);
}

void live_server_stop_loop(struct live_server *ls)
{
	if (ls->stop)
		return;
	ls->stop = 1;
	pthread_join(ls->thread, NULL);
}

void live_server_free(struct live_server *ls)
{
	live_server_stop_loop(ls);
	event_free(ls->tick);
	api_server_free(ls->srv);
	ls->srv = NULL;
	event_base_free(ls->base);
}
