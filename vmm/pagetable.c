/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The boot GDT and the identity page tables of a LINUX64 entry. The map
 * covers the first 4 GiB with 2 MiB pages, so a freestanding guest can also
 * reach the PCI BARs in the MMIO gap and the LAPIC. 1 GiB pages would need
 * fewer tables but PVM guests lack pdpe1gb (shared/guest/NOTES.md).
 */
#include <string.h>

#include "boot_priv.h"

#define PTE_P  (1ULL << 0)
#define PTE_RW (1ULL << 1)
#define PTE_PS (1ULL << 7)

/* Flat descriptor: base 0, limit 0xfffff pages, the given access byte and
 * flags nibble (G, D/B, L). */
static uint64_t gdt_entry(uint8_t access, uint8_t flags)
{
	return 0xffffULL | (0xfULL << 48) | ((uint64_t)access << 40) |
	       ((uint64_t)flags << 52);
}

void boot_gdt_build(uint64_t gdt[BOOT_GDT_ENTRIES])
{
	gdt[0] = 0;
	gdt[BOOT_GDT_CODE32 / 8] = gdt_entry(0x9b, 0xc); /* G, D: 32-bit */
	gdt[BOOT_GDT_CODE64 / 8] = gdt_entry(0x9b, 0xa); /* G, L: 64-bit */
	gdt[BOOT_GDT_DATA / 8] = gdt_entry(0x93, 0xc);
}

void boot_pagetable_build(uint8_t *pt, uint64_t pml4)
{
	uint64_t *l4 = (uint64_t *)pt;
	uint64_t *pdpt = (uint64_t *)(pt + 4096);
	uint64_t *pd = (uint64_t *)(pt + 2 * 4096);

	memset(pt, 0, BOOT_PT_BYTES);
	l4[0] = (pml4 + 4096) | PTE_P | PTE_RW;
	for (unsigned int i = 0; i < 4; i++)
		pdpt[i] = (pml4 + (2 + i) * 4096ULL) | PTE_P | PTE_RW;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | PTE_P | PTE_RW | PTE_PS;
}
