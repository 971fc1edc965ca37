// SPDX-License-Identifier: Apache-2.0
/*
 * numa/ on synthetic hwloc topologies: what a host operator would check
 * about placements (which CPUs, which node, what is refused and why). The
 * seeded random run and the restart rebuild are in test_numa_random.c.
 */
#include <check.h>
#include <hwloc.h>
#include <unistd.h>
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "podvisor/log.h"
#include "podvisor/numa.h"
#include "podvisor/util.h"
#include "podvisor/vm_config.h"

#include "numa_fixture.h"

START_TEST(test_topology_synthetic)
{
	setup_with(TOPO_4N, NULL);
	ck_assert_uint_eq(topo->nr_nodes, 4);
	ck_assert_uint_eq(topo->nr_packages, 2);
	ck_assert_uint_eq(topo->nr_cores, 32);
	ck_assert_uint_eq(topo->nr_pus, 64);
	/* SMT siblings are adjacent PUs of one core, cores grouped by node */
	ck_assert_uint_eq(topo->cores[5].nr_pus, 2);
	ck_assert_int_eq(topo->pus[topo->cores[5].first_pu].os_index, 10);
	ck_assert_int_eq(topo->pus[topo->cores[5].first_pu + 1].os_index, 11);
	ck_assert_uint_eq(topo->nodes[2].first_core, 16);
	ck_assert_uint_eq(topo->cores[17].package, 1);
	ck_assert_uint_eq(topo->nodes[3].memory_mib, 16000000000ULL / MiB);
	ck_assert_int_eq(
	    numa_topo_load("pack:banana", &(struct numa_topo *){NULL}),
	    -EINVAL);
	teardown();
}
END_TEST

START_TEST(test_host_topology)
{
	struct numa_topo *h = NULL;

	/* This machine: whatever it is, every PU belongs to a core and a
	 * node, and the node's memory is nonzero. */
	ck_assert_int_eq(numa_topo_load(NULL, &h), 0);
	ck_assert_uint_ge(h->nr_pus, 1);
	ck_assert_uint_ge(h->nr_nodes, 1);
	ck_assert_uint_gt(h->nodes[0].memory_mib, 0);
	ck_assert_str_eq(h->source, "host");
	numa_topo_free(h);
}
END_TEST

START_TEST(test_smt_siblings_kept_together)
{
	struct numa_alloc a;

	setup_with(TOPO_4N, NULL);
	ck_assert_int_eq(place("vm3", 3, 512, NUMA_CPUS_DEDICATED, 0, NULL, &a),
	                 0);
	/* 3 vCPUs take 2 whole cores: all 4 siblings reserved */
	ck_assert_uint_eq(a.nr_cpus, 4);
	ck_assert_int_eq(core_of(a.cpus[0]), core_of(a.cpus[1]));
	ck_assert_int_eq(core_of(a.cpus[2]), core_of(a.cpus[3]));
	ck_assert_int_eq(core_of(a.vcpu_cpus[0]), core_of(a.vcpu_cpus[1]));
	ck_assert_int_ne(a.vcpu_cpus[0], a.vcpu_cpus[1]);
	ck_assert_int_ne(core_of(a.vcpu_cpus[2]), core_of(a.vcpu_cpus[0]));
	ck_assert_int_eq(a.vcpu_cpus[3], -1);
	ck_assert_int_eq(a.cpu_node, 0);
	ck_assert_int_eq(a.mem[0].node, 0);
	/* The 4th sibling is not given to anyone else: node 0 keeps exactly
	 * 7 - 2 free cores, so 5 more 1-vCPU VMs and not 6 */
	for (int i = 0; i < 5; i++) {
		struct numa_alloc b;
		char id[8];

		snprintf(id, sizeof(id), "s%d", i);
		ck_assert_int_eq(
		    place(id, 1, 64, NUMA_CPUS_DEDICATED, 0, NULL, &b), 0);
		ck_assert(!share_core(&a, &b));
	}
	ck_assert_int_eq(place("s6", 1, 64, NUMA_CPUS_DEDICATED, 0, NULL, NULL),
	                 -ENOSPC);
	ck_assert_int_eq(numa_place_check(pl, NULL), 0);
	teardown();
}
END_TEST

