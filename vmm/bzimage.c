/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bzImage setup header parsing (Documentation/arch/x86/boot.rst, "The Real-
 * Mode Kernel Header"). Only the 64-bit entry is used, so the header must be
 * protocol 2.12 or later with XLF_KERNEL_64 set.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "podvisor/log.h"
#include "podvisor/util.h"

#include "boot_priv.h"

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

static uint64_t rd64(const uint8_t *p)
{
	return (uint64_t)rd32(p) | ((uint64_t)rd32(p + 4) << 32);
}

/* The header fields up to init_size (0x264) must be in the file. */
#define BZ_HDR_NEED 0x264

static int bzimage_check_magic(const uint8_t *buf, size_t len, const char *name)
{
	if (len < BZ_HDR_NEED) {
		log_err("kernel %s: %zu bytes, too short for a bzImage setup "
		        "header (need %d); pass a bzImage or an ELF vmlinux",
		        name, len, BZ_HDR_NEED);
		return -ENOEXEC;
	}
	if (rd16(buf + 0x1fe) != 0xaa55 || memcmp(buf + 0x202, "HdrS", 4)) {
		log_err("kernel %s: no bzImage signature (boot_flag 0xaa55 and "
		        "\"HdrS\" at 0x202); pass a bzImage or an ELF vmlinux",
		        name);
		return -ENOEXEC;
	}
	return 0;
}

static int bzimage_check_version(const struct bzimage_hdr *h, const char *name)
{
	if (h->version < BZ_MIN_VERSION) {
		log_err("kernel %s: boot protocol %u.%02u is too old, need "
		        "2.12 (Linux 3.8) or later for the 64-bit entry",
		        name, h->version >> 8, h->version & 0xff);
		return -ENOEXEC;
	}
	if (!(h->xloadflags & BZ_XLF_KERNEL_64)) {
		log_err("kernel %s: bzImage has no 64-bit entry (xloadflags "
		        "bit 0 clear); build an x86_64 kernel",
		        name);
		return -ENOEXEC;
	}
	return 0;
}

static int bzimage_check_layout(const struct bzimage_hdr *h, size_t len,
                                const char *name)
{
	if (h->kernel_offset >= len) {
		log_err("kernel %s: setup_sects %u puts the kernel at offset "
		        "%" PRIu64 ", past the end of the %zu-byte file "
		        "(truncated?)",
		        name, h->setup_sects, h->kernel_offset, len);
		return -ENOEXEC;
	}
	if (h->kernel_alignment == 0 ||
	    (h->kernel_alignment & (h->kernel_alignment - 1))) {
		log_err("kernel %s: kernel_alignment 0x%x is not a power of "
		        "two; the header is corrupt",
		        name, h->kernel_alignment);
		return -ENOEXEC;
	}
	if (h->init_size < h->kernel_size) {
		log_err("kernel %s: init_size %u is smaller than the %" PRIu64
		        "-byte kernel; the header is corrupt",
		        name, h->init_size, h->kernel_size);
		return -ENOEXEC;
	}
	return 0;
}

int bzimage_parse(const uint8_t *buf, size_t len, const char *name,
                  struct bzimage_hdr *h)
{
	int r = bzimage_check_magic(buf, len, name);

	if (r < 0)
		return r;
	memset(h, 0, sizeof(*h));
	h->setup_sects = buf[0x1f1] ? buf[0x1f1] : 4;
	h->version = rd16(buf + 0x206);
	h->loadflags = buf[0x211];
	h->initrd_addr_max = rd32(buf + 0x22c);
	h->kernel_alignment = rd32(buf + 0x230);
	h->relocatable = buf[0x234] != 0;
	h->xloadflags = rd16(buf + 0x236);
	h->cmdline_size = rd32(buf + 0x238);
	h->pref_address = rd64(buf + 0x258);
	h->init_size = rd32(buf + 0x260);
	h->kernel_offset = (uint64_t)(h->setup_sects + 1) * 512;
	h->kernel_size = len > h->kernel_offset ? len - h->kernel_offset : 0;
	h->hdr_end = 0x202 + buf[0x201];

	r = bzimage_check_version(h, name);
	if (r < 0)
		return r;
	return bzimage_check_layout(h, len, name);
}

uint64_t bzimage_load_addr(const struct bzimage_hdr *h, uint64_t low_end)
{
	uint64_t pref = h->pref_address;
	uint64_t addr;

	if (pref >= BOOT_HIMEM_START && pref + h->init_size <= low_end)
		return pref;
	if (!h->relocatable)
		return 0;
	/* A relocatable kernel runs from any kernel_alignment boundary. */
	addr = ALIGN_UP(BOOT_HIMEM_START, (uint64_t)h->kernel_alignment);
	if (addr + h->init_size > low_end)
		return 0;
	return addr;
}
