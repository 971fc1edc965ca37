/* SPDX-License-Identifier: Apache-2.0 */
/* Small helpers shared by every folder: cleanup attributes, sizes, fds. */
#ifndef PODVISOR_UTIL_H
#define PODVISOR_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>

#define ARRAY_SIZE(a)    (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b)        ((a) < (b) ? (a) : (b))
#define MAX(a, b)        ((a) > (b) ? (a) : (b))
#define ALIGN_UP(x, a)   (((x) + ((a)-1)) & ~((__typeof__(x))(a)-1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a)-1))
#define IS_ALIGNED(x, a) (((x) & ((__typeof__(x))(a)-1)) == 0)

#define KiB (1024ULL)
#define MiB (1024ULL * KiB)
#define GiB (1024ULL * MiB)

#define UNUSED __attribute__((unused))

static inline void pv_freep(void *p)
{
	free(*(void **)p);
}

void pv_closep(int *fd);

#define _cleanup_free_  __attribute__((cleanup(pv_freep)))
#define _cleanup_close_ __attribute__((cleanup(pv_closep)))

/* Returns the fd and leaves -1 behind, to hand an fd out of a cleanup scope. */
static inline int pv_take_fd(int *fd)
{
	int r = *fd;

	*fd = -1;
	return r;
}

/* Reads or writes exactly len bytes, retrying EINTR and short transfers.
 * Returns 0, -errno, or -EPIPE on end of file before len bytes. */
int pv_read_full(int fd, void *buf, size_t len);
int pv_write_full(int fd, const void *buf, size_t len);

/* Parses a size such as "512", "512M", "2G" (binary units) into bytes. */
int pv_parse_size(const char *s, uint64_t *out);

/* Monotonic clock in nanoseconds. */
uint64_t pv_now_ns(void);

/* The word of known[] (NULL-terminated) closest to word by edit distance,
 * if that distance is at most max_dist; else NULL. For "did you mean". */
const char *pv_closest_word(const char *word, const char *const *known,
                            size_t max_dist);

#endif
