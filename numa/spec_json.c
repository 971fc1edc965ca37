/* SPDX-License-Identifier: Apache-2.0 */
/*
 * JSON for a placement spec and a placement decision (json-c): parsing with
 * errors that name the field, and the persisted / GET form of a decision.
 */
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "place_priv.h"
#include "podvisor/numa.h"
#include "podvisor/util.h"
#include "podvisor/vm_config.h"

static int bad(struct numa_place_err *err, const char *field, const char *fix)
{
	if (err) {
		err->field = field;
		place_err(err, "%s: %s", field, fix);
	}
	return -EINVAL;
}

static int get_bool(json_object *o, const char *key, const char *field,
                    bool *out, struct numa_place_err *err)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return bad(err, field, "give true or false");
	*out = json_object_get_boolean(v);
	return 0;
}

static int get_enum(json_object *o, const char *key, const char *field,
                    const char *a, const char *b, int *out,
                    struct numa_place_err *err)
{
	static char fix[96];
	json_object *v;
	const char *s;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	s = json_object_is_type(v, json_type_string) ? json_object_get_string(v)
	                                             : "";
	if (strcmp(s, a) == 0 || strcmp(s, b) == 0) {
		*out = strcmp(s, b) == 0;
		return 0;
	}
	snprintf(fix, sizeof(fix), "give \"%s\" or \"%s\"", a, b);
	return bad(err, field, fix);
}

static int get_node(json_object *o, struct numa_spec *s,
                    struct numa_place_err *err)
{
	json_object *v;

	if (!json_object_object_get_ex(o, "numa_node", &v))
		return 0;
	if (json_object_is_type(v, json_type_string) &&
	    strcmp(json_object_get_string(v), "auto") == 0) {
		s->numa_node = -1;
		return 0;
	}
	if (!json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) < 0 ||
	    json_object_get_int64(v) >= NUMA_MAX_NODES)
		return bad(err, "placement.numa_node",
		           "give \"auto\" or a host NUMA node number");
	s->numa_node = (int)json_object_get_int64(v);
	return 0;
}

static int get_group(json_object *o, struct numa_spec *s,
                     struct numa_place_err *err)
{
	json_object *v;
	const char *g;

	if (!json_object_object_get_ex(o, "isolation_group", &v))
		return 0;
	g = json_object_is_type(v, json_type_string) ? json_object_get_string(v)
	                                             : "";
	if (!*g || strlen(g) >= NUMA_NAME_MAX)
		return bad(err, "placement.isolation_group",
		           "give a name of 1-63 characters");
	snprintf(s->isolation_group, sizeof(s->isolation_group), "%s", g);
	return 0;
}

/* "dedicated": true|false, the spelling podvisord's first spec parser
 * used, accepted as long as it does not contradict "cpus". */
static int get_dedicated_alias(json_object *o, int *cpus,
                               struct numa_place_err *err)
{
	json_object *c;
	bool d = *cpus;
	int r;

	r = get_bool(o, "dedicated", "placement.dedicated", &d, err);
	if (r < 0)
		return r;
	if (json_object_object_get_ex(o, "cpus", &c) && d != (*cpus != 0))
		return bad(err, "placement.dedicated",
		           "contradicts \"cpus\"; give only \"cpus\"");
	*cpus = d;
	return 0;
}

/* A typo such as "numa-node" must not be ignored silently. persisted: the
 * stored form also carries vcpus and memory_mib. */
static int check_keys(json_object *o, bool persisted,
                      struct numa_place_err *err)
{
	static const char *const known[] = {
	    "cpus",          "numa_node",  "isolation_group", "hugepages",
	    "memory_policy", "allow_span", "dedicated",       NULL};
	static char field[80];

	json_object_object_foreach(o, key, val)
	{
		bool ok = persisted &&
		          (!strcmp(key, "vcpus") || !strcmp(key, "memory_mib"));

		(void)val;
		for (unsigned int i = 0; !ok && known[i]; i++)
			ok = !strcmp(key, known[i]);
		if (ok)
			continue;
		snprintf(field, sizeof(field), "placement.%.60s", key);
		return bad(err, field,
		           "unknown key; placement takes cpus, numa_node, "
		           "isolation_group, hugepages, memory_policy, "
		           "allow_span");
	}
	return 0;
}

