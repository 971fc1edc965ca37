/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Host topology, VM placement, and applying + verifying a placement.
 *
 * Three layers, usable separately:
 *  - numa_topo_*:  the host (or a synthetic / XML description) read through
 *    hwloc into plain arrays: nodes own a contiguous run of cores, cores own
 *    a contiguous run of PUs (SMT siblings). Indices below are indices into
 *    these arrays; "os" numbers are what the kernel calls the CPU / node.
 *  - numa_place_*: a pure placer over that model (no syscalls). Decides which
 *    host CPUs and which node's memory a VM gets, and keeps the accounting.
 *    Not thread-safe: the daemon calls it from its event loop.
 *  - numa_pin_* / numa_bind_* / numa_verify_*: used by podvisor-vmm to apply
 *    a decision to its threads and guest RAM and to read it back.
 *
 * Error convention: -EINVAL bad spec or input (err->field names the field),
 * -ENOSPC nothing fits (the daemon answers 507 with numa_place_nofit_json()),
 * -EEXIST duplicate VM id (409), -ENOENT unknown VM id (404), other -errno.
 */
#ifndef PODVISOR_NUMA_H
#define PODVISOR_NUMA_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct json_object;
struct vm_config;

#define NUMA_MAX_NODES          64
#define NUMA_MAX_VCPUS          64   /* same as VM_MAX_VCPUS */
#define NUMA_ALLOC_MAX_CPUS     1024 /* host PUs one allocation may list */
#define NUMA_NAME_MAX           64   /* VM id, isolation group, incl. NUL */
#define NUMA_DEFAULT_GROUP      "default"
#define NUMA_DEFAULT_OVERCOMMIT 4 /* shared vCPUs per shared-pool PU */

/* ---- topology -------------------------------------------------------- */

struct numa_topo_node {
	int os_index;
	uint64_t memory_mib; /* normal memory (hwloc local_memory) */
	uint64_t hp2m_total; /* 2 MiB hugepages configured on the node */
	uint64_t hp2m_free;  /* free at load time (sysfs on a real host) */
	uint64_t hp1g_total;
	uint64_t hp1g_free;
	unsigned int first_core; /* cores[first_core .. first_core+nr_cores) */
	unsigned int nr_cores;
};

struct numa_topo_core {
	unsigned int node;     /* index into nodes[] */
	unsigned int package;  /* hwloc logical index of the package */
	unsigned int first_pu; /* pus[first_pu .. first_pu+nr_pus) */
	unsigned int nr_pus;
};

struct numa_topo_pu {
	int os_index;      /* Linux CPU number */
	unsigned int core; /* index into cores[] */
};

struct numa_topo {
	unsigned int nr_nodes, nr_cores, nr_pus, nr_packages;
	struct numa_topo_node *nodes;
	struct numa_topo_core *cores;
	struct numa_topo_pu *pus;
	char source[128]; /* "host", "synthetic:<desc>" or "xml:<path>" */
};

/*
 * Reads a topology. source NULL or "" or "host": this machine (hugepage
 * counts from /sys/devices/system/node/nodeN/hugepages). A source ending in
 * ".xml" is an hwloc XML export (lstopo --of xml); anything else is an hwloc
 * synthetic description such as "pack:2 numa:2(memory=64GB) core:8 pu:2".
 * For XML/synthetic sources, hugepages come from the description's
 * page_type entries and all of them count as free.
 * On success *out is owned by the caller (numa_topo_free).
 */
int numa_topo_load(const char *source, struct numa_topo **out);
void numa_topo_free(struct numa_topo *topo);

/* Node index of the node whose os_index is os_node, or -ENOENT. */
int numa_topo_node_by_os(const struct numa_topo *topo, int os_node);
/* PU index of Linux CPU os_cpu, or -ENOENT. */
int numa_topo_pu_by_os(const struct numa_topo *topo, int os_cpu);

/* Test hook: overrides a node's hugepage counts (size_kib 2048 or 1048576). */
int numa_topo_set_hugepages(struct numa_topo *topo, unsigned int node,
                            unsigned long size_kib, uint64_t total,
                            uint64_t free_pages);

/* ---- placement ------------------------------------------------------- */

