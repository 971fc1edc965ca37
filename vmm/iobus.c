/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Port I/O and MMIO buses: a sorted array of non-overlapping ranges, binary
 * searched on every exit under a read lock; changes take the write lock.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "podvisor/iobus.h"
#include "podvisor/log.h"

void io_bus_init(struct io_bus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
	pthread_rwlock_init(&bus->lock, NULL);
}

void io_bus_fini(struct io_bus *bus)
{
	free(bus->ranges);
	bus->ranges = NULL;
	bus->nr = bus->cap = 0;
	pthread_rwlock_destroy(&bus->lock);
}

/* Index of the first range whose end is above addr (may be nr). */
static size_t io_bus_lower(const struct io_bus *bus, uint64_t addr)
{
	size_t lo = 0, hi = bus->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct io_range *r = &bus->ranges[mid];

		if (addr - r->base >= r->len && addr >= r->base)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Ends are compared as last byte so a range may reach UINT64_MAX. */
static bool io_bus_overlaps(const struct io_bus *bus, uint64_t base,
                            uint64_t len, const struct io_range *skip)
{
	uint64_t last = base + (len - 1);

	for (size_t i = 0; i < bus->nr; i++) {
		const struct io_range *r = &bus->ranges[i];

		if (r == skip)
			continue;
		if (base <= r->base + (r->len - 1) && r->base <= last)
			return true;
	}
	return false;
}

static bool io_range_valid(uint64_t base, uint64_t len)
{
	return len != 0 && base + (len - 1) >= base;
}

static int io_bus_insert(struct io_bus *bus, const struct io_range *nr)
{
	size_t i;

	if (bus->nr == bus->cap) {
		size_t cap = bus->cap ? bus->cap * 2 : 16;
		struct io_range *p = realloc(bus->ranges, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		bus->ranges = p;
		bus->cap = cap;
	}
	for (i = 0; i < bus->nr && bus->ranges[i].base < nr->base; i++)
		;
	memmove(&bus->ranges[i + 1], &bus->ranges[i],
	        (bus->nr - i) * sizeof(*nr));
	bus->ranges[i] = *nr;
	bus->nr++;
	return 0;
}

int io_bus_add(struct io_bus *bus, uint64_t base, uint64_t len,
               const struct io_ops *ops, void *opaque)
{
	struct io_range nr = {base, len, ops, opaque};
	int r;

	if (!io_range_valid(base, len))
		return -EINVAL;
	pthread_rwlock_wrlock(&bus->lock);
	if (io_bus_overlaps(bus, base, len, NULL))
		r = -EEXIST;
	else
		r = io_bus_insert(bus, &nr);
	pthread_rwlock_unlock(&bus->lock);
	if (r == -EEXIST)
		log_debug("%s bus: 0x%" PRIx64 "+0x%" PRIx64
		          " overlaps a registered range",
		          bus->name, base, len);
	return r;
}

static struct io_range *io_bus_find_owner(struct io_bus *bus, uint64_t base,
                                          void *opaque)
{
	for (size_t i = 0; i < bus->nr; i++)
		if (bus->ranges[i].base == base &&
		    bus->ranges[i].opaque == opaque)
			return &bus->ranges[i];
	return NULL;
}

int io_bus_remove(struct io_bus *bus, uint64_t base, void *opaque)
{
	struct io_range *r;
	int ret = -ENOENT;

	pthread_rwlock_wrlock(&bus->lock);
	r = io_bus_find_owner(bus, base, opaque);
	if (r) {
		size_t i = (size_t)(r - bus->ranges);

		memmove(r, r + 1, (bus->nr - i - 1) * sizeof(*r));
		bus->nr--;
		ret = 0;
	}
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

int io_bus_move(struct io_bus *bus, uint64_t old_base, uint64_t new_base,
                void *opaque)
{
	struct io_range *r, moved;
	size_t i;
	int ret;

	pthread_rwlock_wrlock(&bus->lock);
	r = io_bus_find_owner(bus, old_base, opaque);
	if (!r) {
		ret = -ENOENT;
	} else if (!io_range_valid(new_base, r->len)) {
		ret = -EINVAL;
	} else if (io_bus_overlaps(bus, new_base, r->len, r)) {
		ret = -EEXIST;
	} else {
		moved = *r;
		moved.base = new_base;
		i = (size_t)(r - bus->ranges);
		memmove(r, r + 1, (bus->nr - i - 1) * sizeof(*r));
		bus->nr--;
		/* Cannot fail: the array just shrank by one. */
		ret = io_bus_insert(bus, &moved);
	}
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

/*
 * The callback runs without the bus lock held, on a copy of the range, so a
 * device may move ranges from inside an access (a PCI BAR write through
 * port 0xcfc moving an I/O BAR). Ranges are removed only at teardown, after
 * the vCPUs stopped, so the opaque stays valid for the call.
 */
int io_bus_access(struct io_bus *bus, uint64_t addr, void *data, uint32_t len,
                  bool is_write)
{
	struct io_range r = {0};
	bool found = false;
	size_t i;

	pthread_rwlock_rdlock(&bus->lock);
	i = io_bus_lower(bus, addr);
	if (i < bus->nr && len && addr >= bus->ranges[i].base &&
	    len <= bus->ranges[i].len &&
	    addr - bus->ranges[i].base <= bus->ranges[i].len - len) {
		r = bus->ranges[i];
		found = true;
	}
	pthread_rwlock_unlock(&bus->lock);
	if (!found || (!is_write && !r.ops->read)) {
		if (!is_write)
			memset(data, 0xff, len);
		return found ? 0 : -ENOENT;
	}
	if (is_write) {
		if (r.ops->write)
			r.ops->write(r.opaque, addr - r.base, data, len);
	} else {
		r.ops->read(r.opaque, addr - r.base, data, len);
	}
	return 0;
}
