/* SPDX-License-Identifier: Apache-2.0 */
/* VM config: JSON and flags, and one clear message per invalid field. */
#include <check.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "podvisor/config.h"

static char kernel[64] = "/tmp/pv-test-kernel-XXXXXX";
static char disk[64] = "/tmp/pv-test-disk-XXXXXX";
static const struct vm_host_limits host = {.mem_total_mib = 4096, .cpus = 4};
static struct vm_config cfg;
static struct vm_config_error err;

static void setup(void)
{
	int fd = mkstemp(kernel);

	ck_assert_int_ge(fd, 0);
	close(fd);
	fd = mkstemp(disk);
	ck_assert_int_ge(fd, 0);
	close(fd);
	vm_config_init(&cfg);
	memset(&err, 0, sizeof(err));
}

static void teardown(void)
{
	vm_config_free(&cfg);
	unlink(kernel);
	unlink(disk);
	strcpy(kernel, "/tmp/pv-test-kernel-XXXXXX");
	strcpy(disk, "/tmp/pv-test-disk-XXXXXX");
}

/* Applies JSON (the first "%s" replaced by the kernel path, the next ones
 * by the disk path) then validates. */
static int json_then_validate(const char *fmt)
{
	char text[1024];
	size_t n = 0;
	int r, k = 0;

	for (const char *p = fmt; *p && n < sizeof(text) - 65; p++) {
		if (p[0] == '%' && p[1] == 's') {
			n += (size_t)snprintf(text + n, sizeof(text) - n, "%s",
			                      k++ ? disk : kernel);
			p++;
		} else {
			text[n++] = *p;
		}
	}
	text[n] = 0;
	r = vm_config_from_json(&cfg, text, &err);
	if (r == 0)
		r = vm_config_validate(&cfg, &host, &err);
	return r;
}

#define ck_error(field_, msg_)                                                 \
	do {                                                                   \
		ck_assert_str_eq(err.field, field_);                           \
		ck_assert_msg(strstr(err.message, msg_), "message '%s'",       \
		              err.message);                                    \
	} while (0)

START_TEST(test_valid)
{
	ck_assert_int_eq(json_then_validate("{\"kernel\": \"%s\", \"vcpus\": 2,"
	                                    " \"memory_mib\": 512}"),
	                 0);
	ck_assert_uint_eq(cfg.vcpus, 2);
	ck_assert_uint_eq(cfg.memory_mib, 512);
	ck_assert_int_eq(vm_config_finalize(&cfg), 0);
	ck_assert_str_eq(cfg.name, "podvisor");
}
END_TEST

START_TEST(test_kernel_missing_file)
{
	vm_config_from_json(&cfg, "{\"kernel\": \"/x/bzImage\"}", &err);
	ck_assert_int_eq(vm_config_validate(&cfg, &host, &err), -EINVAL);
	ck_assert_str_eq(err.field, "kernel");
	ck_assert_str_eq(err.message, "/x/bzImage: No such file or directory; "
	                              "give the path of a bzImage or ELF "
	                              "vmlinux");
}
END_TEST

START_TEST(test_kernel_absent)
{
	ck_assert_int_eq(vm_config_validate(&cfg, &host, &err), -EINVAL);
	ck_error("kernel", "missing; give --kernel");
}
END_TEST

START_TEST(test_memory_rules)
{
	ck_assert_int_eq(json_then_validate("{\"kernel\":\"%s\","
	                                    "\"memory_mib\":8192}"),
	                 -EINVAL);
	ck_error("memory_mib", "more than this host's 4096 MiB");
	ck_assert_int_eq(json_then_validate("{\"memory_mib\":0}"), -EINVAL);
	ck_error("memory_mib", "0 MiB");
	ck_assert_int_eq(json_then_validate("{\"memory_mib\":257,"
	                                    "\"hugepages\":true}"),
	                 -EINVAL);
	ck_error("memory_mib", "not a multiple of 2 MiB");
	ck_assert_int_eq(json_then_validate("{\"memory_mib\":256}"), 0);
}
END_TEST

