/* SPDX-License-Identifier: Apache-2.0 */
/* The placer fixture shared by the numa unit tests (numa_fixture.c). */
#ifndef PODVISOR_TEST_NUMA_FIXTURE_H
#define PODVISOR_TEST_NUMA_FIXTURE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "podvisor/numa.h"

/* 2 packages x 2 nodes x 8 cores x 2 PUs: CPUs 0-15 node 0, ... */
#define TOPO_4N "pack:2 numa:2(memory=16GB) core:8 pu:2"

extern struct numa_topo *topo;
extern struct numa_placer *pl;

/* Loads the hwloc synthetic (or XML) description desc and a placer on it. */
void setup_with(const char *desc, const struct numa_place_config *c);
void teardown(void);
/* Places VM id; returns numa_place_vm()'s result. group may be NULL. */
int place(const char *id, unsigned int vcpus, uint64_t mib,
          enum numa_cpus_mode mode, int node, const char *group,
          struct numa_alloc *a);
int core_of(int cpu);
int node_of(int cpu);
bool share_core(const struct numa_alloc *a, const struct numa_alloc *b);
/* o[k], failing the test when it is missing. */
json_object *get(json_object *o, const char *k);

#endif
