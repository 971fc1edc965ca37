/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Recomputes the placer's state from its VMs and compares: the invariants
 * the randomized unit test checks after every step.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "place_priv.h"
#include "podvisor/util.h"

struct tally {
	unsigned int *ded;     /* per core: dedicated VMs listing it */
	unsigned int *shared;  /* per core: shared VMs listing it */
	unsigned int *pu_seen; /* per core: PUs listed by the current VM */
	uint64_t mem[NUMA_MAX_NODES], hp[NUMA_MAX_NODES];
	unsigned int *pool_vcpus, *pool_vms;
};

#define FAIL(...)                                                              \
	do {                                                                   \
		place_err(err, __VA_ARGS__);                                   \
		return -EIO;                                                   \
	} while (0)

static int check_vm_cpus(const struct numa_placer *p, unsigned int s,
                         struct tally *t, struct numa_place_err *err)
{
	const struct numa_topo *topo = p->topo;
	const struct vm_slot *v = &p->vms[s];
	const struct numa_alloc *a = &v->a;
	bool ded = a->spec.cpus == NUMA_CPUS_DEDICATED;

	memset(t->pu_seen, 0, topo->nr_cores * sizeof(unsigned int));
	for (unsigned int i = 0; i < a->nr_cpus; i++) {
		int pu = p->pu_by_os[a->cpus[i]];
		unsigned int c = topo->pus[pu].core;
		const struct core_slot *cs = &p->cores[c];

		if (i && a->cpus[i] <= a->cpus[i - 1])
			FAIL("VM %s: cpus not ascending", a->vm_id);
		if (ded && (cs->state != CORE_DEDICATED || cs->owner != (int)s))
			FAIL("VM %s: CPU %d not reserved for it", a->vm_id,
			     a->cpus[i]);
		if (!ded && (cs->state != CORE_SHARED || cs->owner != v->pool ||
		             p->pools[v->pool].node != topo->cores[c].node))
			FAIL("VM %s: CPU %d not in its pool", a->vm_id,
			     a->cpus[i]);
		if (t->pu_seen[c]++ == 0)
			(ded ? t->ded : t->shared)[c]++;
	}
	for (unsigned int i = 0; i < a->nr_cpus; i++) {
		unsigned int c = topo->pus[p->pu_by_os[a->cpus[i]]].core;

		if (t->pu_seen[c] != topo->cores[c].nr_pus)
			FAIL("VM %s: holds part of a core (CPU %d)", a->vm_id,
			     a->cpus[i]);
	}
	for (unsigned int i = 0; !ded && i < a->spec.vcpus; i++)
		if (a->vcpu_cpus[i] != -1)
			FAIL("VM %s: shared vCPU %u pinned", a->vm_id, i);
	for (unsigned int i = 0; ded && i < a->spec.vcpus; i++) {
		bool in = false;

		for (unsigned int k = 0; k < a->nr_cpus; k++)
			in |= a->cpus[k] == a->vcpu_cpus[i];
		for (unsigned int k = 0; k < i; k++)
			in &= a->vcpu_cpus[k] != a->vcpu_cpus[i];
		if (!in)
			FAIL("VM %s: vCPU %u on CPU %d", a->vm_id, i,
			     a->vcpu_cpus[i]);
	}
	return 0;
}

static int check_vm(const struct numa_placer *p, unsigned int s,
                    struct tally *t, struct numa_place_err *err)
{
	const struct vm_slot *v = &p->vms[s];
	const struct numa_alloc *a = &v->a;
	uint64_t sum = 0;
	int r;

	if (numa_place_lookup(p, a->vm_id) != a)
		FAIL("VM %s: not found by its id", a->vm_id);
	if (a->spec.cpus == NUMA_CPUS_SHARED) {
		if (v->pool < 0 || !p->pools[v->pool].used ||
		    strcmp(p->pools[v->pool].group, a->spec.isolation_group))
			FAIL("VM %s: not in its group's pool", a->vm_id);
		t->pool_vcpus[v->pool] += a->spec.vcpus;
		t->pool_vms[v->pool]++;
	}
	r = check_vm_cpus(p, s, t, err);
	if (r < 0)
		return r;
	for (unsigned int i = 0; i < a->nr_mem; i++) {
		int n = numa_topo_node_by_os(p->topo, a->mem[i].node);

		if (n < 0)
			FAIL("VM %s: memory on unknown node", a->vm_id);
		if (a->spec.hugepages)
			t->hp[n] += a->mem[i].memory_mib / 2;
		else
			t->mem[n] += a->mem[i].memory_mib;
		sum += a->mem[i].memory_mib;
	}
	if (sum != a->spec.memory_mib)
		FAIL("VM %s: memory sums to %" PRIu64, a->vm_id, sum);
	return 0;
}

