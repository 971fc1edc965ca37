/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internals of the boot module (vmm/boot*.c, bzimage.c, elf.c, zeropage.c,
 * pagetable.c, mptable.c, acpi.c, cpuid.c), exposed for the unit tests.
 * Builders that write tables take a plain buffer and the table's guest
 * address, so they can be checked without guest memory or /dev/kvm.
 *
 * Guest-physical layout below 1 MiB (everything a boot writes, none of it
 * overlapping; the zero page's e820 marks [0x9fc00, 1 MiB) reserved):
 */
#ifndef PODVISOR_BOOT_PRIV_H
#define PODVISOR_BOOT_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct guest_mem;
struct kvm_cpuid2;

#define BOOT_GDT_ADDR        0x500ULL
#define BOOT_START_INFO_ADDR 0x6000ULL /* hvm_start_info + modlist + memmap */
#define BOOT_ZERO_PAGE_ADDR  0x7000ULL
#define BOOT_STACK_TOP       0x8ff0ULL
#define BOOT_PML4_ADDR       0x9000ULL
#define BOOT_PDPT_ADDR       0xa000ULL
#define BOOT_PD_ADDR         0xb000ULL /* 4 pages: 4 GiB of 2 MiB pages */
#define BOOT_CMDLINE_ADDR    0x20000ULL
#define BOOT_CMDLINE_MAX     0x10000ULL /* bytes including the NUL */
#define BOOT_EBDA_START      0x9fc00ULL /* low RAM ends here */
#define BOOT_MPTABLE_ADDR    BOOT_EBDA_START
/* The floating pointer must be in the last KiB below 640 KiB; the table
 * after it may run on into the reserved range up to the ACPI tables. */
#define BOOT_MPTABLE_MAX (BOOT_ACPI_ADDR - BOOT_MPTABLE_ADDR)
#define BOOT_ACPI_ADDR   0xe0000ULL /* RSDP first, then the tables */
#define BOOT_ACPI_MAX    0x10000ULL
#define BOOT_HIMEM_START 0x100000ULL /* 1 MiB */

#define BOOT_GDT_CODE32  0x08 /* used by the PVH entry only */
#define BOOT_GDT_CODE64  0x10
#define BOOT_GDT_DATA    0x18
#define BOOT_GDT_ENTRIES 4

/* LAPIC and IOAPIC addresses the MP table and MADT announce. */
#define BOOT_LAPIC_ADDR  0xfee00000U
#define BOOT_IOAPIC_ADDR 0xfec00000U

/*
 * IOAPIC pin of ISA IRQ 0. KVM's PIT raises GSI 0 and vmm/kvm.c routes
 * GSI i to IOAPIC pin i (KVM's default table), so the timer is on pin 0 and
 * no interrupt source override is announced. A VMM that routes GSI 0 to pin
 * 2 (as QEMU does) must set this to 2: the MADT then carries the override
 * IRQ0 -> GSI 2 and the MP table maps IRQ 0 to pin 2.
 */
#define BOOT_IRQ0_PIN 0

/* e820 entry types (ACPI address range types). */
#define E820_RAM      1
#define E820_RESERVED 2
#define E820_MAX      128 /* entries the zero page holds */

struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
} __attribute__((packed));

/*
 * Fills out[] (room for max entries) with the guest's memory map for gm:
 * RAM [0, 0x9fc00), reserved up to 1 MiB, RAM [1 MiB, low end), RAM above
 * 4 GiB when there is any. Returns the number of entries or -EINVAL when
 * RAM ends below 1 MiB + 1 page or max is too small.
 */
int boot_e820_build(const struct guest_mem *gm, struct e820_entry *out,
                    unsigned int max);

struct boot_zp_args {
	uint64_t cmdline_addr;
	uint64_t initrd_addr, initrd_size; /* 0, 0: none */
	uint64_t rsdp_addr;                /* 0: no ACPI */
	const struct e820_entry *e820;
	unsigned int nr_e820;
};

/*
 * Writes what the loader owns into the zero page zp (4096 bytes, with the
 * bzImage setup header already copied in, or zero for an ELF kernel, which
 * then gets a minimal header): type_of_loader, command line, initrd, RSDP
 * and the e820 table.
 */
void boot_zero_page_fill(uint8_t *zp, const struct boot_zp_args *a);

/* ---- bzImage (Documentation/arch/x86/boot.rst) ---- */

#define BZ_HDR_OFFSET    0x1f1
#define BZ_MIN_VERSION   0x020c /* 2.12: xloadflags, the 64-bit entry */
#define BZ_XLF_KERNEL_64 (1U << 0)

struct bzimage_hdr {
	unsigned int setup_sects; /* 0 already replaced by 4 */
	uint16_t version;
	uint8_t loadflags;
	uint16_t xloadflags;
	uint32_t initrd_addr_max;
	uint32_t kernel_alignment;
	bool relocatable;
	uint32_t cmdline_size;
	uint64_t pref_address;
	uint32_t init_size;
	uint64_t kernel_offset; /* file offset of the protected-mode kernel */
	uint64_t kernel_size;   /* bytes of it in the file */
	size_t hdr_end;         /* 0x202 + byte 0x201: header bytes to copy */
};

