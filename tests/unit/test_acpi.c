/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ACPI tables: checksums and the links Linux follows (RSDP -> XSDT ->
 * FADT -> DSDT, MADT), the hardware-reduced FADT with its sleep registers,
 * the MADT's CPUs and IOAPIC, and the DSDT's AML decoded byte by byte
 * (\_S5 = 5, \_SB.PCI0 with its MMIO window).
 *
 * Run with the argument "iasl" it instead disassembles every table with
 * ACPICA's iasl (exit 77 when iasl is not installed) and checks what the
 * reference compiler reads back.
 */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "podvisor/boot.h"
#include "podvisor/pci.h"

#include "boot_priv.h"

#define ADDR 0xe0000

static uint8_t buf[BOOT_ACPI_MAX];

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* Host pointer of a table at guest address a, its signature checked. */
static const uint8_t *table(uint64_t a, const char *sig)
{
	const uint8_t *t;

	ck_assert_uint_ge(a, ADDR);
	ck_assert_uint_lt(a, ADDR + sizeof(buf) - 36);
	t = buf + (a - ADDR);
	ck_assert_mem_eq(t, sig, 4);
	ck_assert_uint_le(a - ADDR + rd32(t + 4), sizeof(buf));
	ck_assert_uint_eq(boot_checksum(t, rd32(t + 4)), 0);
	return t;
}

static const uint8_t *xsdt_find(const uint8_t *xsdt, const char *sig)
{
	unsigned int n = (rd32(xsdt + 4) - 36) / 8;

	for (unsigned int i = 0; i < n; i++) {
		uint64_t a = rd64(xsdt + 36 + 8 * i);

		if (!memcmp(buf + (a - ADDR), sig, 4))
			return table(a, sig);
	}
	ck_abort_msg("%s not in the XSDT", sig);
	return NULL;
}

static const uint8_t *build(unsigned int n)
{
	int len = acpi_build(buf, sizeof(buf), ADDR, n);

	ck_assert_int_gt(len, 0);
	ck_assert_mem_eq(buf, "RSD PTR ", 8);
	ck_assert_uint_eq(boot_checksum(buf, 20), 0);
	ck_assert_uint_eq(boot_checksum(buf, 36), 0);
	ck_assert_uint_eq(buf[15], 2);
	ck_assert_uint_eq(rd32(buf + 20), 36);
	return table(rd64(buf + 24), "XSDT");
}

START_TEST(test_fadt)
{
	const uint8_t *f = xsdt_find(build(1), "FACP");

	ck_assert_uint_eq(rd32(f + 4), 276);
	ck_assert_uint_eq(f[8], 6);
	ck_assert_uint_eq(rd32(f + 112) & (1U << 20), 1U << 20); /* HW_RED */
	for (int off = 244; off <= 256; off += 12) {
		ck_assert_uint_eq(f[off], 1); /* System I/O */
		ck_assert_uint_eq(f[off + 1], 8);
		ck_assert_uint_eq(rd64(f + off + 4), BOOT_PM_SLEEP_PORT);
	}
	ck_assert_uint_ne(rd32(f + 46) & 0xffff, 0); /* SCI off IRQ 0 */
	ck_assert_uint_eq(rd64(f + 140), rd32(f + 40));
	table(rd64(f + 140), "DSDT");
}
END_TEST

START_TEST(test_madt)
{
	const uint8_t *m = xsdt_find(build(3), "APIC");
	const uint8_t *p = m + 44, *end = m + rd32(m + 4);
	unsigned int cpus = 0, ioapics = 0, overrides = 0;

	ck_assert_uint_eq(rd32(m + 36), 0xfee00000);
	while (p < end) {
		ck_assert_uint_ge(p[1], 2);
		if (p[0] == 0) {
			ck_assert_uint_eq(p[3], cpus); /* APIC id */
			ck_assert_uint_eq(rd32(p + 4) & 1, 1);
			cpus++;
		} else if (p[0] == 1) {
			ck_assert_uint_eq(p[2], 3);
			ck_assert_uint_eq(rd32(p + 4), 0xfec00000);
			ck_assert_uint_eq(rd32(p + 8), 0);
			ioapics++;
		} else if (p[0] == 2) {
			ck_assert_uint_eq(p[3], 0);
			ck_assert_uint_eq(rd32(p + 4), BOOT_IRQ0_PIN);
			overrides++;
		}
		p += p[1];
	}
	ck_assert_ptr_eq(p, end);
	ck_assert_uint_eq(cpus, 3);
	ck_assert_uint_eq(ioapics, 1);
	ck_assert_uint_eq(overrides, BOOT_IRQ0_PIN != 0);
}
END_TEST

/* AML PkgLength (ACPI 6.4, 20.2.4): returns the length, *n its bytes. */
static size_t pkglen(const uint8_t *p, size_t *n)
{
	size_t extra = p[0] >> 6, len = extra ? p[0] & 0xf : p[0] & 0x3f;

	for (size_t i = 0; i < extra; i++)
		len |= (size_t)p[1 + i] << (4 + 8 * i);
	*n = 1 + extra;
	return len;
}

