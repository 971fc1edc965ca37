/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reading a persisted decision back, and the host and 507 views the daemon
 * puts into its JSON answers.
 */
#include <errno.h>
#include <hwloc.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "place_priv.h"
#include "podvisor/numa.h"
#include "podvisor/util.h"

static int bad(struct numa_place_err *err, const char *field)
{
	if (err) {
		err->field = field;
		place_err(err, "persisted placement: \"%s\" missing or wrong",
		          field);
	}
	return -EINVAL;
}

static const char *str_of(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static json_object *arr_of(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_array))
		return NULL;
	return v;
}

static int64_t int_of(json_object *o, const char *key, int64_t dflt)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_int))
		return dflt;
	return json_object_get_int64(v);
}

static int parse_spec(json_object *obj, struct numa_alloc *a,
                      struct numa_place_err *err)
{
	json_object *spec;
	int64_t vcpus, mib;

	if (!json_object_object_get_ex(obj, "spec", &spec))
		return bad(err, "spec");
	vcpus = int_of(spec, "vcpus", -1);
	mib = int_of(spec, "memory_mib", -1);
	if (vcpus < 1 || vcpus > NUMA_MAX_VCPUS || mib < 1)
		return bad(err, "spec");
	return numa_spec_parse(spec, (unsigned int)vcpus, (uint64_t)mib, true,
	                       &a->spec, err);
}

static int parse_lists(json_object *obj, struct numa_alloc *a,
                       struct numa_place_err *err)
{
	const char *cpus = str_of(obj, "host_cpus");
	const char *hk = str_of(obj, "housekeeping_cpus");
	json_object *vc = arr_of(obj, "vcpus");
	int n;

	n = cpus ? numa_cpulist_parse(cpus, a->cpus, NUMA_ALLOC_MAX_CPUS) : -1;
	if (n <= 0)
		return bad(err, "host_cpus");
	a->nr_cpus = (unsigned int)n;
	if (!hk || strlen(hk) >= sizeof(a->housekeeping_cpus))
		return bad(err, "housekeeping_cpus");
	snprintf(a->housekeeping_cpus, sizeof(a->housekeeping_cpus), "%s", hk);
	if (!vc || json_object_array_length(vc) != a->spec.vcpus)
		return bad(err, "vcpus");
	for (unsigned int i = 0; i < NUMA_MAX_VCPUS; i++)
		a->vcpu_cpus[i] = -1;
	for (unsigned int i = 0; i < a->spec.vcpus; i++) {
		json_object *v = json_object_array_get_idx(vc, i);

		a->vcpu_cpus[i] = (int)int_of(v, "host_cpu", -1);
	}
	return 0;
}

static int parse_memory(json_object *obj, struct numa_alloc *a,
                        struct numa_place_err *err)
{
	json_object *mem = arr_of(obj, "memory");
	json_object *gn = arr_of(obj, "guest_numa_nodes");
	json_object *fb;

	if (!mem || !json_object_array_length(mem) ||
	    json_object_array_length(mem) > NUMA_MAX_NODES)
		return bad(err, "memory");
	a->nr_mem = (unsigned int)json_object_array_length(mem);
	for (unsigned int i = 0; i < a->nr_mem; i++) {
		json_object *m = json_object_array_get_idx(mem, i);

		a->mem[i].node = (int)int_of(m, "node", -1);
		a->mem[i].memory_mib = (uint64_t)int_of(m, "memory_mib", 0);
	}
	if (!gn || json_object_array_length(gn) > NUMA_MAX_NODES)
		return bad(err, "guest_numa_nodes");
	a->nr_guest_nodes = (unsigned int)json_object_array_length(gn);
	for (unsigned int i = 0; i < a->nr_guest_nodes; i++) {
		json_object *g = json_object_array_get_idx(gn, i);
		struct numa_guest_node *o = &a->guest_nodes[i];

		o->host_node = (int)int_of(g, "host_node", -1);
		o->first_vcpu = (unsigned int)int_of(g, "first_vcpu", 0);
		o->nr_vcpus = (unsigned int)int_of(g, "nr_vcpus", 0);
		o->memory_mib = (uint64_t)int_of(g, "memory_mib", 0);
	}
	if (json_object_object_get_ex(obj, "memory_fallback", &fb))
		a->memory_fallback = json_object_get_boolean(fb);
	if (str_of(obj, "note"))
		snprintf(a->note, sizeof(a->note), "%s", str_of(obj, "note"));
	return 0;
}

