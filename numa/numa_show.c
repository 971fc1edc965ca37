/* SPDX-License-Identifier: Apache-2.0 */
/*
 * numa-show: what the placer would do on a host, without a daemon. Reads the
 * topology, places each VM given as JSON in order, prints every decision (or
 * the 507 detail) and finally the host view, all as JSON on stdout.
 *
 *   numa-show [--topology SRC] [--housekeeping-cpus LIST] [--overcommit N]
 *             ['{"id":"a","vcpus":2,"memory_mib":512,
 *               "placement":{"cpus":"dedicated"}}' ...]
 *
 * Exit status: 0 when every VM was placed, 1 when one was refused, 2 on bad
 * input.
 */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "podvisor/log.h"
#include "podvisor/numa.h"

static int place_json(struct numa_placer *p, const char *text)
{
	json_object *vm = json_tokener_parse(text), *v, *out;
	struct numa_place_err err = {0};
	struct numa_spec spec;
	struct numa_alloc a;
	const char *id = "vm";
	int vcpus = 1, r;
	int64_t mib = 256;

	if (!vm) {
		fprintf(stderr, "numa-show: not JSON: %s\n", text);
		return 2;
	}
	if (json_object_object_get_ex(vm, "id", &v))
		id = json_object_get_string(v);
	if (json_object_object_get_ex(vm, "vcpus", &v))
		vcpus = json_object_get_int(v);
	if (json_object_object_get_ex(vm, "memory_mib", &v))
		mib = json_object_get_int64(v);
	r = numa_spec_from_json(
	    json_object_object_get_ex(vm, "placement", &v) ? v : NULL,
	    (unsigned int)(vcpus < 0 ? 0 : vcpus),
	    (uint64_t)(mib < 0 ? 0 : mib), &spec, &err);
	if (r == 0)
		r = numa_place_vm(p, id, &spec, &a, &err);
	out = json_object_new_object();
	json_object_object_add(out, "id", json_object_new_string(id));
	json_object_object_add(out, "status",
	                       json_object_new_int(numa_place_http_status(r)));
	if (r == 0) {
		json_object_object_add(out, "placement",
		                       numa_alloc_to_json(&a));
	} else {
		json_object_object_add(out, "error",
		                       json_object_new_string(err.message));
		if (err.field)
			json_object_object_add(
			    out, "field", json_object_new_string(err.field));
		if (r == -ENOSPC)
			json_object_object_add(out, "detail",
			                       numa_place_nofit_json(p, &spec));
	}
	printf("%s\n", json_object_to_json_string_ext(
	                   out, JSON_C_TO_STRING_PRETTY |
	                            JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(out);
	json_object_put(vm);
	return r == 0 ? 0 : r == -ENOSPC ? 1 : 2;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"topology", required_argument, NULL, 't'},
	    {"housekeeping-cpus", required_argument, NULL, 'k'},
	    {"overcommit", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct numa_place_config cfg = {0};
	struct numa_place_err err = {0};
	const char *source = NULL;
	struct numa_topo *topo = NULL;
	struct numa_placer *p = NULL;
	json_object *host;
	int c, r, rc = 0;

	pv_log_init("numa-show", PV_LOG_WARN);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 't')
			source = optarg;
		else if (c == 'k')
			cfg.housekeeping_cpus = optarg;
		else if (c == 'o')
			cfg.shared_overcommit = (unsigned int)atoi(optarg);
		else {
			fprintf(stderr, "usage: numa-show [--topology SRC] "
			                "[--housekeeping-cpus LIST] "
			                "[--overcommit N] [VM-JSON...]\n");
			return c == 'h' ? 0 : 2;
		}
	}
	r = numa_topo_load(source, &topo);
	if (r < 0)
		return 2;
	r = numa_placer_new(topo, &cfg, &p, &err);
	if (r < 0) {
		fprintf(stderr, "numa-show: %s\n", err.message);
		numa_topo_free(topo);
		return 2;
	}
	for (int i = optind; i < argc; i++) {
		r = place_json(p, argv[i]);
		rc = r > rc ? r : rc;
	}
	host = numa_host_to_json(p);
	printf("%s\n", json_object_to_json_string_ext(
	                   host, JSON_C_TO_STRING_PRETTY |
	                             JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(host);
	numa_placer_free(p);
	numa_topo_free(topo);
	return rc;
}
