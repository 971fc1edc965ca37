/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The placer's state: which core belongs to whom, memory used per node, the
 * shared pools. Reserving, releasing, and rebuilding after a restart.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "place_priv.h"
#include "podvisor/log.h"
#include "podvisor/util.h"

void place_err(struct numa_place_err *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
}

uint64_t place_node_free(const struct numa_placer *p, unsigned int n,
                         bool hugepages)
{
	const struct numa_topo_node *tn = &p->topo->nodes[n];
	const struct node_use *u = &p->nodes[n];
	uint64_t cap;

	if (hugepages)
		return (tn->hp2m_free - MIN(u->hp2m_used, tn->hp2m_free)) * 2;
	cap = tn->memory_mib - MIN(p->reserved_mib, tn->memory_mib);
	return cap - MIN(u->mem_used_mib, cap);
}

uint64_t numa_place_free_mib(const struct numa_placer *p, unsigned int node)
{
	return node < p->topo->nr_nodes ? place_node_free(p, node, false) : 0;
}

uint64_t numa_place_free_hp2m(const struct numa_placer *p, unsigned int node)
{
	return node < p->topo->nr_nodes ? place_node_free(p, node, true) / 2
	                                : 0;
}

unsigned int numa_place_free_cores(const struct numa_placer *p,
                                   unsigned int node)
{
	return node < p->topo->nr_nodes ? p->nodes[node].free_cores : 0;
}

const struct numa_topo *numa_placer_topo(const struct numa_placer *p)
{
	return p->topo;
}

unsigned int numa_place_count(const struct numa_placer *p)
{
	return p->count;
}

int place_pool_find(const struct numa_placer *p, const char *group,
                    unsigned int node)
{
	for (unsigned int i = 0; i < p->nr_pools; i++)
		if (p->pools[i].used && p->pools[i].node == node &&
		    strcmp(p->pools[i].group, group) == 0)
			return (int)i;
	return -1;
}

void numa_spec_init(struct numa_spec *spec, unsigned int vcpus,
                    uint64_t memory_mib)
{
	memset(spec, 0, sizeof(*spec));
	spec->vcpus = vcpus;
	spec->memory_mib = memory_mib;
	spec->cpus = NUMA_CPUS_SHARED;
	spec->numa_node = -1;
	snprintf(spec->isolation_group, sizeof(spec->isolation_group), "%s",
	         NUMA_DEFAULT_GROUP);
	spec->memory_policy = NUMA_MEM_STRICT;
}

static int mark_housekeeping(struct numa_placer *p, const char *list,
                             struct numa_place_err *err)
{
	const struct numa_topo *t = p->topo;
	int cpus[NUMA_ALLOC_MAX_CPUS];
	int n;

	if (!list) {
		for (unsigned int i = 0; i < t->nr_nodes; i++)
			if (t->nodes[i].nr_cores)
				p->cores[t->nodes[i].first_core].state =
				    CORE_HOUSEKEEPING;
		return 0;
	}
	n = numa_cpulist_parse(list, cpus, NUMA_ALLOC_MAX_CPUS);
	for (int i = 0; n > 0 && i < n; i++) {
		int pu = cpus[i] <= p->max_os ? p->pu_by_os[cpus[i]] : -1;

		if (pu < 0) {
			n = -EINVAL;
			break;
		}
		p->cores[t->pus[pu].core].state = CORE_HOUSEKEEPING;
	}
	if (n < 0) {
		if (err)
			err->field = "housekeeping_cpus";
		place_err(err,
		          "housekeeping_cpus \"%s\" is not a list of this "
		          "host's CPUs: give a cpulist such as \"0,16\"",
		          list);
		return -EINVAL;
	}
	return 0;
}

/* Housekeeping CPUs of node n (all of them when n is -1) as a cpulist. */
static void hk_format(const struct numa_placer *p, int n, char *buf, size_t len)
{
	const struct numa_topo *t = p->topo;
	int cpus[NUMA_ALLOC_MAX_CPUS];
	unsigned int k = 0;

	for (unsigned int pu = 0; pu < t->nr_pus && k < ARRAY_SIZE(cpus);
	     pu++) {
		unsigned int c = t->pus[pu].core;

		if (p->cores[c].state != CORE_HOUSEKEEPING ||
		    (n >= 0 && t->cores[c].node != (unsigned int)n))
			continue;
		cpus[k++] = t->pus[pu].os_index;
	}
	if (numa_cpulist_format(cpus, k, buf, len) < 0)
		buf[0] = 0;
}

