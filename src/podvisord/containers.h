/* SPDX-License-Identifier: Apache-2.0 */
/*
 * /v1/vms/{id}/containers...: container routes of podvisord, served by the
 * pod's podvisor-agent (src/podvisord/containers.c).
 */
#ifndef PODVISORD_CONTAINERS_H
#define PODVISORD_CONTAINERS_H

struct api_request;
struct json_object;
struct pod;

/*
 * Label that points a pod at an agent other than the one inside its VM,
 * e.g. "unix:/run/podvisor/agent-p1.sock": an agent running on the host,
 * for hosts whose /dev/kvm cannot run guest userspace (PVM) and for tests.
 * Without it the agent is reached through the VM's hybrid vsock socket
 * (<run-dir>/vms/<id>/vsock.sock, port 1024).
 * One host-side agent serves one pod, as the agent inside a VM does:
 * container names are per agent, and pod_containers_release() empties it.
 */
#define POD_LABEL_AGENT "podvisor.io/agent"

/*
 * Serves one container request for pod p (already looked up: 404 for an
 * unknown VM is the caller's) and replies exactly once: at once for a bad
 * request, else deferred until the agent has answered. Routes, with {cid}
 * read from api_request_param(req, "cid"):
 *   POST   /v1/vms/{id}/containers              create and start: 201
 *   GET    /v1/vms/{id}/containers              list: 200
 *   GET    /v1/vms/{id}/containers/{cid}        state, exit status: 200
 *   GET    /v1/vms/{id}/containers/{cid}/logs   stdout, stderr: 200
 *   POST   /v1/vms/{id}/containers/{cid}/exec   run a process in it: 200
 *   POST   /v1/vms/{id}/containers/{cid}/kill   {"signal":N}: 200
 *   DELETE /v1/vms/{id}/containers/{cid}        kill and remove: 200
 * rootfs: for the agent inside the VM, the host path of one of the VM's
 * disks (spec disks[].path) or a guest path; for a host-side agent, a disk
 * image, rootfs directory, OCI layout or image tarball (converted to ext4
 * in the VM's run dir, removed with the container).
 * Agent errors map to 400 (invalid, naming the field), 404, 409; an agent
 * that cannot be reached gives 503; the VM not running gives 409.
 * The agent call (and an image conversion) runs on a worker thread
 * (work.h), so the event loop keeps serving; the calls of one VM run one
 * at a time, in order. Beyond WORK_MAX_JOBS calls running or waiting the
 * answer is 503. A VM deleted while its agent worked gives 404.
 */
void pod_containers_handle(struct api_request *req, struct pod *p);

/*
 * Deletes every container of p in its agent, for the daemon to call when
 * the VM goes away. Only a host-side agent (POD_LABEL_AGENT) outlives the
 * VM, so for the in-guest agent this does nothing. Bounded by a short
 * timeout per call; failures are logged, not returned.
 */
void pod_containers_release(struct pod *p);

/* p as looked up again by id (NULL when it is gone). */
typedef void (*pod_released_fn)(struct pod *p, struct api_request *req);

/*
 * The same on a worker thread, for DELETE: done(p, req) runs on the loop
 * afterwards; when the daemon exits first, req is answered 503 instead.
 * Returns 0, -ENOENT when p's agent is inside the VM (nothing to do), or
 * -errno when no worker took it (the caller may release the blocking way):
 * -ESHUTDOWN once the daemon's loop has ended and its pool is gone.
 */
int pod_containers_release_async(struct pod *p, struct api_request *req,
                                 pod_released_fn done);

/* ---- shared by containers.c and containers_release.c ---- */

/* Where the pod's agent listens: the label's address, else the VM's
 * hybrid vsock socket and port. */
void pod_agent_addr(const struct pod *p, char *buf, size_t size);
/* {"op": op, "name": cid} (no name when cid is NULL); caller puts it. */
struct json_object *pod_agent_op(const char *op, const char *cid);

#endif
