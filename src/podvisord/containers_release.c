// SPDX-License-Identifier: Apache-2.0
/*
 * A VM's host-side agent outlives the VM: when the VM goes, its
 * containers are deleted in that agent, the blocking way or on a worker
 * thread behind the VM's other container calls.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "containers.h"
#include "pod.h"
#include "podvisor/agent.h"
#include "podvisor/api.h"
#include "podvisor/log.h"
#include "work.h"

/* Deletes every container of the host-side agent at addr. */
static void release_at(const char *addr, const char *pod_id)
{
	struct agent_client *c = NULL;
	json_object *req = pod_agent_op("list", NULL), *resp = NULL, *list, *d;
	struct agent_error err = {0};
	size_t i;

	if (agent_client_connect(addr, 3000, &c))
		goto out;
	if (agent_client_call_checked(c, req, &resp, &err) < 0)
		goto out;
	list = json_object_object_get(resp, "containers");
	for (i = 0; i < json_object_array_length(list); i++) {
		const char *name =
		    json_object_get_string(json_object_object_get(
		        json_object_array_get_idx(list, i), "name"));
		json_object *r = NULL;

		d = pod_agent_op("delete", name);
		if (agent_client_call_checked(c, d, &r, &err) < 0)
			log_warn("vm %s: container %s: delete failed: %s",
			         pod_id, name, err.message);
		else
			log_info("vm %s: container %s deleted with the VM",
			         pod_id, name);
		json_object_put(r);
		json_object_put(d);
	}
out:
	json_object_put(resp);
	json_object_put(req);
	agent_client_close(c);
}

void pod_containers_release(struct pod *p)
{
	char addr[PATH_MAX + 16];

	pod_agent_addr(p, addr, sizeof(addr));
	if (!strncmp(addr, "unix:", 5))
		release_at(addr, p->id);
}

struct release {
	struct daemon *d;
	struct api_request *req;
	pod_released_fn done;
	char pod_id[POD_ID_LEN + 1];
	char addr[PATH_MAX + 16];
};

static void release_run(void *arg)
{
	struct release *r = arg;

	release_at(r->addr, r->pod_id);
}

static void release_done(void *arg)
{
	struct release *r = arg;

	r->done(pod_find(r->d, r->pod_id), r->req);
	free(r);
}

static void release_discard(void *arg)
{
	struct release *r = arg;

	api_reply_error(r->req, 503, API_E_UNAVAILABLE, NULL,
	                "podvisord is shutting down");
	free(r);
}

static const struct work_ops release_ops = {
    .run = release_run,
    .done = release_done,
    .discard = release_discard,
};

int pod_containers_release_async(struct pod *p, struct api_request *req,
                                 pod_released_fn done)
{
	struct release *r;
	int err;

	if (!p->d->work)
		return -ESHUTDOWN; /* daemon exit: the pool is gone */
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	pod_agent_addr(p, r->addr, sizeof(r->addr));
	if (strncmp(r->addr, "unix:", 5)) {
		free(r);
		return -ENOENT;
	}
	r->d = p->d;
	r->req = req;
	r->done = done;
	snprintf(r->pod_id, sizeof(r->pod_id), "%s", p->id);
	err = work_submit_keyed(p->d->work, p->id, &release_ops, r);
	if (err < 0)
		free(r);
	return err;
}