START_TEST(test_vcpu_rules)
{
	ck_assert_int_eq(json_then_validate("{\"kernel\":\"%s\",\"vcpus\":0}"),
	                 -EINVAL);
	ck_error("vcpus", "give at least 1");
	ck_assert_int_eq(json_then_validate("{\"vcpus\":5}"), -EINVAL);
	ck_error("vcpus", "at most 4");
	ck_assert_int_eq(json_then_validate("{\"vcpus\":2,"
	                                    "\"vcpu_cpus\":[1,7]}"),
	                 -EINVAL);
	ck_error("vcpu_cpus", "host CPU 7");
}
END_TEST

START_TEST(test_unknown_field)
{
	ck_assert_int_eq(json_then_validate("{\"kernel\":\"%s\",\"vcpu\":2}"),
	                 -EINVAL);
	ck_assert_str_eq(err.field, "vcpu");
	ck_assert_str_eq(err.message,
	                 "unknown field 'vcpu'; did you mean 'vcpus'?");
	ck_assert_int_eq(json_then_validate("{\"zzzzzzzz\":1}"), -EINVAL);
	ck_error("zzzzzzzz", "the fields are: name kernel");
	ck_error("zzzzzzzz", "numa_preferred");
	ck_assert_int_eq(json_then_validate("{\"memory\":256}"), -EINVAL);
	ck_error("memory", "did you mean 'memory_mib'?");
	ck_assert_int_eq(json_then_validate("{\"vsock_cid\":3}"), -EINVAL);
	ck_error("vsock_cid", "did you mean 'vsock.guest_cid'?");
	ck_assert_int_eq(json_then_validate("{\"disks\":[{\"pth\":\"x\"}]}"),
	                 -EINVAL);
	ck_error("pth", "did you mean 'path'?");
}
END_TEST

START_TEST(test_wrong_types)
{
	ck_assert_int_eq(json_then_validate("{\"vcpus\":\"2\"}"), -EINVAL);
	ck_error("vcpus", "expected a whole number, got string");
	ck_assert_int_eq(json_then_validate("{\"vcpus\":-1}"), -EINVAL);
	ck_error("vcpus", "out of range");
	ck_assert_int_eq(json_then_validate("{\"kernel\":3}"), -EINVAL);
	ck_error("kernel", "expected a string, got int");
	ck_assert_int_eq(json_then_validate("{\"rng\":1}"), -EINVAL);
	ck_error("rng", "expected true or false");
	ck_assert_int_eq(json_then_validate("{\"disks\":{}}"), -EINVAL);
	ck_error("disks", "expected an array");
	ck_assert_int_eq(json_then_validate("[1]"), -EINVAL);
	ck_error("config", "expected a JSON object");
	ck_assert_int_eq(json_then_validate("{\"kernel\": "), -EINVAL);
	ck_error("config", "not valid JSON");
}
END_TEST

START_TEST(test_mac)
{
	ck_assert_int_eq(json_then_validate("{\"kernel\":\"%s\",\"nets\":[{"
	                                    "\"tap\":\"t0\",\"mac\":"
	                                    "\"52:54:00:zz:00:01\"}]}"),
	                 -EINVAL);
	ck_error("nets[0].mac", "is not a MAC address");
	vm_config_free(&cfg);
	vm_config_init(&cfg);
	ck_assert_int_eq(json_then_validate("{\"kernel\":\"%s\",\"nets\":[{"
	                                    "\"tap\":\"t0\",\"mac\":"
	                                    "\"01:00:5e:00:00:01\"}]}"),
	                 -EINVAL);
	ck_error("nets[0].mac", "multicast");
	vm_config_free(&cfg);
	vm_config_init(&cfg);
	ck_assert_int_eq(json_then_validate("{\"kernel\":\"%s\",\"nets\":[{"
	                                    "\"mac\":\"52:54:00:00:00:01\"}]}"),
	                 -EINVAL);
	ck_error("nets[0]", "exactly one back-end");
}
END_TEST

