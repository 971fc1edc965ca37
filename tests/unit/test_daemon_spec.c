// SPDX-License-Identifier: Apache-2.0
/* POST /v1/vms spec validation: every field's error names the field. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "podvisor/numa.h"
#include "spec.h"

static char kernel[64], initrd[64];
static struct pod_spec_defaults defs;

static void setup(void)
{
	FILE *f;

	snprintf(kernel, sizeof(kernel), "/tmp/pv-spec-kernel-%d", getpid());
	snprintf(initrd, sizeof(initrd), "/tmp/pv-spec-initrd-%d", getpid());
	f = fopen(kernel, "w");
	fputs("k", f);
	fclose(f);
	f = fopen(initrd, "w");
	fputs("i", f);
	fclose(f);
	defs = (struct pod_spec_defaults){.kernel = kernel,
	                                  .vcpus = 1,
	                                  .memory_mib = 128,
	                                  .check_files = true};
}

static void teardown(void)
{
	unlink(kernel);
	unlink(initrd);
}

static int parse(const char *text, struct pod_spec *s, struct pod_spec_error *e)
{
	json_object *in = json_tokener_parse(text);
	int r;

	ck_assert_msg(in != NULL || strcmp(text, "null") == 0,
	              "bad test JSON %s", text);
	r = pod_spec_parse(in, &defs, s, e);
	json_object_put(in);
	return r;
}

/* The spec is refused and the error names `field`. */
static void bad(const char *text, const char *field)
{
	struct pod_spec s;
	struct pod_spec_error e;

	ck_assert_msg(parse(text, &s, &e) == -EINVAL, "accepted: %s", text);
	ck_assert_msg(strcmp(e.field, field) == 0,
	              "%s: field '%s' (want '%s'): %s", text, e.field, field,
	              e.message);
	ck_assert_msg(strstr(e.message, field) != NULL || !field[0],
	              "message does not name %s: %s", field, e.message);
	ck_assert_ptr_null(s.name);
}

START_TEST(test_minimal_spec_gets_defaults)
{
	struct pod_spec s;
	struct pod_spec_error e;

	ck_assert_int_eq(parse("{\"name\":\"p1\"}", &s, &e), 0);
	ck_assert_str_eq(s.name, "p1");
	ck_assert_uint_eq(s.vcpus, 1);
	ck_assert_uint_eq(s.memory_mib, 128);
	ck_assert_str_eq(s.kernel, kernel);
	ck_assert_ptr_null(s.initrd);
	ck_assert_uint_eq(s.nr_disks, 0);
	ck_assert(!s.vsock);
	pod_spec_free(&s);
}
END_TEST

START_TEST(test_full_spec_round_trips)
{
	char text[1024];
	struct pod_spec s, s2;
	struct pod_spec_error e;
	json_object *j;

	snprintf(
	    text, sizeof(text),
	    "{\"name\":\"fw-1\",\"vcpus\":2,\"memory_mib\":256,"
	    "\"kernel\":\"%s\",\"initrd\":\"%s\",\"cmdline\":\"console=ttyS0\","
	    "\"disks\":[{\"path\":\"%s\",\"readonly\":true,\"serial\":\"d0\"}],"
	    "\"vsock\":{\"guest_cid\":7},\"labels\":{\"app\":\"fw\"},"
	    "\"nets\":[{\"mac\":\"02:00:00:00:00:01\",\"mtu\":9000}],"
	    "\"placement\":{\"numa_node\":0,\"dedicated\":true}}",
	    kernel, initrd, initrd);
	ck_assert_int_eq(parse(text, &s, &e), 0);
	ck_assert_uint_eq(s.vcpus, 2);
	ck_assert_uint_eq(s.memory_mib, 256);
	ck_assert_str_eq(s.cmdline, "console=ttyS0");
	ck_assert_uint_eq(s.nr_disks, 1);
	ck_assert(s.disks[0].readonly);
	ck_assert(s.vsock);
	ck_assert_uint_eq(s.guest_cid, 7);
	ck_assert_uint_eq(s.nr_nets, 1);
	ck_assert_uint_eq(s.nets[0].mtu, 9000);
	ck_assert_uint_eq(s.nets[0].mac[5], 1);
	/* The persisted form parses back to the same spec. */
	j = pod_spec_to_json(&s);
	ck_assert_int_eq(pod_spec_parse(j, &defs, &s2, &e), 0);
	ck_assert_str_eq(s2.name, "fw-1");
	ck_assert_uint_eq(s2.guest_cid, 7);
	ck_assert_str_eq(s2.disks[0].serial, "d0");
	ck_assert_str_eq(json_object_to_json_string(s2.labels),
	                 json_object_to_json_string(s.labels));
	json_object_put(j);
	pod_spec_free(&s);
	pod_spec_free(&s2);
}
END_TEST

