/* SPDX-License-Identifier: Apache-2.0 */
/* Guest RAM layout around the MMIO gap and the checked translation. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "podvisor/guest_mem.h"
#include "podvisor/util.h"

START_TEST(test_small_layout)
{
	struct gmem_opts o = {.ram_size = 64 * MiB, .name = "t"};
	struct guest_mem gm;
	uint8_t *p;

	ck_assert_int_eq(gmem_create(&gm, &o), 0);
	ck_assert_uint_eq(gm.nr_regions, 1);
	ck_assert_uint_eq(gmem_low_end(&gm), 64 * MiB);
	p = gmem_ptr(&gm, 0, 64 * MiB);
	ck_assert_ptr_eq(p, gm.base);
	ck_assert_ptr_eq(gmem_ptr(&gm, 64 * MiB - 1, 1),
	                 gm.base + 64 * MiB - 1);
	ck_assert_ptr_null(gmem_ptr(&gm, 64 * MiB - 1, 2));
	ck_assert_ptr_null(gmem_ptr(&gm, 64 * MiB, 1));
	ck_assert_ptr_null(gmem_ptr(&gm, 0, 64 * MiB + 1));
	ck_assert(gmem_contains(&gm, 0x1000, 0x1000));
	ck_assert(!gmem_contains(&gm, GMEM_GAP_END, 1));
	gmem_destroy(&gm);
	gmem_destroy(&gm); /* twice is harmless */
}
END_TEST

START_TEST(test_overflow)
{
	struct gmem_opts o = {.ram_size = 16 * MiB};
	struct guest_mem gm;

	ck_assert_int_eq(gmem_create(&gm, &o), 0);
	/* gpa + len wraps to a small number: must not pass as in-range. */
	ck_assert_ptr_null(gmem_ptr(&gm, UINT64_MAX - 1, 4));
	ck_assert_ptr_null(gmem_ptr(&gm, 0x1000, UINT64_MAX));
	ck_assert_ptr_null(gmem_ptr(&gm, 0x1000, UINT64_MAX - 0xfff));
	ck_assert_ptr_null(gmem_ptr(&gm, UINT64_MAX, 1));
	gmem_destroy(&gm);
}
END_TEST

START_TEST(test_gap_split)
{
	/* 4 GiB sparse memfd, never touched: costs no host RAM. */
	struct gmem_opts o = {.ram_size = 4 * GiB};
	struct guest_mem gm;
	uint8_t *lo, *hi;

	ck_assert_int_eq(gmem_create(&gm, &o), 0);
	ck_assert_uint_eq(gm.nr_regions, 2);
	ck_assert_uint_eq(gmem_low_end(&gm), GMEM_GAP_START);
	ck_assert_uint_eq(gm.regions[1].gpa, GMEM_GAP_END);
	ck_assert_uint_eq(gm.regions[1].size, 4 * GiB - GMEM_GAP_START);
	ck_assert_uint_eq(gm.regions[1].fd_offset, GMEM_GAP_START);
	/* The gap is not RAM; nothing may straddle into it. */
	ck_assert_ptr_null(gmem_ptr(&gm, GMEM_GAP_START, 1));
	ck_assert_ptr_null(gmem_ptr(&gm, GMEM_GAP_START - 4, 8));
	ck_assert_ptr_null(gmem_ptr(&gm, GMEM_GAP_END - 1, 2));
	/* Cross-region: end of low RAM to start of high RAM is one span of
	 * the file but two guest ranges; refused. */
	ck_assert_ptr_null(gmem_ptr(&gm, GMEM_GAP_START - 1, GMEM_GAP_END));
	lo = gmem_ptr(&gm, GMEM_GAP_START - 1, 1);
	hi = gmem_ptr(&gm, GMEM_GAP_END, 1);
	ck_assert_ptr_nonnull(lo);
	ck_assert_ptr_eq(hi, lo + 1); /* contiguous in the file */
	ck_assert_ptr_nonnull(gmem_ptr(&gm, 5 * GiB - 8, 8));
	ck_assert_ptr_null(gmem_ptr(&gm, 5 * GiB - 8, 9));
	gmem_destroy(&gm);
}
END_TEST

START_TEST(test_shared_mapping)
{
	struct gmem_opts o = {.ram_size = 2 * MiB};
	struct guest_mem gm;
	char buf[6] = {0};
	uint8_t *p;

	ck_assert_int_eq(gmem_create(&gm, &o), 0);
	p = gmem_ptr(&gm, 0x2000, 5);
	memcpy(p, "hello", 5);
	/* A vhost-user back-end maps the fd: it must see guest writes. */
	ck_assert_int_eq(pread(gm.fd, buf, 5, 0x2000), 5);
	ck_assert_str_eq(buf, "hello");
	gmem_destroy(&gm);
}
END_TEST

START_TEST(test_bad_sizes)
{
	struct gmem_opts o = {.ram_size = 0};
	struct guest_mem gm;

	ck_assert_int_eq(gmem_create(&gm, &o), -EINVAL);
	o.ram_size = 3 * MiB;
	o.hugepages = true;
	ck_assert_int_eq(gmem_create(&gm, &o), -EINVAL);
	gmem_destroy(&gm);
}
END_TEST

START_TEST(test_hugepages_shortage)
{
	struct gmem_opts o = {.ram_size = 0, .hugepages = true};
	struct guest_mem gm;
	long free_pages = -1;
	FILE *f = fopen("/sys/kernel/mm/hugepages/hugepages-2048kB/"
	                "free_hugepages",
	                "r");

	if (f) {
		if (fscanf(f, "%ld", &free_pages) != 1)
			free_pages = -1;
		fclose(f);
	}
	/* Ask for well more than is free (others may free pages meanwhile):
	 * refused before any mmap. */
	o.ram_size =
	    (uint64_t)(free_pages < 0 ? 1 : free_pages + 512) * 2 * MiB;
	ck_assert_int_eq(gmem_create(&gm, &o), -ENOMEM);
	ck_assert_ptr_null(gm.base);
	gmem_destroy(&gm);
}
END_TEST

START_TEST(test_bind_node)
{
	struct gmem_opts o = {.ram_size = 8 * MiB};
	struct guest_mem gm;

	ck_assert_int_eq(gmem_create(&gm, &o), 0);
	/* Node 0 exists on every Linux host; the call reads it back. */
	ck_assert_int_eq(gmem_bind_node(&gm, 0, false), 0);
	ck_assert_int_eq(gmem_bind_node(&gm, 0, true), 0);
	/* A node that does not exist is refused, not ignored. */
	ck_assert_int_lt(gmem_bind_node(&gm, 1000, false), 0);
	ck_assert_int_eq(gmem_bind_node(&gm, -1, false), -EINVAL);
	gmem_destroy(&gm);
}
END_TEST

static Suite *gmem_suite(void)
{
	Suite *s = suite_create("guest_mem");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_small_layout);
	tcase_add_test(tc, test_overflow);
	tcase_add_test(tc, test_gap_split);
	tcase_add_test(tc, test_shared_mapping);
	tcase_add_test(tc, test_bad_sizes);
	tcase_add_test(tc, test_hugepages_shortage);
	tcase_add_test(tc, test_bind_node);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(gmem_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