/*
 * Parses and validates the setup header of a bzImage held in buf. On error
 * returns -ENOEXEC (or -EINVAL) after logging what is wrong with name.
 */
int bzimage_parse(const uint8_t *buf, size_t len, const char *name,
                  struct bzimage_hdr *h);

/*
 * Guest address the protected-mode kernel goes to: pref_address when
 * [pref, pref + init_size) is RAM below low_end, else 1 MiB rounded up to
 * kernel_alignment (relocatable kernels only). 0 when nothing fits.
 */
uint64_t bzimage_load_addr(const struct bzimage_hdr *h, uint64_t low_end);

/* ---- ELF vmlinux and PVH ---- */

#define ELF_MAX_LOADS            16
#define XEN_ELFNOTE_PHYS32_ENTRY 18

struct elf_load {
	uint64_t offset, filesz, memsz, paddr, vaddr;
};

struct elf_image {
	struct elf_load loads[ELF_MAX_LOADS];
	unsigned int nr_loads;
	uint64_t entry; /* physical */
	bool has_pvh;
	uint64_t pvh_entry;  /* 32-bit physical, when has_pvh */
	uint64_t start, end; /* physical span of the PT_LOAD segments */
};

/* True when buf starts with the ELF magic. */
bool elf_is_elf(const uint8_t *buf, size_t len);

/*
 * Parses an ELF64 x86-64 executable: PT_LOAD segments (bounds-checked
 * against the file), the physical entry point, and the PVH note. Returns
 * 0 or -ENOEXEC after logging what is wrong with name.
 */
int elf_parse(const uint8_t *buf, size_t len, const char *name,
              struct elf_image *img);

struct boot_info;

/*
 * Writes hvm_start_info (magic 0x336ec578, version 1) for a structure
 * placed at guest address addr, followed by the module list (the initrd as
 * module 0) and the memory map e820[0..n). Returns the bytes used, 0 when
 * max is too small.
 */
size_t pvh_start_info_build(uint8_t *buf, size_t max, uint64_t addr,
                            const struct boot_info *bi, uint64_t rsdp,
                            const struct e820_entry *e820, unsigned int n);

/* ---- page tables and GDT ---- */

/* Writes the boot GDT (BOOT_GDT_ENTRIES descriptors) into gdt. */
void boot_gdt_build(uint64_t gdt[BOOT_GDT_ENTRIES]);

/*
 * Writes the identity map of the first 4 GiB into pt: PML4 (page 0), PDPT
 * (page 1), four page directories of 2 MiB pages (pages 2-5), for a PML4
 * placed at guest address pml4. pt is 6 * 4096 bytes.
 */
#define BOOT_PT_BYTES (6 * 4096)
void boot_pagetable_build(uint8_t *pt, uint64_t pml4);

struct kvm_sregs;
struct kvm_regs;

/* The boot CPU's segments, control registers and EFER for bi's entry
 * mode (keeps the other fields of s as KVM reported them). */
void boot_sregs_fill(struct kvm_sregs *s, const struct boot_info *bi);
/* General registers at the entry: RIP, RFLAGS 2, RSI/RSP or EBX. */
void boot_regs_fill(struct kvm_regs *r, const struct boot_info *bi);

/* ---- MP table (Intel MultiProcessor Specification 1.4) ---- */

/*
 * Writes the MP floating pointer followed by the configuration table for
 * nr_vcpus processors into buf (room for max bytes), for a table placed at
 * guest address addr. Returns the bytes used or -E2BIG / -EINVAL.
 */
int mptable_build(uint8_t *buf, size_t max, uint64_t addr,
                  unsigned int nr_vcpus);

/* ---- ACPI ---- */

/*
 * Writes RSDP (revision 2), XSDT, FADT (hardware-reduced, sleep registers
 * at BOOT_PM_SLEEP_PORT), DSDT (\_S5 and the PCI host bridge) and MADT for
 * nr_vcpus into buf (room for max bytes), for tables placed at guest
 * address addr (the RSDP is at addr). Returns the bytes used or -E2BIG.
 */
int acpi_build(uint8_t *buf, size_t max, uint64_t addr, unsigned int nr_vcpus);

/* Sum of len bytes modulo 256 (0 for a table with a correct checksum). */
uint8_t boot_checksum(const void *p, size_t len);

/* ---- CPUID ---- */

/*
 * Turns KVM's supported CPUID list c (nent entries, room for cap) into the
 * table of vCPU index out of nr_vcpus: APIC ids and topology leaves 1, 4,
 * 0xb, 0x1f, and with pvm the baseline of shared/guest/NOTES.md. Adds the
 * 0xb subleaves KVM did not list. Returns 0 or -E2BIG when cap is too small.
 */
int cpuid_filter(struct kvm_cpuid2 *c, unsigned int cap, unsigned int index,
                 unsigned int nr_vcpus, bool pvm);

#endif
