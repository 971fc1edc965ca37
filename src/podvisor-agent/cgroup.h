/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Per-container cgroups for podvisor-agent. cgroup v2 is preferred (the
 * guest mounts it at /sys/fs/cgroup); hosts still on the v1/hybrid layout
 * get the v1 memory and pids controllers so limits hold there too.
 */
#ifndef PODVISOR_AGENT_CGROUP_H
#define PODVISOR_AGENT_CGROUP_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct cgroup {
	int version;         /* 2, 1, or 0 = none created */
	char v2[PATH_MAX];   /* v2: the container's cgroup dir */
	char mem[PATH_MAX];  /* v1: memory controller dir, "" if none */
	char pids[PATH_MAX]; /* v1: pids controller dir, "" if none */
};

/*
 * Creates the cgroup of container `name`, podvisor/<name>.<agent pid>
 * under the agent's own cgroup, and writes the limits
 * (memory_bytes 0 / pids 0 = unlimited; swap is limited to 0 so the limit
 * means OOM, not swapping). Returns 0, -ENOTSUP with *why filled when a
 * limit is asked for but the controller is missing, or -errno.
 */
int cgroup_create(struct cgroup *cg, const char *name, uint64_t memory_bytes,
                  uint64_t pids, char *why, size_t why_len);

/* Moves pid into the container's cgroup(s). */
int cgroup_attach(const struct cgroup *cg, pid_t pid);

/* Number of OOM kills in the container's cgroup (memory.events oom_kill on
 * v2, memory.oom_control oom_kill on v1); 0 when unknown. */
uint64_t cgroup_oom_kills(const struct cgroup *cg);

/* Removes the cgroup dirs, retrying briefly while dying tasks leave. */
int cgroup_destroy(struct cgroup *cg);

/* Removes the agent's empty "podvisor" parent cgroups (at shutdown). */
void cgroup_cleanup_parents(void);

/* Describes what this host offers, for the startup log line. */
const char *cgroup_describe(void);

#endif