/*
 * Policy in short. Dedicated VMs take whole free cores (every SMT sibling)
 * on one node: the node with the fewest free cores that fits, then the
 * least free memory. Shared VMs join their isolation group's pool on one
 * node; a pool grows by free cores so that its vCPUs stay <= its PUs x
 * shared_overcommit, and shrinks to the union of its members' CPUs when a
 * member leaves. Dedicated cores, pools of different groups and
 * housekeeping cores never overlap, so two groups never share a core.
 * Limitations: hugepages are 2 MiB pages only (1 GiB pages are reported,
 * not allocated); shared VMs never span nodes; a spanning VM's memory is
 * split by vCPU share and podvisor-vmm gets numa_node -1 for it (no
 * per-guest-node binding yet).
 */

enum numa_cpus_mode {
	NUMA_CPUS_SHARED = 0, /* float over the isolation group's pool */
	NUMA_CPUS_DEDICATED,  /* whole physical cores, one vCPU per PU */
};

enum numa_mem_policy {
	NUMA_MEM_STRICT = 0, /* refuse if the node lacks memory; MPOL_BIND */
	NUMA_MEM_PREFERRED,  /* fall back to other nodes; MPOL_PREFERRED */
};

/* What a VM asks for. numa_spec_init() gives the defaults. */
struct numa_spec {
	unsigned int vcpus;  /* 1 .. NUMA_MAX_VCPUS */
	uint64_t memory_mib; /* >= 1; a multiple of 2 with hugepages */
	enum numa_cpus_mode cpus;
	int numa_node; /* host node os_index, -1 = auto (best fit) */
	char isolation_group[NUMA_NAME_MAX]; /* [A-Za-z0-9_.-]+ */
	bool hugepages; /* 2 MiB hugepages from the chosen node */
	enum numa_mem_policy memory_policy;
	bool allow_span; /* dedicated only: may span NUMA nodes */
};

/* Where one node's share of guest RAM comes from. */
struct numa_alloc_mem {
	int node; /* host node os_index */
	uint64_t memory_mib;
};

/* A guest NUMA node to expose when a dedicated VM spans host nodes. */
struct numa_guest_node {
	int host_node; /* host node os_index */
	unsigned int first_vcpu, nr_vcpus;
	uint64_t memory_mib;
};

/* The decision for one VM. Plain data: copy it, persist it as JSON. */
struct numa_alloc {
	char vm_id[NUMA_NAME_MAX];
	struct numa_spec spec;
	/* Host CPUs reserved (dedicated: every SMT sibling of the cores;
	 * shared: the group pool's CPUs at placement), ascending Linux CPU
	 * numbers. */
	unsigned int nr_cpus;
	int cpus[NUMA_ALLOC_MAX_CPUS];
	/* vCPU i runs on Linux CPU vcpu_cpus[i]; -1 = floats over cpus[]. */
	int vcpu_cpus[NUMA_MAX_VCPUS];
	/* CPUs for the VMM's own threads (the housekeeping CPUs of the VM's
	 * node(s)), a cpulist. */
	char housekeeping_cpus[256];
	int cpu_node; /* host node os_index of the vCPUs; -1: spans nodes */
	unsigned int nr_mem;
	struct numa_alloc_mem mem[NUMA_MAX_NODES];
	unsigned int nr_guest_nodes; /* 0 unless the VM spans host nodes */
	struct numa_guest_node guest_nodes[NUMA_MAX_NODES];
	bool memory_fallback; /* preferred policy took memory elsewhere */
	char note[256];       /* human explanation of any fallback */
};

struct numa_place_err {
	const char *field; /* spec field at fault ("placement.numa_node"), or
	                    * NULL; a static string */
	char message[320];
};

struct numa_place_config {
	/* cpulist never handed to VMs; NULL: the first core of each node.
	 * Every SMT sibling of a listed CPU is housekeeping too. */
	const char *housekeeping_cpus;
	/* shared vCPUs per shared-pool PU; 0: NUMA_DEFAULT_OVERCOMMIT */
	unsigned int shared_overcommit;
	/* MiB of normal memory per node kept for the host */
	uint64_t reserved_mib_per_node;
};

