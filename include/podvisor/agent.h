/* SPDX-License-Identifier: Apache-2.0 */
/*
 * podvisor-agent protocol and the host-side client.
 *
 * Transport: a stream socket. Inside a guest the agent listens on AF_VSOCK
 * port AGENT_VSOCK_PORT (1024, VMADDR_CID_ANY); on a host (tests, PVM hosts)
 * on a UNIX socket given with `--listen unix:/path`.
 *
 * The host reaches a guest's agent through the VMM's hybrid vsock socket
 * (Firecracker's convention): connect to the VM's vsock UNIX socket, write
 * "CONNECT 1024\n", read "OK <hostport>\n", then speak frames.
 *
 * Framing: every message is a 4-byte big-endian length followed by that many
 * bytes of one JSON object (json-c). A frame is at most AGENT_FRAME_MAX
 * bytes of payload; a peer announcing a larger one is rejected and the
 * connection closed. Readers retry short reads.
 *
 * Requests: {"op": OP, ...}. One response per request, in order:
 *   {"ok": true, ...}   or
 *   {"ok": false, "error": {"code": C, "message": M, "field": F}}
 * where C is one of the AGENT_ERR_* strings and F names the offending
 * request field ("" when no field is at fault).
 *
 * Ops and their fields (all strings are UTF-8, names match
 * [A-Za-z0-9][A-Za-z0-9_.-]{0,62}):
 *   ping    -> {"ok":true,"version":V}
 *   create  {"name","rootfs","args":[..],"env":["K=V",..]?,"cwd"?,
 *            "limits":{"memory_mib"?,"pids"?}?}
 *           rootfs is a block device, an ext4/squashfs image file or a
 *           directory, or "serial:S": the disk whose virtio-blk serial is
 *           S (the VM spec's disks[].serial; vdX letters are not stable).
 *           It is mounted read-only under a tmpfs-backed overlay. The container
 * is set up (namespaces, mounts, cgroup) but its process does not run until
 * "start". At most AGENT_MAX_CONTAINERS exist at once (deleted ones do not
 * count).
 *           -> {"ok":true,"container":STATE}
 *   start   {"name"} -> {"ok":true,"container":STATE}; fails when args[0]
 *           cannot be executed inside the container.
 *   state   {"name"} -> {"ok":true,"container":STATE}
 *   wait    {"name","timeout_ms"?} answers once the container has exited:
 *           {"ok":true,"container":STATE,"timed_out":false}, or when
 *           timeout_ms (default 60000, at most 86400000) passed first:
 *           the same with "timed_out":true. A container deleted meanwhile
 *           answers not_found.
 *   list    {} -> {"ok":true,"containers":[STATE,..]}
 *   logs    {"name"} -> {"ok":true,"stdout":S,"stderr":S,
 *           "truncated":bool}; each stream keeps its first
 *           AGENT_LOG_MAX bytes.
 *   kill    {"name","signal"?} (default 15) -> {"ok":true}
 *   exec    {"name","args","env"?,"cwd"?,"timeout_ms"?} runs a process in
 *           the running container's namespaces and cgroup and answers when
 *           it ends: {"ok":true,"exit_code":N|null,"signal":N|null,
 *           "timed_out":bool,"stdout":S,"stderr":S}.
 *           timeout_ms defaults to 10000, at most 600000; on timeout the
 *           process is killed with SIGKILL. When its container stops
 *           meanwhile (kill, delete, its pid 1 exits, the agent shuts
 *           down) the process dies with it: "exit_code":null,"signal":9.
 *   delete  {"name"} kills the container if it runs, then removes its
 *           cgroup, mounts and logs -> {"ok":true}
 *
 * STATE = {"name","rootfs","state":"created"|"running"|"exited",
 *          "pid":N (host pid, 0 before start),
 *          "exit_code":N|null (set when it exited by itself),
 *          "signal":N|null (set when a signal killed it),
 *          "oom_killed":bool (the cgroup's OOM killer fired),
 *          "memory_mib":N,"pids":N (0 = no limit)}
 * A workload that exits non-zero, is killed or OOM-killed is never
 * reported with exit_code 0. oom_killed is true whenever the OOM killer
 * fired in the container's cgroup, even if pid 1 itself survived.
 *
 * cgroups: v2 (the guest's /sys/fs/cgroup) at <root>/podvisor/<name>; on
 * v1/hybrid hosts the memory and pids controllers under the agent's own
 * cgroup, <ctrl>/<agent's path>/podvisor/<name>.
 *
 * Limitations: workloads run as root with the agent's capabilities, no
 * seccomp filter and no user namespace (the VM is the isolation boundary,
 * as in Kata). As pid 1 of its namespace a workload ignores signals it has
 * no handler for, SIGKILL aside: "kill" with the default SIGTERM may do
 * nothing. The agent is single-threaded: while an exec runs its client
 * waits and others are served; create and start hold the agent for the
 * mount setup (well under a second).
 */