int numa_spec_parse(struct json_object *placement, unsigned int vcpus,
                    uint64_t memory_mib, bool persisted, struct numa_spec *out,
                    struct numa_place_err *err)
{
	int cpus = 0, pol = 0, r = 0;

	numa_spec_init(out, vcpus, memory_mib);
	if (err)
		memset(err, 0, sizeof(*err));
	if (!placement)
		return 0;
	if (!json_object_is_type(placement, json_type_object))
		return bad(err, "placement", "give an object");
	r = check_keys(placement, persisted, err);
	if (!r)
		r = get_enum(placement, "cpus", "placement.cpus", "shared",
		             "dedicated", &cpus, err);
	if (!r)
		r = get_enum(placement, "memory_policy",
		             "placement.memory_policy", "strict", "preferred",
		             &pol, err);
	if (!r)
		r = get_node(placement, out, err);
	if (!r)
		r = get_group(placement, out, err);
	if (!r)
		r = get_bool(placement, "hugepages", "placement.hugepages",
		             &out->hugepages, err);
	if (!r)
		r = get_bool(placement, "allow_span", "placement.allow_span",
		             &out->allow_span, err);
	if (!r)
		r = get_dedicated_alias(placement, &cpus, err);
	out->cpus = cpus ? NUMA_CPUS_DEDICATED : NUMA_CPUS_SHARED;
	out->memory_policy = pol ? NUMA_MEM_PREFERRED : NUMA_MEM_STRICT;
	return r;
}

int numa_spec_from_json(struct json_object *placement, unsigned int vcpus,
                        uint64_t memory_mib, struct numa_spec *out,
                        struct numa_place_err *err)
{
	return numa_spec_parse(placement, vcpus, memory_mib, false, out, err);
}

struct json_object *numa_spec_to_json(const struct numa_spec *s)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "vcpus", json_object_new_int64(s->vcpus));
	json_object_object_add(o, "memory_mib",
	                       json_object_new_int64((int64_t)s->memory_mib));
	json_object_object_add(
	    o, "cpus",
	    json_object_new_string(s->cpus == NUMA_CPUS_DEDICATED ? "dedicated"
	                                                          : "shared"));
	json_object_object_add(o, "numa_node",
	                       s->numa_node < 0
	                           ? json_object_new_string("auto")
	                           : json_object_new_int(s->numa_node));
	json_object_object_add(o, "isolation_group",
	                       json_object_new_string(s->isolation_group));
	json_object_object_add(o, "hugepages",
	                       json_object_new_boolean(s->hugepages));
	json_object_object_add(
	    o, "memory_policy",
	    json_object_new_string(s->memory_policy == NUMA_MEM_PREFERRED
	                               ? "preferred"
	                               : "strict"));
	json_object_object_add(o, "allow_span",
	                       json_object_new_boolean(s->allow_span));
	return o;
}

static json_object *vcpus_json(const struct numa_alloc *a)
{
	json_object *arr = json_object_new_array();

	for (unsigned int i = 0; i < a->spec.vcpus && i < NUMA_MAX_VCPUS; i++) {
		json_object *v = json_object_new_object();

		json_object_object_add(v, "vcpu", json_object_new_int((int)i));
		json_object_object_add(
		    v, "host_cpu",
		    a->vcpu_cpus[i] < 0 ? NULL
		                        : json_object_new_int(a->vcpu_cpus[i]));
		json_object_array_add(arr, v);
	}
	return arr;
}

static json_object *mem_json(const struct numa_alloc *a)
{
	json_object *arr = json_object_new_array();

	for (unsigned int i = 0; i < a->nr_mem; i++) {
		json_object *m = json_object_new_object();

		json_object_object_add(m, "node",
		                       json_object_new_int(a->mem[i].node));
		json_object_object_add(
		    m, "memory_mib",
		    json_object_new_int64((int64_t)a->mem[i].memory_mib));
		json_object_object_add(
		    m, "hugepages", json_object_new_boolean(a->spec.hugepages));
		json_object_array_add(arr, m);
	}
	return arr;
}