struct numa_placer;

/* Sets the defaults: shared, auto node, group "default", strict, 4 KiB
 * pages, no span; vcpus and memory_mib as given. */
void numa_spec_init(struct numa_spec *spec, unsigned int vcpus,
                    uint64_t memory_mib);

/*
 * A placer over topo, which must outlive it. cfg may be NULL (defaults).
 * -EINVAL with err->field "housekeeping_cpus" when the cpulist is bad.
 */
int numa_placer_new(const struct numa_topo *topo,
                    const struct numa_place_config *cfg,
                    struct numa_placer **out, struct numa_place_err *err);
void numa_placer_free(struct numa_placer *p);
const struct numa_topo *numa_placer_topo(const struct numa_placer *p);

/*
 * Decides and reserves a placement for VM vm_id. On success *out (may be
 * NULL) receives a copy of the decision. Errors as at the top of this file;
 * nothing is reserved on error. err may be NULL.
 */
int numa_place_vm(struct numa_placer *p, const char *vm_id,
                  const struct numa_spec *spec, struct numa_alloc *out,
                  struct numa_place_err *err);

/* Releases everything vm_id holds (on VM stop/delete). 0 or -ENOENT. */
int numa_place_release(struct numa_placer *p, const char *vm_id);

/*
 * After a daemon restart: reserves exactly a previously persisted decision
 * (numa_alloc_from_json), so the state equals the one before the restart.
 * -EBUSY (err says which CPU) when it collides with what is already
 * reserved, -EINVAL when it names CPUs/nodes this topology lacks, -ENOSPC
 * when the node's memory no longer covers it.
 */
int numa_place_restore(struct numa_placer *p, const struct numa_alloc *prev,
                       struct numa_place_err *err);

/* The current decision for vm_id, or NULL. Valid until the next change. */
const struct numa_alloc *numa_place_lookup(const struct numa_placer *p,
                                           const char *vm_id);
unsigned int numa_place_count(const struct numa_placer *p);

/*
 * Checks the placer's own invariants (no CPU in two dedicated VMs, shared
 * pools disjoint from dedicated and housekeeping cores and from other
 * groups, per-node accounting equals the sum over VMs). 0 or -EIO with
 * err->message saying what broke. For tests and debug builds.
 */
int numa_place_check(const struct numa_placer *p, struct numa_place_err *err);

/* Number of free (unreserved, non-housekeeping) cores on node index n. */
unsigned int numa_place_free_cores(const struct numa_placer *p,
                                   unsigned int node);
/* Free normal memory / free 2 MiB hugepages on node index n. */
uint64_t numa_place_free_mib(const struct numa_placer *p, unsigned int node);
uint64_t numa_place_free_hp2m(const struct numa_placer *p, unsigned int node);

/* ---- JSON (json-c); every function returns a new reference or NULL ---- */

/*
 * Parses a VM spec's "placement" object (may be NULL: defaults):
 * {"cpus":"dedicated"|"shared", "numa_node": N|"auto",
 *  "isolation_group":"name", "hugepages":bool,
 *  "memory_policy":"strict"|"preferred", "allow_span":bool}.
 * "dedicated": true|false is accepted as another spelling of "cpus".
 * Unknown keys are refused (-EINVAL, err->field "placement.<key>").
 * vcpus and memory_mib come from the VM spec's top level.
 * -EINVAL with err->field like "placement.cpus" and a message with the fix.
 */
int numa_spec_from_json(struct json_object *placement, unsigned int vcpus,
                        uint64_t memory_mib, struct numa_spec *out,
                        struct numa_place_err *err);
struct json_object *numa_spec_to_json(const struct numa_spec *spec);

/*
 * The per-VM view (GET /v1/vms/{id} "placement"), which is also the
 * persisted form: {"vm_id", "spec":{..}, "host_cpus":"2-3",
 * "vcpus":[{"vcpu":0,"host_cpu":2},..], "housekeeping_cpus":"0",
 * "memory":[{"node":0,"memory_mib":512,"hugepages":false}],
 * "memory_policy", "memory_fallback", "note", "guest_numa_nodes":[..]}.
 */
