/* SPDX-License-Identifier: Apache-2.0 */
/* podvisor-agent: disks found by virtio-blk serial in a fake sysfs. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blkdev.h"

static char sys[64];

static void put(const char *dev, const char *serial)
{
	char path[200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/block/%s", sys, dev);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	if (!serial)
		return;
	snprintf(path, sizeof(path), "%s/block/%s/serial", sys, dev);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "%s\n", serial);
	fclose(f);
}

START_TEST(test_by_serial)
{
	char dev[64], cmd[100], path[100];

	snprintf(sys, sizeof(sys), "/tmp/pv-test-blkdev.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(sys));
	snprintf(path, sizeof(path), "%s/block", sys);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	put("vda", "podvisor0");
	put("vdb", "web");
	put("vdc", "webserver");
	put("loop0", NULL); /* no serial file */
	ck_assert_int_eq(blkdev_by_serial(sys, "web", dev, sizeof(dev)), 0);
	ck_assert_str_eq(dev, "/dev/vdb");
	ck_assert_int_eq(blkdev_by_serial(sys, "webserver", dev, sizeof(dev)),
	                 0);
	ck_assert_str_eq(dev, "/dev/vdc");
	/* A prefix of a serial is not that serial. */
	ck_assert_int_eq(blkdev_by_serial(sys, "we", dev, sizeof(dev)),
	                 -ENOENT);
	ck_assert_int_eq(blkdev_by_serial(sys, "", dev, sizeof(dev)), -EINVAL);
	ck_assert_int_eq(
	    blkdev_by_serial(sys, "123456789012345678901", dev, sizeof(dev)),
	    -EINVAL);
	ck_assert_int_eq(
	    blkdev_by_serial("/nonexistent", "web", dev, sizeof(dev)), -ENOENT);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", sys);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("agent_blkdev");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_by_serial);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