START_TEST(test_housekeeping_never_handed_out)
{
	struct numa_place_config cfg = {.housekeeping_cpus = "0,33"};
	struct numa_alloc a;
	int placed = 0;

	setup_with(TOPO_4N, &cfg);
	for (int i = 0; i < 100; i++) {
		char id[8];

		snprintf(id, sizeof(id), "d%d", i);
		if (place(id, 2, 64,
		          i % 2 ? NUMA_CPUS_DEDICATED : NUMA_CPUS_SHARED, -1,
		          i % 3 ? "a" : "b", &a) < 0)
			continue;
		placed++;
		for (unsigned int k = 0; k < a.nr_cpus; k++) {
			/* 0 and 33 and their siblings 1 and 32 */
			ck_assert_int_ne(a.cpus[k], 0);
			ck_assert_int_ne(a.cpus[k], 1);
			ck_assert_int_ne(a.cpus[k], 32);
			ck_assert_int_ne(a.cpus[k], 33);
		}
		if (node_of(a.cpus[0]) == 0)
			ck_assert_str_eq(a.housekeeping_cpus, "0-1");
	}
	ck_assert_int_gt(placed, 30);
	teardown();

	/* default: the first core of each node */
	setup_with(TOPO_4N, NULL);
	ck_assert_int_eq(place("x", 2, 64, NUMA_CPUS_DEDICATED, 2, NULL, &a),
	                 0);
	ck_assert_int_eq(a.cpus[0], 34);
	ck_assert_str_eq(a.housekeeping_cpus, "32-33");
	teardown();

	cfg.housekeeping_cpus = "0,999";
	ck_assert_int_eq(numa_topo_load(TOPO_4N, &topo), 0);
	{
		struct numa_place_err err;

		ck_assert_int_eq(numa_placer_new(topo, &cfg, &pl, &err),
		                 -EINVAL);
		ck_assert_str_eq(err.field, "housekeeping_cpus");
	}
	numa_topo_free(topo);
	topo = NULL;
}
END_TEST

START_TEST(test_best_fit_choice)
{
	struct numa_alloc a;

	/* 2 nodes x 4 cores x 1 PU; core 0 of each node is housekeeping,
	 * node 0 has 1 GiB less free memory */
	setup_with("numa:2(memory=8GB) core:4 pu:1", NULL);
	ck_assert_int_eq(place("big", 2, 64, NUMA_CPUS_DEDICATED, 1, NULL, &a),
	                 0);
	/* node 1 has 1 free core, node 0 has 3: a 1-core VM goes to node 1 */
	ck_assert_int_eq(place("one", 1, 64, NUMA_CPUS_DEDICATED, -1, NULL, &a),
	                 0);
	ck_assert_int_eq(a.cpu_node, 1);
	/* node 1 is full now */
	ck_assert_int_eq(place("two", 1, 64, NUMA_CPUS_DEDICATED, -1, NULL, &a),
	                 0);
	ck_assert_int_eq(a.cpu_node, 0);
	teardown();

	/* Equal free cores: the node with less free memory wins, whichever
	 * node that is */
	setup_with("numa:2(memory=8GB) core:4 pu:1", NULL);
	ck_assert_int_eq(place("m0", 1, 3000, NUMA_CPUS_DEDICATED, 0, NULL, &a),
	                 0);
	ck_assert_int_eq(place("m1", 1, 1000, NUMA_CPUS_DEDICATED, 1, NULL, &a),
	                 0);
	ck_assert_int_eq(place("q", 1, 64, NUMA_CPUS_DEDICATED, -1, NULL, &a),
	                 0);
	ck_assert_int_eq(a.cpu_node, 0);
	ck_assert_int_eq(numa_place_release(pl, "q"), 0);
	ck_assert_int_eq(numa_place_release(pl, "m0"), 0);
	ck_assert_int_eq(numa_place_release(pl, "m1"), 0);
	ck_assert_int_eq(place("m0", 1, 1000, NUMA_CPUS_DEDICATED, 0, NULL, &a),
	                 0);
	ck_assert_int_eq(place("m1", 1, 3000, NUMA_CPUS_DEDICATED, 1, NULL, &a),
	                 0);
	ck_assert_int_eq(place("q", 1, 64, NUMA_CPUS_DEDICATED, -1, NULL, &a),
	                 0);
	ck_assert_int_eq(a.cpu_node, 1);
	teardown();
}
END_TEST