static int check_cores(const struct numa_placer *p, const struct tally *t,
                       struct numa_place_err *err)
{
	const struct numa_topo *topo = p->topo;
	unsigned int free_cores[NUMA_MAX_NODES] = {0};

	for (unsigned int c = 0; c < topo->nr_cores; c++) {
		const struct core_slot *cs = &p->cores[c];
		int cpu = topo->pus[topo->cores[c].first_pu].os_index;

		if (t->ded[c] > 1 || (t->ded[c] && t->shared[c]))
			FAIL("core of CPU %d in two VMs", cpu);
		if (cs->state == CORE_DEDICATED && t->ded[c] != 1)
			FAIL("core of CPU %d dedicated to no VM", cpu);
		if (cs->state == CORE_SHARED &&
		    (!t->shared[c] || !p->pools[cs->owner].used))
			FAIL("core of CPU %d in a pool no VM uses", cpu);
		if ((cs->state == CORE_FREE ||
		     cs->state == CORE_HOUSEKEEPING) &&
		    (t->ded[c] || t->shared[c]))
			FAIL("core of CPU %d used but not reserved", cpu);
		if (cs->refs != (cs->state == CORE_SHARED
		                     ? t->shared[c] * topo->cores[c].nr_pus
		                     : 0))
			FAIL("core of CPU %d: %u pool references", cpu,
			     cs->refs);
		if (cs->state == CORE_FREE)
			free_cores[topo->cores[c].node]++;
	}
	for (unsigned int n = 0; n < topo->nr_nodes; n++) {
		const struct node_use *u = &p->nodes[n];
		const struct numa_topo_node *tn = &topo->nodes[n];

		if (u->free_cores != free_cores[n])
			FAIL("node %d: %u free cores counted, %u real",
			     tn->os_index, u->free_cores, free_cores[n]);
		if (u->mem_used_mib != t->mem[n] || u->hp2m_used != t->hp[n])
			FAIL("node %d: memory accounting off", tn->os_index);
		if (u->mem_used_mib + p->reserved_mib > tn->memory_mib ||
		    u->hp2m_used > tn->hp2m_free)
			FAIL("node %d: memory overcommitted", tn->os_index);
	}
	return 0;
}

static int check_pools(const struct numa_placer *p, const struct tally *t,
                       struct numa_place_err *err)
{
	for (unsigned int i = 0; i < p->nr_pools; i++) {
		const struct pool *pl = &p->pools[i];
		unsigned int cores = 0, pus = 0;

		if (!pl->used)
			continue;
		for (unsigned int c = 0; c < p->topo->nr_cores; c++) {
			if (p->cores[c].state != CORE_SHARED ||
			    p->cores[c].owner != (int)i)
				continue;
			cores++;
			pus += p->topo->cores[c].nr_pus;
		}
		if (pl->vcpus != t->pool_vcpus[i] ||
		    pl->vms != t->pool_vms[i] || !pl->vms)
			FAIL("pool %s: VM accounting off", pl->group);
		if (pl->nr_cores != cores || pl->nr_pus != pus)
			FAIL("pool %s: core accounting off", pl->group);
		if (pl->vcpus > pl->nr_pus * p->overcommit)
			FAIL("pool %s: %u vCPUs on %u CPUs", pl->group,
			     pl->vcpus, pl->nr_pus);
		for (unsigned int k = 0; k < i; k++)
			if (p->pools[k].used && p->pools[k].node == pl->node &&
			    !strcmp(p->pools[k].group, pl->group))
				FAIL("pool %s: twice on one node", pl->group);
	}
	return 0;
}

int numa_place_check(const struct numa_placer *p, struct numa_place_err *err)
{
	unsigned int nc = p->topo->nr_cores, np = p->nr_pools + 1, count = 0;
	struct tally t = {0};
	int r = -ENOMEM;

	t.ded = calloc(nc, sizeof(unsigned int));
	t.shared = calloc(nc, sizeof(unsigned int));
	t.pu_seen = calloc(nc, sizeof(unsigned int));
	t.pool_vcpus = calloc(np, sizeof(unsigned int));
	t.pool_vms = calloc(np, sizeof(unsigned int));
	if (!t.ded || !t.shared || !t.pu_seen || !t.pool_vcpus || !t.pool_vms)
		goto out;
	r = 0;
	for (unsigned int s = 0; r == 0 && s < p->nr_vms; s++) {
		if (!p->vms[s].used)
			continue;
		count++;
		r = check_vm(p, s, &t, err);
	}
	if (r == 0 && count != p->count) {
		place_err(err, "%u VMs counted, %u real", p->count, count);
		r = -EIO;
	}
	if (r == 0)
		r = check_cores(p, &t, err);
	if (r == 0)
		r = check_pools(p, &t, err);
out:
	free(t.ded);
	free(t.shared);
	free(t.pu_seen);
	free(t.pool_vcpus);
	free(t.pool_vms);
	return r;
}