START_TEST(test_every_field_error)
{
	bad("[1]", "");
	bad("{}", "name");
	bad("{\"name\":5}", "name");
	bad("{\"name\":\"-x\"}", "name");
	bad("{\"name\":\"a b\"}", "name");
	bad("{\"name\":\"p1\",\"bogus\":1}", "bogus");
	bad("{\"name\":\"p1\",\"memory\":256}", "memory");
	bad("{\"name\":\"p1\",\"vcpu\":2}", "vcpu");
	bad("{\"name\":\"p1\",\"labels\":{\"podvisor.io/agent\":\"x\"}}",
	    "labels.podvisor.io/agent");
	bad("{\"name\":\"p1\",\"vcpus\":0}", "vcpus");
	bad("{\"name\":\"p1\",\"vcpus\":65}", "vcpus");
	bad("{\"name\":\"p1\",\"vcpus\":\"2\"}", "vcpus");
	bad("{\"name\":\"p1\",\"memory_mib\":8}", "memory_mib");
	bad("{\"name\":\"p1\",\"memory_mib\":-1}", "memory_mib");
	bad("{\"name\":\"p1\",\"memory_mib\":1.5}", "memory_mib");
	bad("{\"name\":\"p1\",\"kernel\":\"relative/bz\"}", "kernel");
	bad("{\"name\":\"p1\",\"kernel\":\"/nonexistent/bz\"}", "kernel");
	bad("{\"name\":\"p1\",\"kernel\":\"/tmp\"}", "kernel");
	bad("{\"name\":\"p1\",\"initrd\":\"/nonexistent\"}", "initrd");
	bad("{\"name\":\"p1\",\"cmdline\":7}", "cmdline");
	bad("{\"name\":\"p1\",\"cmdline\":\"a\\nb\"}", "cmdline");
	bad("{\"name\":\"p1\",\"disks\":{}}", "disks");
	bad("{\"name\":\"p1\",\"disks\":[5]}", "disks");
	bad("{\"name\":\"p1\",\"disks\":[{}]}", "disks[0].path");
	bad("{\"name\":\"p1\",\"disks\":[{\"path\":\"/nonexistent\"}]}",
	    "disks[0].path");
	bad("{\"name\":\"p1\",\"disks\":[{\"path\":\"/tmp\",\"x\":1}]}",
	    "disks[0].x");
	bad("{\"name\":\"p1\",\"disks\":[{},{},{},{},{},{},{},{},{}]}",
	    "disks");
	bad("{\"name\":\"p1\",\"vsock\":3}", "vsock");
	bad("{\"name\":\"p1\",\"vsock\":{\"guest_cid\":2}}", "vsock.guest_cid");
	bad("{\"name\":\"p1\",\"vsock\":{\"cid\":5}}", "vsock.cid");
	bad("{\"name\":\"p1\",\"labels\":[]}", "labels");
	bad("{\"name\":\"p1\",\"labels\":{\"a\":1}}", "labels.a");
	bad("{\"name\":\"p1\",\"nets\":[{\"mac\":\"zz\"}]}", "nets[0].mac");
	bad("{\"name\":\"p1\",\"nets\":[{\"mac\":\"01:00:00:00:00:01\"}]}",
	    "nets[0].mac");
	bad("{\"name\":\"p1\",\"nets\":[{\"mtu\":10}]}", "nets[0].mtu");
	bad("{\"name\":\"p1\",\"nets\":[{\"tap\":\"t0\","
	    "\"vhost_user_socket\":\"/x\"}]}",
	    "nets[0].vhost_user_socket");
	bad("{\"name\":\"p1\",\"nets\":[{\"segment\":\"a b\"}]}",
	    "nets[0].segment");
	bad("{\"name\":\"p1\",\"nets\":[{\"segment\":\"s\",\"tap\":\"t0\"}]}",
	    "nets[0].segment");
	bad("{\"name\":\"p1\",\"nets\":[{\"allow\":[]}]}", "nets[0].allow");
	bad("{\"name\":\"p1\",\"nets\":[{\"segment\":\"s\",\"allow\":{}}]}",
	    "nets[0].allow");
	bad("{\"name\":\"p1\",\"nets\":[{\"segment\":\"s\","
	    "\"allow\":[{\"proto\":\"smtp\"}]}]}",
	    "nets[0].allow[0].proto");
	bad("{\"name\":\"p1\",\"placement\":1}", "placement");
	bad("{\"name\":\"p1\",\"placement\":{\"numa_node\":-1}}",
	    "placement.numa_node");
	bad("{\"name\":\"p1\",\"placement\":{\"dedicated\":\"yes\"}}",
	    "placement.dedicated");
	bad("{\"name\":\"p1\",\"placement\":{\"zone\":1}}", "placement.zone");
}
END_TEST

