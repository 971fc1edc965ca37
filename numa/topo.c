/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hwloc -> plain arrays. hwloc is only used here, once, so the placer can be
 * a pure function of small arrays (and fast: see scripts/bench/placement.sh).
 */
#include <errno.h>
#include <hwloc.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "podvisor/log.h"
#include "podvisor/numa.h"
#include "podvisor/util.h"

#define HP2M_BYTES (2ULL * 1024 * 1024)
#define HP1G_BYTES (1024ULL * 1024 * 1024)

void numa_topo_free(struct numa_topo *topo)
{
	if (!topo)
		return;
	free(topo->nodes);
	free(topo->cores);
	free(topo->pus);
	free(topo);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);

	return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

/* Reads one small unsigned number from sysfs; 0 when absent. */
static uint64_t sysfs_u64(const char *path)
{
	unsigned long long v = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return 0;
	if (fscanf(f, "%llu", &v) != 1)
		v = 0;
	fclose(f);
	return v;
}

static void host_hugepages(struct numa_topo_node *n)
{
	static const char base[] = "/sys/devices/system/node/node";
	char path[160];

	snprintf(path, sizeof(path),
	         "%s%d/hugepages/hugepages-2048kB/nr_hugepages", base,
	         n->os_index);
	n->hp2m_total = sysfs_u64(path);
	snprintf(path, sizeof(path),
	         "%s%d/hugepages/hugepages-2048kB/free_hugepages", base,
	         n->os_index);
	n->hp2m_free = sysfs_u64(path);
	snprintf(path, sizeof(path),
	         "%s%d/hugepages/hugepages-1048576kB/nr_hugepages", base,
	         n->os_index);
	n->hp1g_total = sysfs_u64(path);
	snprintf(path, sizeof(path),
	         "%s%d/hugepages/hugepages-1048576kB/free_hugepages", base,
	         n->os_index);
	n->hp1g_free = sysfs_u64(path);
}

static void described_hugepages(struct numa_topo_node *n, hwloc_obj_t obj)
{
	const struct hwloc_numanode_attr_s *a = &obj->attr->numanode;

	for (unsigned int i = 0; i < a->page_types_len; i++) {
		if (a->page_types[i].size == HP2M_BYTES)
			n->hp2m_total = a->page_types[i].count;
		else if (a->page_types[i].size == HP1G_BYTES)
			n->hp1g_total = a->page_types[i].count;
	}
	n->hp2m_free = n->hp2m_total;
	n->hp1g_free = n->hp1g_total;
}

/* Appends the core that holds PU obj (or the PU alone when hwloc knows no
 * core above it) with every allowed PU of that core. */
static int add_core(struct numa_topo *t, hwloc_topology_t h, hwloc_obj_t pu,
                    unsigned int node, signed char *seen)
{
	hwloc_obj_t core =
	    hwloc_get_ancestor_obj_by_type(h, HWLOC_OBJ_CORE, pu);
	hwloc_obj_t pkg =
	    hwloc_get_ancestor_obj_by_type(h, HWLOC_OBJ_PACKAGE, pu);
	hwloc_const_cpuset_t set = core ? core->cpuset : pu->cpuset;
	struct numa_topo_core *c = &t->cores[t->nr_cores];
	hwloc_obj_t sib = NULL;

	c->node = node;
	c->package = pkg ? pkg->logical_index : 0;
	c->first_pu = t->nr_pus;
	c->nr_pus = 0;
	while ((sib = hwloc_get_next_obj_inside_cpuset_by_type(
	            h, set, HWLOC_OBJ_PU, sib)) != NULL) {
		if (seen[sib->logical_index])
			continue;
		seen[sib->logical_index] = 1;
		t->pus[t->nr_pus].os_index = (int)sib->os_index;
		t->pus[t->nr_pus].core = t->nr_cores;
		t->nr_pus++;
		c->nr_pus++;
	}
	if (c->nr_pus)
		t->nr_cores++;
	return 0;
}

