/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Container routes of podvisord: each request becomes one podvisor-agent
 * call (include/podvisor/agent.h) on the pod's agent; image tarballs given
 * as rootfs to a host-side agent are converted to disk images first.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "containers.h"
#include "pod.h"
#include "podvisor/agent.h"
#include "podvisor/api.h"
#include "podvisor/image.h"
#include "podvisor/log.h"
#include "podvisor/util.h"
#include "work.h"

#define EXEC_TIMEOUT_MAX_MS 60000

/* containers.h */
void pod_agent_addr(const struct pod *p, char *buf, size_t size)
{
	json_object *v;
	char path[PATH_MAX];

	if (json_object_object_get_ex(p->spec.labels, POD_LABEL_AGENT, &v) &&
	    json_object_is_type(v, json_type_string)) {
		snprintf(buf, size, "%s", json_object_get_string(v));
		return;
	}
	pod_path(p, "vsock.sock", path, sizeof(path));
	snprintf(buf, size, "hvsock:%s:%d", path, AGENT_VSOCK_PORT);
}

static int http_status(const struct agent_error *e)
{
	if (!strcmp(e->code, AGENT_ERR_INVALID))
		return 400;
	if (!strcmp(e->code, AGENT_ERR_NOT_FOUND))
		return 404;
	if (!strcmp(e->code, AGENT_ERR_EXISTS) ||
	    !strcmp(e->code, AGENT_ERR_STATE))
		return 409;
	return 502;
}

static const char *api_code(int status)
{
	switch (status) {
	case 400:
		return API_E_INVALID;
	case 404:
		return API_E_NOT_FOUND;
	case 409:
		return API_E_CONFLICT;
	default:
		return "agent_error";
	}
}

/* The agent's answer minus "ok", as the HTTP body. */
static void reply_body(struct api_request *req, int status, json_object *o,
                       const char *key)
{
	json_object *v = NULL;

	if (key && json_object_object_get_ex(o, key, &v)) {
		api_reply_json(req, status, json_object_get(v));
		json_object_put(o);
		return;
	}
	json_object_object_del(o, "ok");
	api_reply_json(req, status, o);
}

/* containers.h */
json_object *pod_agent_op(const char *op, const char *cid)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "op", json_object_new_string(op));
	if (cid)
		json_object_object_add(o, "name", json_object_new_string(cid));
	return o;
}

