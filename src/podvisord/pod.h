/* SPDX-License-Identifier: Apache-2.0 */
/*
 * podvisord's objects: the daemon and its pod VMs, each backed by one
 * podvisor-vmm process. Everything here runs on the daemon's single
 * libevent thread; blocking work goes to worker threads (work.h) that
 * never touch these objects.
 *
 * Files of one VM:
 *   <state-dir>/vms/<id>.json     spec + identity, survives restarts
 *   <run-dir>/vms/<id>/vm.json    podvisor-vmm --config file
 *   <run-dir>/vms/<id>/control.sock, vsock.sock, console.log, vmm.log,
 *   vmm.pid                       removed with the VM
 */
#ifndef PODVISORD_POD_H
#define PODVISORD_POD_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "podvisor/numa.h"
#include "spec.h"
#include "state.h"

struct api_request;
struct api_server;
struct event;
struct event_base;
struct work_pool;

#define POD_ID_LEN 12

struct daemon;
struct pod;

/* Called on the loop when a stop has ended: r = 0 once the VMM's exit is
 * processed, -ETIMEDOUT when it survived SIGKILL. May destroy p. */
typedef void (*pod_stop_fn)(struct pod *p, int r, void *arg);

struct pod {
	struct daemon *d;
	struct pod *next;
	char id[POD_ID_LEN + 1];
	struct pod_spec spec;
	enum pod_state state;
	time_t created_at;
	pid_t pid;     /* VMM process; 0 when none */
	bool is_child; /* ours to waitpid(); else watched by pidfd */
	int pidfd;     /* -1 unless re-attached */
	struct event *pidfd_ev;
	struct event *probe_ev; /* readiness polling while creating */
	uint64_t spawn_ns;
	int64_t boot_ms; /* -1 until the control socket answered */
	unsigned int reboots;
	uint64_t last_reboot_ns;
	char reason[384];          /* why it stopped or failed */
	char dir[256];             /* run dir of this VM */
	unsigned int switch_ports; /* bit i: nets[i] is a switch port */
	bool placed;               /* alloc is reserved in the placer */
	bool deleting;             /* DELETE waits for its agent cleanup */
	struct numa_alloc alloc;
	/* A stop under way (vmm.c); stop_done is NULL when there is none. */
	pod_stop_fn stop_done;
	void *stop_arg;
	struct event *stop_ev;     /* tick: exit check, SIGKILL, give up */
	struct event *stop_ctl_ev; /* the VMM's answer to its stop */
	uint64_t stop_ns;          /* when the current phase began */
	bool stop_killed;          /* SIGKILL sent */
};

struct daemon {
	struct event_base *base;
	struct api_server *api;
	const char *socket_path;
	mode_t socket_mode;
	const char *state_dir;
	const char *run_dir;
	char vmm_path[PATH_MAX];
	struct pod_spec_defaults defaults;
	unsigned int vcpu_overcommit;
	struct pod *pods;
	struct work_pool *work;    /* worker threads (work.h) */
	const char *switch_socket; /* podvisor-switch control socket */
	const char *topology; /* --topology: hwloc synthetic/XML, NULL host */
	struct numa_topo *topo;
	struct numa_placer *placer;
	uint64_t vmm_exits[3]; /* by enum pod_exit_kind */
	uint64_t vmm_spawns;
};

/* ---- registry (daemon.c) ---- */
struct pod *pod_find(struct daemon *d, const char *id_or_name);
int pod_create(struct daemon *d, struct pod_spec *spec, struct pod **out);
/* Unlinks from the list and frees; the VMM must be gone. */
void pod_destroy(struct pod *p);
/*
 * Applies ev; logs an audit line with the caller's uid (uid (uid_t)-1 for
 * the daemon itself) and persists. -EBUSY when ev is not allowed.
 */
int pod_transition(struct pod *p, enum pod_event ev, uid_t uid,
                   const char *why);
