/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Guest RAM: one memfd mapped once, split into regions around the 32-bit
 * MMIO gap, and the single checked guest-physical to host translation.
 */
#include <errno.h>
#include <inttypes.h>
#include <linux/mempolicy.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "podvisor/guest_mem.h"
#include "podvisor/log.h"
#include "podvisor/util.h"

#define GMEM_HUGE_FREE                                                         \
	"/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages"
#define GMEM_HUGE_NR "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"

#ifndef MFD_HUGE_2MB
#define MFD_HUGE_2MB (21U << 26)
#endif

static long gmem_read_long(const char *path)
{
	FILE *f = fopen(path, "re");
	long n = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &n) != 1)
		n = -1;
	fclose(f);
	return n;
}

/* Fails early with the numbers an operator needs, instead of a SIGBUS when
 * the guest first touches a page the pool cannot give. */
static int gmem_check_hugepages(uint64_t size)
{
	uint64_t need = size / (2 * MiB);
	long free_pages = gmem_read_long(GMEM_HUGE_FREE);
	long total = gmem_read_long(GMEM_HUGE_NR);

	if (free_pages < 0) {
		log_err("memory: 2 MiB hugepages asked for but this host has "
		        "no pool (%s missing); drop hugepages or enable them",
		        GMEM_HUGE_FREE);
		return -ENOMEM;
	}
	if ((uint64_t)free_pages < need) {
		/* The pool must grow by what is missing, on top of the pages
		 * other users already hold. */
		log_err("memory: %" PRIu64 " MiB of 2 MiB hugepages needed, "
		        "only %ld free; reserve more with echo %" PRIu64
		        " > " GMEM_HUGE_NR,
		        (uint64_t)(size / MiB), free_pages,
		        (uint64_t)(total > 0 ? total : 0) + need -
		            (uint64_t)free_pages);
		return -ENOMEM;
	}
	return 0;
}

static void gmem_split(struct guest_mem *gm)
{
	uint64_t low = MIN(gm->ram_size, GMEM_GAP_START);

	gm->regions[0] = (struct gmem_region){
	    .gpa = 0, .size = low, .hva = gm->base, .fd_offset = 0};
	gm->nr_regions = 1;
	if (gm->ram_size > low) {
		gm->regions[1] = (struct gmem_region){
		    .gpa = GMEM_GAP_END,
		    .size = gm->ram_size - low,
		    .hva = gm->base + low,
		    .fd_offset = low,
		};
		gm->nr_regions = 2;
	}
}

int gmem_create(struct guest_mem *gm, const struct gmem_opts *opts)
{
	unsigned int flags = MFD_CLOEXEC;
	void *p;
	int r;

	memset(gm, 0, sizeof(*gm));
	gm->fd = -1;
	if (opts->ram_size == 0 || !IS_ALIGNED(opts->ram_size, 4 * KiB))
		return -EINVAL;
	if (opts->hugepages) {
		if (!IS_ALIGNED(opts->ram_size, 2 * MiB))
			return -EINVAL;
		r = gmem_check_hugepages(opts->ram_size);
		if (r < 0)
			return r;
		flags |= MFD_HUGETLB | MFD_HUGE_2MB;
	}
	gm->fd = memfd_create(opts->name ? opts->name : "guest-ram", flags);
	if (gm->fd < 0)
		return log_err_errno(errno, "memory: memfd_create");
	if (ftruncate(gm->fd, (off_t)opts->ram_size) < 0) {
		r = log_err_errno(
		    errno, "memory: cannot size guest RAM to %" PRIu64 " MiB",
		    (uint64_t)(opts->ram_size / MiB));
		gmem_destroy(gm);
		return r;
	}
	/* NORESERVE: the guest's pages are allocated on first touch, so an
	 * idle 4 GiB guest costs the host only what it uses. */
	p = mmap(NULL, opts->ram_size, PROT_READ | PROT_WRITE,
	         MAP_SHARED | MAP_NORESERVE, gm->fd, 0);
	if (p == MAP_FAILED) {
		r = log_err_errno(errno, "memory: mmap of %" PRIu64 " MiB",
		                  (uint64_t)(opts->ram_size / MiB));
		gmem_destroy(gm);
		return r;
	}
	gm->base = p;
	gm->ram_size = opts->ram_size;
	gm->hugepages = opts->hugepages;
	gmem_split(gm);
	return 0;
}

