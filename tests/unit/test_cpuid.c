/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CPUID filtering over a synthetic KVM_GET_SUPPORTED_CPUID answer with
 * every feature bit set and an AMD vendor: the PVM baseline must hide
 * exactly the features of shared/guest/NOTES.md and keep the rest (long
 * mode, NX, SYSCALL, the hypervisor bit and leaves), and the topology
 * leaves must give each vCPU its APIC id and the core count.
 */
#include <check.h>
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>

#include "boot_priv.h"

#define CAP 64
#define ALL 0xffffffffU

static struct kvm_cpuid2 *c;

static void add(uint32_t fn, uint32_t idx, bool sig, uint32_t a, uint32_t b,
                uint32_t cx, uint32_t d)
{
	struct kvm_cpuid_entry2 *e = &c->entries[c->nent++];

	*e = (struct kvm_cpuid_entry2){
	    .function = fn,
	    .index = idx,
	    .flags = sig ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0,
	    .eax = a,
	    .ebx = b,
	    .ecx = cx,
	    .edx = d,
	};
}

static void setup(void)
{
	c = calloc(1, sizeof(*c) + CAP * sizeof(struct kvm_cpuid_entry2));
	/* leaf 0: max 0x1f, "AuthenticAMD" */
	add(0, 0, false, 0x1f, 0x68747541, 0x444d4163, 0x69746e65);
	add(1, 0, false, 0x000806f8, 0x00000800, ALL, ALL);
	add(4, 0, true, 0x121, 0, 0, 0); /* L1 data */
	add(4, 1, true, 0x163, 0, 0, 0); /* L3 unified */
	add(4, 2, true, 0, 0, 0, 0);
	add(7, 0, true, 1, ALL, ALL, ALL);
	add(7, 1, true, ALL, 0, 0, 0);
	add(0xb, 0, true, 0, 0, 0, 0); /* KVM lists only subleaf 0 here */
	add(0xd, 0, true, 0x2e7, 0x340, 0xa88, 0);
	add(0xd, 1, true, 0xf, 0, 0, 0);
	add(0x1f, 0, true, 0, 0, 0, 0);
	add(0x40000000, 0, false, 0x40000001, 0x4b4d564b, 0x564b4d56, 0x4d);
	add(0x40000001, 0, false, 0x01007afb, 0, 0, 0);
	add(0x80000000, 0, false, 0x80000008, 0, 0, 0);
	add(0x80000001, 0, false, 0, 0, ALL, ALL);
	add(0x80000008, 0, false, 0x3030, ALL, 0, 0);
}

static void teardown(void)
{
	free(c);
}

static struct kvm_cpuid_entry2 *get(uint32_t fn, uint32_t idx)
{
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == idx)
			return &c->entries[i];
	ck_abort_msg("leaf 0x%x.%u missing", fn, idx);
	return NULL;
}

#define BIT(n) (1U << (n))

START_TEST(test_pvm_vendor_and_masks)
{
	struct kvm_cpuid_entry2 *e;

	ck_assert_int_eq(cpuid_filter(c, CAP, 0, 1, true), 0);
	e = get(0, 0);
	ck_assert_mem_eq(&e->ebx, "Genu", 4);
	ck_assert_mem_eq(&e->edx, "ineI", 4);
	ck_assert_mem_eq(&e->ecx, "ntel", 4);
	ck_assert_uint_eq(e->eax, 0x1f);

	e = get(1, 0);
	/* SSE3 SSSE3 CX16 PCID SSE4.1/2 x2APIC MOVBE POPCNT TSC-deadline
	 * XSAVE OSXSAVE AVX RDRAND all off */
	for (int b = 0; b <= 30; b++)
		if (BIT(b) & (BIT(0) | BIT(9) | BIT(13) | BIT(17) | BIT(19) |
		              BIT(20) | BIT(21) | BIT(22) | BIT(23) | BIT(24) |
		              BIT(26) | BIT(27) | BIT(28) | BIT(30)))
			ck_assert_msg(!(e->ecx & BIT(b)), "leaf1 ecx %d", b);
	ck_assert(e->ecx & BIT(31));    /* hypervisor present stays */
	ck_assert(e->ecx & BIT(5));     /* VMX: not in the list, kept */
	ck_assert_uint_eq(e->edx, ALL); /* FPU, SSE, SSE2, TSC, APIC... */

	e = get(7, 0);
	/* FSGSBASE BMI1 AVX2 SMEP BMI2 ERMS INVPCID RDSEED ADX SMAP */
	ck_assert_uint_eq(e->ebx &
	                      (BIT(0) | BIT(3) | BIT(5) | BIT(7) | BIT(8) |
	                       BIT(9) | BIT(10) | BIT(18) | BIT(19) | BIT(20)),
	                  0);
	ck_assert_uint_eq(e->ebx & 0xffff0000U &
	                      ~(BIT(22) | BIT(25) | BIT(26) | BIT(27)),
	                  0); /* AVX-512, SHA, CLFLUSHOPT, CLWB */
	ck_assert_uint_eq(e->ecx & (BIT(2) | BIT(3) | BIT(22)), 0);
	ck_assert_uint_eq(e->edx & BIT(4), 0); /* FSRM */
	ck_assert_uint_eq(get(7, 1)->eax & (BIT(4) | BIT(5)), 0);

	ck_assert_uint_eq(get(0xd, 0)->eax, 0);
	ck_assert_uint_eq(get(0xd, 1)->eax, 0);

	e = get(0x80000001, 0);
	ck_assert_uint_eq(e->edx & (BIT(26) | BIT(27)), 0); /* 1G, RDTSCP */
	ck_assert(e->edx & BIT(29));                        /* long mode */
	ck_assert(e->edx & BIT(20));                        /* NX */
	ck_assert(e->edx & BIT(11));                        /* SYSCALL */
	ck_assert_uint_eq(e->ecx & (BIT(0) | BIT(5) | BIT(6) | BIT(22)), 0);
	ck_assert_uint_eq(get(0x80000008, 0)->ebx & BIT(0), 0); /* CLZERO */

	/* KVM's hypervisor leaves exactly as reported */
	e = get(0x40000000, 0);
	ck_assert_uint_eq(e->eax, 0x40000001);
	ck_assert_mem_eq(&e->ebx, "KVMK", 4);
	ck_assert_uint_eq(get(0x40000001, 0)->eax, 0x01007afb);
}
END_TEST

