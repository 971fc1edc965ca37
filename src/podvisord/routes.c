// SPDX-License-Identifier: Apache-2.0
/* The REST API of podvisord: one row per route, handlers below. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "podvisor/api.h"
#include "podvisor/log.h"
#include "podvisor/util.h"
#include "containers.h"
#include "pod.h"

#define CONSOLE_TAIL (64 * 1024)

/* Finds {id}; answers 404 and returns NULL when there is no such VM. */
static struct pod *lookup(struct api_request *req, struct daemon *d)
{
	const char *id = api_request_param(req, "id");
	struct pod *p = id ? pod_find(d, id) : NULL;
	char subject[96];

	if (!p) {
		snprintf(subject, sizeof(subject), "vm %.60s", id ? id : "?");
		api_request_set_subject(req, subject);
		api_reply_error(req, 404, API_E_NOT_FOUND, "id",
		                "no VM with id or name '%s'; GET /v1/vms lists "
		                "them",
		                id ? id : "");
		return NULL;
	}
	snprintf(subject, sizeof(subject), "vm %s (%s)", p->id, p->spec.name);
	api_request_set_subject(req, subject);
	return p;
}

static void reply_wrong_state(struct api_request *req, struct pod *p,
                              const char *action)
{
	api_reply_error(req, 409, API_E_CONFLICT, "state",
	                "cannot %s VM '%s' while it is %s", action,
	                p->spec.name, pod_state_name(p->state));
}

static void reply_deleting(struct api_request *req, struct pod *p)
{
	api_reply_error(req, 409, API_E_CONFLICT, "state",
	                "VM '%s' is being deleted (its containers first)",
	                p->spec.name);
}

/* ?label=KEY=VALUE: the VM carries that label (KEY alone: any value). */
static bool label_matches(const struct pod *p, const char *sel)
{
	const char *eq = strchr(sel, '=');
	char key[64];
	json_object *v;

	snprintf(key, sizeof(key), "%.*s", eq ? (int)(eq - sel) : 63, sel);
	if (!json_object_object_get_ex(p->spec.labels, key, &v))
		return false;
	return !eq || strcmp(json_object_get_string(v), eq + 1) == 0;
}

/* GET /v1/vms[?state=S][&label=K=V] */
static void h_list(struct api_request *req, void *ctx)
{
	struct daemon *d = ctx;
	const char *state = api_request_query(req, "state");
	const char *label = api_request_query(req, "label");
	static const char *const known[] = {"state", "label", NULL};
	const char *other = api_request_query_unknown(req, known);
	json_object *arr, *o;

	if (other) {
		api_reply_error(req, 400, API_E_INVALID, other,
		                "unknown query parameter '%.64s': GET /v1/vms "
		                "filters by state= and label=KEY=VALUE",
		                other);
		return;
	}
	if (state && pod_state_parse(state) < 0) {
		api_reply_error(req, 400, API_E_INVALID, "state",
		                "state '%s' is not one of creating, running, "
		                "paused, stopping, stopped, failed",
		                state);
		return;
	}
	arr = json_object_new_array();
	for (struct pod *p = d->pods; p; p = p->next) {
		if (state && strcmp(pod_state_name(p->state), state) != 0)
			continue;
		if (label && !label_matches(p, label))
			continue;
		json_object_array_add(arr, pod_to_json(p));
	}
	o = json_object_new_object();
	json_object_object_add(o, "vms", arr);
	api_reply_json(req, 200, o);
}

/* Checks capacity, then creating + spawn. Replies on failure. */
enum boot_result {
	BOOT_OK,
	BOOT_REFUSED, /* replied; nothing changed */
	BOOT_FAILED,  /* replied; the VM is failed */
};

/* Capacity, placement, switch ports, then the VMM. */
static enum boot_result boot(struct api_request *req, struct pod *p)
{
	char why[320];