START_TEST(test_unknown_field_suggests)
{
	struct pod_spec s;
	struct pod_spec_error e;

	ck_assert_int_eq(parse("{\"name\":\"p1\",\"memory\":256}", &s, &e),
	                 -EINVAL);
	ck_assert_msg(strstr(e.message, "did you mean 'memory_mib'?"), "%s",
	              e.message);
	ck_assert_int_eq(parse("{\"name\":\"p1\",\"vcpu\":2}", &s, &e),
	                 -EINVAL);
	ck_assert_msg(strstr(e.message, "did you mean 'vcpus'?"), "%s",
	              e.message);
	ck_assert_int_eq(parse("{\"name\":\"p1\",\"zzzzzz\":2}", &s, &e),
	                 -EINVAL);
	ck_assert_msg(strstr(e.message, "remove it"), "%s", e.message);
}
END_TEST

START_TEST(test_no_kernel_anywhere)
{
	defs.kernel = NULL;
	bad("{\"name\":\"p1\"}", "kernel");
	defs.kernel = kernel;
}
END_TEST

START_TEST(test_vmm_config_and_macs)
{
	struct pod_spec s;
	struct pod_spec_error e;
	struct pod_vmm_paths paths = {.control_socket = "/r/c.sock",
	                              .console_log = "/r/console.log",
	                              .vsock_uds = "/r/v.sock",
	                              .run_dir = "/r"};
	json_object *c, *v, *n;

	ck_assert_int_eq(
	    parse("{\"name\":\"p1\",\"vsock\":true,\"nets\":[{}]}", &s, &e), 0);
	pod_spec_fill_macs(&s, "0123456789ab");
	ck_assert(s.nets[0].has_mac);
	ck_assert_uint_eq(s.nets[0].mac[0], 0x02);
	c = pod_vmm_config(&s, &paths, NULL);
	ck_assert(json_object_object_get_ex(c, "api_socket", &v));
	ck_assert_str_eq(json_object_get_string(v), "/r/c.sock");
	ck_assert(json_object_object_get_ex(c, "console_log", &v));
	ck_assert(json_object_object_get_ex(c, "vsock", &v));
	ck_assert(json_object_object_get_ex(v, "uds_path", &n));
	ck_assert_str_eq(json_object_get_string(n), "/r/v.sock");
	ck_assert(json_object_object_get_ex(c, "nets", &v));
	n = json_object_array_get_idx(v, 0);
	ck_assert(json_object_object_get_ex(n, "vhost_user_socket", &v));
	ck_assert_str_eq(json_object_get_string(v), "/r/net0.sock");
	ck_assert(!json_object_object_get_ex(c, "labels", &v));
	json_object_put(c);
	pod_spec_free(&s);
}
END_TEST

