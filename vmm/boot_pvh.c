/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hvm_start_info for the PVH entry (xen/include/public/arch-x86/hvm/
 * start_info.h, version 1): command line, RSDP, the e820-style memory map
 * and the initrd as module 0.
 */
#include <string.h>

#include "podvisor/boot.h"

#include "boot_priv.h"

#define HVM_START_MAGIC 0x336ec578U

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

struct hvm_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

#define PVH_MODLIST_OFF 0x40
#define PVH_MEMMAP_OFF  0x80

size_t pvh_start_info_build(uint8_t *buf, size_t max, uint64_t addr,
                            const struct boot_info *bi, uint64_t rsdp,
                            const struct e820_entry *e820, unsigned int n)
{
	struct hvm_start_info si = {
	    .magic = HVM_START_MAGIC,
	    .version = 1,
	    .cmdline_paddr = bi->cmdline_addr,
	    .rsdp_paddr = rsdp,
	    .memmap_paddr = addr + PVH_MEMMAP_OFF,
	    .memmap_entries = n,
	};
	size_t len = PVH_MEMMAP_OFF + n * sizeof(struct hvm_memmap_entry);

	if (len > max)
		return 0;
	memset(buf, 0, len);
	if (bi->initrd_size) {
		struct hvm_modlist_entry m = {.paddr = bi->initrd_start,
		                              .size = bi->initrd_size};

		si.nr_modules = 1;
		si.modlist_paddr = addr + PVH_MODLIST_OFF;
		memcpy(buf + PVH_MODLIST_OFF, &m, sizeof(m));
	}
	for (unsigned int i = 0; i < n; i++) {
		struct hvm_memmap_entry m = {e820[i].addr, e820[i].size,
		                             e820[i].type, 0};

		memcpy(buf + PVH_MEMMAP_OFF + i * sizeof(m), &m, sizeof(m));
	}
	memcpy(buf, &si, sizeof(si));
	return len;
}
