/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The placement decision: which node, which cores, which memory. Pure: reads
 * the placer's state, writes a plan; place.c reserves it.
 *
 * Best fit means the node with the fewest free cores that still fits, then
 * the least free memory: large holes stay whole for large VMs, which keeps
 * fragmentation low after create/delete churn.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "place_priv.h"
#include "podvisor/util.h"

static bool group_name_ok(const char *g)
{
	size_t n = strnlen(g, NUMA_NAME_MAX);

	if (n == 0 || n >= NUMA_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = g[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-' ||
		      c == '.'))
			return false;
	}
	return true;
}

int place_check_spec(const struct numa_placer *p, const struct numa_spec *s,
                     struct numa_place_err *err)
{
	if (s->vcpus < 1 || s->vcpus > NUMA_MAX_VCPUS) {
		if (err)
			err->field = "vcpus";
		place_err(err, "vcpus is %u: give 1 to %d", s->vcpus,
		          NUMA_MAX_VCPUS);
		return -EINVAL;
	}
	if (s->memory_mib < 1 || (s->hugepages && s->memory_mib % 2)) {
		if (err)
			err->field = "memory_mib";
		place_err(err, "memory_mib is %" PRIu64 ": give at least 1%s",
		          s->memory_mib,
		          s->hugepages ? ", a multiple of 2 (2 MiB hugepages)"
		                       : "");
		return -EINVAL;
	}
	if (s->numa_node >= 0 &&
	    numa_topo_node_by_os(p->topo, s->numa_node) < 0) {
		if (err)
			err->field = "placement.numa_node";
		place_err(err,
		          "numa_node %d does not exist on this host: give "
		          "\"auto\" or 0..%d (GET /v1/host lists the nodes)",
		          s->numa_node,
		          p->topo->nodes[p->topo->nr_nodes - 1].os_index);
		return -EINVAL;
	}
	if (!group_name_ok(s->isolation_group)) {
		if (err)
			err->field = "placement.isolation_group";
		place_err(err,
		          "isolation_group \"%.*s\" is not a name: use "
		          "1-63 characters of A-Z a-z 0-9 _ . -",
		          NUMA_NAME_MAX - 1, s->isolation_group);
		return -EINVAL;
	}
	return 0;
}

/* Appends node n's free cores, lowest first, until need PUs are covered.
 * Returns the PUs gained (may be < need when the node is short). */
static unsigned int take_free_cores(const struct numa_placer *p, unsigned int n,
                                    unsigned int need, struct plan *plan)
{
	const struct numa_topo_node *node = &p->topo->nodes[n];
	unsigned int got = 0;

	for (unsigned int c = node->first_core;
	     c < node->first_core + node->nr_cores && got < need; c++) {
		if (p->cores[c].state != CORE_FREE)
			continue;
		if (plan->nr_cores >= NUMA_ALLOC_MAX_CPUS)
			break;
		plan->cores[plan->nr_cores++] = c;
		got += p->topo->cores[c].nr_pus;
	}
	return got;
}

static void mem_add(struct numa_alloc *a, int os_node, uint64_t mib)
{
	if (!mib)
		return;
	for (unsigned int i = 0; i < a->nr_mem; i++) {
		if (a->mem[i].node == os_node) {
			a->mem[i].memory_mib += mib;
			return;
		}
	}
	a->mem[a->nr_mem].node = os_node;
	a->mem[a->nr_mem].memory_mib = mib;
	a->nr_mem++;
}

/* Node with the most free memory not yet drained by this plan. */
static int most_free_node(const struct numa_placer *p, bool hp,
                          const uint64_t *taken)
{
	int best = -1;
	uint64_t best_free = 0;

	for (unsigned int n = 0; n < p->topo->nr_nodes; n++) {
		uint64_t f = place_node_free(p, n, hp) - taken[n];

		if (f > best_free) {
			best = (int)n;
			best_free = f;
		}
	}
	return best;
}

/*
 * mib of memory for node n into a->mem. Strict: all of it on n or
 * -ENOSPC. Preferred: what n has, the rest from the nodes with most free.
 * taken[] tracks what this plan already took per node (spanning VMs).
 */
static int plan_memory(const struct numa_placer *p, unsigned int n,
                       uint64_t mib, const struct numa_spec *s,
                       struct numa_alloc *a, uint64_t *taken,
                       struct numa_place_err *err)
{
	const struct numa_topo *t = p->topo;
	uint64_t avail = place_node_free(p, n, s->hugepages) - taken[n];
	uint64_t left = mib - MIN(avail, mib);
	const char *kind = s->hugepages ? "MiB of 2 MiB hugepages" : "MiB";
	size_t off;

