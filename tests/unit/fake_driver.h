/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A minimal virtio-pci driver for unit tests, acting as the guest: finds
 * BAR 0 through config space, enables MSI-X, negotiates features, lays out
 * split rings in fake guest RAM and submits descriptor chains.
 */
#ifndef PODVISOR_TEST_FAKE_DRIVER_H
#define PODVISOR_TEST_FAKE_DRIVER_H

#include <stdbool.h>
#include <stdint.h>

#include "podvisor/virtqueue.h"

struct vm;

#define DRV_MAX_QUEUES 4

struct drv_queue {
	uint16_t size;
	uint64_t desc, avail, used;
	uint16_t next_desc; /* descriptor allocator, wraps */
	uint16_t avail_idx;
	uint16_t used_seen;
};

struct drv {
	struct vm *vm;
	unsigned int slot;
	uint64_t bar;
	struct drv_queue q[DRV_MAX_QUEUES];
	uint64_t features;
};

/* One buffer of a chain: guest address, length, device-writable. */
struct drv_buf {
	uint64_t addr;
	uint32_t len;
	bool write;
};

/* Probes slot; returns 0 when a virtio device with BAR 0 is there. */
int drv_probe(struct drv *d, struct vm *vm, unsigned int slot);
uint32_t drv_common_read(struct drv *d, uint32_t off, uint32_t len);
void drv_common_write(struct drv *d, uint32_t off, uint32_t len, uint32_t v);
/* Resets, negotiates want & offered (VERSION_1 always); returns the status
 * read back after FEATURES_OK. */
uint8_t drv_negotiate(struct drv *d, uint64_t want);
/* Rings for queue q at guest address base (size entries); vector q + 1. */
void drv_setup_queue(struct drv *d, unsigned int q, uint16_t size,
                     uint64_t base);
void drv_driver_ok(struct drv *d);
/* Writes a chain into queue q, publishes it and (kick) notifies. Returns
 * the head index. */
uint16_t drv_submit(struct drv *d, unsigned int q, const struct drv_buf *b,
                    unsigned int n, bool kick);
void drv_kick(struct drv *d, unsigned int q);
/* Next used element of queue q; false when none is new. */
bool drv_get_used(struct drv *d, unsigned int q, uint32_t *id, uint32_t *len);
/* Same, waiting up to timeout_ms for devices served by their own thread. */
bool drv_wait_used(struct drv *d, unsigned int q, uint32_t *id, uint32_t *len,
                   unsigned int timeout_ms);
uint8_t drv_status(struct drv *d);
/* Reads the device config byte range. */
void drv_config_read(struct drv *d, uint32_t off, void *buf, uint32_t len);

#endif
