/* SPDX-License-Identifier: Apache-2.0 */
/*
 * MP table: what Linux's mpparse.c checks (signatures, both checksums, the
 * length it walks) and finds (one enabled CPU per vCPU with the BSP flag on
 * CPU 0 only, the ISA bus, the IOAPIC and the 16 ISA interrupts).
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "boot_priv.h"

#define ADDR 0x9fc00

static uint8_t buf[BOOT_MPTABLE_MAX];

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

struct mp_seen {
	unsigned int cpus, bsp, buses, ioapics, irqs;
	uint8_t cpu_ids[256];
	uint8_t ioapic_id;
	uint32_t ioapic_addr;
	uint8_t irq_pin[16];
};

/* Walks the configuration table as mpparse.c does, entry by entry. */
static void mp_walk(const uint8_t *cfg, struct mp_seen *s)
{
	const uint8_t *p = cfg + 44, *end = cfg + rd16(cfg + 4);
	unsigned int count = rd16(cfg + 34);

	memset(s, 0, sizeof(*s));
	for (unsigned int i = 0; i < count; i++) {
		ck_assert(p < end);
		switch (p[0]) {
		case 0:
			ck_assert_uint_eq(p[3] & 1, 1); /* enabled */
			s->cpu_ids[s->cpus++] = p[1];
			if (p[3] & 2)
				s->bsp++;
			p += 20;
			break;
		case 1:
			ck_assert_mem_eq(p + 2, "ISA   ", 6);
			s->buses++;
			p += 8;
			break;
		case 2:
			s->ioapics++;
			s->ioapic_id = p[1];
			s->ioapic_addr = rd32(p + 4);
			ck_assert_uint_eq(p[3] & 1, 1);
			p += 8;
			break;
		case 3:
			ck_assert_uint_eq(p[6], s->ioapic_id);
			ck_assert_uint_lt(p[5], 16);
			s->irq_pin[p[5]] = p[7];
			s->irqs++;
			p += 8;
			break;
		default:
			ck_abort_msg("unknown MP entry type %u", p[0]);
		}
	}
	ck_assert_ptr_eq(p, end);
}

static void check_table(unsigned int n)
{
	int len = mptable_build(buf, sizeof(buf), ADDR, n);
	const uint8_t *cfg;
	struct mp_seen s;

	ck_assert_int_gt(len, 0);
	ck_assert_mem_eq(buf, "_MP_", 4);
	ck_assert_uint_eq(boot_checksum(buf, 16), 0);
	ck_assert_uint_eq(buf[8], 1); /* length in 16-byte units */
	ck_assert_uint_eq(buf[9], 4); /* spec 1.4 */
	ck_assert_uint_eq(rd32(buf + 4), ADDR + 16);
	cfg = buf + (rd32(buf + 4) - ADDR);
	ck_assert_mem_eq(cfg, "PCMP", 4);
	ck_assert_uint_eq(boot_checksum(cfg, rd16(cfg + 4)), 0);
	ck_assert_int_eq(16 + rd16(cfg + 4), len);
	ck_assert_uint_eq(rd32(cfg + 36), 0xfee00000);
	mp_walk(cfg, &s);
	ck_assert_uint_eq(s.cpus, n);
	ck_assert_uint_eq(s.bsp, 1);
	for (unsigned int i = 0; i < n; i++)
		ck_assert_uint_eq(s.cpu_ids[i], i);
	ck_assert_uint_eq(s.buses, 1);
	ck_assert_uint_eq(s.ioapics, 1);
	ck_assert_uint_eq(s.ioapic_id, n);
	ck_assert_uint_eq(s.ioapic_addr, 0xfec00000);
	ck_assert_uint_eq(s.irqs, BOOT_IRQ0_PIN == 2 ? 15 : 16);
	ck_assert_uint_eq(s.irq_pin[0], BOOT_IRQ0_PIN);
	for (unsigned int irq = 1; irq < 16; irq++)
		if (irq != 2 || BOOT_IRQ0_PIN != 2)
			ck_assert_uint_eq(s.irq_pin[irq], irq);
}

START_TEST(test_one_cpu)
{
	check_table(1);
}
END_TEST

START_TEST(test_two_cpus)
{
	check_table(2);
}
END_TEST

START_TEST(test_max_cpus)
{
	/* VM_MAX_VCPUS: the table runs past the first KiB, still fits */
	check_table(64);
}
END_TEST

START_TEST(test_limits)
{
	ck_assert_int_eq(mptable_build(buf, 100, ADDR, 2), -E2BIG);
	ck_assert_int_eq(mptable_build(buf, sizeof(buf), ADDR, 0), -EINVAL);
	ck_assert_int_eq(mptable_build(buf, sizeof(buf), ADDR, 255), -EINVAL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mptable");
	TCase *tc = tcase_create("mptable");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_one_cpu);
	tcase_add_test(tc, test_two_cpus);
	tcase_add_test(tc, test_max_cpus);
	tcase_add_test(tc, test_limits);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