	if (host_capacity_check(p->d, &p->spec, p, why, sizeof(why)) < 0) {
		api_reply_error(req, 503, API_E_UNAVAILABLE,
		                strncmp(why, "vcpus", 5) ? "memory_mib"
		                                         : "vcpus",
		                "%s", why);
		return BOOT_REFUSED;
	}
	if (pod_place(p, req) < 0)
		return BOOT_REFUSED;
	if (pod_switch_attach(p, req) < 0) {
		pod_unplace(p);
		return BOOT_REFUSED;
	}
	pod_transition(p, POD_EV_START, api_request_peer_uid(req), "boot");
	p->reboots = 0;
	if (pod_vmm_spawn(p) < 0) {
		snprintf(p->reason, sizeof(p->reason),
		         "could not start %.200s; see podvisord's log",
		         p->d->vmm_path);
		pod_switch_detach(p);
		pod_unplace(p);
		pod_transition(p, POD_EV_EXIT_FAIL, (uid_t)-1, p->reason);
		api_reply_error(req, 500, API_E_INTERNAL, NULL, "vm %s: %s",
		                p->id, p->reason);
		return BOOT_FAILED;
	}
	return BOOT_OK;
}

static void h_create(struct api_request *req, void *ctx)
{
	struct daemon *d = ctx;
	struct pod_spec spec;
	struct pod_spec_error err;
	struct pod *p;
	char why[320], subject[96];

	if (pod_spec_parse(api_request_json(req), &d->defaults, &spec, &err) <
	    0) {
		api_reply_error(req, 400, API_E_INVALID,
		                err.field[0] ? err.field : NULL, "%s",
		                err.message);
		return;
	}
	snprintf(subject, sizeof(subject), "vm %s", spec.name);
	api_request_set_subject(req, subject);
	if (pod_find(d, spec.name)) {
		api_reply_error(req, 409, API_E_CONFLICT, "name",
		                "a VM named '%s' exists; pick another name or "
		                "DELETE /v1/vms/%s first",
		                spec.name, spec.name);
		pod_spec_free(&spec);
		return;
	}
	if (host_capacity_check(d, &spec, NULL, why, sizeof(why)) < 0) {
		api_reply_error(req, 503, API_E_UNAVAILABLE,
		                strncmp(why, "vcpus", 5) ? "memory_mib"
		                                         : "vcpus",
		                "%s", why);
		pod_spec_free(&spec);
		return;
	}
	if (pod_create(d, &spec, &p) < 0) {
		pod_spec_free(&spec);
		api_reply_error(req, 500, API_E_INTERNAL, NULL,
		                "out of memory");
		return;
	}
	log_info("audit: vm %s (%s): created by uid %u", p->id, p->spec.name,
	         (unsigned)api_request_peer_uid(req));
	/* A VM that cannot be placed or wired is not created at all;
	 * boot() persists the record with its first state change. */
	switch (boot(req, p)) {
	case BOOT_OK:
		api_reply_json(req, 201, pod_to_json(p));
		break;
	case BOOT_REFUSED:
		pod_destroy(p);
		break;
	case BOOT_FAILED:
		break;
	}
}

static void h_get(struct api_request *req, void *ctx)
{
	struct pod *p = lookup(req, ctx);

	if (p)
		api_reply_json(req, 200, pod_to_json(p));
}

/* The VM's VMM and containers are gone: its files, record and memory
 * go too. */
static void delete_finish(struct api_request *req, struct pod *p)
{
	pod_switch_detach(p);
	pod_unplace(p);
	log_info("audit: vm %s (%s): deleted by uid %u", p->id, p->spec.name,
	         (unsigned)api_request_peer_uid(req));
	pod_vmm_cleanup(p);
	pod_store_remove(p);
	pod_destroy(p);
	api_reply_json(req, 204, NULL);
}

#ifdef PODVISORD_CONTAINERS
static void released(struct pod *p, struct api_request *req)
{
	if (p)
		delete_finish(req, p);
	else /* cannot happen while p->deleting refuses a second DELETE */
		api_reply_json(req, 204, NULL);
}
#endif

/* The VMM is gone: a host-side agent's containers go on a worker, then
 * the rest. */
static void delete_now(struct api_request *req, struct pod *p)
{
#ifdef PODVISORD_CONTAINERS
	int r = pod_containers_release_async(p, req, released);

	if (r == 0) {
		p->deleting = true;
		api_request_defer(req);
		return;
	}
	if (r != -ENOENT)
		pod_containers_release(p);
#endif
	delete_finish(req, p);
}

