/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Placement benchmark (scripts/bench/placement.sh runs it): decisions per
 * second on a synthetic host with N VMs placed, and the time to rebuild the
 * placer from N persisted decisions, as after a daemon restart.
 *
 *   numa-placement-bench [--topology DESC] [--vms N] [--steps N] [--seed S]
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "podvisor/log.h"
#include "podvisor/numa.h"
#include "podvisor/util.h"

struct bench {
	const char *topology;
	unsigned int vms, steps, seed;
	struct numa_topo *topo;
	struct numa_placer *p;
	struct numa_place_config cfg;
	unsigned long placed, refused;
	double decision_ns, hwloc_ns;
};

/* A mix like a CNF host: a fifth dedicated 2-4 vCPU VMs, the rest shared
 * 1-2 vCPU VMs in four isolation groups. */
static void random_spec(struct bench *b, struct numa_spec *s)
{
	unsigned int r = (unsigned int)rand_r(&b->seed);

	if (r % 10 == 0) {
		numa_spec_init(s, 2 + 2 * ((r / 10) % 2), 2048);
		s->cpus = NUMA_CPUS_DEDICATED;
	} else {
		numa_spec_init(s, 1 + (r / 5) % 2, 512 + 512 * ((r / 7) % 3));
	}
	snprintf(s->isolation_group, sizeof(s->isolation_group), "tenant%u",
	         (r / 11) % 4);
}

static int place_one(struct bench *b, unsigned int i)
{
	struct numa_spec s;
	char id[32];
	int r;

	snprintf(id, sizeof(id), "vm%u", i);
	random_spec(b, &s);
	r = numa_place_vm(b->p, id, &s, NULL, NULL);
	if (r == 0)
		b->placed++;
	else if (r == -ENOSPC)
		b->refused++;
	return r;
}

/* Replaces random VMs: release + place, the daemon's create/delete churn.
 * Returns ns per decision. */
static double churn(struct bench *b)
{
	uint64_t t0 = pv_now_ns(), dt;
	char id[32];

	b->placed = b->refused = 0;
	for (unsigned int i = 0; i < b->steps; i++) {
		unsigned int v = (unsigned int)rand_r(&b->seed) % b->vms;

		snprintf(id, sizeof(id), "vm%u", v);
		numa_place_release(b->p, id);
		place_one(b, v);
	}
	dt = pv_now_ns() - t0;
	printf("placement: %u decisions in %.3f s = %.0f decisions/s "
	       "(%u VMs kept placed, %lu placed, %lu refused 507)\n",
	       b->steps, dt / 1e9, b->steps / (dt / 1e9), b->vms, b->placed,
	       b->refused);
	return (double)dt / b->steps;
}

/* Churn ends with a few VMs refused; try them again so the restart below
 * rebuilds as many of the N VMs as the host holds. */
static void refill(struct bench *b)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < b->vms; i++) {
		char id[32];

		snprintf(id, sizeof(id), "vm%u", i);
		for (int t = 0; t < 20 && !numa_place_lookup(b->p, id); t++)
			place_one(b, i);
		n += numa_place_lookup(b->p, id) != NULL;
	}
	printf("placed now: %u of %u VMs\n", n, b->vms);
}

