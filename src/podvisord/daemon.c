// SPDX-License-Identifier: Apache-2.0
/* The list of pod VMs, their state changes (with audit lines) and their
 * JSON resource form. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "podvisor/api.h"
#include "podvisor/log.h"
#include "podvisor/util.h"
#include "pod.h"

struct pod *pod_find(struct daemon *d, const char *key)
{
	for (struct pod *p = d->pods; p; p = p->next)
		if (strcmp(p->id, key) == 0)
			return p;
	for (struct pod *p = d->pods; p; p = p->next)
		if (strcmp(p->spec.name, key) == 0)
			return p;
	return NULL;
}

static void new_id(struct daemon *d, char id[POD_ID_LEN + 1])
{
	uint8_t b[POD_ID_LEN / 2];

	do {
		if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
			uint64_t t = pv_now_ns() ^ (uint64_t)getpid();

			memcpy(b, &t, sizeof(b));
		}
		for (size_t i = 0; i < sizeof(b); i++)
			snprintf(id + 2 * i, 3, "%02x", b[i]);
	} while (pod_find(d, id));
}

int pod_create(struct daemon *d, struct pod_spec *spec, struct pod **out)
{
	struct pod *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->d = d;
	new_id(d, p->id);
	p->spec = *spec;
	memset(spec, 0, sizeof(*spec));
	p->state = POD_STOPPED;
	p->created_at = time(NULL);
	p->pidfd = -1;
	p->boot_ms = -1;
	snprintf(p->dir, sizeof(p->dir), "%s/vms/%s", d->run_dir, p->id);
	pod_spec_fill_macs(&p->spec, p->id);
	p->next = d->pods;
	d->pods = p;
	*out = p;
	return 0;
}

void pod_destroy(struct pod *p)
{
	struct pod **pp;

	for (pp = &p->d->pods; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	pod_vmm_stop_forget(p);
	if (p->probe_ev)
		event_free(p->probe_ev);
	if (p->pidfd_ev)
		event_free(p->pidfd_ev);
	if (p->pidfd >= 0)
		close(p->pidfd);
	pod_spec_free(&p->spec);
	free(p);
}

int pod_transition(struct pod *p, enum pod_event ev, uid_t uid, const char *why)
{
	enum pod_state next;
	int r = pod_state_next(p->state, ev, &next);
	char who[32];

	if (r < 0)
		return r;
	if (uid == (uid_t)-1)
		snprintf(who, sizeof(who), "podvisord");
	else
		snprintf(who, sizeof(who), "uid %u", (unsigned)uid);
	log_info("audit: vm %s (%s): %s -> %s by %s (%s)%s%s", p->id,
	         p->spec.name, pod_state_name(p->state), pod_state_name(next),
	         who, pod_event_name(ev), why ? ": " : "", why ? why : "");
	/* The record matters for what a restarted daemon cannot ask a
	 * live VMM: whether it should exist at all, and why it ended. */
	bool save =
	    pod_state_has_process(p->state) != pod_state_has_process(next) ||
	    next == POD_FAILED || next == POD_STOPPED;

	p->state = next;
	if (save)
		pod_store_save(p);
	return 0;
}

void pod_path(const struct pod *p, const char *file, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", p->dir, file);
}

static json_object *time_json(time_t t)
{
	char buf[32];
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_object_new_string(buf);
}

json_object *pod_to_json(const struct pod *p)
{
	json_object *o = json_object_new_object();
	char path[512];

	json_object_object_add(o, "id", json_object_new_string(p->id));
	json_object_object_add(o, "name", json_object_new_string(p->spec.name));
	json_object_object_add(
	    o, "state", json_object_new_string(pod_state_name(p->state)));
	json_object_object_add(o, "pid",
	                       p->pid ? json_object_new_int(p->pid) : NULL);
	json_object_object_add(o, "vcpus", json_object_new_int(p->spec.vcpus));
	json_object_object_add(
	    o, "memory_mib",
	    json_object_new_int64((int64_t)p->spec.memory_mib));
	json_object_object_add(o, "created_at", time_json(p->created_at));
	json_object_object_add(
	    o, "boot_ms",
	    p->boot_ms >= 0 ? json_object_new_int64(p->boot_ms) : NULL);
	if (p->reason[0])
		json_object_object_add(o, "reason",
		                       json_object_new_string(p->reason));
	json_object_object_add(o, "labels", json_object_get(p->spec.labels));
	pod_path(p, "console.log", path, sizeof(path));
	json_object_object_add(o, "console_log", json_object_new_string(path));
	pod_path(p, "control.sock", path, sizeof(path));
	json_object_object_add(o, "control_socket",
	                       json_object_new_string(path));
	if (p->spec.vsock) {
		pod_path(p, "vsock.sock", path, sizeof(path));
		json_object_object_add(o, "vsock_socket",
		                       json_object_new_string(path));
	}
	if (p->placed)
		json_object_object_add(o, "placement",
		                       numa_alloc_to_json(&p->alloc));
	json_object_object_add(o, "spec", pod_spec_to_json(&p->spec));
	return o;
}

int pod_place(struct pod *p, struct api_request *req)
{
	struct numa_place_err err = {0};
	struct numa_spec ns;
	int r;

	if (p->placed)
		return 0;
	r = numa_spec_from_json(p->spec.placement, p->spec.vcpus,
	                        p->spec.memory_mib, &ns, &err);
	if (r == 0)
		r = numa_place_vm(p->d->placer, p->id, &ns, &p->alloc, &err);
	if (r == -ENOSPC) {
		api_reply_error_detail(req, 507, "placement_no_fit",
		                       err.field ? err.field : "placement",
		                       numa_place_nofit_json(p->d->placer, &ns),
		                       "%s", err.message);
		return r;
	}
	if (r < 0) {
		api_reply_error(req, numa_place_http_status(r),
		                r == -EINVAL ? API_E_INVALID : API_E_CONFLICT,
		                err.field ? err.field : "placement", "%s",
		                err.message);
		return r;
	}
	p->placed = true;
	return 0;
}

void pod_unplace(struct pod *p)
{
	if (!p->placed)
		return;
	numa_place_release(p->d->placer, p->id);
	p->placed = false;
}
