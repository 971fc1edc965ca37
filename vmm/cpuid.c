/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Per-vCPU CPUID: KVM_GET_SUPPORTED_CPUID with the topology leaves filled
 * in (one thread per core, nr_vcpus cores in one package, APIC id = vCPU
 * index), KVM's hypervisor leaves 0x40000000+ kept as reported, and with the
 * PVM profile a baseline the PVM instruction emulator can run
 * (shared/guest/NOTES.md: vendor GenuineIntel, no XSAVE family, SSE3+, AVX*,
 * POPCNT, CX16, MOVBE, BMI, SMAP/SMEP/UMIP/PKU, FSGSBASE, PCID, RDRAND/
 * RDSEED, RDTSCP/RDPID, x2APIC, TSC-deadline, pdpe1gb).
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "podvisor/boot.h"
#include "podvisor/kvm.h"
#include "podvisor/log.h"
#include "podvisor/vm.h"

#include "boot_priv.h"

#define BIT(n) (1U << (n))

/* Leaf 1 ECX: SSE3, PCLMULQDQ, SSSE3, FMA, CX16, PCID, SSE4.1, SSE4.2,
 * x2APIC, MOVBE, POPCNT, TSC-deadline, AES, XSAVE, OSXSAVE, AVX, F16C,
 * RDRAND. */
#define PVM_L1_ECX                                                             \
	(BIT(0) | BIT(1) | BIT(9) | BIT(12) | BIT(13) | BIT(17) | BIT(19) |    \
	 BIT(20) | BIT(21) | BIT(22) | BIT(23) | BIT(24) | BIT(25) | BIT(26) | \
	 BIT(27) | BIT(28) | BIT(29) | BIT(30))
/* Leaf 7.0 EBX: FSGSBASE, BMI1, AVX2, SMEP, BMI2, ERMS, INVPCID, AVX512F,
 * AVX512DQ, RDSEED, ADX, SMAP, AVX512IFMA, CLFLUSHOPT, CLWB, AVX512CD, SHA,
 * AVX512BW, AVX512VL. */
#define PVM_L7_EBX                                                             \
	(BIT(0) | BIT(3) | BIT(5) | BIT(7) | BIT(8) | BIT(9) | BIT(10) |       \
	 BIT(16) | BIT(17) | BIT(18) | BIT(19) | BIT(20) | BIT(21) | BIT(23) | \
	 BIT(24) | BIT(28) | BIT(29) | BIT(30) | BIT(31))
/* Leaf 7.0 ECX: AVX512VBMI, UMIP, PKU, OSPKE, AVX512_VBMI2, GFNI, VAES,
 * VPCLMULQDQ, AVX512_VNNI, AVX512_BITALG, AVX512_VPOPCNTDQ, RDPID. */
#define PVM_L7_ECX                                                             \
	(BIT(1) | BIT(2) | BIT(3) | BIT(4) | BIT(6) | BIT(8) | BIT(9) |        \
	 BIT(10) | BIT(11) | BIT(12) | BIT(14) | BIT(22))
/* Leaf 7.0 EDX: AVX512_4VNNIW, AVX512_4FMAPS, FSRM, AVX512_VP2INTERSECT,
 * AMX-BF16, AVX512_FP16, AMX-TILE, AMX-INT8. */
#define PVM_L7_EDX                                                             \
	(BIT(2) | BIT(3) | BIT(4) | BIT(8) | BIT(22) | BIT(23) | BIT(24) |     \
	 BIT(25))
/* Leaf 7.1 EAX: AVX-VNNI, AVX512_BF16. */
#define PVM_L71_EAX (BIT(4) | BIT(5))
/* Leaf 0x80000001 ECX: LAHF_LM, ABM, SSE4A, MISALIGNSSE, 3DNOWPREFETCH,
 * OSVW, TOPOEXT; EDX: pdpe1gb, RDTSCP. */
#define PVM_L81_ECX                                                            \
	(BIT(0) | BIT(5) | BIT(6) | BIT(7) | BIT(8) | BIT(9) | BIT(22))
#define PVM_L81_EDX (BIT(26) | BIT(27))
/* Leaf 0x80000008 EBX: CLZERO. */
#define PVM_L88_EBX BIT(0)

static struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *c, uint32_t fn,
                                           uint32_t index)
{
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function == fn &&
		    (!(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) ||
		     e->index == index))
			return e;
	}
	return NULL;
}

static struct kvm_cpuid_entry2 *cpuid_get_or_add(struct kvm_cpuid2 *c,
                                                 unsigned int cap, uint32_t fn,
                                                 uint32_t index)
{
	struct kvm_cpuid_entry2 *e = cpuid_find(c, fn, index);

	if (e || c->nent >= cap)
		return e;
	e = &c->entries[c->nent++];
	memset(e, 0, sizeof(*e));
	e->function = fn;
	e->index = index;
	e->flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
	return e;
}

static unsigned int order_base2(unsigned int n)
{
	unsigned int b = 0;

	while ((1U << b) < n)
		b++;
	return b;
}

