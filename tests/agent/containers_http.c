/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pv-containers-http API_SOCK AGENT_ADDR RUN_DIR: serves podvisord's
 * container routes (src/podvisord/containers.c) for two fake pods, "p1"
 * (running, its agent at AGENT_ADDR) and "off" (stopped), so the routes
 * can be tested with curl and a real agent without booting a VM.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "containers.h"
#include "pod.h"
#include "podvisor/api.h"
#include "podvisor/log.h"
#include "work.h"

static struct pod pods[2];
static struct daemon fake_daemon;

/* daemon.c's, reduced to what containers.c needs. */
void pod_path(const struct pod *p, const char *file, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", p->dir, file);
}

struct pod *pod_find(struct daemon *d, const char *id)
{
	for (size_t i = 0; i < 2; i++)
		if (!strcmp(id, pods[i].id))
			return &pods[i];
	return NULL;
}

static void h(struct api_request *req, void *ctx)
{
	const char *id = api_request_param(req, "id");
	size_t i;

	for (i = 0; i < 2; i++)
		if (!strcmp(id, pods[i].id)) {
			pod_containers_handle(req, &pods[i]);
			return;
		}
	api_reply_error(req, 404, API_E_NOT_FOUND, "id", "no VM '%s'", id);
}

/* DELETE /v1/vms/{id}: what podvisord does for the containers. */
static void h_vm_delete(struct api_request *req, void *ctx)
{
	pod_containers_release(&pods[0]);
	api_reply_json(req, 204, NULL);
}

static const struct api_route routes[] = {
    {"POST", "/v1/vms/{id}/containers", h, true},
    {"GET", "/v1/vms/{id}/containers", h, false},
    {"GET", "/v1/vms/{id}/containers/{cid}", h, false},
    {"DELETE", "/v1/vms/{id}/containers/{cid}", h, true},
    {"GET", "/v1/vms/{id}/containers/{cid}/logs", h, false},
    {"POST", "/v1/vms/{id}/containers/{cid}/exec", h, true},
    {"POST", "/v1/vms/{id}/containers/{cid}/kill", h, true},
    {"DELETE", "/v1/vms/{id}", h_vm_delete, true},
};

static void on_term(evutil_socket_t fd, short what, void *base)
{
	event_base_loopbreak(base);
}

int main(int argc, char **argv)
{
	struct event_base *base;
	struct api_server *srv;
	struct event *ev;
	size_t i;

	pv_log_init("pv-containers-http", PV_LOG_INFO);
	if (argc != 4) {
		fprintf(stderr, "Usage: pv-containers-http API_SOCK AGENT_ADDR "
		                "RUN_DIR\n");
		return 2;
	}
	for (i = 0; i < 2; i++) {
		pods[i].d = &fake_daemon;
		pods[i].spec.name = i ? "off" : "p1";
		snprintf(pods[i].id, sizeof(pods[i].id), "%s",
		         pods[i].spec.name);
		pods[i].state = i ? POD_STOPPED : POD_RUNNING;
		pods[i].spec.labels = json_object_new_object();
		json_object_object_add(pods[i].spec.labels, POD_LABEL_AGENT,
		                       json_object_new_string(argv[2]));
		snprintf(pods[i].dir, sizeof(pods[i].dir), "%s", argv[3]);
	}
	base = event_base_new();
	if (!base || work_pool_new(base, &fake_daemon.work) < 0 ||
	    api_server_new(base, argv[1], 0600, routes,
	                   sizeof(routes) / sizeof(routes[0]), NULL, &srv) < 0)
		return 1;
	ev = evsignal_new(base, SIGTERM, on_term, base);
	event_add(ev, NULL);
	event_base_dispatch(base);
	event_free(ev);
	api_server_free(srv);
	work_pool_free(fake_daemon.work);
	event_base_free(base);
	for (i = 0; i < 2; i++)
		json_object_put(pods[i].spec.labels);
	return 0;
}
