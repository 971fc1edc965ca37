// SPDX-License-Identifier: Apache-2.0
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "podvisor/log.h"
#include "podvisor/util.h"

START_TEST(test_closest_word)
{
	static const char *const known[] = {"vcpus", "memory_mib", "disks",
	                                    NULL};

	ck_assert_str_eq(pv_closest_word("vcpu", known, 2), "vcpus");
	ck_assert_str_eq(pv_closest_word("dsiks", known, 2), "disks");
	ck_assert_ptr_null(pv_closest_word("memory", known, 2));
	ck_assert_ptr_null(pv_closest_word("zzzzzz", known, 2));
	ck_assert_str_eq(pv_closest_word("memory", known, 4), "memory_mib");
}
END_TEST

START_TEST(test_parse_size_units)
{
	uint64_t v;

	ck_assert_int_eq(pv_parse_size("512", &v), 0);
	ck_assert_uint_eq(v, 512);
	ck_assert_int_eq(pv_parse_size("2M", &v), 0);
	ck_assert_uint_eq(v, 2 * MiB);
	ck_assert_int_eq(pv_parse_size("1GiB", &v), 0);
	ck_assert_uint_eq(v, GiB);
	ck_assert_int_eq(pv_parse_size("3k", &v), 0);
	ck_assert_uint_eq(v, 3 * KiB);
}
END_TEST

START_TEST(test_parse_size_rejects)
{
	uint64_t v = 7;

	ck_assert_int_eq(pv_parse_size("", &v), -EINVAL);
	ck_assert_int_eq(pv_parse_size("-1", &v), -EINVAL);
	ck_assert_int_eq(pv_parse_size("12Q", &v), -EINVAL);
	ck_assert_int_eq(pv_parse_size("12MBx", &v), -EINVAL);
	ck_assert_int_eq(pv_parse_size("99999999999999999999", &v), -ERANGE);
	ck_assert_int_eq(pv_parse_size("17179869184G", &v), -ERANGE);
	ck_assert_uint_eq(v, 7);
}
END_TEST

START_TEST(test_read_full_reports_eof)
{
	int p[2];
	char buf[8];

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(pv_write_full(p[1], "abc", 3), 0);
	close(p[1]);
	ck_assert_int_eq(pv_read_full(p[0], buf, 2), 0);
	ck_assert_int_eq(buf[1], 'b');
	ck_assert_int_eq(pv_read_full(p[0], buf, 2), -EPIPE);
	close(p[0]);
}
END_TEST

START_TEST(test_log_level_parse)
{
	ck_assert_int_eq(pv_log_level_parse("debug"), PV_LOG_DEBUG);
	ck_assert_int_eq(pv_log_level_parse("ERROR"), PV_LOG_ERR);
	ck_assert_int_eq(pv_log_level_parse("loud"), -EINVAL);
	ck_assert_int_eq(pv_log_errno(PV_LOG_DEBUG, EIO, "x"), -EIO);
	ck_assert_int_eq(pv_log_errno(PV_LOG_DEBUG, -EIO, "x"), -EIO);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("util");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_closest_word);
	tcase_add_test(tc, test_parse_size_units);
	tcase_add_test(tc, test_parse_size_rejects);
	tcase_add_test(tc, test_read_full_reports_eof);
	tcase_add_test(tc, test_log_level_parse);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
