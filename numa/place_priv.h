/* SPDX-License-Identifier: Apache-2.0 */
/* The placer's state, shared by the files of numa/ only. */
#ifndef PODVISOR_NUMA_PLACE_PRIV_H
#define PODVISOR_NUMA_PLACE_PRIV_H

#include <stdarg.h>
#include <stdint.h>

#include "podvisor/numa.h"

enum core_state {
	CORE_FREE = 0,
	CORE_HOUSEKEEPING,
	CORE_DEDICATED, /* owner: VM slot */
	CORE_SHARED,    /* owner: pool slot */
};

struct core_slot {
	uint8_t state;
	int owner;
	unsigned int refs; /* shared: member VMs' PUs listing this core */
};

/* One isolation group's shared CPUs on one node. Its cores are always the
 * union of its member VMs' cpus, so a restart rebuilds it exactly. */
struct pool {
	bool used;
	char group[NUMA_NAME_MAX];
	unsigned int node;
	unsigned int nr_cores, nr_pus;
	unsigned int vcpus, vms;
};

struct node_use {
	uint64_t mem_used_mib;
	uint64_t hp2m_used;
	unsigned int free_cores;
};

struct vm_slot {
	bool used;
	int next; /* hash chain */
	int pool; /* shared VMs: pool slot; -1 otherwise */
	struct numa_alloc a;
};

struct numa_placer {
	const struct numa_topo *topo;
	unsigned int overcommit;
	uint64_t reserved_mib;
	struct core_slot *cores;
	struct node_use *nodes;
	int *pu_by_os; /* Linux CPU number -> PU index, -1 */
	int max_os;
	char (*hk_lists)[256]; /* per node housekeeping cpulist */
	char hk_all[256];
	struct vm_slot *vms;
	unsigned int nr_vms, cap_vms, count;
	int *buckets; /* VM id hash -> first slot */
	unsigned int nb;
	struct pool *pools;
	unsigned int nr_pools, cap_pools;
};

/* A decision before it is committed: cores to reserve for a VM. */
struct plan {
	unsigned int nr_cores;
	unsigned int cores[NUMA_ALLOC_MAX_CPUS];
	unsigned int pool_node; /* shared only */
};

__attribute__((format(printf, 2, 3))) void place_err(struct numa_place_err *err,
                                                     const char *fmt, ...);

/* Free normal memory (MiB) or free 2 MiB hugepages (as MiB) of node n. */
uint64_t place_node_free(const struct numa_placer *p, unsigned int n,
                         bool hugepages);

int place_pool_find(const struct numa_placer *p, const char *group,
                    unsigned int node);

/* place_pick.c: decide, filling plan and a (cpus/memory), reserve nothing */
int place_pick(struct numa_placer *p, const struct numa_spec *spec,
               struct plan *plan, struct numa_alloc *a,
               struct numa_place_err *err);

int place_check_spec(const struct numa_placer *p, const struct numa_spec *s,
                     struct numa_place_err *err);

/* spec_json.c: numa_spec_from_json(), also accepting the persisted form's
 * vcpus and memory_mib keys when persisted is set. */
int numa_spec_parse(struct json_object *placement, unsigned int vcpus,
                    uint64_t memory_mib, bool persisted, struct numa_spec *out,
                    struct numa_place_err *err);

/* place_restore.c: checks a persisted decision against the state and turns
 * it into a plan. err must not be NULL. */
int place_restore_validate(const struct numa_placer *p,
                           const struct numa_alloc *a, struct plan *plan,
                           struct numa_place_err *err);

/* place_restore.c: who holds core c, for messages */
const char *place_core_owner(const struct numa_placer *p, unsigned int c);

#endif