START_TEST(test_no_pvm_keeps_features)
{
	ck_assert_int_eq(cpuid_filter(c, CAP, 0, 1, false), 0);
	ck_assert_uint_eq(get(0, 0)->ebx, 0x68747541); /* still AMD */
	ck_assert_uint_eq(get(1, 0)->ecx, ALL);
	ck_assert_uint_eq(get(7, 0)->ebx, ALL);
	ck_assert_uint_eq(get(0xd, 0)->eax, 0x2e7);
}
END_TEST

START_TEST(test_topology)
{
	struct kvm_cpuid_entry2 *e;

	ck_assert_int_eq(cpuid_filter(c, CAP, 2, 3, true), 0);
	e = get(1, 0);
	ck_assert_uint_eq(e->ebx >> 24, 2);          /* APIC id */
	ck_assert_uint_eq((e->ebx >> 16) & 0xff, 3); /* logical count */
	ck_assert_uint_eq(e->ebx & 0xffff, 0x0800);  /* CLFLUSH size kept */
	ck_assert(e->edx & BIT(28));
	/* leaf 4: 3 cores; L1 private, L3 shared by all */
	ck_assert_uint_eq(get(4, 0)->eax >> 26, 2);
	ck_assert_uint_eq((get(4, 0)->eax >> 14) & 0xfff, 0);
	ck_assert_uint_eq((get(4, 1)->eax >> 14) & 0xfff, 2);
	ck_assert_uint_eq(get(4, 0)->eax & 0x3ff, 0x121);
	for (uint32_t fn = 0xb; fn <= 0x1f; fn += 0x14) {
		/* SMT level: 1 thread; core level: 3 cores, shift 2 */
		ck_assert_uint_eq(get(fn, 0)->ebx, 1);
		ck_assert_uint_eq(get(fn, 0)->ecx, 0x100);
		ck_assert_uint_eq(get(fn, 1)->eax, 2);
		ck_assert_uint_eq(get(fn, 1)->ebx, 3);
		ck_assert_uint_eq(get(fn, 1)->ecx, 0x201);
		ck_assert_uint_eq(get(fn, 2)->ecx & 0xff00, 0); /* end */
		for (uint32_t s = 0; s < 3; s++)
			ck_assert_uint_eq(get(fn, s)->edx, 2); /* x2APIC id */
	}
	ck_assert_uint_eq(get(0x80000008, 0)->ecx & 0xff, 2);
}
END_TEST

START_TEST(test_limits)
{
	ck_assert_int_eq(cpuid_filter(c, CAP, 1, 1, true), -EINVAL);
	ck_assert_int_eq(cpuid_filter(c, CAP, 0, 0, true), -EINVAL);
	/* no room to add the missing 0xb subleaves */
	ck_assert_int_eq(cpuid_filter(c, c->nent, 0, 2, true), -E2BIG);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cpuid");
	TCase *tc = tcase_create("cpuid");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_pvm_vendor_and_masks);
	tcase_add_test(tc, test_no_pvm_keeps_features);
	tcase_add_test(tc, test_topology);
	tcase_add_test(tc, test_limits);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
