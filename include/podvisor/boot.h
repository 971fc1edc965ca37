/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Direct boot of an x86_64 kernel (Documentation/arch/x86/boot.rst, PVH):
 * bzImage through its 64-bit entry, ELF vmlinux through e_entry in long mode,
 * or the PVH 32-bit entry when the ELF carries the Xen note type 18.
 * No firmware: the VMM writes the zero page (or hvm_start_info), e820, the
 * command line, the initrd, the MP table, ACPI tables, a GDT and identity page
 * tables covering the first 4 GiB with 2 MiB pages.
 */
#ifndef PODVISOR_BOOT_H
#define PODVISOR_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;
struct kvm_cpuid2;

enum boot_entry {
	BOOT_ENTRY_LINUX64, /* long mode, RSI = zero page */
	BOOT_ENTRY_PVH,     /* 32-bit protected mode, EBX = start info */
};

enum boot_kernel_kind {
	BOOT_KERNEL_BZIMAGE,
	BOOT_KERNEL_ELF,
};

struct boot_info {
	enum boot_kernel_kind kind;
	enum boot_entry entry_mode;
	uint64_t entry;      /* guest-physical entry point */
	uint64_t zero_page;  /* boot_params, LINUX64 */
	uint64_t start_info; /* hvm_start_info, PVH */
	uint64_t kernel_start, kernel_end;
	uint64_t initrd_start, initrd_size;
	uint64_t cmdline_addr;
	uint64_t pml4; /* identity page tables, LINUX64 */
	uint64_t gdt;
};

/*
 * Loads the kernel, initrd and command line named in vm->cfg into guest RAM
 * and writes every boot table (zero page or start info with the e820 map,
 * MP table for vm->nr_vcpus CPUs, ACPI, GDT, page tables). cmdline is the
 * effective command line (profile arguments already appended).
 * Returns 0 or -errno after logging the reason with the file name.
 */
int boot_load(struct vm *vm, const char *cmdline, struct boot_info *bi);

/*
 * ACPI tables on or off for the following boot_load() calls. Without a call
 * they are on, except when vm->kvm.pvm: there Linux stalls with the
 * hardware-reduced FADT (no PIT tick, TSC calibration fails under the
 * emulator; see vmm/boot.c). Off leaves the MP table alone to describe the
 * CPUs and no RSDP; Linux then scans PCI through the legacy path and cannot
 * power off by ACPI.
 */
void boot_set_acpi(bool on);

/* Sets the boot CPU's registers, segments and MSRs for bi's entry mode. */
int boot_setup_bsp(struct vm *vm, int vcpu_fd, const struct boot_info *bi);

/* Power management port: writing (5 << 10) | (1 << 13) powers off (the
 * ACPI FADT names it as the sleep control register). */
#define BOOT_PM_SLEEP_PORT 0x600

/*
 * CPUID for vCPU index of nr: starts from KVM_GET_SUPPORTED_CPUID, fills the
 * topology leaves (APIC ids, core counts), keeps KVM's hypervisor leaves and
 * with pvm_profile masks the features the PVM emulator cannot run.
 */
int cpuid_setup_vcpu(struct vm *vm, int vcpu_fd, unsigned int index,
                     bool pvm_profile);

/* Kernel arguments the PVM compatibility profile appends (NOTES.md). */
const char *boot_pvm_cmdline(void);

#endif