START_TEST(test_fragmentation_create_delete)
{
	struct numa_alloc a, big;

	/* 2 nodes x 1+3 cores: best fit keeps small VMs together so a node
	 * stays whole for a 3-core VM, through create/delete churn. */
	setup_with("numa:2 core:4 pu:1", NULL);
	for (int round = 0; round < 20; round++) {
		char id[16];

		snprintf(id, sizeof(id), "s%d", round % 2);
		if (round >= 2)
			ck_assert_int_eq(numa_place_release(pl, id), 0);
		ck_assert_int_eq(
		    place(id, 1, 64, NUMA_CPUS_DEDICATED, -1, NULL, &a), 0);
		ck_assert_int_eq(numa_place_check(pl, NULL), 0);
	}
	ck_assert_int_eq(
	    place("big", 3, 64, NUMA_CPUS_DEDICATED, -1, NULL, &big), 0);
	ck_assert_int_eq(numa_place_check(pl, NULL), 0);
	/* the two small VMs share one node, the big one has the other */
	ck_assert_int_ne(big.cpu_node, numa_place_lookup(pl, "s0")->cpu_node);
	ck_assert_int_eq(numa_place_lookup(pl, "s0")->cpu_node,
	                 numa_place_lookup(pl, "s1")->cpu_node);
	teardown();
}
END_TEST

START_TEST(test_isolation_groups_never_share_a_core)
{
	struct numa_alloc a[6];

	setup_with("numa:1 core:6 pu:2", NULL);
	ck_assert_int_eq(place("a1", 2, 64, NUMA_CPUS_SHARED, -1, "red", &a[0]),
	                 0);
	ck_assert_int_eq(
	    place("b1", 1, 64, NUMA_CPUS_SHARED, -1, "blue", &a[1]), 0);
	ck_assert_int_eq(place("a2", 3, 64, NUMA_CPUS_SHARED, -1, "red", &a[2]),
	                 0);
	ck_assert_int_eq(
	    place("d1", 2, 64, NUMA_CPUS_DEDICATED, -1, "blue", &a[3]), 0);
	ck_assert(!share_core(&a[0], &a[1]));
	ck_assert(!share_core(&a[2], &a[1]));
	ck_assert(!share_core(&a[3], &a[0]));
	ck_assert(!share_core(&a[3], &a[1]));
	ck_assert(!share_core(&a[3], &a[2]));
	/* same group floats over the same pool */
	ck_assert(share_core(&a[0], &a[2]));
	ck_assert_int_eq(a[0].vcpu_cpus[0], -1);
	ck_assert_int_eq(numa_place_check(pl, NULL), 0);
	teardown();
}
END_TEST

START_TEST(test_nofit_507_content)
{
	struct numa_place_err err;
	struct numa_spec s;
	json_object *j, *free_arr, *n0;

	setup_with("numa:2(memory=4GB) core:4 pu:2", NULL);
	numa_spec_init(&s, 8, 1024);
	s.cpus = NUMA_CPUS_DEDICATED;
	ck_assert_int_eq(numa_place_vm(pl, "huge", &s, NULL, &err), -ENOSPC);
	ck_assert_ptr_nonnull(strstr(err.message, "8 dedicated vCPUs"));
	ck_assert_ptr_nonnull(strstr(err.message, "allow_span"));
	ck_assert_uint_eq(numa_place_count(pl), 0);
	j = numa_place_nofit_json(pl, &s);
	ck_assert_int_eq(json_object_get_int(get(get(j, "asked"), "vcpus")), 8);
	ck_assert_str_eq(json_object_get_string(get(get(j, "asked"), "cpus")),
	                 "dedicated");
	free_arr = get(j, "free");
	ck_assert_uint_eq(json_object_array_length(free_arr), 2);
	n0 = json_object_array_get_idx(free_arr, 0);
	ck_assert_int_eq(json_object_get_int(get(n0, "free_cores")), 3);
	ck_assert_int_eq(
	    json_object_get_int(get(n0, "largest_dedicated_vcpus")), 6);
	ck_assert_int_eq(json_object_get_int(get(n0, "memory_free_mib")),
	                 4000000000 / MiB);
	json_object_put(j);

	/* memory: strict refuses naming the node, preferred falls back */
	numa_spec_init(&s, 1, 6000);
	s.numa_node = 1;
	ck_assert_int_eq(numa_place_vm(pl, "fat", &s, NULL, &err), -ENOSPC);
	ck_assert_ptr_nonnull(strstr(err.message, "node 1 has 3814 MiB free"));

	/* shared: more vCPUs than the pool takes names the overcommit */
	numa_spec_init(&s, 64, 16);
	s.cpus = NUMA_CPUS_SHARED;
	ck_assert_int_eq(numa_place_vm(pl, "wide", &s, NULL, &err), -ENOSPC);
	ck_assert_msg(strstr(err.message, "vCPU overcommit"), "%s",
	              err.message);
	teardown();
}
END_TEST