#ifndef PODVISOR_AGENT_H
#define PODVISOR_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#define AGENT_VSOCK_PORT              1024
#define AGENT_FRAME_MAX               (1u << 20)
#define AGENT_LOG_MAX                 (256u * 1024u)
#define AGENT_NAME_MAX                63
#define AGENT_MAX_CONTAINERS          64
#define AGENT_EXEC_TIMEOUT_DEFAULT_MS 10000
#define AGENT_EXEC_TIMEOUT_MAX_MS     600000
#define AGENT_WAIT_TIMEOUT_DEFAULT_MS 60000
#define AGENT_WAIT_TIMEOUT_MAX_MS     86400000

/* Error codes carried in error.code. */
#define AGENT_ERR_INVALID   "invalid_argument"
#define AGENT_ERR_NOT_FOUND "not_found"
#define AGENT_ERR_EXISTS    "already_exists"
#define AGENT_ERR_STATE     "wrong_state"
#define AGENT_ERR_TOO_LARGE "too_large"
#define AGENT_ERR_BAD_JSON  "bad_json"
#define AGENT_ERR_INTERNAL  "internal"

struct agent_error {
	const char *code;  /* AGENT_ERR_* */
	char field[64];    /* offending request field, "" if none */
	char message[256]; /* one line a person can act on */
};

/* --- framing (api/agent_proto.c) --- */

/*
 * Reads one frame from a blocking fd. Returns 1 and stores a new reference
 * to a JSON object in *out, 0 on a clean end of file before the first byte
 * of a frame, -EMSGSIZE when the announced length exceeds AGENT_FRAME_MAX
 * or is zero (the caller should close the connection: the stream is out of
 * sync), -EBADMSG when the payload is not one JSON object, -EPIPE on end of
 * file inside a frame, or another -errno from read().
 */
int agent_frame_read(int fd, json_object **out);

/* Serialises obj and writes it as one frame. -EMSGSIZE if it would exceed
 * AGENT_FRAME_MAX; otherwise 0 or -errno from write(). */
int agent_frame_write(int fd, json_object *obj);

/*
 * Checks a request's shape: "op" known, the fields that op requires are
 * present with the right types and in range. Returns 0, or -EINVAL with
 * *err filled (code AGENT_ERR_INVALID, field named, message says the fix).
 */
int agent_request_validate(json_object *req, struct agent_error *err);

/* True when s is a valid container name (see above). */
bool agent_name_valid(const char *s);

/* Builds {"ok":true}; the caller adds fields and owns the reference. */
json_object *agent_reply_ok(void);

/* Builds {"ok":false,"error":{...}} from err. */
json_object *agent_reply_error(const struct agent_error *err);

/* Fills err; returns -EINVAL for convenient "return agent_err_set(...)". */
int agent_err_set(struct agent_error *err, const char *code, const char *field,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* --- client (api/agent_client.c) --- */

struct agent_client;

/*
 * Connects to an agent. addr is one of
 *   "unix:/path"            the agent's own UNIX socket (host-side agent)
 *   "hvsock:/path[:port]"   a VMM hybrid vsock socket; sends "CONNECT port"
 *                           (default AGENT_VSOCK_PORT) and waits for "OK"
 * timeout_ms bounds the connect, the handshake and every later call's
 * socket reads/writes (0 = 5000). Returns 0 with *out set, -EINVAL for a
 * malformed addr, -ECONNREFUSED when the VMM refused the port, or -errno.
 */
int agent_client_connect(const char *addr, int timeout_ms,
                         struct agent_client **out);

/*
 * Sends req (not consumed) and waits for the response. Returns 0 with *resp
 * set to a new reference (caller puts it), whether ok is true or false;
 * -errno on transport failure (the client is then unusable).
 */
int agent_client_call(struct agent_client *c, json_object *req,
                      json_object **resp);

/*
 * Convenience: like agent_client_call, but an {"ok":false} answer becomes
 * -EREMOTEIO with *err filled from the response. *resp is set only on
 * success.
 */
int agent_client_call_checked(struct agent_client *c, json_object *req,
                              json_object **resp, struct agent_error *err);

/* Closes the connection and frees c. Accepts NULL. */
void agent_client_close(struct agent_client *c);

#endif
