/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Rebuilding the placer from persisted decisions after a daemon restart, and
 * the invariant check the tests run after every step.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "place_priv.h"
#include "podvisor/util.h"

const char *place_core_owner(const struct numa_placer *p, unsigned int c)
{
	const struct core_slot *s = &p->cores[c];

	switch (s->state) {
	case CORE_HOUSEKEEPING:
		return "housekeeping";
	case CORE_DEDICATED:
		return p->vms[s->owner].a.vm_id;
	case CORE_SHARED:
		return p->pools[s->owner].group;
	default:
		return "nobody";
	}
}

/* prev->cpus -> whole cores in plan; -EINVAL names the CPU at fault. */
static int restore_cores(const struct numa_placer *p,
                         const struct numa_alloc *a, struct plan *plan,
                         struct numa_place_err *err)
{
	const struct numa_topo *t = p->topo;
	_cleanup_free_ unsigned int *seen = calloc(t->nr_cores, sizeof(int));

	if (!seen)
		return -ENOMEM;
	err->field = "host_cpus";
	if (!a->nr_cpus || a->nr_cpus > NUMA_ALLOC_MAX_CPUS) {
		place_err(err, "VM %s: no host CPUs in its placement",
		          a->vm_id);
		return -EINVAL;
	}
	plan->nr_cores = 0;
	for (unsigned int i = 0; i < a->nr_cpus; i++) {
		int cpu = a->cpus[i];
		int pu = cpu >= 0 && cpu <= p->max_os ? p->pu_by_os[cpu] : -1;

		if (pu < 0) {
			place_err(err, "VM %s: CPU %d is not on this host",
			          a->vm_id, cpu);
			return -EINVAL;
		}
		if (!seen[t->pus[pu].core]++)
			plan->cores[plan->nr_cores++] = t->pus[pu].core;
	}
	for (unsigned int i = 0; i < plan->nr_cores; i++) {
		unsigned int c = plan->cores[i];

		if (seen[c] != t->cores[c].nr_pus) {
			place_err(err,
			          "VM %s: core of CPU %d listed without "
			          "all its SMT siblings",
			          a->vm_id,
			          t->pus[t->cores[c].first_pu].os_index);
			return -EINVAL;
		}
	}
	err->field = NULL;
	return 0;
}

/* cpu_node (what the VMM binds memory to) must be the cores' node, or -1
 * when they span nodes. */
static int restore_cpu_node(const struct numa_placer *p,
                            const struct numa_alloc *a, const struct plan *plan,
                            struct numa_place_err *err)
{
	const struct numa_topo *t = p->topo;
	unsigned int node = t->cores[plan->cores[0]].node;
	int want = t->nodes[node].os_index;

	for (unsigned int i = 1; i < plan->nr_cores; i++)
		if (t->cores[plan->cores[i]].node != node)
			want = -1;
	if (a->cpu_node == want)
		return 0;
	err->field = "cpu_node";
	place_err(err, "VM %s: cpu_node %d, but its CPUs say %d", a->vm_id,
	          a->cpu_node, want);
	return -EINVAL;
}

/* The cores must be free, or (shared) in this group's pool on one node. */
static int restore_claim(const struct numa_placer *p,
                         const struct numa_alloc *a, struct plan *plan,
                         struct numa_place_err *err)
{
	const struct numa_topo *t = p->topo;
	bool shared = a->spec.cpus == NUMA_CPUS_SHARED;
	unsigned int node = t->cores[plan->cores[0]].node;
	int pi = place_pool_find(p, a->spec.isolation_group, node);

	plan->pool_node = node;
	for (unsigned int i = 0; i < plan->nr_cores; i++) {
		unsigned int c = plan->cores[i];
		const struct core_slot *s = &p->cores[c];
		int cpu = t->pus[t->cores[c].first_pu].os_index;

		if (shared && t->cores[c].node != node) {
			place_err(err, "VM %s: shared CPUs span nodes",
			          a->vm_id);
			return -EINVAL;
		}
		if (s->state == CORE_FREE ||
		    (shared && s->state == CORE_SHARED && s->owner == pi))
			continue;
		place_err(err, "VM %s: CPU %d is already reserved by %s",
		          a->vm_id, cpu, place_core_owner(p, c));
		return -EBUSY;
	}
	for (unsigned int i = 0; i < a->spec.vcpus; i++) {
		bool found = false;

		/* a shared VM's vCPUs float: a pinned one would land on
		 * whatever CPU the file says, maybe another VM's */
		for (unsigned int k = 0; !shared && k < a->nr_cpus; k++)
			found |= a->cpus[k] == a->vcpu_cpus[i];
		if (found || (shared && a->vcpu_cpus[i] == -1))
			continue;
		err->field = "vcpus";
		place_err(err, "VM %s: vCPU %u on CPU %d, outside its CPUs",
		          a->vm_id, i, a->vcpu_cpus[i]);
		return -EINVAL;
	}
	return restore_cpu_node(p, a, plan, err);
}

static int restore_memory(const struct numa_placer *p,
                          const struct numa_alloc *a,
                          struct numa_place_err *err)
{
	uint64_t sum = 0;

	for (unsigned int i = 0; i < a->nr_mem; i++) {
		int n = numa_topo_node_by_os(p->topo, a->mem[i].node);

		if (n < 0) {
			err->field = "memory";
			place_err(err,
			          "VM %s: memory on node %d, which this "
			          "host lacks",
			          a->vm_id, a->mem[i].node);
			return -EINVAL;
		}
		if (place_node_free(p, (unsigned int)n, a->spec.hugepages) <
		    a->mem[i].memory_mib) {
			place_err(
			    err,
			    "VM %s: node %d no longer has %" PRIu64 " MiB free",
			    a->vm_id, a->mem[i].node, a->mem[i].memory_mib);
			return -ENOSPC;
		}
		sum += a->mem[i].memory_mib;
	}
	if (sum != a->spec.memory_mib) {
		err->field = "memory";
		place_err(err,
		          "VM %s: memory per node sums to %" PRIu64
		          " MiB, its spec says %" PRIu64,
		          a->vm_id, sum, a->spec.memory_mib);
		return -EINVAL;
	}
	return 0;
}

int place_restore_validate(const struct numa_placer *p,
                           const struct numa_alloc *a, struct plan *plan,
                           struct numa_place_err *err)
{
	int r = restore_cores(p, a, plan, err);

	if (r < 0)
		return r;
	r = restore_claim(p, a, plan, err);
	if (r < 0)
		return r;
	return restore_memory(p, a, err);
}