START_TEST(test_memory_preferred_fallback)
{
	struct numa_spec s;
	struct numa_alloc a;

	setup_with("numa:2(memory=4GB) core:4 pu:1", NULL);
	numa_spec_init(&s, 1, 6000);
	s.numa_node = 1;
	s.memory_policy = NUMA_MEM_PREFERRED;
	ck_assert_int_eq(numa_place_vm(pl, "fat", &s, &a, NULL), 0);
	ck_assert(a.memory_fallback);
	ck_assert_int_eq(a.cpu_node, 1);
	ck_assert_uint_eq(a.nr_mem, 2);
	ck_assert_int_eq(a.mem[0].node, 1);
	ck_assert_uint_eq(a.mem[0].memory_mib, 3814);
	ck_assert_int_eq(a.mem[1].node, 0);
	ck_assert_uint_eq(a.mem[1].memory_mib, 6000 - 3814);
	ck_assert_ptr_nonnull(strstr(a.note, "node 1 had 3814 of 6000 MiB"));
	ck_assert_uint_eq(numa_place_free_mib(pl, 1), 0);
	ck_assert_int_eq(numa_place_check(pl, NULL), 0);
	ck_assert_int_eq(numa_place_release(pl, "fat"), 0);
	ck_assert_uint_eq(numa_place_free_mib(pl, 1), 3814);
	ck_assert_uint_eq(numa_place_free_mib(pl, 0), 3814);
	teardown();
}
END_TEST

START_TEST(test_hugepages_per_node)
{
	struct numa_spec s;
	struct numa_alloc a;
	struct numa_place_err err;

	ck_assert_int_eq(numa_topo_load("numa:2 core:4 pu:1", &topo), 0);
	ck_assert_int_eq(numa_topo_set_hugepages(topo, 1, 2048, 600, 512), 0);
	ck_assert_int_eq(numa_placer_new(topo, NULL, &pl, NULL), 0);
	numa_spec_init(&s, 1, 768);
	s.hugepages = true;
	ck_assert_int_eq(numa_place_vm(pl, "h1", &s, &a, NULL), 0);
	ck_assert_int_eq(a.cpu_node, 1); /* the only node with hugepages */
	ck_assert_uint_eq(numa_place_free_hp2m(pl, 1), 512 - 384);
	ck_assert_int_eq(numa_place_vm(pl, "h2", &s, &a, &err), -ENOSPC);
	s.memory_mib = 3;
	ck_assert_int_eq(numa_place_vm(pl, "h3", &s, &a, &err), -EINVAL);
	ck_assert_str_eq(err.field, "memory_mib");
	ck_assert_int_eq(numa_place_release(pl, "h1"), 0);
	ck_assert_uint_eq(numa_place_free_hp2m(pl, 1), 512);
	teardown();
}
END_TEST

START_TEST(test_span_exposes_guest_nodes)
{
	struct numa_spec s;
	struct numa_alloc a;

	setup_with(TOPO_4N, NULL);
	numa_spec_init(&s, 20, 4000);
	s.cpus = NUMA_CPUS_DEDICATED;
	ck_assert_int_eq(numa_place_vm(pl, "w", &s, &a, NULL), -ENOSPC);
	s.allow_span = true;
	ck_assert_int_eq(numa_place_vm(pl, "w", &s, &a, NULL), 0);
	/* a node offers 7 cores = 14 PUs: 14 + 6 */
	ck_assert_uint_eq(a.nr_guest_nodes, 2);
	ck_assert_uint_eq(a.guest_nodes[0].nr_vcpus, 14);
	ck_assert_uint_eq(a.guest_nodes[1].nr_vcpus, 6);
	ck_assert_uint_eq(a.guest_nodes[1].first_vcpu, 14);
	ck_assert_uint_eq(
	    a.guest_nodes[0].memory_mib + a.guest_nodes[1].memory_mib, 4000);
	ck_assert_int_eq(node_of(a.vcpu_cpus[0]), a.guest_nodes[0].host_node);
	ck_assert_int_eq(node_of(a.vcpu_cpus[19]), a.guest_nodes[1].host_node);
	ck_assert_int_eq(a.cpu_node, -1);
	ck_assert_int_eq(numa_place_check(pl, NULL), 0);
	teardown();
}
END_TEST