int numa_alloc_from_json(struct json_object *obj, struct numa_alloc *out,
                         struct numa_place_err *err)
{
	const char *id = obj ? str_of(obj, "vm_id") : NULL;
	int r;

	memset(out, 0, sizeof(*out));
	if (err)
		memset(err, 0, sizeof(*err));
	if (!id || !*id || strlen(id) >= NUMA_NAME_MAX)
		return bad(err, "vm_id");
	snprintf(out->vm_id, sizeof(out->vm_id), "%s", id);
	r = parse_spec(obj, out, err);
	if (!r)
		r = parse_lists(obj, out, err);
	if (!r)
		r = parse_memory(obj, out, err);
	out->cpu_node = (int)int_of(obj, "cpu_node", -1);
	return r;
}

static void add_u64(json_object *o, const char *k, uint64_t v)
{
	json_object_object_add(o, k, json_object_new_int64((int64_t)v));
}

static json_object *bitmap_json(hwloc_const_bitmap_t b)
{
	char *list = NULL;
	json_object *o;

	if (hwloc_bitmap_list_asprintf(&list, b) < 0)
		return json_object_new_string("");
	o = json_object_new_string(list);
	free(list);
	return o;
}

/* Adds "<state>_cpus" lists and counts for node n. */
static void node_cpus_json(const struct numa_placer *p, unsigned int n,
                           json_object *o)
{
	static const char *const names[] = {"free", "housekeeping", "dedicated",
	                                    "shared"};
	const struct numa_topo *t = p->topo;
	const struct numa_topo_node *tn = &t->nodes[n];
	hwloc_bitmap_t sets[5];
	char key[32];

	for (unsigned int s = 0; s < 5; s++)
		sets[s] = hwloc_bitmap_alloc();
	for (unsigned int c = tn->first_core; c < tn->first_core + tn->nr_cores;
	     c++) {
		unsigned int st = p->cores[c].state;

		for (unsigned int k = 0; k < t->cores[c].nr_pus; k++) {
			int cpu = t->pus[t->cores[c].first_pu + k].os_index;

			hwloc_bitmap_set(sets[4], (unsigned int)cpu);
			hwloc_bitmap_set(sets[st], (unsigned int)cpu);
		}
	}
	json_object_object_add(o, "cpus", bitmap_json(sets[4]));
	for (unsigned int s = 0; s < 4; s++) {
		snprintf(key, sizeof(key), "%s_cpus", names[s]);
		json_object_object_add(o, key, bitmap_json(sets[s]));
		snprintf(key, sizeof(key), "%s_cpu_count", names[s]);
		add_u64(o, key, (uint64_t)hwloc_bitmap_weight(sets[s]));
	}
	add_u64(o, "free_cores", p->nodes[n].free_cores);
	for (unsigned int s = 0; s < 5; s++)
		hwloc_bitmap_free(sets[s]);
}

static json_object *node_json(const struct numa_placer *p, unsigned int n)
{
	const struct numa_topo_node *tn = &p->topo->nodes[n];
	json_object *o = json_object_new_object();
	json_object *m = json_object_new_object();
	json_object *h2 = json_object_new_object();
	json_object *h1 = json_object_new_object();
	uint64_t free_mib = place_node_free(p, n, false);

	json_object_object_add(o, "node", json_object_new_int(tn->os_index));
	node_cpus_json(p, n, o);
	add_u64(m, "total", tn->memory_mib);
	add_u64(m, "reserved", MIN(p->reserved_mib, tn->memory_mib));
	add_u64(m, "used", p->nodes[n].mem_used_mib);
	add_u64(m, "free", free_mib);
	json_object_object_add(o, "memory_mib", m);
	add_u64(h2, "total", tn->hp2m_total);
	add_u64(h2, "used", p->nodes[n].hp2m_used);
	add_u64(h2, "free", place_node_free(p, n, true) / 2);
	json_object_object_add(o, "hugepages_2m", h2);
	add_u64(h1, "total", tn->hp1g_total);
	add_u64(h1, "free", tn->hp1g_free);
	json_object_object_add(o, "hugepages_1g", h1);
	return o;
}

