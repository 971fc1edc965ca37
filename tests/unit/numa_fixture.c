// SPDX-License-Identifier: Apache-2.0
/* The placer fixture shared by the numa unit tests (numa_fixture.h). */
#include <check.h>
#include <stdio.h>

#include "numa_fixture.h"

struct numa_topo *topo;
struct numa_placer *pl;

void setup_with(const char *desc, const struct numa_place_config *c)
{
	struct numa_place_err err;

	ck_assert_int_eq(numa_topo_load(desc, &topo), 0);
	ck_assert_int_eq(numa_placer_new(topo, c, &pl, &err), 0);
}

void teardown(void)
{
	numa_placer_free(pl);
	numa_topo_free(topo);
	pl = NULL;
	topo = NULL;
}

int place(const char *id, unsigned int vcpus, uint64_t mib,
          enum numa_cpus_mode mode, int node, const char *group,
          struct numa_alloc *a)
{
	struct numa_spec s;

	numa_spec_init(&s, vcpus, mib);
	s.cpus = mode;
	s.numa_node = node;
	if (group)
		snprintf(s.isolation_group, sizeof(s.isolation_group), "%s",
		         group);
	return numa_place_vm(pl, id, &s, a, NULL);
}

int core_of(int cpu)
{
	int pu = numa_topo_pu_by_os(topo, cpu);

	if (pu < 0)
		ck_abort_msg("CPU %d is not in the topology", cpu);
	return (int)topo->pus[pu].core;
}

int node_of(int cpu)
{
	return topo->nodes[topo->cores[core_of(cpu)].node].os_index;
}

bool share_core(const struct numa_alloc *a, const struct numa_alloc *b)
{
	for (unsigned int i = 0; i < a->nr_cpus; i++)
		for (unsigned int k = 0; k < b->nr_cpus; k++)
			if (core_of(a->cpus[i]) == core_of(b->cpus[k]))
				return true;
	return false;
}

json_object *get(json_object *o, const char *k)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, k, &v))
		ck_abort_msg("no key %s", k);
	return v;
}