static void reply_not_stopped(struct api_request *req, struct pod *p)
{
	api_reply_error(req, 500, API_E_INTERNAL, NULL,
	                "VMM pid %d of VM '%s' could not be stopped",
	                (int)p->pid, p->spec.name);
}

/* A stop asked by DELETE, stop or reboot has ended: finish the request
 * it deferred (the method and path say which). */
static void stopped(struct pod *p, int r, void *arg)
{
	struct api_request *req = arg;
	const char *path = api_request_path(req);
	size_t n = strlen(path);

	if (r < 0)
		reply_not_stopped(req, p);
	else if (!strcmp(api_request_method(req), "DELETE"))
		delete_now(req, p);
	else if (n > 7 && !strcmp(path + n - 7, "/reboot") &&
	         boot(req, p) != BOOT_OK)
		return; /* boot() replied */
	else
		api_reply_json(req, 200, pod_to_json(p));
}

/* Starts the stop; the reply comes from stopped(). */
static void stop_then_reply(struct api_request *req, struct pod *p,
                            const char *action)
{
	int r = pod_vmm_stop_begin(p, api_request_peer_uid(req), stopped, req);

	if (r == 0)
		api_request_defer(req);
	else if (r == -EALREADY || r == -EBUSY)
		reply_wrong_state(req, p, action);
	else
		reply_not_stopped(req, p);
}

static void h_delete(struct api_request *req, void *ctx)
{
	struct pod *p = lookup(req, ctx);

	if (!p)
		return;
	if (p->deleting)
		reply_deleting(req, p);
	else if (p->pid)
		stop_then_reply(req, p, "delete");
	else
		delete_now(req, p);
}

/* pause/resume: the VMM does it, then the state follows. */
static void vmm_toggle(struct api_request *req, struct pod *p,
                       enum pod_event ev, const char *uri)
{
	enum pod_state next;

	if (pod_state_next(p->state, ev, &next) < 0) {
		reply_wrong_state(req, p, pod_event_name(ev));
		return;
	}
	if (pod_vmm_control(p, "PUT", uri) < 0) {
		api_reply_error(req, 500, API_E_INTERNAL, NULL,
		                "the VMM of '%s' did not accept PUT %s; see "
		                "podvisord's log",
		                p->spec.name, uri);
		return;
	}
	pod_transition(p, ev, api_request_peer_uid(req), NULL);
	api_reply_json(req, 200, pod_to_json(p));
}

static void h_action(struct api_request *req, void *ctx)
{
	struct pod *p = lookup(req, ctx);
	const char *path = api_request_path(req);
	const char *action = strrchr(path, '/') + 1;
	enum pod_state next;

	if (!p)
		return;
	if (p->deleting) {
		reply_deleting(req, p);
		return;
	}
	if (strcmp(action, "pause") == 0) {
		vmm_toggle(req, p, POD_EV_PAUSE, "/v1/vm/pause");
		return;
	}
	if (strcmp(action, "resume") == 0) {
		vmm_toggle(req, p, POD_EV_RESUME, "/v1/vm/resume");
		return;
	}
	if (strcmp(action, "start") == 0) {
		if (pod_state_next(p->state, POD_EV_START, &next) < 0)
			reply_wrong_state(req, p, "start");
		else if (boot(req, p) == BOOT_OK)
			api_reply_json(req, 200, pod_to_json(p));
		return;
	}
	/* stop and reboot */
	if (pod_state_next(p->state, POD_EV_STOP, &next) < 0) {
		reply_wrong_state(req, p, action);
		return;
	}
	stop_then_reply(req, p, action);
}

/* Last CONSOLE_TAIL bytes of the console log file. */
static void console_from_file(struct api_request *req, struct pod *p)
{
	char path[PATH_MAX];
	_cleanup_free_ char *buf = malloc(CONSOLE_TAIL);
	_cleanup_close_ int fd = -1;
	off_t end;
	ssize_t n;

	pod_path(p, "console.log", path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || !buf) {
		api_reply_text(req, 200, "text/plain; charset=utf-8", "", 0);
		return;
	}
	end = lseek(fd, 0, SEEK_END);
	n = pread(fd, buf, CONSOLE_TAIL,
	          end > CONSOLE_TAIL ? end - CONSOLE_TAIL : 0);
	api_reply_text(req, 200, "text/plain; charset=utf-8", buf,
	               n > 0 ? (size_t)n : 0);
}