START_TEST(test_vsock_cid)
{
	ck_assert_int_eq(json_then_validate("{\"kernel\":\"%s\",\"vsock\":{"
	                                    "\"guest_cid\":2,\"uds_path\":"
	                                    "\"/tmp/v\"}}"),
	                 -EINVAL);
	ck_error("vsock.guest_cid", "give 3 or more");
	ck_assert_int_eq(json_then_validate("{\"vsock\":{\"guest_cid\":3}}"),
	                 0);
}
END_TEST

START_TEST(test_output_paths)
{
	ck_assert_int_eq(
	    json_then_validate("{\"kernel\":\"%s\",\"console_log\":"
	                       "\"/nonexistent-dir/con.log\"}"),
	    -EINVAL);
	ck_error("console_log", "directory /nonexistent-dir does not exist");
	ck_assert_int_eq(json_then_validate("{\"console_log\":\"/tmp/c.log\","
	                                    "\"api_socket\":\"/nope/a.sock\"}"),
	                 -EINVAL);
	ck_error("api_socket", "directory /nope does not exist");
	ck_assert_int_eq(json_then_validate("{\"api_socket\":\"/tmp/a.sock\"}"),
	                 0);
}
END_TEST

START_TEST(test_duplicate_disk)
{
	ck_assert_int_eq(
	    json_then_validate("{\"kernel\":\"%s\",\"disks\":["
	                       "{\"path\":\"%s\"},{\"path\":\"%s\","
	                       "\"readonly\":true}]}"),
	    -EINVAL);
	ck_error("disks[1].path", "is also disks[0]");
}
END_TEST

START_TEST(test_flags_override_file)
{
	char path[] = "/tmp/pv-test-cfg-XXXXXX";
	char json[256], d[128],
	    n[] = "vhost-user=/tmp/s.sock,mac=52:54:00:"
	          "aa:bb:cc,mtu=1500";
	int fd = mkstemp(path);
	struct vm_cli cli;

	snprintf(json, sizeof(json),
	         "{\"kernel\":\"%s\",\"vcpus\":2,\"memory_mib\":512,"
	         "\"name\":\"file\"}",
	         kernel);
	ck_assert_int_eq(write(fd, json, strlen(json)), (long)strlen(json));
	close(fd);
	snprintf(d, sizeof(d), "%s,readonly,serial=abc", disk);
	char *argv[] = {
	    "podvisor-vmm", "--vcpus", "1", "--config", path, "--memory",
	    "1G",           "--disk",  d,   "--net",    n,    NULL};
	ck_assert_int_eq(vm_config_parse_args(&cfg, &cli, 11, argv, &err), 0);
	unlink(path);
	ck_assert_str_eq(cli.config_path, path);
	ck_assert_str_eq(cfg.name, "file");
	ck_assert_uint_eq(cfg.vcpus, 1);
	ck_assert_uint_eq(cfg.memory_mib, 1024);
	ck_assert_uint_eq(cfg.nr_disks, 1);
	ck_assert(cfg.disks[0].readonly);
	ck_assert_str_eq(cfg.disks[0].serial, "abc");
	ck_assert_str_eq(cfg.nets[0].vhost_user_socket, "/tmp/s.sock");
	ck_assert_uint_eq(cfg.nets[0].mac[3], 0xaa);
	ck_assert_uint_eq(cfg.nets[0].mtu, 1500);
	ck_assert_int_eq(vm_config_validate(&cfg, &host, &err), 0);
}
END_TEST