START_TEST(test_spec_json_errors)
{
	struct numa_place_err err;
	struct numa_spec s;
	json_object *o;

	o = json_tokener_parse("{\"cpus\":\"exclusive\"}");
	ck_assert_int_eq(numa_spec_from_json(o, 2, 512, &s, &err), -EINVAL);
	ck_assert_str_eq(err.field, "placement.cpus");
	ck_assert_ptr_nonnull(strstr(err.message, "\"dedicated\""));
	json_object_put(o);
	o = json_tokener_parse("{\"cpus\":\"dedicated\",\"numa_node\":3,"
	                       "\"isolation_group\":\"red\","
	                       "\"hugepages\":true,\"memory_policy\":"
	                       "\"preferred\",\"allow_span\":true}");
	ck_assert_int_eq(numa_spec_from_json(o, 2, 512, &s, &err), 0);
	ck_assert_int_eq(s.cpus, NUMA_CPUS_DEDICATED);
	ck_assert_int_eq(s.numa_node, 3);
	ck_assert_str_eq(s.isolation_group, "red");
	ck_assert(s.hugepages && s.allow_span);
	ck_assert_int_eq(s.memory_policy, NUMA_MEM_PREFERRED);
	json_object_put(o);
	o = json_tokener_parse("{\"numa-node\":1}");
	ck_assert_int_eq(numa_spec_from_json(o, 2, 512, &s, &err), -EINVAL);
	ck_assert_str_eq(err.field, "placement.numa-node");
	json_object_put(o);
	o = json_tokener_parse("{\"numa_node\":\"near\"}");
	ck_assert_int_eq(numa_spec_from_json(o, 2, 512, &s, &err), -EINVAL);
	ck_assert_str_eq(err.field, "placement.numa_node");
	json_object_put(o);

	/* a node the host lacks is a 400 naming the field, not a 507 */
	setup_with("numa:2 core:4 pu:1", NULL);
	numa_spec_init(&s, 1, 64);
	s.numa_node = 5;
	ck_assert_int_eq(numa_place_vm(pl, "x", &s, NULL, &err), -EINVAL);
	ck_assert_str_eq(err.field, "placement.numa_node");
	numa_spec_init(&s, 1, 64);
	ck_assert_int_eq(numa_place_vm(pl, "x", &s, NULL, &err), 0);
	ck_assert_int_eq(numa_place_vm(pl, "x", &s, NULL, &err), -EEXIST);
	ck_assert_int_eq(numa_place_release(pl, "nope"), -ENOENT);
	teardown();
}
END_TEST