/* Resource JSON of GET /v1/vms/{id}. */
struct json_object *pod_to_json(const struct pod *p);
void pod_path(const struct pod *p, const char *file, char *buf, size_t size);

/*
 * Reserves host CPUs and memory for p (numa/). On failure replies (400,
 * 507 with what is free, ...) and returns the negative errno.
 */
int pod_place(struct pod *p, struct api_request *req);
/* Gives the reservation back (VMM gone). */
void pod_unplace(struct pod *p);

/* ---- podvisor-switch ports (switch.c) ---- */
/* Adds a port for every nets[i] with a segment. On failure removes what
 * it added, replies (503 switch unreachable, 409 refused), returns < 0. */
int pod_switch_attach(struct pod *p, struct api_request *req);
void pod_switch_detach(struct pod *p);

/* ---- persistence (store.c) ---- */
int pod_store_save(const struct pod *p);
int pod_store_remove(const struct pod *p);
/* Reads every record, re-attaches to VMMs still running. */
int pod_store_load_all(struct daemon *d);
/* tmp + rename; durable adds fsync of the file and its dir (the state
 * dir needs it, the run dir is volatile anyway: 20 ms per fsync here). */
int pod_write_atomic(const char *path, const char *data, size_t len,
                     bool durable);
int pod_mkdir_p(const char *path, mode_t mode);

/* ---- VMM processes (vmm.c) ---- */
int pod_vmm_spawn(struct pod *p);
/*
 * Starts stopping p's VMM without waiting: the VMM's own stop through its
 * control socket (SIGTERM when it cannot take it), SIGKILL after
 * STOP_TIMEOUT_MS, giving up STOP_TIMEOUT_MS later. The exit is processed
 * as any other (SIGCHLD, pidfd), then done(p, r, arg) runs on the loop.
 * Returns 0 (done will be called exactly once), -EALREADY when a stop is
 * under way, -EBUSY when p's state does not allow one, -ESRCH when p has
 * no VMM; done is not called then.
 */
int pod_vmm_stop_begin(struct pod *p, uid_t uid, pod_stop_fn done, void *arg);
/*
 * Daemon exit, after the loop: finishes every stop under way the blocking
 * way, bounded as on the loop, so records and replies end as they would.
 */
void pod_vmm_stop_drain(struct daemon *d);
/* Frees a stop's events without calling its done (pod_destroy). */
void pod_vmm_stop_forget(struct pod *p);
/* Ends the stop under way, if any: its done(p, r, arg) runs last. */
void pod_vmm_stop_finish(struct pod *p, int r);
/* Processes the VMM's exit: state, reason, files, respawn after a guest
 * reboot; ends a stop under way. wstatus < 0: status unknown (re-attached
 * VMM, not our child). May destroy p (through the stop's done). */
void pod_vmm_exited(struct pod *p, int wstatus);
/* kill(2) of the VMM, logging failures other than ESRCH. */
void pod_vmm_kill(struct pod *p, int sig);
/* PUT uri on the control socket; 0 on a 2xx answer. */
int pod_vmm_control(struct pod *p, const char *method, const char *uri);
int pod_vmm_reattach(struct pod *p);
/* SIGCHLD: reap every exited VMM child (only those). */
void pod_vmm_reap(struct daemon *d);
/* Removes the run dir's files and the dir. */
void pod_vmm_cleanup(struct pod *p);

/* ---- host (host.c) ---- */
struct json_object *host_to_json(struct daemon *d);
/* Prometheus text; caller frees. */
char *host_metrics(struct daemon *d, size_t *len);
/* 0, or -ENOSPC with why[] filled when the host cannot take p (503). */
int host_capacity_check(struct daemon *d, const struct pod_spec *s,
                        const struct pod *except, char *why, size_t size);

/* ---- API (routes.c) ---- */
int daemon_api_start(struct daemon *d);

#endif