static int convert(hwloc_topology_t h, struct numa_topo *t, bool host)
{
	int nn = hwloc_get_nbobjs_by_type(h, HWLOC_OBJ_NUMANODE);
	int npu = hwloc_get_nbobjs_by_type(h, HWLOC_OBJ_PU);
	int npkg = hwloc_get_nbobjs_by_type(h, HWLOC_OBJ_PACKAGE);
	_cleanup_free_ signed char *seen = NULL;

	if (nn <= 0 || npu <= 0 || nn > NUMA_MAX_NODES)
		return log_err_errno(EINVAL,
		                     "topology %s: %d NUMA nodes, %d PUs "
		                     "(need 1..%d nodes and a PU)",
		                     t->source, nn, npu, NUMA_MAX_NODES);
	t->nodes = calloc((size_t)nn, sizeof(*t->nodes));
	t->cores = calloc((size_t)npu, sizeof(*t->cores));
	t->pus = calloc((size_t)npu, sizeof(*t->pus));
	seen = calloc((size_t)npu, 1);
	if (!t->nodes || !t->cores || !t->pus || !seen)
		return -ENOMEM;
	t->nr_packages = npkg > 0 ? (unsigned int)npkg : 1;
	for (int i = 0; i < nn; i++) {
		hwloc_obj_t obj = hwloc_get_obj_by_type(h, HWLOC_OBJ_NUMANODE,
		                                        (unsigned int)i);
		struct numa_topo_node *n = &t->nodes[i];
		hwloc_obj_t pu = NULL;

		n->os_index = (int)obj->os_index;
		n->memory_mib = obj->attr->numanode.local_memory / MiB;
		if (host)
			host_hugepages(n);
		else
			described_hugepages(n, obj);
		n->first_core = t->nr_cores;
		while ((pu = hwloc_get_next_obj_inside_cpuset_by_type(
		            h, obj->cpuset, HWLOC_OBJ_PU, pu)) != NULL) {
			if (!seen[pu->logical_index])
				add_core(t, h, pu, (unsigned int)i, seen);
		}
		n->nr_cores = t->nr_cores - n->first_core;
		t->nr_nodes++;
	}
	return 0;
}

int numa_topo_load(const char *source, struct numa_topo **out)
{
	bool host = !source || !*source || strcmp(source, "host") == 0;
	struct numa_topo *t = calloc(1, sizeof(*t));
	hwloc_topology_t h;
	int r;

	if (!t)
		return -ENOMEM;
	if (hwloc_topology_init(&h) < 0) {
		free(t);
		return log_err_errno(errno, "hwloc_topology_init");
	}
	if (host) {
		snprintf(t->source, sizeof(t->source), "host");
		r = 0;
	} else if (ends_with(source, ".xml")) {
		snprintf(t->source, sizeof(t->source), "xml:%s", source);
		r = hwloc_topology_set_xml(h, source);
	} else {
		snprintf(t->source, sizeof(t->source), "synthetic:%s", source);
		r = hwloc_topology_set_synthetic(h, source);
	}
	if (r < 0) {
		r = log_err_errno(errno ? errno : EINVAL,
		                  "topology %s: hwloc cannot read it (give an "
		                  "lstopo XML file or a synthetic description "
		                  "like \"pack:2 numa:2 core:8 pu:2\")",
		                  source);
		goto fail;
	}
	if (hwloc_topology_load(h) < 0) {
		r = log_err_errno(errno, "topology %s: hwloc load", t->source);
		goto fail;
	}
	r = convert(h, t, host);
	if (r < 0)
		goto fail;
	hwloc_topology_destroy(h);
	log_debug("topology %s: %u nodes, %u cores, %u PUs", t->source,
	          t->nr_nodes, t->nr_cores, t->nr_pus);
	*out = t;
	return 0;
fail:
	hwloc_topology_destroy(h);
	numa_topo_free(t);
	return r;
}

int numa_topo_node_by_os(const struct numa_topo *topo, int os_node)
{
	for (unsigned int i = 0; i < topo->nr_nodes; i++)
		if (topo->nodes[i].os_index == os_node)
			return (int)i;
	return -ENOENT;
}

int numa_topo_pu_by_os(const struct numa_topo *topo, int os_cpu)
{
	for (unsigned int i = 0; i < topo->nr_pus; i++)
		if (topo->pus[i].os_index == os_cpu)
			return (int)i;
	return -ENOENT;
}

int numa_topo_set_hugepages(struct numa_topo *topo, unsigned int node,
                            unsigned long size_kib, uint64_t total,
                            uint64_t free_pages)
{
	struct numa_topo_node *n;

	if (node >= topo->nr_nodes || free_pages > total)
		return -EINVAL;
	n = &topo->nodes[node];
	if (size_kib == 2048) {
		n->hp2m_total = total;
		n->hp2m_free = free_pages;
	} else if (size_kib == 1048576) {
		n->hp1g_total = total;
		n->hp1g_free = free_pages;
	} else {
		return -EINVAL;
	}
	return 0;
}