static json_object *guest_nodes_json(const struct numa_alloc *a)
{
	json_object *arr = json_object_new_array();

	for (unsigned int i = 0; i < a->nr_guest_nodes; i++) {
		const struct numa_guest_node *g = &a->guest_nodes[i];
		json_object *o = json_object_new_object();

		json_object_object_add(o, "guest_node",
		                       json_object_new_int((int)i));
		json_object_object_add(o, "host_node",
		                       json_object_new_int(g->host_node));
		json_object_object_add(o, "first_vcpu",
		                       json_object_new_int((int)g->first_vcpu));
		json_object_object_add(o, "nr_vcpus",
		                       json_object_new_int((int)g->nr_vcpus));
		json_object_object_add(
		    o, "memory_mib",
		    json_object_new_int64((int64_t)g->memory_mib));
		json_object_array_add(arr, o);
	}
	return arr;
}

struct json_object *numa_alloc_to_json(const struct numa_alloc *a)
{
	json_object *o = json_object_new_object();
	char list[4096];

	if (numa_cpulist_format(a->cpus, a->nr_cpus, list, sizeof(list)) < 0)
		list[0] = 0;
	json_object_object_add(o, "vm_id", json_object_new_string(a->vm_id));
	json_object_object_add(o, "spec", numa_spec_to_json(&a->spec));
	json_object_object_add(o, "host_cpus", json_object_new_string(list));
	json_object_object_add(o, "vcpus", vcpus_json(a));
	json_object_object_add(o, "housekeeping_cpus",
	                       json_object_new_string(a->housekeeping_cpus));
	json_object_object_add(
	    o, "cpu_node",
	    a->cpu_node < 0 ? NULL : json_object_new_int(a->cpu_node));
	json_object_object_add(o, "memory", mem_json(a));
	json_object_object_add(
	    o, "memory_policy",
	    json_object_new_string(a->spec.memory_policy == NUMA_MEM_PREFERRED
	                               ? "preferred"
	                               : "strict"));
	json_object_object_add(o, "memory_fallback",
	                       json_object_new_boolean(a->memory_fallback));
	json_object_object_add(o, "note", json_object_new_string(a->note));
	json_object_object_add(o, "guest_numa_nodes", guest_nodes_json(a));
	return o;
}

int numa_alloc_to_vm_config(const struct numa_alloc *a, struct vm_config *c)
{
	char *hk = NULL;

	if (a->housekeeping_cpus[0]) {
		hk = strdup(a->housekeeping_cpus);
		if (!hk)
			return -ENOMEM;
	}
	for (unsigned int i = 0; i < VM_MAX_VCPUS; i++)
		c->vcpu_cpus[i] = i < a->spec.vcpus && i < NUMA_MAX_VCPUS
		                      ? a->vcpu_cpus[i]
		                      : -1;
	/* A shared VM's VMM threads, and the vCPU threads that inherit their
	 * affinity, stay on its isolation group's pool: off dedicated cores
	 * and off other groups' cores. */
	if (a->spec.cpus == NUMA_CPUS_SHARED && a->nr_cpus) {
		char list[sizeof(a->housekeeping_cpus)];

		free(hk);
		hk = NULL;
		if (numa_cpulist_format(a->cpus, a->nr_cpus, list,
		                        sizeof(list)) < 0 ||
		    !(hk = strdup(list)))
			return -ENOMEM;
	}
	free(c->housekeeping_cpus);
	c->housekeeping_cpus = hk;
	c->numa_node = a->cpu_node;
	c->numa_preferred = a->spec.memory_policy == NUMA_MEM_PREFERRED;
	return 0;
}

int numa_place_http_status(int r)
{
	switch (r) {
	case 0:
		return 200;
	case -EINVAL:
		return 400;
	case -ENOENT:
		return 404;
	case -EEXIST:
	case -EBUSY:
		return 409;
	case -ENOSPC:
		return 507;
	default:
		return 500;
	}
}