static int rebuild(struct bench *b)
{
	json_object *saved = json_object_new_array();
	struct numa_placer *q = NULL;
	uint64_t t0, dt;
	const char *before, *after;
	int r, n = 0;

	for (unsigned int i = 0; i < b->vms; i++) {
		char id[32];
		const struct numa_alloc *a;
		json_object *j;

		snprintf(id, sizeof(id), "vm%u", i);
		a = numa_place_lookup(b->p, id);
		if (!a)
			continue;
		j = numa_alloc_to_json(a);
		json_object_array_add(
		    saved,
		    json_object_new_string(json_object_to_json_string(j)));
		json_object_put(j);
	}
	t0 = pv_now_ns();
	r = numa_placer_new(b->topo, &b->cfg, &q, NULL);
	for (size_t i = 0; r == 0 && i < json_object_array_length(saved); i++) {
		json_object *o = json_tokener_parse(json_object_get_string(
		    json_object_array_get_idx(saved, i)));
		struct numa_place_err err;
		struct numa_alloc a;

		r = numa_alloc_from_json(o, &a, &err);
		if (r == 0)
			r = numa_place_restore(q, &a, &err);
		if (r < 0)
			fprintf(stderr, "restore: %s\n", err.message);
		json_object_put(o);
		n++;
	}
	dt = pv_now_ns() - t0;
	if (r == 0) {
		json_object *hb = numa_host_to_json(b->p);
		json_object *ha = numa_host_to_json(q);

		before = json_object_to_json_string(hb);
		after = json_object_to_json_string(ha);
		r = strcmp(before, after) ? -EIO : 0;
		if (r && getenv("NUMA_BENCH_DEBUG"))
			fprintf(stderr, "before %s\nafter  %s\n", before,
			        after);
		json_object_put(hb);
		json_object_put(ha);
	}
	printf("rebuild: %d VMs from persisted JSON in %.3f ms (%s)\n", n,
	       dt / 1e6, r == 0 ? "host state identical" : "MISMATCH");
	numa_placer_free(q);
	json_object_put(saved);
	return r;
}

/*
 * The peer measured in the same run: one hwloc load of the same topology,
 * which a placer that asked hwloc on every decision would pay each time.
 */
static double hwloc_load_ns(const char *desc)
{
	const int n = 50;
	uint64_t t0 = pv_now_ns();

	for (int i = 0; i < n; i++) {
		struct numa_topo *t = NULL;

		if (numa_topo_load(desc, &t) < 0)
			return 0;
		numa_topo_free(t);
	}
	return (double)(pv_now_ns() - t0) / n;
}

static int run(struct bench *b)
{
	uint64_t t0;
	int r;

	r = numa_topo_load(b->topology, &b->topo);
	if (r < 0)
		return r;
	r = numa_placer_new(b->topo, &b->cfg, &b->p, NULL);
	if (r < 0)
		return r;
	printf("host: %s, %u nodes, %u cores, %u CPUs\n", b->topo->source,
	       b->topo->nr_nodes, b->topo->nr_cores, b->topo->nr_pus);
	t0 = pv_now_ns();
	for (unsigned int i = 0; i < b->vms; i++)
		place_one(b, i);
	printf("fill: %u VMs in %.3f ms (%lu placed, %lu refused)\n", b->vms,
	       (pv_now_ns() - t0) / 1e6, b->placed, b->refused);
	b->decision_ns = churn(b);
	refill(b);
	b->hwloc_ns = hwloc_load_ns(b->topology);
	printf("peer: one hwloc topology load of the same host takes %.1f us; "
	       "a placement decision takes %.1f us (%.0fx faster)\n",
	       b->hwloc_ns / 1e3, b->decision_ns / 1e3,
	       b->hwloc_ns / b->decision_ns);
	r = numa_place_check(b->p, NULL);
	if (r < 0)
		return r;
	return rebuild(b);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"topology", required_argument, NULL, 't'},
	    {"vms", required_argument, NULL, 'n'},
	    {"steps", required_argument, NULL, 's'},
	    {"seed", required_argument, NULL, 'S'},
	    {NULL, 0, NULL, 0},
	};
	struct bench b = {
	    .topology = "pack:2 numa:2(memory=256GB) core:32 pu:2",
	    .vms = 500,
	    .steps = 100000,
	    .seed = 1,
	    .cfg = {.shared_overcommit = 8},
	};
	int c, r;

	pv_log_init("numa-placement-bench", PV_LOG_WARN);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 't')
			b.topology = optarg;
		else if (c == 'n')
			b.vms = (unsigned int)strtoul(optarg, NULL, 0);
		else if (c == 's')
			b.steps = (unsigned int)strtoul(optarg, NULL, 0);
		else if (c == 'S')
			b.seed = (unsigned int)strtoul(optarg, NULL, 0);
		else
			return 2;
	}
	if (!b.vms) {
		fprintf(stderr, "--vms must be at least 1\n");
		return 2;
	}
	r = run(&b);
	numa_placer_free(b.p);
	numa_topo_free(b.topo);
	if (r < 0)
		fprintf(stderr, "bench failed: %s\n", strerror(-r));
	return r < 0 ? 1 : 0;
}