void gmem_destroy(struct guest_mem *gm)
{
	if (gm->base && gm->ram_size)
		munmap(gm->base, gm->ram_size);
	/* fd 0 is stdin, never our memfd; a zeroed guest_mem holds 0. */
	if (gm->fd > 0)
		close(gm->fd);
	gm->base = NULL;
	gm->ram_size = 0;
	gm->nr_regions = 0;
	gm->fd = -1;
}

static const struct gmem_region *gmem_find(const struct guest_mem *gm,
                                           uint64_t gpa, uint64_t len)
{
	for (unsigned int i = 0; i < gm->nr_regions; i++) {
		const struct gmem_region *r = &gm->regions[i];

		/* Written so that no sum can wrap: gpa - r->gpa is only
		 * computed once gpa >= r->gpa. */
		if (gpa < r->gpa || gpa - r->gpa >= r->size)
			continue;
		if (len > r->size - (gpa - r->gpa))
			return NULL;
		return r;
	}
	return NULL;
}

void *gmem_ptr_at(const struct guest_mem *gm, uint64_t gpa, uint64_t len,
                  const char *file, int line)
{
	const struct gmem_region *r = gmem_find(gm, gpa, len);

	if (!r) {
		log_debug("guest address 0x%" PRIx64 "+0x%" PRIx64
		          " is not RAM (%s:%d)",
		          gpa, len, file, line);
		return NULL;
	}
	return r->hva + (gpa - r->gpa);
}

bool gmem_contains(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	return gmem_find(gm, gpa, len) != NULL;
}

uint64_t gmem_low_end(const struct guest_mem *gm)
{
	return gm->nr_regions ? gm->regions[0].size : 0;
}

#define GMEM_NODE_BITS 1024

/* mempolicy through the raw system calls: libnuma's wrappers would add a
 * library (and its start-up cost) to every VMM process for two calls. */
static long gmem_mbind(void *addr, uint64_t len, int mode,
                       const unsigned long *mask)
{
	/* The kernel drops the last bit of maxnode, hence + 1. */
	return syscall(SYS_mbind, addr, len, mode, mask, GMEM_NODE_BITS + 1, 0);
}

static int gmem_policy_at(void *addr, int *mode, unsigned long *mask)
{
	memset(mask, 0, GMEM_NODE_BITS / 8);
	if (syscall(SYS_get_mempolicy, mode, mask, GMEM_NODE_BITS + 1, addr,
	            MPOL_F_ADDR) < 0)
		return -errno;
	return 0;
}

int gmem_bind_node(struct guest_mem *gm, int node, bool preferred)
{
	unsigned long want[GMEM_NODE_BITS / 64] = {0}, got[GMEM_NODE_BITS / 64];
	int mode = preferred ? MPOL_PREFERRED : MPOL_BIND, got_mode;
	uint8_t *pages[2] = {gm->base, gm->base + gm->ram_size - 4096};

	if (node < 0 || node >= GMEM_NODE_BITS || !gm->base)
		return -EINVAL;
	want[node / 64] = 1UL << (node % 64);
	if (gmem_mbind(gm->base, gm->ram_size, mode, want) < 0)
		return log_err_errno(errno,
		                     "numa_node: cannot bind guest RAM "
		                     "to node %d",
		                     node);
	/* Read back at both ends, as an operator would in numa_maps. */
	for (int i = 0; i < 2; i++) {
		int r = gmem_policy_at(pages[i], &got_mode, got);

		if (r < 0)
			return log_err_errno(r, "numa_node: cannot read the "
			                        "guest RAM policy back");
		if (got_mode != mode || memcmp(got, want, sizeof(want))) {
			log_err("numa_node: guest RAM at +0x%" PRIx64
			        " has policy %d, not %s node %d",
			        (uint64_t)(pages[i] - gm->base), got_mode,
			        preferred ? "preferred" : "bound to", node);
			return -EIO;
		}
	}
	return 0;
}