/* A dedicated 2-vCPU VM on a synthetic host: the VMM config pins both
 * vCPUs to distinct CPUs off the housekeeping core, binds memory to the
 * node; a shared VM floats (no vcpu_cpus key) over its pool. */
START_TEST(test_vmm_config_with_placement)
{
	struct pod_vmm_paths paths = {.run_dir = "/r"};
	struct numa_topo *topo;
	struct numa_placer *pl;
	struct numa_place_err nerr;
	struct numa_spec ns;
	struct numa_alloc a;
	struct pod_spec s;
	struct pod_spec_error e;
	json_object *c, *v;

	ck_assert_int_eq(numa_topo_load("pack:1 numa:1 core:4 pu:2", &topo), 0);
	ck_assert_int_eq(numa_placer_new(topo, NULL, &pl, &nerr), 0);
	ck_assert_int_eq(parse("{\"name\":\"d\",\"vcpus\":2,"
	                       "\"placement\":{\"cpus\":\"dedicated\"}}",
	                       &s, &e),
	                 0);
	ck_assert_int_eq(
	    numa_spec_from_json(s.placement, s.vcpus, s.memory_mib, &ns, &nerr),
	    0);
	ck_assert_int_eq(numa_place_vm(pl, "d", &ns, &a, &nerr), 0);
	c = pod_vmm_config(&s, &paths, &a);
	ck_assert(json_object_object_get_ex(c, "vcpu_cpus", &v));
	ck_assert_uint_eq(json_object_array_length(v), 2);
	int c0 = json_object_get_int(json_object_array_get_idx(v, 0));
	int c1 = json_object_get_int(json_object_array_get_idx(v, 1));
	ck_assert_int_ne(c0, c1);
	ck_assert(json_object_object_get_ex(c, "housekeeping_cpus", &v));
	/* Housekeeping is the first core (CPUs 0 and its sibling 1). */
	ck_assert_str_eq(json_object_get_string(v), "0-1");
	ck_assert_int_gt(c0, 1);
	ck_assert_int_gt(c1, 1);
	ck_assert(json_object_object_get_ex(c, "numa_node", &v));
	ck_assert_int_eq(json_object_get_int(v), 0);
	json_object_put(c);
	pod_spec_free(&s);

	ck_assert_int_eq(parse("{\"name\":\"sh\"}", &s, &e), 0);
	numa_spec_init(&ns, s.vcpus, s.memory_mib);
	ck_assert_int_eq(numa_place_vm(pl, "sh", &ns, &a, &nerr), 0);
	c = pod_vmm_config(&s, &paths, &a);
	ck_assert(!json_object_object_get_ex(c, "vcpu_cpus", &v));
	ck_assert(json_object_object_get_ex(c, "housekeeping_cpus", &v));
	json_object_put(c);
	pod_spec_free(&s);
	numa_placer_free(pl);
	numa_topo_free(topo);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("daemon_spec");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_minimal_spec_gets_defaults);
	tcase_add_test(tc, test_full_spec_round_trips);
	tcase_add_test(tc, test_every_field_error);
	tcase_add_test(tc, test_unknown_field_suggests);
	tcase_add_test(tc, test_no_kernel_anywhere);
	tcase_add_test(tc, test_vmm_config_and_macs);
	tcase_add_test(tc, test_vmm_config_with_placement);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