static void h_console(struct api_request *req, void *ctx)
{
	struct pod *p = lookup(req, ctx);
	char sock[PATH_MAX];
	_cleanup_free_ char *body = NULL;
	size_t len = 0;
	int status = 0;

	if (!p)
		return;
	pod_path(p, "control.sock", sock, sizeof(sock));
	/* A live VMM keeps the last 64 KiB in memory; when it is gone (or
	 * has no control socket yet) the log file still has the output. */
	if (p->pid && p->state != POD_CREATING &&
	    api_client_request_raw(sock, "GET", "/v1/vm/console", NULL, 2000,
	                           &status, &body, &len) == 0 &&
	    status == 200) {
		json_object *j = json_tokener_parse(body), *v;

		if (j && json_object_object_get_ex(j, "console", &v) &&
		    json_object_is_type(v, json_type_string))
			api_reply_text(req, 200, "text/plain; charset=utf-8",
			               json_object_get_string(v),
			               (size_t)json_object_get_string_len(v));
		else
			api_reply_text(req, 200, "text/plain; charset=utf-8",
			               body, len);
		json_object_put(j);
		return;
	}
	console_from_file(req, p);
}

static void h_host(struct api_request *req, void *ctx)
{
	api_reply_json(req, 200, host_to_json(ctx));
}

static void h_metrics(struct api_request *req, void *ctx)
{
	size_t len = 0;
	char *text = host_metrics(ctx, &len);

	if (!text) {
		api_reply_error(req, 500, API_E_INTERNAL, NULL,
		                "out of memory");
		return;
	}
	api_reply_text(req, 200, "text/plain; version=0.0.4", text, len);
	free(text);
}

/* Container routes: the pod's podvisor-agent does the work
 * (containers.c); builds without libarchive/libcrypto
 * say so instead of pretending. */
static void h_containers(struct api_request *req, void *ctx)
{
	struct pod *p = lookup(req, ctx);

	if (!p)
		return;
#ifdef PODVISORD_CONTAINERS
	pod_containers_handle(req, p);
#else
	api_reply_error(req, 501, "not_implemented", NULL,
	                "this podvisord was built without container support "
	                "(libarchive-dev and libssl-dev are needed)");
#endif
}

static const struct api_route routes[] = {
    {"GET", "/v1/vms", h_list, false},
    {"POST", "/v1/vms", h_create, true},
    {"GET", "/v1/vms/{id}", h_get, false},
    {"DELETE", "/v1/vms/{id}", h_delete, true},
    {"POST", "/v1/vms/{id}/start", h_action, true},
    {"POST", "/v1/vms/{id}/stop", h_action, true},
    {"POST", "/v1/vms/{id}/pause", h_action, true},
    {"POST", "/v1/vms/{id}/resume", h_action, true},
    {"POST", "/v1/vms/{id}/reboot", h_action, true},
    {"GET", "/v1/vms/{id}/console", h_console, false},
    /* -- containers (agent client) -- */
    {"POST", "/v1/vms/{id}/containers", h_containers, true},
    {"GET", "/v1/vms/{id}/containers", h_containers, false},
    {"GET", "/v1/vms/{id}/containers/{cid}", h_containers, false},
    {"DELETE", "/v1/vms/{id}/containers/{cid}", h_containers, true},
    {"GET", "/v1/vms/{id}/containers/{cid}/logs", h_containers, false},
    {"POST", "/v1/vms/{id}/containers/{cid}/exec", h_containers, true},
    {"POST", "/v1/vms/{id}/containers/{cid}/kill", h_containers, true},
    /* -- end containers -- */
    {"GET", "/v1/host", h_host, false},
    {"GET", "/metrics", h_metrics, false},
};

int daemon_api_start(struct daemon *d)
{
	return api_server_new(d->base, d->socket_path, d->socket_mode, routes,
	                      ARRAY_SIZE(routes), d, &d->api);
}