static int placer_init(struct numa_placer *p,
                       const struct numa_place_config *cfg,
                       struct numa_place_err *err)
{
	const struct numa_topo *t = p->topo;
	int r;

	for (unsigned int i = 0; i < t->nr_pus; i++)
		p->max_os = MAX(p->max_os, t->pus[i].os_index);
	p->cores = calloc(t->nr_cores, sizeof(*p->cores));
	p->nodes = calloc(t->nr_nodes, sizeof(*p->nodes));
	p->pu_by_os = malloc(((size_t)p->max_os + 1) * sizeof(int));
	p->hk_lists = calloc(t->nr_nodes, sizeof(*p->hk_lists));
	if (!p->cores || !p->nodes || !p->pu_by_os || !p->hk_lists)
		return -ENOMEM;
	for (int i = 0; i <= p->max_os; i++)
		p->pu_by_os[i] = -1;
	for (unsigned int i = 0; i < t->nr_pus; i++)
		p->pu_by_os[t->pus[i].os_index] = (int)i;
	r = mark_housekeeping(p, cfg ? cfg->housekeeping_cpus : NULL, err);
	if (r < 0)
		return r;
	for (unsigned int c = 0; c < t->nr_cores; c++)
		if (p->cores[c].state == CORE_FREE)
			p->nodes[t->cores[c].node].free_cores++;
	for (unsigned int n = 0; n < t->nr_nodes; n++)
		hk_format(p, (int)n, p->hk_lists[n], sizeof(p->hk_lists[n]));
	hk_format(p, -1, p->hk_all, sizeof(p->hk_all));
	return 0;
}

int numa_placer_new(const struct numa_topo *topo,
                    const struct numa_place_config *cfg,
                    struct numa_placer **out, struct numa_place_err *err)
{
	struct numa_placer *p = calloc(1, sizeof(*p));
	int r;

	if (!p)
		return -ENOMEM;
	p->topo = topo;
	p->overcommit = cfg && cfg->shared_overcommit ? cfg->shared_overcommit
	                                              : NUMA_DEFAULT_OVERCOMMIT;
	p->reserved_mib = cfg ? cfg->reserved_mib_per_node : 0;
	r = placer_init(p, cfg, err);
	if (r < 0) {
		numa_placer_free(p);
		return r;
	}
	log_info("placement on %s: %u nodes, %u cores, %u CPUs; housekeeping "
	         "CPUs %s",
	         topo->source, topo->nr_nodes, topo->nr_cores, topo->nr_pus,
	         p->hk_all[0] ? p->hk_all : "none");
	*out = p;
	return 0;
}

void numa_placer_free(struct numa_placer *p)
{
	if (!p)
		return;
	free(p->cores);
	free(p->nodes);
	free(p->pu_by_os);
	free(p->hk_lists);
	free(p->vms);
	free(p->buckets);
	free(p->pools);
	free(p);
}

static unsigned int id_hash(const char *id)
{
	unsigned int h = 2166136261u; /* FNV-1a */

	while (*id)
		h = (h ^ (unsigned char)*id++) * 16777619u;
	return h;
}

/* VM id -> slot through a chained hash, so lookups stay O(1) with
 * thousands of VMs (the daemon looks a VM up on every request). */
static int slot_find(const struct numa_placer *p, const char *id)
{
	if (!p->nb)
		return -1;
	for (int s = p->buckets[id_hash(id) & (p->nb - 1)]; s >= 0;
	     s = p->vms[s].next)
		if (strcmp(p->vms[s].a.vm_id, id) == 0)
			return s;
	return -1;
}

/* Grows the hash before a VM is added, so linking it cannot fail. */
static int slot_index_grow(struct numa_placer *p)
{
	unsigned int nb = p->nb ? p->nb * 2 : 64, h;
	int *b;

	if (p->count + 1 <= p->nb)
		return 0;
	b = malloc(nb * sizeof(int));
	if (!b)
		return -ENOMEM;
	free(p->buckets);
	p->buckets = b;
	p->nb = nb;
	for (unsigned int i = 0; i < nb; i++)
		b[i] = -1;
	for (unsigned int i = 0; i < p->nr_vms; i++) {
		if (!p->vms[i].used)
			continue;
		h = id_hash(p->vms[i].a.vm_id) & (nb - 1);
		p->vms[i].next = b[h];
		b[h] = (int)i;
	}
	return 0;
}

static void slot_link(struct numa_placer *p, int s)
{
	unsigned int h = id_hash(p->vms[s].a.vm_id) & (p->nb - 1);

	p->vms[s].next = p->buckets[h];
	p->buckets[h] = s;
}

