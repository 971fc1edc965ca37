/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VMM's control socket: HTTP/JSON on a UNIX socket (api/http.c), served
 * by the I/O thread. podvisord drives the VMM through these routes:
 *
 *   GET  /v1/vm          state, name, vcpus, memory, pid, boot time, PVM,
 *                        exit reason
 *   GET  /v1/vm/config   the effective configuration (config file keys)
 *   GET  /v1/vm/console  the last 64 KiB of the serial console, text/plain
 *   PUT  /v1/vm/pause    204, or 409 unless running   (POST accepted too)
 *   PUT  /v1/vm/resume   204, or 409 unless paused
 *   PUT  /v1/vm/stop     204 and the process exits 0 once the VM stopped
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "podvisor/api.h"
#include "podvisor/config.h"
#include "podvisor/devices.h"
#include "podvisor/legacy.h"
#include "podvisor/log.h"
#include "podvisor/util.h"
#include "podvisor/vm.h"

struct vm_control {
	struct vm *vm;
	struct api_server *srv;
	time_t started_at; /* wall clock, for GET /v1/vm */
};

static void ctl_add_str(json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

static json_object *ctl_vm_json(struct vm_control *c)
{
	struct vm *vm = c->vm;
	json_object *o = json_object_new_object();
	uint64_t now = pv_now_ns();

	pthread_mutex_lock(&vm->lock);
	ctl_add_str(o, "name", vm->cfg->name);
	ctl_add_str(o, "state", vm_state_name(vm->state));
	json_object_object_add(o, "vcpus", json_object_new_int(vm->nr_vcpus));
	json_object_object_add(o, "memory_mib",
	                       json_object_new_int64(vm->cfg->memory_mib));
	json_object_object_add(o, "pid", json_object_new_int(getpid()));
	json_object_object_add(o, "started_at",
	                       json_object_new_int64(c->started_at));
	json_object_object_add(
	    o, "uptime_ms",
	    json_object_new_int64((int64_t)((now - vm->start_ns) / 1000000)));
	/* From exec of the VMM to the vCPUs entering the guest. */
	json_object_object_add(
	    o, "boot_ms",
	    vm->boot_ns ? json_object_new_double(
	                      (double)(vm->boot_ns - vm->start_ns) / 1e6)
	                : NULL);
	json_object_object_add(o, "pvm", json_object_new_boolean(vm->kvm.pvm));
	json_object_object_add(o, "pvm_profile",
	                       json_object_new_boolean(vm->pvm_profile));
	ctl_add_str(o, "exit_reason",
	            vm->exit_reason == VM_EXIT_NONE
	                ? NULL
	                : vm_exit_reason_name(vm->exit_reason));
	ctl_add_str(o, "exit_detail",
	            vm->exit_reason == VM_EXIT_NONE ? NULL : vm->exit_detail);
	pthread_mutex_unlock(&vm->lock);
	json_object_object_add(
	    o, "console_bytes",
	    json_object_new_int64(
	        vm->serial ? (int64_t)serial_bytes_out(vm->serial) : 0));
	return o;
}

static void ctl_get_vm(struct api_request *req, void *ctx)
{
	api_reply_json(req, 200, ctl_vm_json(ctx));
}

static void ctl_get_config(struct api_request *req, void *ctx)
{
	struct vm_control *c = ctx;

	api_reply_json(req, 200, vm_config_to_json(c->vm->cfg));
}

static void ctl_get_console(struct api_request *req, void *ctx)
{
	struct vm_control *c = ctx;
	char *buf = malloc(SERIAL_RING_SIZE);
	size_t n;

	if (!buf) {
		api_reply_error(req, 500, API_E_INTERNAL, NULL,
		                "out of memory");
		return;
	}
	n = serial_console_snapshot(c->vm, buf, SERIAL_RING_SIZE);
	api_reply_text(req, 200, "text/plain; charset=utf-8", buf, n);
	free(buf);
}

static void ctl_conflict(struct api_request *req, struct vm *vm,
                         const char *action)
{
	enum vm_state st;

	pthread_mutex_lock(&vm->lock);
	st = vm->stopping ? VM_STATE_STOPPED : vm->state;
	pthread_mutex_unlock(&vm->lock);
	api_reply_error(req, 409, API_E_CONFLICT, "state",
	                "cannot %s: the VM is %s", action, vm_state_name(st));
}

static void ctl_pause(struct api_request *req, void *ctx)
{
	struct vm_control *c = ctx;

	if (vm_pause(c->vm) < 0) {
		ctl_conflict(req, c->vm, "pause");
		return;
	}
	log_info("paused through the control socket by uid %u",
	         (unsigned int)api_request_peer_uid(req));
	api_reply_json(req, 204, NULL);
}

static void ctl_resume(struct api_request *req, void *ctx)
{
	struct vm_control *c = ctx;

	if (vm_resume(c->vm) < 0) {
		ctl_conflict(req, c->vm, "resume");
		return;
	}
	log_info("resumed through the control socket by uid %u",
	         (unsigned int)api_request_peer_uid(req));
	api_reply_json(req, 204, NULL);
}

static void ctl_stop(struct api_request *req, void *ctx)
{
	struct vm_control *c = ctx;
	struct vm *vm = c->vm;
	bool stopping;

	pthread_mutex_lock(&vm->lock);
	stopping = vm->stopping || vm->state == VM_STATE_STOPPED;
	pthread_mutex_unlock(&vm->lock);
	if (stopping) {
		ctl_conflict(req, vm, "stop");
		return;
	}
	log_info("stop requested through the control socket by uid %u",
	         (unsigned int)api_request_peer_uid(req));
	/* Reply first: the loop ends shortly after (vm->stop_drain_ms). */
	api_reply_json(req, 204, NULL);
	vm_request_stop(vm, VM_EXIT_STOP, "stopped through the control socket");
}

static const struct api_route ctl_routes[] = {
    {"GET", "/v1/vm", ctl_get_vm, false},
    {"GET", "/v1/vm/config", ctl_get_config, false},
    {"GET", "/v1/vm/console", ctl_get_console, false},
    {"PUT", "/v1/vm/pause", ctl_pause, true},
    {"PUT", "/v1/vm/resume", ctl_resume, true},
    {"PUT", "/v1/vm/stop", ctl_stop, true},
    {"POST", "/v1/vm/pause", ctl_pause, true},
    {"POST", "/v1/vm/resume", ctl_resume, true},
    {"POST", "/v1/vm/stop", ctl_stop, true},
};

int vm_control_start(struct vm *vm, const char *path, struct vm_control **out)
{
	struct vm_control *c = calloc(1, sizeof(*c));
	int r;

	*out = NULL;
	if (!c)
		return -ENOMEM;
	c->vm = vm;
	c->started_at = time(NULL);
	r = api_server_new(vm->evbase, path, 0660, ctl_routes,
	                   ARRAY_SIZE(ctl_routes), c, &c->srv);
	if (r < 0) {
		free(c);
		return log_err_errno(
		    r, "api_socket: cannot listen on %s%s", path,
		    r == -EADDRINUSE ? " (another VMM serves it)" : "");
	}
	/* Lets the reply to PUT /v1/vm/stop reach the caller. */
	vm->stop_drain_ms = 20;
	log_info("control socket on %s", path);
	*out = c;
	return 0;
}

void vm_control_stop(struct vm_control *c)
{
	if (!c)
		return;
	api_server_free(c->srv);
	free(c);
}
