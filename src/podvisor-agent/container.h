/* SPDX-License-Identifier: Apache-2.0 */
/* podvisor-agent's container runtime (internal to the agent). */
#ifndef PODVISOR_AGENT_CONTAINER_H
#define PODVISOR_AGENT_CONTAINER_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroup.h"
#include "podvisor/agent.h"

enum ctr_state { CTR_CREATED, CTR_RUNNING, CTR_EXITED };

/* A captured output stream: the first `cap` bytes are kept. */
struct capture {
	int fd;         /* read end of the pipe, -1 at EOF */
	int file;       /* log file, -1 for in-memory capture */
	char *buf;      /* in-memory capture (exec) */
	size_t len;     /* bytes kept */
	size_t dropped; /* bytes past the cap */
};

struct ctr_spec {
	char name[AGENT_NAME_MAX + 1];
	char rootfs[4096];
	char cwd[4096];
	char **argv; /* NULL-terminated, owned */
	char **envp; /* NULL-terminated, owned, PATH always present */
	uint64_t memory_mib;
	uint64_t pids;
};

struct ctr {
	struct ctr_spec spec;
	enum ctr_state state;
	pid_t pid;
	int sync_fd;   /* write end: 'p' placed in cgroup, 's' start */
	int status_fd; /* read end: 'R' ready, 'E'+message, EOF on exec */
	struct capture out, err;
	char dir[256]; /* state dir: logs and mount points */
	struct cgroup cg;
	int exit_code; /* -1 unless it exited by itself */
	int signal;    /* 0 unless a signal killed it */
	bool oom_killed;
	struct ctr *next;
};

/* One process started by "exec"; its reply waits for the process. */
struct exec_proc {
	pid_t pid;
	int conn_fd; /* client waiting for the answer */
	bool reaped;
	int wstatus;
	uint64_t deadline_ns;
	bool timed_out;
	struct capture out, err;
	struct exec_proc *next;
};

/* Runtime-wide settings. */
void ctr_runtime_init(const char *state_dir);

/* Handlers for the ops; each fills *reply (new reference) and returns 0,
 * or fills err and returns -errno. */
int ctr_create(json_object *req, json_object **reply, struct agent_error *err);
int ctr_start(json_object *req, json_object **reply, struct agent_error *err);
int ctr_state(json_object *req, json_object **reply, struct agent_error *err);
int ctr_list(json_object *req, json_object **reply, struct agent_error *err);
int ctr_logs(json_object *req, json_object **reply, struct agent_error *err);
int ctr_kill(json_object *req, json_object **reply, struct agent_error *err);
int ctr_delete(json_object *req, json_object **reply, struct agent_error *err);

/* exec: starts the process; the reply is sent later by ctr_exec_finish
 * through conn_fd. Returns 0 when started, or -errno with err filled. */
int ctr_exec(json_object *req, int conn_fd, struct agent_error *err);

/* Event loop hooks: add the fds to watch, handle readiness, reap
 * children, enforce exec deadlines and answer finished execs. Returns the
 * poll timeout in ms (-1 = none). */
int ctr_poll_fds(struct pollfd *fds, size_t max, size_t *n);
void ctr_poll_ready(const struct pollfd *fds, size_t n);
int ctr_exec_service(void);

/* Reaping (reap.c). ctr_reap collects every child that has exited and
 * records its status with its owner (an exec or a container); it never
 * blocks. ctr_kill_and_wait SIGKILLs a container that has not exited and
 * returns once its pid 1 is reaped, reaping (and recording) the execs that
 * die with it on the way. */
void ctr_reap(void);
void ctr_kill_and_wait(struct ctr *c);

/* A client closed: forget (and kill) the execs it waited for. */
void ctr_conn_closed(int conn_fd);

/* wait (wait.c): deferred like exec; the answer goes out from
 * ctr_wait_service() once the container exited or the wait timed out.
 * Returns 0 when deferred, or -errno with err filled. */
int ctr_wait(json_object *req, int conn_fd, struct agent_error *err);
/* Answers finished waits; returns the poll timeout in ms (-1 = none). */
int ctr_wait_service(void);
void ctr_wait_conn_closed(int conn_fd);
/* STATE object of include/podvisor/agent.h. */
json_object *ctr_state_json(const struct ctr *c);

/* Shared between container.c, exec.c and reap.c. */
struct ctr *ctr_find(const char *name);
/* The container whose pid 1 is pid and has not exited, or NULL. */
struct ctr *ctr_by_pid(pid_t pid);
/* Records the status of an exec'd child; false if pid is not one. */
bool exec_reaped(pid_t pid, int wstatus);
void exec_poll_fds(struct pollfd *fds, size_t max, size_t *n);
void exec_pump(void);
/* Implemented by main.c: conn_fd may be read again (its exec ended). */
void agent_conn_resume(int conn_fd);
/* Implemented by main.c: sends reply (or a too_large error in its place
 * when it does not fit a frame). */
int agent_send(int fd, json_object *reply);

/* Kills and removes every container (agent shutdown). */
void ctr_shutdown(void);

/* Child side: mounts the rootfs and pivots into it (rootfs.c).
 * Returns 0 or -errno with msg filled. */
int rootfs_enter(const struct ctr_spec *spec, const char *dir, char *msg,
                 size_t msg_len);

/* Spec parsing shared by create and exec (spec.c). */
int spec_parse_cmd(json_object *req, struct ctr_spec *spec,
                   struct agent_error *err);
void spec_free(struct ctr_spec *spec);

/* Capture helpers (capture.c). */
void capture_init(struct capture *c, int fd, int file);
/* Reads what is available; returns false at EOF/error (fd closed). */
bool capture_pump(struct capture *c);
void capture_close(struct capture *c);

#endif
