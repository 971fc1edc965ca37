/* SPDX-License-Identifier: Apache-2.0 */
/* The power management port: which writes power the VM off. */
#include <check.h>
#include <stdint.h>

#include "podvisor/iobus.h"
#include "podvisor/legacy.h"
#include "podvisor/vm.h"

/* pm.c's only outside calls, faked: the test drives the port directly. */
static int stops;
static enum vm_exit_reason last_why;
static const struct io_ops *pm_ops_seen;
static void *pm_opaque;

void vm_request_stop(struct vm *vm, enum vm_exit_reason why, const char *detail)
{
	(void)vm;
	(void)detail;
	stops++;
	last_why = why;
}

int io_bus_add(struct io_bus *bus, uint64_t base, uint64_t len,
               const struct io_ops *ops, void *opaque)
{
	(void)bus;
	ck_assert_uint_eq(base, 0x600);
	ck_assert_uint_ge(len, 2);
	pm_ops_seen = ops;
	pm_opaque = opaque;
	return 0;
}

int pm_create(struct vm *vm);

START_TEST(test_pm1_control_form)
{
	uint16_t v16 = (5 << 10) | (1 << 13);
	uint32_t v32 = v16;

	ck_assert(pm_write_is_poweroff(0, &v16, 2));
	ck_assert(pm_write_is_poweroff(0, &v32, 4));
	/* Other bits (SCI_EN, bit 0) do not matter. */
	v16 |= 1;
	ck_assert(pm_write_is_poweroff(0, &v16, 2));
	/* SLP_EN without S5, or S5 without SLP_EN: no power-off. */
	v16 = (5 << 10);
	ck_assert(!pm_write_is_poweroff(0, &v16, 2));
	v16 = (1 << 10) | (1 << 13);
	ck_assert(!pm_write_is_poweroff(0, &v16, 2));
	v16 = (5 << 10) | (1 << 13);
	ck_assert(!pm_write_is_poweroff(2, &v16, 2));
}
END_TEST

START_TEST(test_sleep_control_byte_form)
{
	uint8_t b = (5 << 2) | (1 << 5);

	ck_assert_uint_eq(b, 0x34);
	ck_assert(pm_write_is_poweroff(0, &b, 1));
	ck_assert(pm_write_is_poweroff(1, &b, 1)); /* PM1 high byte */
	ck_assert(!pm_write_is_poweroff(2, &b, 1));
	b = 5 << 2; /* no SLP_EN */
	ck_assert(!pm_write_is_poweroff(0, &b, 1));
	b = 0x00;
	ck_assert(!pm_write_is_poweroff(0, &b, 1));
}
END_TEST

START_TEST(test_port_stops_vm)
{
	struct vm vm;
	uint16_t v = (5 << 10) | (1 << 13), r = 0xffff;
	uint8_t junk = 0x12;

	stops = 0;
	ck_assert_int_eq(pm_create(&vm), 0);
	pm_ops_seen->write(pm_opaque, 0, &junk, 1);
	ck_assert_int_eq(stops, 0);
	pm_ops_seen->read(pm_opaque, 0, &r, 2);
	ck_assert_uint_eq(r, 0);
	pm_ops_seen->write(pm_opaque, 0, &v, 2);
	ck_assert_int_eq(stops, 1);
	ck_assert_int_eq(last_why, VM_EXIT_POWEROFF);
}
END_TEST

static Suite *pm_suite(void)
{
	Suite *s = suite_create("pm");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_pm1_control_form);
	tcase_add_test(tc, test_sleep_control_byte_form);
	tcase_add_test(tc, test_port_stops_vm);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(pm_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
