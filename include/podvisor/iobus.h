/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Port I/O and MMIO dispatch. A VM has two buses (pio, mmio); each device
 * claims [base, base + len) with read/write callbacks that receive the offset
 * inside the range. Callbacks run on the vCPU thread that exited; a device
 * that shares state with other threads locks it itself.
 *
 * Ranges can be added, moved and removed while vCPUs run (PCI BAR
 * reprogramming); the bus takes a read lock on dispatch.
 */
#ifndef PODVISOR_IOBUS_H
#define PODVISOR_IOBUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct io_ops {
	/* Fill data[0..len) (len 1, 2, 4 or 8). Unset: reads as all ones. */
	void (*read)(void *opaque, uint64_t off, void *data, uint32_t len);
	/* Unset: writes are ignored. */
	void (*write)(void *opaque, uint64_t off, const void *data,
	              uint32_t len);
};

struct io_range {
	uint64_t base;
	uint64_t len;
	const struct io_ops *ops;
	void *opaque;
};

struct io_bus {
	const char *name;        /* "pio" or "mmio", for logs */
	struct io_range *ranges; /* sorted by base, never overlapping */
	size_t nr, cap;
	pthread_rwlock_t lock;
};

void io_bus_init(struct io_bus *bus, const char *name);
void io_bus_fini(struct io_bus *bus);

/* Returns 0, -EEXIST if the range overlaps another, -EINVAL if len is 0. */
int io_bus_add(struct io_bus *bus, uint64_t base, uint64_t len,
               const struct io_ops *ops, void *opaque);

/* Removes the range that starts at base and belongs to opaque. */
int io_bus_remove(struct io_bus *bus, uint64_t base, void *opaque);

/* Moves a range (PCI BAR write); same errors as io_bus_add. */
int io_bus_move(struct io_bus *bus, uint64_t old_base, uint64_t new_base,
                void *opaque);

/*
 * Dispatches one access. Returns 0 when a range claimed it, -ENOENT when no
 * range covers [addr, addr + len) (reads then return all ones).
 */
int io_bus_access(struct io_bus *bus, uint64_t addr, void *data, uint32_t len,
                  bool is_write);

#endif