/* True for a file that already is an ext4 or squashfs disk image. */
static bool is_disk_image(const char *path)
{
	unsigned char b[1084];
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || pread(fd, b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return false;
	if (!memcmp(b, "hsqs", 4))
		return true;
	return b[1080] == 0x53 && b[1081] == 0xef; /* ext2/3/4 magic */
}

/*
 * For the agent inside the VM, a rootfs naming one of the VM's disks by
 * its host path becomes "serial:<that disk's serial>", which the agent
 * resolves in the guest; anything else passes as a guest path.
 */
static int guest_rootfs(const struct pod *p, json_object *areq,
                        const char *rootfs)
{
	char serial[32];
	unsigned int i;

	for (i = 0; i < p->spec.nr_disks; i++) {
		if (!p->spec.disks[i].path ||
		    strcmp(p->spec.disks[i].path, rootfs))
			continue;
		/* podvisor-vmm's default serial is "podvisor<index>". */
		if (p->spec.disks[i].serial)
			snprintf(serial, sizeof(serial), "serial:%.20s",
			         p->spec.disks[i].serial);
		else
			snprintf(serial, sizeof(serial), "serial:podvisor%u",
			         i);
		json_object_object_add(areq, "rootfs",
		                       json_object_new_string(serial));
		return 0;
	}
	return 0;
}

/*
 * One container request in flight. The worker sees only this: the agent's
 * address and its own copy of the agent request; the reply side (d, req)
 * is the loop's.
 */
struct call {
	struct daemon *d;        /* loop only */
	struct api_request *req; /* loop only */
	char pod_id[POD_ID_LEN + 1];
	char pod_name[128];
	char addr[PATH_MAX + 16];
	const char *op;  /* agent op: "create" also starts the container */
	const char *key; /* reply only this member of the answer */
	char cid[64];
	int status; /* HTTP status on success */
	int timeout_ms;
	json_object *areq;
	char *convert; /* image to turn into the disk first, or NULL */
	char disk[PATH_MAX];
	/* results */
	int conv_r;
	char why[512];
	int r;
	struct agent_error err;
	json_object *resp;
};

static void call_free(struct call *c)
{
	json_object_put(c->areq);
	json_object_put(c->resp);
	free(c->convert);
	free(c);
}

/* The job's own deep copy of areq: nothing shared with the loop. */
static struct call *call_new(json_object *areq, const char *op, const char *cid,
                             const char *key, int status, int timeout_ms)
{
	struct call *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	if (json_object_deep_copy(areq, &c->areq, NULL) < 0) {
		free(c);
		return NULL;
	}
	c->op = op;
	c->key = key;
	snprintf(c->cid, sizeof(c->cid), "%s", cid ? cid : "");
	c->status = status;
	c->timeout_ms = timeout_ms;
	c->r = -ECANCELED; /* until call_run() */
	return c;
}

/* ---- on the worker thread ---- */

static int call_agent(struct call *c, json_object *areq, json_object **resp)
{
	struct agent_client *ac = NULL;
	int r = agent_client_connect(c->addr, c->timeout_ms, &ac);

	if (r == 0)
		r = agent_client_call_checked(ac, areq, resp, &c->err);
	agent_client_close(ac);
	return r;
}

/* A container whose start the agent refused is deleted again, so its name
 * is free for a corrected request; the client hears the start's error. */
static void withdraw(struct call *c)
{
	struct agent_error keep = c->err;
	json_object *dreq = pod_agent_op("delete", c->cid), *dresp = NULL;

	call_agent(c, dreq, &dresp);
	json_object_put(dreq);
	json_object_put(dresp);
	c->err = keep;
}

static void call_run(void *arg)
{
	struct image_opts o = {.fs = IMAGE_FS_EXT4, .extra_mib = 16};
	struct call *c = arg;
	json_object *sreq;

	if (c->convert) {
		c->conv_r = image_to_disk(c->convert, c->disk, &o, c->why,
		                          sizeof(c->why));
		if (c->conv_r < 0)
			return;
		json_object_object_add(c->areq, "rootfs",
		                       json_object_new_string(c->disk));
	}
	c->r = call_agent(c, c->areq, &c->resp);
	if (c->r < 0 || strcmp(c->op, "create"))
		return;
	json_object_put(c->resp);
	c->resp = NULL;
	sreq = pod_agent_op("start", c->cid);
	c->r = call_agent(c, sreq, &c->resp);
	json_object_put(sreq);
	if (c->r == -EREMOTEIO)
		withdraw(c);
}

/* ---- back on the loop ---- */

static void remove_disk(struct pod *p, const char *cid)
{
	char disk[PATH_MAX];

	pod_path(p, "containers", disk, sizeof(disk));
	snprintf(disk + strlen(disk), sizeof(disk) - strlen(disk),
	         "/%.64s.ext4", cid);
	unlink(disk);
}

static void reply_failure(struct call *c)
{
	int st;

	if (c->conv_r < 0) {
		st = c->conv_r == -ENOSPC ? 507 : 400;
		api_reply_error(c->req, st,
		                st == 507 ? API_E_UNAVAILABLE : API_E_INVALID,
		                "rootfs", "%s", c->why);
	} else if (c->r == -EREMOTEIO) {
		st = http_status(&c->err);
		api_reply_error(c->req, st, api_code(st),
		                c->err.field[0] ? c->err.field : NULL, "%s",
		                c->err.message);
	} else if (c->r == -ECANCELED) {
		api_reply_error(c->req, 503, API_E_UNAVAILABLE, NULL,
		                "no worker thread for this call; retry");
	} else {
		api_reply_error(c->req, 503, API_E_UNAVAILABLE, NULL,
		                "the guest agent of VM '%s' is not reachable "
		                "at %s: %s (is the guest still booting?)",
		                c->pod_name, c->addr, strerror(-c->r));
	}
}

static void call_done(void *arg)
{
	struct call *c = arg;
	/* By id: the pod may have gone (DELETE) while the agent worked. */
	struct pod *p = pod_find(c->d, c->pod_id);

	if (!p)
		api_reply_error(c->req, 404, API_E_NOT_FOUND, "id",
		                "VM '%s' was deleted while its agent was "
		                "working on this request",
		                c->pod_name);
	else if (c->conv_r < 0 || c->r < 0)
		reply_failure(c);
	else {
		if (!strcmp(c->op, "create"))
			log_info("vm %s: container %s started", p->id, c->cid);
		if (!strcmp(c->op, "delete")) {
			remove_disk(p, c->cid);
			log_info("vm %s: container %s deleted", p->id, c->cid);
		}
		reply_body(c->req, c->status, c->resp, c->key);
		c->resp = NULL;
	}
	call_free(c);
}

/* The pool is gone (daemon exit): the client is gone with it. */
static void call_discard(void *arg)
{
	struct call *c = arg;

	api_reply_error(c->req, 503, API_E_UNAVAILABLE, NULL,
	                "podvisord is shutting down");
	call_free(c);
}

/* A call that waited behind others of its VM: the VM is gone, so the
 * agent need not be asked (call_done() answers 404). */
static bool call_skip(void *arg)
{
	struct call *c = arg;

	return !pod_find(c->d, c->pod_id);
}

static const struct work_ops call_ops = {
    .run = call_run,
    .done = call_done,
    .discard = call_discard,
    .skip = call_skip,
};

/* Hands c to a worker and defers the reply; replies 503 when it cannot. */
static void submit(struct api_request *req, struct pod *p, struct call *c)
{
	int r;

	c->d = p->d;
	c->req = req;
	snprintf(c->pod_id, sizeof(c->pod_id), "%s", p->id);
	snprintf(c->pod_name, sizeof(c->pod_name), "%s", p->spec.name);
	/* One call at a time per VM, in the order they came: a DELETE of a
	 * container after an exec in it runs after that exec. */
	r = work_submit_keyed(p->d->work, p->id, &call_ops, c);
	if (r == 0) {
		api_request_defer(req);
		return;
	}
	if (r == -EAGAIN)
		api_reply_error(req, 503, API_E_UNAVAILABLE, NULL,
		                "%d container calls are in progress or waiting "
		                "already; retry when one has finished",
		                WORK_MAX_JOBS);
	else
		api_reply_error(req, 503, API_E_UNAVAILABLE, NULL,
		                "cannot start a worker thread: %s",
		                strerror(-r));
	call_free(c);
}

/*
 * For an agent on the host, a rootfs that is an image tarball or OCI
 * layout becomes an ext4 disk in the VM's run dir, as it would be attached
 * to a guest: the conversion itself is the worker's (c->convert).
 */
static void prepare_rootfs(struct pod *p, struct call *c)
{
	const char *rootfs =
	    json_object_get_string(json_object_object_get(c->areq, "rootfs"));
	char disk[PATH_MAX];
	struct stat st;

	if (strncmp(c->addr, "unix:", 5)) {
		guest_rootfs(p, c->areq, rootfs);
		return;
	}
	if (!rootfs || stat(rootfs, &st) < 0)
		return; /* the agent names the problem */
	if (S_ISBLK(st.st_mode) ||
	    (S_ISREG(st.st_mode) && is_disk_image(rootfs)))
		return;
	if (S_ISDIR(st.st_mode)) {
		char idx[PATH_MAX];

		snprintf(idx, sizeof(idx), "%.4000s/index.json", rootfs);
		if (access(idx, F_OK) < 0)
			return; /* a plain rootfs directory */
	}
	pod_path(p, "containers", disk, sizeof(disk));
	mkdir(disk, 0700);
	snprintf(c->disk, sizeof(c->disk), "%.4000s/%s.ext4", disk, c->cid);
	c->convert = strdup(rootfs);
}

/* Copies the body's fields into an agent request and validates it. */
static json_object *body_req(struct api_request *req, const char *op,
                             const char *cid)
{
	json_object *body = api_request_json(req),
	            *areq = pod_agent_op(op, cid);
	struct agent_error err = {0};

	if (body && !json_object_is_type(body, json_type_object)) {
		api_reply_error(req, 400, API_E_INVALID, NULL,
		                "the body must be a JSON object");
		json_object_put(areq);
		return NULL;
	}
	/* No body at all is an empty object: the agent names what is
	 * missing. */
	if (body) {
		json_object_object_foreach(body, k, v)
		{
			if (strcmp(k, "op") && (!cid || strcmp(k, "name")))
				json_object_object_add(areq, k,
				                       json_object_get(v));
		}
	}
	if (agent_request_validate(areq, &err) < 0) {
		api_reply_error(req, 400, API_E_INVALID,
		                err.field[0] ? err.field : NULL, "%s",
		                err.message);
		json_object_put(areq);
		return NULL;
	}
	return areq;
}

/* Makes the job from areq (put here) and submits it. */
static void start_call(struct api_request *req, struct pod *p,
                       json_object *areq, const char *op, const char *cid,
                       const char *key, int status, int timeout_ms)
{
	struct call *c = call_new(areq, op, cid, key, status, timeout_ms);

	json_object_put(areq);
	if (!c) {
		api_reply_error(req, 500, API_E_INTERNAL, NULL,
		                "out of memory");
		return;
	}
	pod_agent_addr(p, c->addr, sizeof(c->addr));
	if (!strcmp(op, "create"))
		prepare_rootfs(p, c);
	submit(req, p, c);
}

static void create_and_start(struct api_request *req, struct pod *p)
{
	json_object *areq = body_req(req, "create", NULL);
	const char *name;

	if (!areq)
		return;
	name = json_object_get_string(json_object_object_get(areq, "name"));
	start_call(req, p, areq, "create", name, "container", 201, 30000);
}

static void exec_in(struct api_request *req, struct pod *p, const char *cid)
{
	json_object *areq = body_req(req, "exec", cid), *t;
	int timeout = AGENT_EXEC_TIMEOUT_DEFAULT_MS;

	if (!areq)
		return;
	if (json_object_object_get_ex(areq, "timeout_ms", &t))
		timeout = json_object_get_int(t);
	if (timeout > EXEC_TIMEOUT_MAX_MS) {
		api_reply_error(req, 400, API_E_INVALID, "timeout_ms",
		                "timeout_ms is at most %d through the API",
		                EXEC_TIMEOUT_MAX_MS);
		json_object_put(areq);
		return;
	}
	start_call(req, p, areq, "exec", cid, NULL, 200, timeout + 5000);
}

/* GET state/logs/list, DELETE, kill: one agent op each. */
static void simple_op(struct api_request *req, struct pod *p, const char *op,
                      const char *cid, const char *key)
{
	json_object *areq =
	    strcmp(op, "kill") ? pod_agent_op(op, cid) : body_req(req, op, cid);

	if (areq)
		start_call(req, p, areq, op, cid, key, 200, 30000);
}

void pod_containers_handle(struct api_request *req, struct pod *p)
{
	const char *method = api_request_method(req);
	const char *path = api_request_path(req);
	const char *cid = api_request_param(req, "cid");
	size_t n = strlen(path);
	bool logs = n > 5 && !strcmp(path + n - 5, "/logs");
	bool exec = n > 5 && !strcmp(path + n - 5, "/exec");
	bool kill = n > 5 && !strcmp(path + n - 5, "/kill");

	if (p->state != POD_RUNNING) {
		api_reply_error(req, 409, API_E_CONFLICT, "state",
		                "VM '%s' is %s: containers run only in a "
		                "running VM",
		                p->spec.name, pod_state_name(p->state));
		return;
	}
	if (!p->spec.vsock &&
	    !json_object_object_get_ex(p->spec.labels, POD_LABEL_AGENT, NULL)) {
		api_reply_error(req, 409, API_E_CONFLICT, "vsock",
		                "VM '%s' has no vsock, so no agent can answer "
		                "in it: create it with \"vsock\": true (or, on "
		                "a PVM host, label it \"%s\": \"unix:<agent "
		                "socket>\")",
		                p->spec.name, POD_LABEL_AGENT);
		return;
	}
	if (cid && !agent_name_valid(cid)) {
		api_reply_error(req, 404, API_E_NOT_FOUND, "cid",
		                "no container '%.64s' (names are 1-63 of "
		                "[A-Za-z0-9_.-])",
		                cid);
		return;
	}
	if (!cid && !strcmp(method, "POST"))
		create_and_start(req, p);
	else if (!cid)
		simple_op(req, p, "list", NULL, "containers");
	else if (exec)
		exec_in(req, p, cid);
	else if (kill)
		simple_op(req, p, "kill", cid, NULL);
	else if (logs)
		simple_op(req, p, "logs", cid, NULL);
	else if (!strcmp(method, "DELETE"))
		simple_op(req, p, "delete", cid, NULL);
	else
		simple_op(req, p, "state", cid, "container");
}