START_TEST(test_cpulist)
{
	int cpus[8];
	char buf[64];

	ck_assert_int_eq(numa_cpulist_parse("0-2,7", cpus, 8), 4);
	ck_assert_int_eq(cpus[3], 7);
	ck_assert_int_eq(numa_cpulist_format(cpus, 4, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "0-2,7");
	ck_assert_int_eq(numa_cpulist_parse("0-20", cpus, 8), -E2BIG);
	ck_assert_int_eq(numa_cpulist_parse("x", cpus, 8), -EINVAL);
	ck_assert_int_eq(numa_cpulist_parse("3-", cpus, 8), -EINVAL);
}
END_TEST

START_TEST(test_topology_xml)
{
	char path[] = "/tmp/pv-numa-topo-XXXXXX.xml";
	hwloc_topology_t h;
	int fd = mkstemps(path, 4);

	/* an XML export, as "lstopo --of xml" writes it on another host */
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(hwloc_topology_init(&h), 0);
	ck_assert_int_eq(hwloc_topology_set_synthetic(h, "numa:3 core:2 pu:4"),
	                 0);
	ck_assert_int_eq(hwloc_topology_load(h), 0);
	ck_assert_int_eq(hwloc_topology_export_xml(h, path, 0), 0);
	hwloc_topology_destroy(h);
	ck_assert_int_eq(numa_topo_load(path, &topo), 0);
	unlink(path);
	ck_assert_uint_eq(topo->nr_nodes, 3);
	ck_assert_uint_eq(topo->nr_cores, 6);
	ck_assert_uint_eq(topo->cores[5].nr_pus, 4);
	ck_assert_ptr_nonnull(strstr(topo->source, "xml:"));
	numa_topo_free(topo);
	topo = NULL;
}
END_TEST

START_TEST(test_vm_config_from_alloc)
{
	struct vm_config c = {0};
	struct numa_alloc a;

	setup_with(TOPO_4N, NULL);
	ck_assert_int_eq(place("d", 2, 512, NUMA_CPUS_DEDICATED, 1, NULL, &a),
	                 0);
	ck_assert_int_eq(numa_alloc_to_vm_config(&a, &c), 0);
	ck_assert_int_eq(c.vcpu_cpus[0], 18);
	ck_assert_int_eq(c.vcpu_cpus[1], 19);
	ck_assert_int_eq(c.vcpu_cpus[2], -1);
	ck_assert_str_eq(c.housekeeping_cpus, "16-17");
	ck_assert_int_eq(c.numa_node, 1);
	ck_assert(!c.numa_preferred);
	/* shared: vCPUs unpinned, every VMM thread on the group's pool */
	ck_assert_int_eq(place("s", 3, 512, NUMA_CPUS_SHARED, 2, "red", &a), 0);
	ck_assert_int_eq(numa_alloc_to_vm_config(&a, &c), 0);
	ck_assert_int_eq(c.vcpu_cpus[0], -1);
	ck_assert_str_eq(c.housekeeping_cpus, "34-35");
	ck_assert_int_eq(c.numa_node, 2);
	free(c.housekeeping_cpus);
	teardown();
}
END_TEST

START_TEST(test_http_status_and_alias)
{
	struct numa_place_err err;
	struct numa_spec s;
	json_object *o;

	ck_assert_int_eq(numa_place_http_status(-ENOSPC), 507);
	ck_assert_int_eq(numa_place_http_status(-EINVAL), 400);
	ck_assert_int_eq(numa_place_http_status(-EEXIST), 409);
	ck_assert_int_eq(numa_place_http_status(-ENOENT), 404);
	o = json_tokener_parse("{\"dedicated\":true}");
	ck_assert_int_eq(numa_spec_from_json(o, 1, 64, &s, &err), 0);
	ck_assert_int_eq(s.cpus, NUMA_CPUS_DEDICATED);
	json_object_put(o);
	o = json_tokener_parse("{\"dedicated\":true,\"cpus\":\"shared\"}");
	ck_assert_int_eq(numa_spec_from_json(o, 1, 64, &s, &err), -EINVAL);
	ck_assert_str_eq(err.field, "placement.dedicated");
	json_object_put(o);
}
END_TEST

static Suite *numa_suite(void)
{
	Suite *s = suite_create("numa");
	TCase *tc = tcase_create("place");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_topology_synthetic);
	tcase_add_test(tc, test_host_topology);
	tcase_add_test(tc, test_smt_siblings_kept_together);
	tcase_add_test(tc, test_housekeeping_never_handed_out);
	tcase_add_test(tc, test_best_fit_choice);
	tcase_add_test(tc, test_fragmentation_create_delete);
	tcase_add_test(tc, test_isolation_groups_never_share_a_core);
	tcase_add_test(tc, test_nofit_507_content);
	tcase_add_test(tc, test_memory_preferred_fallback);
	tcase_add_test(tc, test_hugepages_per_node);
	tcase_add_test(tc, test_span_exposes_guest_nodes);
	tcase_add_test(tc, test_spec_json_errors);
	tcase_add_test(tc, test_cpulist);
	tcase_add_test(tc, test_topology_xml);
	tcase_add_test(tc, test_vm_config_from_alloc);
	tcase_add_test(tc, test_http_status_and_alias);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(numa_suite());
	int failed;

	pv_log_init("test_numa", PV_LOG_ERR);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