	if (left && s->memory_policy == NUMA_MEM_STRICT) {
		place_err(err,
		          "node %d has %" PRIu64
		          " %s free, the VM needs %" PRIu64
		          " there (memory_policy strict; \"preferred\" would "
		          "take the rest from other nodes)",
		          t->nodes[n].os_index, avail, kind, mib);
		return -ENOSPC;
	}
	mem_add(a, t->nodes[n].os_index, mib - left);
	taken[n] += mib - left;
	if (!left)
		return 0;
	off = strlen(a->note);
	snprintf(a->note + off, sizeof(a->note) - off,
	         "%snode %d had %" PRIu64 " of %" PRIu64 " %s; the rest from",
	         off ? "; " : "", t->nodes[n].os_index, avail, mib, kind);
	while (left) {
		int m = most_free_node(p, s->hugepages, taken);
		uint64_t f, use;

		if (m < 0) {
			place_err(err,
			          "the host lacks %" PRIu64 " %s "
			          "(memory_policy preferred)",
			          left, kind);
			return -ENOSPC;
		}
		f = place_node_free(p, (unsigned int)m, s->hugepages) -
		    taken[m];
		use = MIN(f, left);
		mem_add(a, t->nodes[m].os_index, use);
		taken[m] += use;
		left -= use;
		off = strlen(a->note);
		snprintf(a->note + off, sizeof(a->note) - off,
		         " node %d (%" PRIu64 ")", t->nodes[m].os_index, use);
	}
	a->memory_fallback = true;
	return 0;
}

/* Cores a shared VM adds to its group's pool on node n; -1: cannot fit. */
static int shared_cores_needed(const struct numa_placer *p, unsigned int n,
                               const struct numa_spec *s, struct plan *plan)
{
	int pi = place_pool_find(p, s->isolation_group, n);
	unsigned int pus = 0, load = s->vcpus, need, got;

	if (pi >= 0) {
		pus = p->pools[pi].nr_pus;
		load += p->pools[pi].vcpus;
	}
	need = (load + p->overcommit - 1) / p->overcommit;
	plan->nr_cores = 0;
	if (pus >= need)
		return 0;
	got = take_free_cores(p, n, need - pus, plan);
	return got >= need - pus ? (int)plan->nr_cores : -1;
}

/* Cores of node n for the spec; -1 when they are not there. */
static int cores_needed(const struct numa_placer *p, unsigned int n,
                        const struct numa_spec *s, struct plan *plan)
{
	if (s->cpus == NUMA_CPUS_SHARED)
		return shared_cores_needed(p, n, s, plan);
	plan->nr_cores = 0;
	if (take_free_cores(p, n, s->vcpus, plan) < s->vcpus)
		return -1;
	return (int)plan->nr_cores;
}

/*
 * Best node for the whole VM. mem_ok: only nodes whose memory fits too.
 * Returns the node index or -1.
 */
static int best_node(const struct numa_placer *p, const struct numa_spec *s,
                     bool mem_ok, struct plan *plan)
{
	int best = -1, best_add = 0;
	unsigned int best_free = 0;
	uint64_t best_mem = 0;

	for (unsigned int n = 0; n < p->topo->nr_nodes; n++) {
		uint64_t fm = place_node_free(p, n, s->hugepages);
		unsigned int fc = p->nodes[n].free_cores;
		int add;

		if (s->numa_node >= 0 &&
		    p->topo->nodes[n].os_index != s->numa_node)
			continue;
		if (mem_ok && fm < s->memory_mib)
			continue;
		add = cores_needed(p, n, s, plan);
		if (add < 0)
			continue;
		if (best >= 0 &&
		    (add > best_add || (add == best_add && fc > best_free) ||
		     (add == best_add && fc == best_free &&
		      (mem_ok ? fm >= best_mem : fm <= best_mem))))
			continue;
		best = (int)n;
		best_add = add;
		best_free = fc;
		best_mem = fm;
	}
	if (best >= 0)
		cores_needed(p, (unsigned int)best, s, plan);
	return best;
}

/* Dedicated VM over several nodes: the requested node first, then the
 * nodes with the most free cores, so it spans as few nodes as possible. */