static void slot_unlink(struct numa_placer *p, int s)
{
	int *link = &p->buckets[id_hash(p->vms[s].a.vm_id) & (p->nb - 1)];

	while (*link >= 0 && *link != s)
		link = &p->vms[*link].next;
	if (*link == s)
		*link = p->vms[s].next;
}

const struct numa_alloc *numa_place_lookup(const struct numa_placer *p,
                                           const char *vm_id)
{
	int i = slot_find(p, vm_id);

	return i < 0 ? NULL : &p->vms[i].a;
}

/* A free VM slot, growing the array when needed. */
static int slot_get(struct numa_placer *p)
{
	for (unsigned int i = 0; i < p->nr_vms; i++)
		if (!p->vms[i].used)
			return (int)i;
	if (p->nr_vms == p->cap_vms) {
		unsigned int cap = p->cap_vms ? p->cap_vms * 2 : 16;
		struct vm_slot *v = realloc(p->vms, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		p->vms = v;
		p->cap_vms = cap;
	}
	memset(&p->vms[p->nr_vms], 0, sizeof(p->vms[0]));
	return (int)p->nr_vms++;
}

static int pool_get(struct numa_placer *p, const char *group, unsigned int node)
{
	int i = place_pool_find(p, group, node);
	unsigned int k;

	if (i >= 0)
		return i;
	for (k = 0; k < p->nr_pools && p->pools[k].used; k++)
		;
	if (k == p->cap_pools) {
		unsigned int cap = p->cap_pools ? p->cap_pools * 2 : 8;
		struct pool *v = realloc(p->pools, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		p->pools = v;
		p->cap_pools = cap;
	}
	if (k == p->nr_pools)
		p->nr_pools++;
	memset(&p->pools[k], 0, sizeof(p->pools[k]));
	p->pools[k].used = true;
	p->pools[k].node = node;
	snprintf(p->pools[k].group, sizeof(p->pools[k].group), "%s", group);
	return (int)k;
}

static int int_cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* a->cpus := every PU of the given cores, ascending. */
static void cpus_of_cores(const struct numa_placer *p, struct numa_alloc *a,
                          const unsigned int *cores, unsigned int n)
{
	const struct numa_topo *t = p->topo;

	a->nr_cpus = 0;
	for (unsigned int i = 0; i < n; i++) {
		const struct numa_topo_core *c = &t->cores[cores[i]];

		for (unsigned int k = 0; k < c->nr_pus; k++)
			if (a->nr_cpus < NUMA_ALLOC_MAX_CPUS)
				a->cpus[a->nr_cpus++] =
				    t->pus[c->first_pu + k].os_index;
	}
	qsort(a->cpus, a->nr_cpus, sizeof(int), int_cmp);
}

static void account_memory(struct numa_placer *p, const struct numa_alloc *a,
                           int sign)
{
	for (unsigned int i = 0; i < a->nr_mem; i++) {
		int n = numa_topo_node_by_os(p->topo, a->mem[i].node);
		uint64_t v = a->mem[i].memory_mib;

		if (n < 0)
			continue;
		if (a->spec.hugepages)
			p->nodes[n].hp2m_used += sign > 0 ? v / 2 : -(v / 2);
		else
			p->nodes[n].mem_used_mib += sign > 0 ? v : -v;
	}
}

static void take_cores(struct numa_placer *p, const struct plan *plan,
                       uint8_t state, int owner)
{
	for (unsigned int i = 0; i < plan->nr_cores; i++) {
		struct core_slot *c = &p->cores[plan->cores[i]];

		if (c->state == CORE_FREE)
			p->nodes[p->topo->cores[plan->cores[i]].node]
			    .free_cores--;
		c->state = state;
		c->owner = owner;
	}
}

static void give_core(struct numa_placer *p, unsigned int c)
{
	if (p->cores[c].state == CORE_FREE)
		return;
	p->cores[c].state = CORE_FREE;
	p->cores[c].owner = -1;
	p->nodes[p->topo->cores[c].node].free_cores++;
}

/* refs counts, per shared core, the member PUs that list it; a core whose
 * count drops to 0 leaves the pool, so the pool stays the union of its
 * members' CPUs without a scan over all VMs. */
static void shared_refs(struct numa_placer *p, const struct vm_slot *v,
                        int delta)
{
	struct pool *pool = &p->pools[v->pool];

	for (unsigned int k = 0; k < v->a.nr_cpus; k++) {
		unsigned int c = p->topo->pus[p->pu_by_os[v->a.cpus[k]]].core;

		p->cores[c].refs += delta;
		if (p->cores[c].refs || delta > 0)
			continue;
		give_core(p, c);
		pool->nr_cores--;
		pool->nr_pus -= p->topo->cores[c].nr_pus;
	}
}

/* Shared VM joins its pool (new cores from plan). restore: keep a->cpus. */
static int commit_shared(struct numa_placer *p, struct vm_slot *v,
                         const struct plan *plan, bool restore)
{
	const struct numa_topo_node *tn = &p->topo->nodes[plan->pool_node];
	int pi = pool_get(p, v->a.spec.isolation_group, plan->pool_node);
	unsigned int cores[NUMA_ALLOC_MAX_CPUS], n = 0;
	struct pool *pool;

	if (pi < 0)
		return pi;
	pool = &p->pools[pi];
	for (unsigned int i = 0; i < plan->nr_cores; i++) {
		if (p->cores[plan->cores[i]].state == CORE_SHARED)
			continue;
		pool->nr_cores++;
		pool->nr_pus += p->topo->cores[plan->cores[i]].nr_pus;
	}
	take_cores(p, plan, CORE_SHARED, pi);
	pool->vcpus += v->a.spec.vcpus;
	pool->vms++;
	v->pool = pi;
	if (restore) {
		shared_refs(p, v, 1);
		return 0;
	}
	for (unsigned int c = tn->first_core; c < tn->first_core + tn->nr_cores;
	     c++)
		if (p->cores[c].state == CORE_SHARED && p->cores[c].owner == pi)
			cores[n++] = c;
	cpus_of_cores(p, &v->a, cores, n);
	shared_refs(p, v, 1);
	for (unsigned int i = 0; i < NUMA_MAX_VCPUS; i++)
		v->a.vcpu_cpus[i] = -1;
	return 0;
}

static void commit_dedicated(struct numa_placer *p, struct vm_slot *v,
                             const struct plan *plan, bool restore)
{
	const struct numa_topo *t = p->topo;
	unsigned int k = 0;

	take_cores(p, plan, CORE_DEDICATED, (int)(v - p->vms));
	v->pool = -1;
	if (restore)
		return;
	for (unsigned int i = 0; i < NUMA_MAX_VCPUS; i++)
		v->a.vcpu_cpus[i] = -1;
	/* vCPUs fill a core's SMT siblings before the next core, so guest
	 * vCPU pairs match host sibling pairs. */
	for (unsigned int i = 0; i < plan->nr_cores; i++) {
		const struct numa_topo_core *c = &t->cores[plan->cores[i]];

		for (unsigned int s = 0; s < c->nr_pus && k < v->a.spec.vcpus;
		     s++)
			v->a.vcpu_cpus[k++] = t->pus[c->first_pu + s].os_index;
	}
	cpus_of_cores(p, &v->a, plan->cores, plan->nr_cores);
}

static void commit_housekeeping(const struct numa_placer *p,
                                struct numa_alloc *a, const struct plan *plan)
{
	const struct numa_topo *t = p->topo;
	unsigned int n = t->cores[plan->nr_cores ? plan->cores[0] : 0].node;

	if (a->spec.cpus == NUMA_CPUS_SHARED)
		n = plan->pool_node;
	a->cpu_node = a->nr_guest_nodes > 1 ? -1 : t->nodes[n].os_index;
	if (a->nr_guest_nodes > 1 || !p->hk_lists[n][0])
		snprintf(a->housekeeping_cpus, sizeof(a->housekeeping_cpus),
		         "%s", p->hk_all);
	else
		snprintf(a->housekeeping_cpus, sizeof(a->housekeeping_cpus),
		         "%s", p->hk_lists[n]);
}

/* One INFO line per decision, with what an operator would check. */
static void log_alloc(const struct numa_alloc *a, const char *verb)
{
	char cpus[512], mem[256] = "";
	size_t off = 0;

	if (numa_cpulist_format(a->cpus, a->nr_cpus, cpus, sizeof(cpus)) < 0)
		snprintf(cpus, sizeof(cpus), "?");
	for (unsigned int i = 0; i < a->nr_mem && off < sizeof(mem); i++)
		off += (size_t)snprintf(mem + off, sizeof(mem) - off,
		                        "%s%" PRIu64 " MiB on node %d",
		                        i ? ", " : "", a->mem[i].memory_mib,
		                        a->mem[i].node);
	log_info("vm %s: %s %u %s vCPUs on CPUs %s (group %s), %s%s; VMM "
	         "threads on CPUs %s",
	         a->vm_id, verb, a->spec.vcpus,
	         a->spec.cpus == NUMA_CPUS_DEDICATED ? "dedicated" : "shared",
	         cpus, a->spec.isolation_group, mem,
	         a->spec.hugepages ? " (2 MiB hugepages)" : "",
	         a->housekeeping_cpus);
	if (a->memory_fallback)
		log_warn("vm %s: memory_policy preferred: %s", a->vm_id,
		         a->note);
}

static int check_id(const char *vm_id, struct numa_place_err *err)
{
	if (vm_id && vm_id[0] && strlen(vm_id) < NUMA_NAME_MAX)
		return 0;
	if (err)
		err->field = "id";
	place_err(err, "VM id must be 1-%d characters", NUMA_NAME_MAX - 1);
	return -EINVAL;
}

int numa_place_vm(struct numa_placer *p, const char *vm_id,
                  const struct numa_spec *spec, struct numa_alloc *out,
                  struct numa_place_err *err)
{
	struct plan plan; /* 4 KiB */
	struct vm_slot *v;
	int r, s;

	if (err)
		memset(err, 0, sizeof(*err));
	r = check_id(vm_id, err);
	if (r < 0)
		return r;
	r = place_check_spec(p, spec, err);
	if (r < 0)
		return r;
	if (slot_find(p, vm_id) >= 0) {
		if (err)
			err->field = "id";
		place_err(err, "VM %s is already placed", vm_id);
		return -EEXIST;
	}
	s = slot_index_grow(p);
	if (s == 0)
		s = slot_get(p);
	if (s < 0)
		return s;
	v = &p->vms[s];
	memset(&v->a, 0, sizeof(v->a));
	snprintf(v->a.vm_id, sizeof(v->a.vm_id), "%s", vm_id);
	v->a.spec = *spec;
	r = place_pick(p, spec, &plan, &v->a, err);
	if (r < 0)
		return r; /* the slot stays unused */
	if (spec->cpus == NUMA_CPUS_SHARED) {
		r = commit_shared(p, v, &plan, false);
		if (r < 0)
			return r;
	} else {
		commit_dedicated(p, v, &plan, false);
	}
	commit_housekeeping(p, &v->a, &plan);
	account_memory(p, &v->a, 1);
	v->used = true;
	slot_link(p, s);
	p->count++;
	log_alloc(&v->a, "placed");
	if (out)
		*out = v->a;
	return 0;
}

int numa_place_release(struct numa_placer *p, const char *vm_id)
{
	int s = slot_find(p, vm_id);
	struct vm_slot *v;

	if (s < 0)
		return -ENOENT;
	v = &p->vms[s];
	slot_unlink(p, s);
	v->used = false;
	p->count--;
	log_info("vm %s: released its CPUs and memory", vm_id);
	account_memory(p, &v->a, -1);
	if (v->pool < 0) {
		for (unsigned int k = 0; k < v->a.nr_cpus; k++)
			give_core(p,
			          p->topo->pus[p->pu_by_os[v->a.cpus[k]]].core);
		return 0;
	}
	p->pools[v->pool].vcpus -= v->a.spec.vcpus;
	p->pools[v->pool].vms--;
	/* Limitation: a pool never shrinks below its members' cpusets,
	 * because that would need re-pinning running VMs. */
	shared_refs(p, v, -1);
	if (!p->pools[v->pool].vms)
		p->pools[v->pool].used = false;
	return 0;
}

int numa_place_restore(struct numa_placer *p, const struct numa_alloc *prev,
                       struct numa_place_err *err)
{
	struct plan plan;
	struct numa_place_err local;
	struct vm_slot *v;
	int r, s;

	if (!err)
		err = &local;
	memset(err, 0, sizeof(*err));
	r = check_id(prev->vm_id, err);
	if (r == 0)
		r = place_check_spec(p, &prev->spec, err);
	if (r < 0)
		return r;
	if (slot_find(p, prev->vm_id) >= 0) {
		err->field = "id";
		place_err(err, "VM %s is already placed", prev->vm_id);
		return -EEXIST;
	}
	r = place_restore_validate(p, prev, &plan, err);
	if (r < 0)
		return r;
	s = slot_index_grow(p);
	if (s == 0)
		s = slot_get(p);
	if (s < 0)
		return s;
	v = &p->vms[s];
	v->a = *prev;
	if (prev->spec.cpus == NUMA_CPUS_SHARED) {
		r = commit_shared(p, v, &plan, true);
		if (r < 0)
			return r;
	} else {
		commit_dedicated(p, v, &plan, true);
	}
	account_memory(p, &v->a, 1);
	v->used = true;
	slot_link(p, s);
	p->count++;
	log_alloc(&v->a, "restored");
	return 0;
}