START_TEST(test_dsdt_aml)
{
	const uint8_t *f = xsdt_find(build(1), "FACP");
	const uint8_t *d = table(rd64(f + 140), "DSDT");
	const uint8_t *p = d + 36, *end = d + rd32(d + 4), *dev, *crs;
	size_t n, len;

	/* Name(_S5_, Package(4) {5, 5, 0, 0}) */
	ck_assert_uint_eq(p[0], 0x08);
	ck_assert_mem_eq(p + 1, "_S5_", 4);
	ck_assert_uint_eq(p[5], 0x12);
	len = pkglen(p + 6, &n);
	ck_assert_uint_eq(p[6 + n], 4);
	ck_assert_mem_eq(p + 7 + n, "\x0a\x05\x0a\x05", 4);
	p += 6 + len;
	/* Scope(\_SB_) spans exactly to the end of the table */
	ck_assert_uint_eq(p[0], 0x10);
	len = pkglen(p + 1, &n);
	ck_assert_ptr_eq(p + 1 + len, end);
	ck_assert_mem_eq(p + 1 + n, "\\_SB_", 5);
	dev = p + 1 + n + 5;
	ck_assert_mem_eq(dev, "\x5b\x82", 2);
	len = pkglen(dev + 2, &n);
	ck_assert_ptr_eq(dev + 2 + len, end);
	ck_assert_mem_eq(dev + 2 + n, "PCI0", 4);
	ck_assert_mem_eq(dev + 2 + n + 4, "\x08_HID\x0c\x41\xd0\x0a\x03", 10);
	crs = memmem(dev, (size_t)(end - dev), "\x08_CRS\x11", 6);
	ck_assert_ptr_nonnull(crs);
	len = pkglen(crs + 6, &n);
	ck_assert_ptr_eq(crs + 6 + len, end);
	p = crs + 6 + n + 2; /* skip BufferSize (0x0a nn) */
	ck_assert_uint_eq(crs[6 + n + 1], (size_t)(end - p));
	/* walk the resource descriptors to the end tag */
	while (p < end && p[0] != 0x79) {
		if (p[0] == 0x87) { /* DWordMemory: the BAR window */
			ck_assert_uint_eq(rd32(p + 10), PCI_MMIO_BASE);
			ck_assert_uint_eq(rd32(p + 14), PCI_MMIO_END - 1);
			ck_assert_uint_eq(rd32(p + 22),
			                  PCI_MMIO_END - PCI_MMIO_BASE);
		}
		p += (p[0] & 0x80) ? 3 + (p[1] | p[2] << 8) : 1 + (p[0] & 7);
	}
	ck_assert_ptr_eq(p + 2, end);
}
END_TEST

START_TEST(test_limits)
{
	ck_assert_int_eq(acpi_build(buf, 200, ADDR, 1), -E2BIG);
	ck_assert_int_eq(acpi_build(buf, sizeof(buf), ADDR, 0), -EINVAL);
	build(64);
}
END_TEST

/* ---- iasl cross-check ---- */

/* Finds a table by signature among the XSDT's entries and the DSDT,
 * without Check (this mode runs outside a test case). */
static const uint8_t *find_raw(const char *sig)
{
	const uint8_t *x = buf + (rd64(buf + 24) - ADDR);
	unsigned int n = (rd32(x + 4) - 36) / 8;

	for (unsigned int i = 0; i < n; i++) {
		const uint8_t *t = buf + (rd64(x + 36 + 8 * i) - ADDR);

		if (!memcmp(t, sig, 4))
			return t;
		if (!memcmp(t, "FACP", 4) && !strcmp(sig, "DSDT"))
			return buf + (rd64(t + 140) - ADDR);
	}
	return NULL;
}

static int run_iasl(void)
{
	char dir[] = "/tmp/pv-test-acpi.XXXXXX", cmd[512], line[512];
	const char *sigs[] = {"FACP", "APIC", "DSDT"};
	const char *want[] = {"Name (_S5, Package", "PNP0A03",
	                      "0xFEBFFFFF",         "Hardware Reduced (V5) : 1",
	                      "Local Apic ID : 01", NULL};
	unsigned int found = 0;
	int status;
	FILE *f;

	if (access("/usr/bin/iasl", X_OK) != 0) {
		printf("iasl (acpica-tools) not installed\n");
		return 77;
	}
	if (acpi_build(buf, sizeof(buf), ADDR, 2) <= 0 || !mkdtemp(dir))
		return 1;
	for (unsigned int i = 0; i < 3; i++) {
		const uint8_t *t = find_raw(sigs[i]);
		char path[128];

		if (!t)
			return 1;
		snprintf(path, sizeof(path), "%s/%s.dat", dir, sigs[i]);
		f = fopen(path, "wb");
		fwrite(t, 1, rd32(t + 4), f);
		fclose(f);
	}
	snprintf(cmd, sizeof(cmd),
	         "cd %s && iasl -d FACP.dat APIC.dat DSDT.dat >iasl.log 2>&1 &&"
	         " cat FACP.dsl APIC.dsl DSDT.dsl",
	         dir);
	f = popen(cmd, "r");
	while (fgets(line, sizeof(line), f))
		for (unsigned int i = 0; want[i]; i++)
			if (strstr(line, want[i]))
				found |= 1U << i;
	status = pclose(f);
	printf("iasl: exit status %d, expected lines found: mask 0x%x of "
	       "0x1f\n",
	       status, found);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return status == 0 && found == 0x1f ? 0 : 1;
}

int main(int argc, char **argv)
{
	Suite *s;
	TCase *tc;
	SRunner *sr;
	int failed;

	if (argc > 1 && !strcmp(argv[1], "iasl"))
		return run_iasl();
	s = suite_create("acpi");
	tc = tcase_create("acpi");
	tcase_add_test(tc, test_fadt);
	tcase_add_test(tc, test_madt);
	tcase_add_test(tc, test_dsdt_aml);
	tcase_add_test(tc, test_limits);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
