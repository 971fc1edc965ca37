/* SPDX-License-Identifier: Apache-2.0 */
/*
 * "wait": the answer comes when the container has exited (or the wait
 * times out), so a client (the containerd shim's Task.Wait, the daemon)
 * need not poll "state".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"
#include "podvisor/log.h"
#include "podvisor/util.h"

struct waiter {
	int conn_fd;
	char name[AGENT_NAME_MAX + 1];
	uint64_t deadline_ns;
	struct waiter *next;
};

static struct waiter *waiters;

int ctr_wait(json_object *req, int conn_fd, struct agent_error *err)
{
	const char *name =
	    json_object_get_string(json_object_object_get(req, "name"));
	json_object *t;
	struct waiter *w;
	int64_t ms = AGENT_WAIT_TIMEOUT_DEFAULT_MS;

	if (!ctr_find(name))
		return agent_err_set(err, AGENT_ERR_NOT_FOUND, "name",
		                     "no container named '%s'", name);
	if (json_object_object_get_ex(req, "timeout_ms", &t))
		ms = json_object_get_int64(t);
	w = calloc(1, sizeof(*w));
	if (!w)
		return agent_err_set(err, AGENT_ERR_INTERNAL, "",
		                     "out of memory");
	w->conn_fd = conn_fd;
	snprintf(w->name, sizeof(w->name), "%s", name);
	w->deadline_ns = pv_now_ns() + (uint64_t)ms * 1000000ULL;
	w->next = waiters;
	waiters = w;
	return 0;
}

/* Answers the waiter; returns true when it is done. */
static bool wait_answer(struct waiter *w, uint64_t now)
{
	struct ctr *c = ctr_find(w->name);
	struct agent_error err = {0};
	json_object *r;

	if (c && c->state != CTR_EXITED && now < w->deadline_ns)
		return false;
	if (!c) {
		agent_err_set(&err, AGENT_ERR_NOT_FOUND, "name",
		              "container '%s' was deleted while waited for",
		              w->name);
		r = agent_reply_error(&err);
	} else {
		r = agent_reply_ok();
		json_object_object_add(r, "container", ctr_state_json(c));
		json_object_object_add(
		    r, "timed_out",
		    json_object_new_boolean(c->state != CTR_EXITED));
	}
	if (w->conn_fd >= 0) {
		agent_send(w->conn_fd, r);
		agent_conn_resume(w->conn_fd);
	}
	json_object_put(r);
	return true;
}

int ctr_wait_service(void)
{
	struct waiter **pp = &waiters, *w;
	uint64_t now = pv_now_ns();
	int timeout = -1, ms;

	while ((w = *pp)) {
		if (w->conn_fd < 0 || wait_answer(w, now)) {
			*pp = w->next;
			free(w);
			continue;
		}
		ms = (int)((w->deadline_ns - now) / 1000000ULL) + 1;
		timeout = timeout < 0 ? ms : MIN(timeout, ms);
		pp = &w->next;
	}
	return timeout;
}

void ctr_wait_conn_closed(int conn_fd)
{
	struct waiter *w;

	for (w = waiters; w; w = w->next)
		if (w->conn_fd == conn_fd)
			w->conn_fd = -1;
}