static int pick_span(const struct numa_placer *p, const struct numa_spec *s,
                     struct plan *plan, struct numa_alloc *a, uint64_t *taken,
                     struct numa_place_err *err)
{
	const struct numa_topo *t = p->topo;
	bool used[NUMA_MAX_NODES] = {false};
	unsigned int got = 0, vcpu = 0;
	uint64_t mem_left = s->memory_mib;
	int r;

	int req =
	    s->numa_node >= 0 ? numa_topo_node_by_os(t, s->numa_node) : -1;

	plan->nr_cores = 0;
	while (got < s->vcpus) {
		int n = req >= 0 && !used[req] ? req : -1;
		unsigned int before = plan->nr_cores, add;
		struct numa_guest_node *g;
		uint64_t mib;

		for (unsigned int i = 0; req < 0 || used[req]; i++) {
			if (i >= t->nr_nodes)
				break;
			if (used[i] || !p->nodes[i].free_cores)
				continue;
			if (n < 0 ||
			    p->nodes[i].free_cores > p->nodes[n].free_cores)
				n = (int)i;
		}
		if (n < 0)
			return -ENOSPC;
		used[n] = true;
		add = take_free_cores(p, (unsigned int)n, s->vcpus - got, plan);
		if (plan->nr_cores == before)
			continue;
		got += add;
		add = MIN(add, s->vcpus - vcpu);
		g = &a->guest_nodes[a->nr_guest_nodes++];
		g->host_node = t->nodes[n].os_index;
		g->first_vcpu = vcpu;
		g->nr_vcpus = add;
		vcpu += add;
		mib = vcpu == s->vcpus ? mem_left
		                       : s->memory_mib * add / s->vcpus;
		if (s->hugepages)
			mib &= ~1ULL;
		g->memory_mib = mib;
		mem_left -= mib;
		r = plan_memory(p, (unsigned int)n, mib, s, a, taken, err);
		if (r < 0)
			return r;
	}
	if (a->nr_guest_nodes == 1)
		a->nr_guest_nodes = 0; /* fitted on one node after all */
	return 0;
}

static int nofit(const struct numa_placer *p, const struct numa_spec *s,
                 struct numa_place_err *err)
{
	if (err && !err->message[0])
		place_err(
		    err,
		    "no NUMA node has %u %s vCPUs and %" PRIu64 " MiB%s free%s",
		    s->vcpus,
		    s->cpus == NUMA_CPUS_DEDICATED ? "dedicated" : "shared",
		    s->memory_mib, s->hugepages ? " of hugepages" : "",
		    s->cpus == NUMA_CPUS_DEDICATED && !s->allow_span &&
		            p->topo->nr_nodes > 1
		        ? " (allow_span would let it span nodes)"
		        : "");
	if (err && s->cpus != NUMA_CPUS_DEDICATED)
		snprintf(err->message + strlen(err->message),
		         sizeof(err->message) - strlen(err->message),
		         " (shared vCPUs may number %u per pool CPU: the "
		         "daemon's vCPU overcommit)",
		         p->overcommit);
	return -ENOSPC;
}

int place_pick(struct numa_placer *p, const struct numa_spec *s,
               struct plan *plan, struct numa_alloc *a,
               struct numa_place_err *err)
{
	uint64_t taken[NUMA_MAX_NODES] = {0};
	int n;

	n = best_node(p, s, true, plan);
	if (n < 0 && s->memory_policy == NUMA_MEM_PREFERRED)
		n = best_node(p, s, false, plan);
	if (n >= 0) {
		plan->pool_node = (unsigned int)n;
		return plan_memory(p, (unsigned int)n, s->memory_mib, s, a,
		                   taken, err);
	}
	if (s->cpus == NUMA_CPUS_DEDICATED && s->allow_span &&
	    pick_span(p, s, plan, a, taken, err) == 0)
		return 0;
	if (err)
		err->message[0] = 0;
	/* A single node whose CPUs fit but whose memory does not says more
	 * than the generic message: re-run for its reason. */
	n = best_node(p, s, false, plan);
	if (n >= 0) {
		memset(taken, 0, sizeof(taken));
		a->nr_mem = 0;
		a->nr_guest_nodes = 0;
		a->note[0] = 0;
		return plan_memory(p, (unsigned int)n, s->memory_mib, s, a,
		                   taken, err)
		           ?: nofit(p, s, err);
	}
	return nofit(p, s, err);
}