static void cpuid_pvm_mask(struct kvm_cpuid2 *c)
{
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function == 0) {
			/* "GenuineIntel" in EBX, EDX, ECX order */
			memcpy(&e->ebx, "Genu", 4);
			memcpy(&e->edx, "ineI", 4);
			memcpy(&e->ecx, "ntel", 4);
		} else if (e->function == 1) {
			e->ecx &= ~PVM_L1_ECX;
		} else if (e->function == 7 && e->index == 0) {
			e->ebx &= ~PVM_L7_EBX;
			e->ecx &= ~PVM_L7_ECX;
			e->edx &= ~PVM_L7_EDX;
		} else if (e->function == 7 && e->index == 1) {
			e->eax &= ~PVM_L71_EAX;
		} else if (e->function == 0xd) {
			/* no XSAVE: no state components either */
			e->eax = e->ebx = e->ecx = e->edx = 0;
		} else if (e->function == 0x80000001) {
			e->ecx &= ~PVM_L81_ECX;
			e->edx &= ~PVM_L81_EDX;
		} else if (e->function == 0x80000008) {
			e->ebx &= ~PVM_L88_EBX;
		}
	}
}

/* Leaf 0xb / 0x1f: level 0 SMT (1 thread), level 1 core (nr_vcpus), then
 * the invalid level that ends the enumeration. */
static int cpuid_ext_topology(struct kvm_cpuid2 *c, unsigned int cap,
                              uint32_t fn, unsigned int index,
                              unsigned int nr_vcpus)
{
	for (uint32_t sub = 0; sub < 3; sub++) {
		struct kvm_cpuid_entry2 *e = cpuid_get_or_add(c, cap, fn, sub);

		if (!e)
			return -E2BIG;
		e->eax = sub == 1 ? order_base2(nr_vcpus) : 0;
		e->ebx = sub == 0 ? 1 : sub == 1 ? nr_vcpus : 0;
		e->ecx = sub | (sub < 2 ? (sub + 1) << 8 : 0);
		e->edx = index;
	}
	return 0;
}

static void cpuid_topology(struct kvm_cpuid2 *c, unsigned int index,
                           unsigned int nr_vcpus)
{
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function == 1) {
			e->ebx = (e->ebx & 0xffff) | (index << 24) |
			         ((nr_vcpus & 0xff) << 16);
			if (nr_vcpus > 1)
				e->edx |= BIT(28); /* HTT: EBX[23:16] valid */
		} else if (e->function == 4 && (e->eax & 0x1f)) {
			/* cores per package - 1; L3 shared by all cores */
			uint32_t level = (e->eax >> 5) & 7;
			uint32_t sharing = level >= 3 ? nr_vcpus - 1 : 0;

			e->eax = (e->eax & 0x3ff) | (sharing << 14) |
			         ((nr_vcpus - 1) << 26);
		} else if (e->function == 0x80000008) {
			/* AMD: cores - 1 and the APIC id width */
			e->ecx = (e->ecx & ~0xf0ffU) | (nr_vcpus - 1) |
			         (order_base2(nr_vcpus) << 12);
		}
	}
}

int cpuid_filter(struct kvm_cpuid2 *c, unsigned int cap, unsigned int index,
                 unsigned int nr_vcpus, bool pvm)
{
	struct kvm_cpuid_entry2 *l0 = cpuid_find(c, 0, 0);
	uint32_t max_leaf = l0 ? l0->eax : 0;
	int r;

	if (nr_vcpus == 0 || index >= nr_vcpus || nr_vcpus > 255)
		return -EINVAL;
	cpuid_topology(c, index, nr_vcpus);
	if (max_leaf >= 0xb) {
		r = cpuid_ext_topology(c, cap, 0xb, index, nr_vcpus);
		if (r < 0)
			return r;
	}
	if (max_leaf >= 0x1f && cpuid_find(c, 0x1f, 0)) {
		r = cpuid_ext_topology(c, cap, 0x1f, index, nr_vcpus);
		if (r < 0)
			return r;
	}
	if (pvm)
		cpuid_pvm_mask(c);
	return 0;
}

#define CPUID_CAP 256

static struct kvm_cpuid2 *cpuid_alloc(unsigned int cap)
{
	struct kvm_cpuid2 *c =
	    calloc(1, sizeof(*c) + cap * sizeof(struct kvm_cpuid_entry2));

	if (c)
		c->nent = cap;
	return c;
}

int cpuid_setup_vcpu(struct vm *vm, int vcpu_fd, unsigned int index,
                     bool pvm_profile)
{
	/* room for what KVM reports plus the topology subleaves we add */
	struct kvm_cpuid2 *c = cpuid_alloc(CPUID_CAP);
	int r;

	if (!c)
		return -ENOMEM;
	r = kvm_ioctl(vm->kvm.sys_fd, KVM_GET_SUPPORTED_CPUID, c);
	if (r < 0)
		goto out;
	r = cpuid_filter(c, CPUID_CAP, index, vm->nr_vcpus, pvm_profile);
	if (r < 0) {
		log_err("vcpu %u: cannot build CPUID for %u vCPUs: error %d",
		        index, vm->nr_vcpus, r);
		goto out;
	}
	r = kvm_ioctl(vcpu_fd, KVM_SET_CPUID2, c);
out:
	free(c);
	return r < 0 ? r : 0;
}