struct json_object *numa_alloc_to_json(const struct numa_alloc *a);
int numa_alloc_from_json(struct json_object *obj, struct numa_alloc *out,
                         struct numa_place_err *err);

/*
 * The per-host view (GET /v1/host "numa"): topology source and per node
 * {"node", "cpus", "housekeeping_cpus", "dedicated_cpus", "shared_cpus",
 *  "free_cpus" (cpulists) and counts, "memory_mib":{total,used,free},
 *  "hugepages_2m":{total,used,free}, "hugepages_1g":{total,free}}, plus
 * "shared_pools":[{"isolation_group","node","cpus","vcpus","vms"}].
 */
struct json_object *numa_host_to_json(const struct numa_placer *p);

/*
 * The 507 body detail for a spec that did not fit:
 * {"asked":{spec..}, "free":[{"node", "free_cores", "free_cpus",
 *  "largest_dedicated_vcpus", "memory_free_mib", "hugepages_2m_free"}]}.
 */
struct json_object *numa_place_nofit_json(const struct numa_placer *p,
                                          const struct numa_spec *spec);

/* HTTP status for a numa_place_* / numa_spec_* return value: 0 200,
 * -EINVAL 400, -ENOENT 404, -EEXIST/-EBUSY 409, -ENOSPC 507, else 500. */
int numa_place_http_status(int r);

/* ---- apply and verify (podvisor-vmm) -------------------------------- */

/*
 * Fills the placement fields of a VM config from a decision: vcpu_cpus[],
 * housekeeping_cpus (malloc'd; the config owns it), numa_node (the vCPUs'
 * node; MPOL_PREFERRED there when memory_policy is preferred) and
 * numa_preferred. A VM spanning nodes gets numa_node -1.
 * A shared VM's vCPUs get -1 and its housekeeping_cpus is its pool's
 * cpulist: podvisor-vmm pins its I/O thread there before it creates the
 * vCPU threads, which inherit that affinity, so the whole VM floats over
 * its pool and nothing else (vm_config has one CPU per vCPU, no cpuset).
 */
int numa_alloc_to_vm_config(const struct numa_alloc *a, struct vm_config *c);

/* Pins thread to the CPUs of cpulist ("3", "0-1,4"). label names it in
 * logs ("vcpu 0"). -EINVAL on a bad list. */
int numa_pin_thread(pthread_t thread, const char *cpulist, const char *label);
/* Same, one CPU. */
int numa_pin_thread_cpu(pthread_t thread, int cpu, const char *label);

/*
 * Reads back the affinity of thread tid (any process) through both
 * sched_getaffinity() and /proc/<tid>/status Cpus_allowed_list and compares
 * with cpulist. 0 when both match, -EIO naming label and both
 * sets when not, other -errno when it could not be read.
 */
int numa_verify_thread(pid_t tid, const char *cpulist, const char *label);

/*
 * Binds [addr, addr+len) to host node os_node before first touch:
 * MPOL_BIND (strict) or MPOL_PREFERRED. addr page-aligned. Works on
 * MAP_SHARED memfd / hugetlbfs mappings (shared policy).
 */
int numa_bind_memory(void *addr, size_t len, int os_node, bool preferred);

/*
 * Reads the policy back with get_mempolicy(MPOL_F_ADDR) at the first and
 * last page of the range: 0 when mode and node match, -EIO with a message
 * naming label ("guest RAM 0x0-0x7fffffff") otherwise.
 */
int numa_verify_memory(void *addr, size_t len, int os_node, bool preferred,
                       const char *label);

/*
 * The policy column of /proc/<pid>/numa_maps for the mapping that starts at
 * addr ("bind:0", "prefer:0", "default"), copied into buf. -ENOENT when no
 * mapping starts there.
 */
int numa_maps_policy(pid_t pid, const void *addr, char *buf, size_t len);

/* Formats / parses Linux CPU number arrays as cpulists ("0-3,8"). */
int numa_cpulist_format(const int *cpus, unsigned int n, char *buf, size_t len);
/* Parses into cpus[max], ascending; returns the count or -EINVAL/-E2BIG. */
int numa_cpulist_parse(const char *list, int *cpus, unsigned int max);

#endif
