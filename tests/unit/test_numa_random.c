// SPDX-License-Identifier: Apache-2.0
/*
 * numa/ under churn: a seeded random create/delete run over several
 * topologies, checked against the invariants after every step by code
 * independent of the placer's own checker, and a daemon restart that must
 * rebuild the same allocation from the persisted decisions.
 */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "numa_fixture.h"
#include "podvisor/log.h"
#include "podvisor/util.h"

/* Random spec over the whole space the placer accepts. */
static void random_spec(unsigned int *seed, struct numa_spec *s)
{
	unsigned int r = (unsigned int)rand_r(seed);

	numa_spec_init(s, 1 + r % 5, 256 * (1 + (r / 5) % 8));
	s->cpus = (r / 40) % 2 ? NUMA_CPUS_DEDICATED : NUMA_CPUS_SHARED;
	/* now and then a node this host lacks: must be a 400, never placed */
	s->numa_node =
	    (r / 80) % 3 == 0 ? (int)((r / 240) % (topo->nr_nodes + 1)) : -1;
	snprintf(s->isolation_group, sizeof(s->isolation_group), "g%u",
	         (r / 960) % 3);
	s->hugepages = (r / 2880) % 7 == 0;
	s->memory_policy =
	    (r / 20160) % 4 == 0 ? NUMA_MEM_PREFERRED : NUMA_MEM_STRICT;
	s->allow_span = (r / 80640) % 5 == 0;
}

#define NVM 40

/* Bitmask of the cores a VM holds (the topologies here have <= 64). */
static uint64_t core_mask(const struct numa_alloc *a)
{
	uint64_t m = 0;

	for (unsigned int k = 0; k < a->nr_cpus; k++)
		m |= 1ULL << core_of(a->cpus[k]);
	return m;
}

/*
 * The invariants, checked from the outside through lookups. Plain ifs in
 * the loops: every passing ck_assert costs Check a write to its pipe.
 */
static void check_outside(char ids[NVM][16], const bool *live)
{
	uint64_t used[NUMA_MAX_NODES] = {0}, mask[NVM] = {0}, hk = 0;
	const struct numa_alloc *al[NVM] = {NULL};
	json_object *host, *nodes;

	/* housekeeping by default: the first core of each node */
	for (unsigned int n = 0; n < topo->nr_nodes; n++)
		if (topo->nodes[n].nr_cores)
			hk |= 1ULL << topo->nodes[n].first_core;
	for (int i = 0; i < NVM; i++) {
		const struct numa_alloc *a;

		if (!live[i])
			continue;
		a = al[i] = numa_place_lookup(pl, ids[i]);
		if (!a)
			ck_abort_msg("%s lost", ids[i]);
		mask[i] = core_mask(a);
		for (unsigned int m = 0; m < a->nr_mem && !a->spec.hugepages;
		     m++)
			used[a->mem[m].node] += a->mem[m].memory_mib;
		/* housekeeping: core 0 of each 8-core node */
		if (mask[i] & hk)
			ck_abort_msg("%s holds a housekeeping core", ids[i]);
		for (int k = 0; k < i; k++) {
			const struct numa_alloc *b = al[k];

			if (!b || !(mask[i] & mask[k]))
				continue;
			/* no core in two dedicated VMs; shared pools hold no
			 * dedicated core; groups never share a core */
			if (a->spec.cpus == NUMA_CPUS_DEDICATED ||
			    b->spec.cpus == NUMA_CPUS_DEDICATED ||
			    strcmp(a->spec.isolation_group,
			           b->spec.isolation_group))
				ck_abort_msg("%s and %s share a core", ids[i],
				             ids[k]);
		}
	}
	host = numa_host_to_json(pl);
	nodes = get(host, "nodes");
	for (unsigned int n = 0; n < topo->nr_nodes; n++) {
		json_object *m =
		    get(json_object_array_get_idx(nodes, n), "memory_mib");

		if ((uint64_t)json_object_get_int64(get(m, "used")) !=
		        used[n] ||
		    used[n] > topo->nodes[n].memory_mib)
			ck_abort_msg("node %u: used %" PRIu64 " MiB", n,
			             used[n]);
	}
	json_object_put(host);
}

/* Topologies for the randomized run: SMT 1/2/4, 1-4 nodes, roomy and
 * cramped; with minimum placed/refused counts that prove both happened. */
static const struct {
	const char *desc;
	int min_placed, min_refused;
} random_topos[] = {
    {"pack:2 numa:2(memory=8GB) core:8 pu:2", 1000, 50},
    {"numa:3(memory=4GB) core:5 pu:1", 500, 200},
    {"pack:1 numa:1(memory=16GB) core:6 pu:4", 500, 100},
    {"pack:2 numa:2(memory=2GB) core:3 pu:2", 300, 500},
};