static int pool_cmp(const void *a, const void *b)
{
	const struct pool *x = *(const struct pool *const *)a;
	const struct pool *y = *(const struct pool *const *)b;

	if (x->node != y->node)
		return x->node < y->node ? -1 : 1;
	return strcmp(x->group, y->group);
}

/* Pools by node, then group: the view must not depend on slot order, so
 * it reads the same after a restart. */
static json_object *pools_json(const struct numa_placer *p)
{
	json_object *arr = json_object_new_array();
	_cleanup_free_ const struct pool **sorted =
	    calloc(p->nr_pools + 1, sizeof(*sorted));
	unsigned int nr = 0;

	for (unsigned int i = 0; sorted && i < p->nr_pools; i++)
		if (p->pools[i].used)
			sorted[nr++] = &p->pools[i];
	qsort(sorted, nr, sizeof(*sorted), pool_cmp);
	for (unsigned int k = 0; k < nr; k++) {
		const struct pool *pl = sorted[k];
		int i = (int)(pl - p->pools);
		hwloc_bitmap_t cpus = hwloc_bitmap_alloc();
		json_object *o;

		for (unsigned int pu = 0; pu < p->topo->nr_pus; pu++) {
			unsigned int c = p->topo->pus[pu].core;

			if (p->cores[c].state == CORE_SHARED &&
			    p->cores[c].owner == i)
				hwloc_bitmap_set(
				    cpus,
				    (unsigned int)p->topo->pus[pu].os_index);
		}
		o = json_object_new_object();
		json_object_object_add(o, "isolation_group",
		                       json_object_new_string(pl->group));
		json_object_object_add(
		    o, "node",
		    json_object_new_int(p->topo->nodes[pl->node].os_index));
		json_object_object_add(o, "cpus", bitmap_json(cpus));
		hwloc_bitmap_free(cpus);
		add_u64(o, "vcpus", pl->vcpus);
		add_u64(o, "vms", pl->vms);
		json_object_array_add(arr, o);
	}
	return arr;
}

struct json_object *numa_host_to_json(const struct numa_placer *p)
{
	json_object *o = json_object_new_object();
	json_object *nodes = json_object_new_array();

	json_object_object_add(o, "topology",
	                       json_object_new_string(p->topo->source));
	add_u64(o, "packages", p->topo->nr_packages);
	add_u64(o, "cores", p->topo->nr_cores);
	add_u64(o, "cpus", p->topo->nr_pus);
	add_u64(o, "shared_overcommit", p->overcommit);
	add_u64(o, "vms", p->count);
	for (unsigned int n = 0; n < p->topo->nr_nodes; n++)
		json_object_array_add(nodes, node_json(p, n));
	json_object_object_add(o, "nodes", nodes);
	json_object_object_add(o, "shared_pools", pools_json(p));
	return o;
}

/* Most dedicated vCPUs node n could still take (all its free cores). */
static unsigned int largest_dedicated(const struct numa_placer *p,
                                      unsigned int n)
{
	const struct numa_topo_node *tn = &p->topo->nodes[n];
	unsigned int pus = 0;

	for (unsigned int c = tn->first_core; c < tn->first_core + tn->nr_cores;
	     c++)
		if (p->cores[c].state == CORE_FREE)
			pus += p->topo->cores[c].nr_pus;
	return pus;
}

struct json_object *numa_place_nofit_json(const struct numa_placer *p,
                                          const struct numa_spec *spec)
{
	json_object *o = json_object_new_object();
	json_object *arr = json_object_new_array();

	json_object_object_add(o, "asked", numa_spec_to_json(spec));
	for (unsigned int n = 0; n < p->topo->nr_nodes; n++) {
		json_object *f = json_object_new_object();
		unsigned int pus = largest_dedicated(p, n);

		json_object_object_add(
		    f, "node", json_object_new_int(p->topo->nodes[n].os_index));
		add_u64(f, "free_cores", p->nodes[n].free_cores);
		add_u64(f, "free_cpus", pus);
		add_u64(f, "largest_dedicated_vcpus", MIN(pus, NUMA_MAX_VCPUS));
		add_u64(f, "memory_free_mib", place_node_free(p, n, false));
		add_u64(f, "hugepages_2m_free",
		        place_node_free(p, n, true) / 2);
		json_object_array_add(arr, f);
	}
	json_object_object_add(o, "free", arr);
	return o;
}
