/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The e820 memory map and the zero page (struct boot_params,
 * Documentation/arch/x86/zero-page.rst) handed to a LINUX64 entry.
 */
#include <errno.h>
#include <string.h>

#include "podvisor/guest_mem.h"
#include "podvisor/util.h"

#include "boot_priv.h"

int boot_e820_build(const struct guest_mem *gm, struct e820_entry *out,
                    unsigned int max)
{
	uint64_t low_end = gmem_low_end(gm);
	unsigned int n = 0;

	if (max < 4 || low_end < BOOT_HIMEM_START + 4096)
		return -EINVAL;
	/* Low RAM stops where the MP table (our EBDA) starts. */
	out[n++] = (struct e820_entry){0, BOOT_EBDA_START, E820_RAM};
	out[n++] = (struct e820_entry){
	    BOOT_EBDA_START, BOOT_HIMEM_START - BOOT_EBDA_START, E820_RESERVED};
	out[n++] = (struct e820_entry){BOOT_HIMEM_START,
	                               low_end - BOOT_HIMEM_START, E820_RAM};
	for (unsigned int i = 0; i < gm->nr_regions; i++) {
		const struct gmem_region *r = &gm->regions[i];

		if (r->gpa >= GMEM_GAP_END && r->size)
			out[n++] =
			    (struct e820_entry){r->gpa, r->size, E820_RAM};
		if (n == max)
			break;
	}
	return (int)n;
}

static void wr32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4); /* x86 guests only: host and guest little-endian */
}

static void wr64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

/*
 * Writes the fields a loader owns into zp (4096 bytes, the setup header
 * already copied from the bzImage or, for an ELF, left zero).
 */
void boot_zero_page_fill(uint8_t *zp, const struct boot_zp_args *a)
{
	/* An ELF kernel has no setup header: write a minimal valid one. */
	if (memcmp(zp + 0x202, "HdrS", 4) != 0) {
		zp[0x1fe] = 0x55;
		zp[0x1ff] = 0xaa;
		memcpy(zp + 0x202, "HdrS", 4);
		zp[0x206] = 0x0f; /* protocol 2.15 */
		zp[0x207] = 0x02;
		wr32(zp + 0x230, 0x1000000); /* kernel_alignment */
		wr32(zp + 0x238, (uint32_t)(BOOT_CMDLINE_MAX - 1));
	}
	zp[0x210] = 0xff; /* type_of_loader: undefined boot loader */
	/* loadflags: LOADED_HIGH; keep what the kernel set there. */
	zp[0x211] |= 0x01;
	wr32(zp + 0x228, (uint32_t)a->cmdline_addr);
	wr32(zp + 0x0c8, (uint32_t)(a->cmdline_addr >> 32));
	wr32(zp + 0x218, (uint32_t)a->initrd_addr);
	wr32(zp + 0x0c0, (uint32_t)(a->initrd_addr >> 32));
	wr32(zp + 0x21c, (uint32_t)a->initrd_size);
	wr32(zp + 0x0c4, (uint32_t)(a->initrd_size >> 32));
	wr64(zp + 0x070, a->rsdp_addr);

	zp[0x1e8] = (uint8_t)MIN(a->nr_e820, (unsigned int)E820_MAX);
	memcpy(zp + 0x2d0, a->e820, zp[0x1e8] * sizeof(struct e820_entry));
}
