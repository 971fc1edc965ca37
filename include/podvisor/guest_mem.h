/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Guest RAM: one memfd (or hugetlbfs-backed memfd) mapped MAP_SHARED so that
 * vhost-user back-ends can map the same pages. RAM is split around the 32-bit
 * MMIO gap: [0, min(size, GMEM_GAP_START)) and, for the rest,
 * [4 GiB, 4 GiB + rest). Region i maps file offset regions[i].fd_offset.
 *
 * Every guest-physical address a device or loader touches goes through
 * gmem_ptr(), the single checked translation: it returns NULL (and logs the
 * caller's file:line at debug level) when [gpa, gpa + len) is not wholly
 * inside one RAM region or the length overflows.
 */
#ifndef PODVISOR_GUEST_MEM_H
#define PODVISOR_GUEST_MEM_H

#include <stdbool.h>
#include <stdint.h>

#define GMEM_MAX_REGIONS 2
#define GMEM_GAP_START   0xC0000000ULL /* 3 GiB: PCI MMIO, IOAPIC, LAPIC */
#define GMEM_GAP_END     0x100000000ULL

struct gmem_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *hva;
	uint64_t fd_offset;
};

struct guest_mem {
	struct gmem_region regions[GMEM_MAX_REGIONS];
	unsigned int nr_regions;
	uint64_t ram_size; /* total bytes of RAM */
	int fd;            /* the memfd backing every region */
	bool hugepages;
	uint8_t *base; /* single mapping of the whole file */
};

struct gmem_opts {
	uint64_t ram_size; /* bytes, multiple of 2 MiB when hugepages */
	bool hugepages;    /* back with 2 MiB pages (MFD_HUGETLB) */
	const char *name;  /* memfd name, for /proc/<pid>/maps */
};

/*
 * Creates and maps guest RAM. Returns 0 or -errno; -ENOMEM with hugepages
 * means not enough free 2 MiB pages (the message says how many are free).
 * The memory is not touched, so NUMA policy can still be applied.
 */
int gmem_create(struct guest_mem *gm, const struct gmem_opts *opts);

/* Unmaps and closes; accepts a zeroed or already destroyed guest_mem. */
void gmem_destroy(struct guest_mem *gm);

void *gmem_ptr_at(const struct guest_mem *gm, uint64_t gpa, uint64_t len,
                  const char *file, int line);
#define gmem_ptr(gm, gpa, len)                                                 \
	gmem_ptr_at((gm), (gpa), (len), __FILE__, __LINE__)

/* True when [gpa, gpa + len) is RAM. */
bool gmem_contains(const struct guest_mem *gm, uint64_t gpa, uint64_t len);

/*
 * Binds all of guest RAM to host NUMA node node (MPOL_BIND, or
 * MPOL_PREFERRED when preferred) and reads the policy back at its first and
 * last page. Call before anything touches the memory. 0 or -errno (-EIO
 * when the read-back differs), logged.
 */
int gmem_bind_node(struct guest_mem *gm, int node, bool preferred);

/* Bytes of RAM below the MMIO gap (the end of the low region). */
uint64_t gmem_low_end(const struct guest_mem *gm);

#endif