START_TEST(test_bad_flags)
{
	struct vm_cli cli;
	char *a1[] = {"vmm", "--bogus", NULL};
	char *a2[] = {"vmm", "--memory", "12Q", NULL};
	char *a3[] = {"vmm", "--pvm-profile", "maybe", NULL};
	char *a4[] = {"vmm", "--net", "tap=t0,mac=nope", NULL};
	char *a5[] = {"vmm", "--vcpus", NULL};
	char *a6[] = {"vmm", "--config", "/nonexistent.json", NULL};
	char *a7[] = {"vmm", "--seccomp", "maybe", NULL};

	ck_assert_int_eq(vm_config_parse_args(&cfg, &cli, 2, a1, &err),
	                 -EINVAL);
	ck_error("--bogus", "unknown flag");
	ck_assert_int_eq(vm_config_parse_args(&cfg, &cli, 3, a2, &err),
	                 -EINVAL);
	ck_error("--memory", "give e.g. 512, 512M or 2G");
	ck_assert_int_eq(vm_config_parse_args(&cfg, &cli, 3, a3, &err),
	                 -EINVAL);
	ck_error("--pvm-profile", "give auto, on or off");
	ck_assert_int_eq(vm_config_parse_args(&cfg, &cli, 3, a4, &err),
	                 -EINVAL);
	ck_error("--net", "not a MAC address");
	ck_assert_int_eq(vm_config_parse_args(&cfg, &cli, 2, a5, &err),
	                 -EINVAL);
	ck_error("--vcpus", "needs a value");
	ck_assert_int_eq(vm_config_parse_args(&cfg, &cli, 3, a6, &err),
	                 -EINVAL);
	ck_error("--config", "No such file or directory");
	ck_assert_int_eq(vm_config_parse_args(&cfg, &cli, 3, a7, &err),
	                 -EINVAL);
	ck_error("--seccomp", "give kill, log or off");
}
END_TEST

START_TEST(test_json_round_trip)
{
	struct vm_config again;
	json_object *o;

	ck_assert_int_eq(json_then_validate("{\"kernel\":\"%s\",\"disks\":["
	                                    "{\"path\":\"%s\"}],\"nets\":[{"
	                                    "\"tap\":\"t0\"}],\"vsock\":{"
	                                    "\"guest_cid\":7,\"uds_path\":"
	                                    "\"/tmp/v\"},\"pvm_profile\":"
	                                    "\"off\",\"vcpus\":2,"
	                                    "\"seccomp\":\"log\","
	                                    "\"vcpu_cpus\":[2,3]}"),
	                 0);
	ck_assert_int_eq(vm_config_finalize(&cfg), 0);
	ck_assert_uint_eq(cfg.nets[0].mac[0], 0x52); /* generated */
	ck_assert_str_eq(cfg.disks[0].serial, "podvisor0");
	o = vm_config_to_json(&cfg);
	vm_config_init(&again);
	ck_assert_int_eq(
	    vm_config_from_json(&again, json_object_to_json_string(o), &err),
	    0);
	ck_assert_str_eq(again.kernel, cfg.kernel);
	ck_assert_uint_eq(again.vsock.guest_cid, 7);
	ck_assert_int_eq(again.pvm_profile, VM_PVM_OFF);
	ck_assert_int_eq(again.seccomp, VM_SECCOMP_LOG);
	ck_assert_int_eq(memcmp(again.nets[0].mac, cfg.nets[0].mac, 6), 0);
	ck_assert_int_eq(again.vcpu_cpus[1], 3);
	ck_assert_int_eq(again.vcpu_cpus[2], -1);
	vm_config_free(&again);
	json_object_put(o);

	/* The logged config of an unpinned VM reads back too. */
	cfg.vcpu_cpus[0] = cfg.vcpu_cpus[1] = -1;
	o = vm_config_to_json(&cfg);
	vm_config_init(&again);
	ck_assert_int_eq(
	    vm_config_from_json(&again, json_object_to_json_string(o), &err),
	    0);
	ck_assert_int_eq(again.vcpu_cpus[0], -1);
	ck_assert_int_eq(again.vcpu_cpus[1], -1);
	vm_config_free(&again);
	json_object_put(o);
}
END_TEST

static Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_valid);
	tcase_add_test(tc, test_kernel_missing_file);
	tcase_add_test(tc, test_kernel_absent);
	tcase_add_test(tc, test_memory_rules);
	tcase_add_test(tc, test_vcpu_rules);
	tcase_add_test(tc, test_unknown_field);
	tcase_add_test(tc, test_wrong_types);
	tcase_add_test(tc, test_mac);
	tcase_add_test(tc, test_vsock_cid);
	tcase_add_test(tc, test_duplicate_disk);
	tcase_add_test(tc, test_output_paths);
	tcase_add_test(tc, test_flags_override_file);
	tcase_add_test(tc, test_bad_flags);
	tcase_add_test(tc, test_json_round_trip);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
