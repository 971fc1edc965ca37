/* SPDX-License-Identifier: Apache-2.0 */
/* I/O bus: registration rules, dispatch with offsets, moves, removal. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "podvisor/iobus.h"

struct dev {
	uint64_t last_off;
	uint32_t last_len;
	uint8_t last_val;
	int reads, writes;
	uint8_t id;
};

static void dev_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	struct dev *d = opaque;

	d->reads++;
	d->last_off = off;
	d->last_len = len;
	memset(data, d->id, len);
}

static void dev_write(void *opaque, uint64_t off, const void *data,
                      uint32_t len)
{
	struct dev *d = opaque;

	d->writes++;
	d->last_off = off;
	d->last_len = len;
	d->last_val = *(const uint8_t *)data;
}

static const struct io_ops ops = {.read = dev_read, .write = dev_write};
static struct io_bus bus;

static void setup(void)
{
	io_bus_init(&bus, "test");
}

static void teardown(void)
{
	io_bus_fini(&bus);
}

START_TEST(test_add_rules)
{
	struct dev a = {0}, b = {0};

	ck_assert_int_eq(io_bus_add(&bus, 0x100, 8, &ops, &a), 0);
	ck_assert_int_eq(io_bus_add(&bus, 0x104, 8, &ops, &b), -EEXIST);
	ck_assert_int_eq(io_bus_add(&bus, 0xf8, 9, &ops, &b), -EEXIST);
	ck_assert_int_eq(io_bus_add(&bus, 0xf8, 8, &ops, &b), 0);
	ck_assert_int_eq(io_bus_add(&bus, 0x108, 1, &ops, &b), 0);
	ck_assert_int_eq(io_bus_add(&bus, 0x200, 0, &ops, &b), -EINVAL);
	ck_assert_int_eq(io_bus_add(&bus, UINT64_MAX - 1, 4, &ops, &b),
	                 -EINVAL);
	/* The very last bytes of the address space are allowed. */
	ck_assert_int_eq(io_bus_add(&bus, UINT64_MAX - 3, 4, &ops, &b), 0);
	ck_assert_uint_eq(bus.nr, 4);
}
END_TEST

START_TEST(test_dispatch_offsets)
{
	struct dev a = {.id = 0xa}, b = {.id = 0xb};
	uint8_t v = 0x5a;
	uint32_t w = 0;

	io_bus_add(&bus, 0x3f8, 8, &ops, &a);
	io_bus_add(&bus, 0x60, 1, &ops, &b);
	ck_assert_int_eq(io_bus_access(&bus, 0x3fb, &v, 1, true), 0);
	ck_assert_int_eq(a.writes, 1);
	ck_assert_uint_eq(a.last_off, 3);
	ck_assert_uint_eq(a.last_val, 0x5a);
	ck_assert_int_eq(io_bus_access(&bus, 0x3fc, &w, 4, false), 0);
	ck_assert_uint_eq(w, 0x0a0a0a0a);
	ck_assert_uint_eq(a.last_off, 4);
	ck_assert_uint_eq(a.last_len, 4);
	ck_assert_int_eq(io_bus_access(&bus, 0x60, &v, 1, false), 0);
	ck_assert_uint_eq(v, 0xb);
	ck_assert_int_eq(b.reads, 1);
}
END_TEST

START_TEST(test_unclaimed)
{
	struct dev a = {.id = 1};
	uint32_t w = 0x12345678;

	io_bus_add(&bus, 0x1000, 4, &ops, &a);
	ck_assert_int_eq(io_bus_access(&bus, 0x2000, &w, 4, false), -ENOENT);
	ck_assert_uint_eq(w, 0xffffffff);
	/* Straddling the end of a range is not claimed by it. */
	w = 0;
	ck_assert_int_eq(io_bus_access(&bus, 0x1002, &w, 4, false), -ENOENT);
	ck_assert_uint_eq(w, 0xffffffff);
	ck_assert_int_eq(io_bus_access(&bus, 0xfff, &w, 1, true), -ENOENT);
	ck_assert_int_eq(a.reads + a.writes, 0);
}
END_TEST

START_TEST(test_move_and_remove)
{
	struct dev a = {.id = 1}, b = {.id = 2};
	uint8_t v;

	io_bus_add(&bus, 0x1000, 0x100, &ops, &a);
	io_bus_add(&bus, 0x3000, 0x100, &ops, &b);
	ck_assert_int_eq(io_bus_move(&bus, 0x1000, 0x3080, &a), -EEXIST);
	ck_assert_int_eq(io_bus_move(&bus, 0x1000, 0x5000, &b), -ENOENT);
	ck_assert_int_eq(io_bus_move(&bus, 0x1000, 0x5000, &a), 0);
	ck_assert_int_eq(io_bus_access(&bus, 0x1010, &v, 1, false), -ENOENT);
	ck_assert_int_eq(io_bus_access(&bus, 0x5010, &v, 1, false), 0);
	ck_assert_uint_eq(v, 1);
	ck_assert_uint_eq(a.last_off, 0x10);
	/* Ranges stay sorted after a move below another range. */
	ck_assert_int_eq(io_bus_move(&bus, 0x5000, 0x100, &a), 0);
	ck_assert_uint_lt(bus.ranges[0].base, bus.ranges[1].base);
	ck_assert_int_eq(io_bus_remove(&bus, 0x100, &b), -ENOENT);
	ck_assert_int_eq(io_bus_remove(&bus, 0x100, &a), 0);
	ck_assert_int_eq(io_bus_access(&bus, 0x100, &v, 1, false), -ENOENT);
	ck_assert_int_eq(io_bus_access(&bus, 0x30ff, &v, 1, false), 0);
	ck_assert_uint_eq(v, 2);
}
END_TEST

START_TEST(test_many_ranges)
{
	static struct dev d[64];
	uint8_t v;

	/* Inserted out of order; every one must be found by search. */
	for (unsigned int i = 0; i < 64; i++) {
		unsigned int k = (i * 37) % 64;

		d[k].id = (uint8_t)k;
		ck_assert_int_eq(
		    io_bus_add(&bus, 0x10000 + k * 0x20, 0x10, &ops, &d[k]), 0);
	}
	for (unsigned int k = 0; k < 64; k++) {
		ck_assert_int_eq(
		    io_bus_access(&bus, 0x10000 + k * 0x20 + 0xf, &v, 1, false),
		    0);
		ck_assert_uint_eq(v, k);
		ck_assert_int_eq(io_bus_access(&bus, 0x10000 + k * 0x20 + 0x10,
		                               &v, 1, false),
		                 -ENOENT);
	}
}
END_TEST

START_TEST(test_no_read_callback)
{
	static const struct io_ops wo = {.write = dev_write};
	struct dev a = {0};
	uint16_t w = 0;

	io_bus_add(&bus, 0x80, 2, &wo, &a);
	ck_assert_int_eq(io_bus_access(&bus, 0x80, &w, 2, false), 0);
	ck_assert_uint_eq(w, 0xffff);
}
END_TEST

static Suite *iobus_suite(void)
{
	Suite *s = suite_create("iobus");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_add_rules);
	tcase_add_test(tc, test_dispatch_offsets);
	tcase_add_test(tc, test_unclaimed);
	tcase_add_test(tc, test_move_and_remove);
	tcase_add_test(tc, test_many_ranges);
	tcase_add_test(tc, test_no_read_callback);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(iobus_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