START_TEST(test_random_create_delete_invariants)
{
	char ids[NVM][16];
	bool live[NVM] = {false};
	unsigned int seed = 20261203 + (unsigned int)_i;
	struct numa_place_err err;
	int placed = 0, refused = 0;

	setup_with(random_topos[_i].desc, NULL);
	for (unsigned int n = 0; n < topo->nr_nodes; n++)
		ck_assert_int_eq(
		    numa_topo_set_hugepages(topo, n, 2048, 1024, n * 256), 0);
	for (int i = 0; i < NVM; i++)
		snprintf(ids[i], sizeof(ids[i]), "vm-%d", i);
	for (int step = 0; step < 5000; step++) {
		int i = rand_r(&seed) % NVM;
		struct numa_spec s;
		int r;

		if (live[i]) {
			ck_assert_int_eq(numa_place_release(pl, ids[i]), 0);
			live[i] = false;
		} else {
			random_spec(&seed, &s);
			r = numa_place_vm(pl, ids[i], &s, NULL, &err);
			if (r == -EINVAL &&
			    s.numa_node >= (int)topo->nr_nodes &&
			    !strcmp(err.field, "placement.numa_node"))
				r = 1; /* the 400 it must be */
			else if (r != 0 && r != -ENOSPC)
				ck_abort_msg("step %d: %d %s", step, r,
				             err.message);
			live[i] = r == 0;
			placed += r == 0;
			refused += r == -ENOSPC;
		}
		if (numa_place_check(pl, &err) != 0)
			ck_abort_msg("step %d: %s", step, err.message);
		check_outside(ids, live);
	}
	printf("%s: %d placed, %d refused\n", random_topos[_i].desc, placed,
	       refused);
	ck_assert_int_gt(placed, random_topos[_i].min_placed);
	ck_assert_int_gt(refused, random_topos[_i].min_refused);
	teardown();
}
END_TEST

static char *host_string(struct numa_placer *p)
{
	json_object *j = numa_host_to_json(p);
	char *s = strdup(json_object_to_json_string(j));

	json_object_put(j);
	return s;
}

START_TEST(test_restart_rebuilds_same_allocation)
{
	unsigned int seed = 7;
	json_object *saved = json_object_new_array();
	struct numa_placer *q = NULL;
	struct numa_place_err err;
	struct numa_alloc a1, a2, b;
	char *before, *after;
	char id[16];

	setup_with(TOPO_4N, NULL);
	for (int i = 0; i < 40; i++) {
		struct numa_spec s;

		random_spec(&seed, &s);
		snprintf(id, sizeof(id), "vm%d", i);
		numa_place_vm(pl, id, &s, NULL, NULL);
		if (i % 4 == 3) { /* churn, so pools have shrunk */
			snprintf(id, sizeof(id), "vm%d", i - 2);
			numa_place_release(pl, id);
		}
	}
	ck_assert_uint_gt(numa_place_count(pl), 15);
	for (int i = 0; i < 40; i++) {
		const struct numa_alloc *a;
		json_object *j;

		snprintf(id, sizeof(id), "vm%d", i);
		a = numa_place_lookup(pl, id);

		if (!a)
			continue;
		/* persisted as text, as the daemon does */
		j = numa_alloc_to_json(a);
		json_object_array_add(
		    saved,
		    json_object_new_string(json_object_to_json_string(j)));
		json_object_put(j);
	}
	ck_assert_int_eq(numa_placer_new(topo, NULL, &q, NULL), 0);
	for (size_t i = 0; i < json_object_array_length(saved); i++) {
		json_object *o = json_tokener_parse(json_object_get_string(
		    json_object_array_get_idx(saved, i)));

		ck_assert_int_eq(numa_alloc_from_json(o, &b, &err), 0);
		ck_assert_msg(numa_place_restore(q, &b, &err) == 0, "%s",
		              err.message);
		ck_assert_mem_eq(&b, numa_place_lookup(pl, b.vm_id), sizeof(b));
		json_object_put(o);
	}
	before = host_string(pl);
	after = host_string(q);
	ck_assert_str_eq(before, after);
	ck_assert_int_eq(numa_place_check(q, &err), 0);
	/* and the next decision is the same in both */
	ck_assert_int_eq(
	    place("next", 2, 512, NUMA_CPUS_DEDICATED, -1, NULL, &a1), 0);
	{
		struct numa_placer *tmp = pl;
		int r;

		pl = q;
		r = place("next", 2, 512, NUMA_CPUS_DEDICATED, -1, NULL, &a2);
		pl = tmp;
		ck_assert_int_eq(r, 0);
	}
	ck_assert_mem_eq(&a1, &a2, sizeof(a1));
	/* restoring a decision twice collides: -EEXIST; on another VM's
	 * CPUs: -EBUSY naming the CPU */
	ck_assert_int_eq(numa_place_restore(q, &a1, &err), -EEXIST);
	snprintf(a1.vm_id, sizeof(a1.vm_id), "thief");
	ck_assert_int_eq(numa_place_restore(q, &a1, &err), -EBUSY);
	ck_assert_ptr_nonnull(strstr(err.message, "already reserved by next"));
	/* a tampered file: a shared VM with a pinned vCPU, a wrong node */
	ck_assert_int_eq(numa_place_release(q, "next"), 0);
	a1.cpu_node = (a1.cpu_node + 1) % 4;
	ck_assert_int_eq(numa_place_restore(q, &a1, &err), -EINVAL);
	ck_assert_str_eq(err.field, "cpu_node");
	ck_assert_int_eq(place("sh", 1, 64, NUMA_CPUS_SHARED, -1, NULL, &b), 0);
	ck_assert_int_eq(numa_place_release(pl, "sh"), 0);
	b.vcpu_cpus[0] = b.cpus[0];
	ck_assert_int_eq(numa_place_restore(pl, &b, &err), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err.message, "vCPU 0"));
	free(before);
	free(after);
	numa_placer_free(q);
	json_object_put(saved);
	teardown();
}
END_TEST

static Suite *numa_random_suite(void)
{
	Suite *s = suite_create("numa_random");
	TCase *tc = tcase_create("churn");

	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_random_create_delete_invariants, 0,
	                    (int)ARRAY_SIZE(random_topos));
	tcase_add_test(tc, test_restart_rebuilds_same_allocation);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(numa_random_suite());
	int failed;

	pv_log_init("test_numa_random", PV_LOG_ERR);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
