/* SPDX-License-Identifier: Apache-2.0 */
/* A bounded byte FIFO for device models that stage data between a guest
 * queue and a host socket (devices/ internal). */
#ifndef PODVISOR_DEVICES_BYTERING_H
#define PODVISOR_DEVICES_BYTERING_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct bytering {
	uint8_t *buf;
	size_t cap, head, len; /* data is [head, head + len) mod cap */
};

static inline size_t bytering_room(const struct bytering *r)
{
	return r->cap - r->len;
}

/* Appends up to n bytes; returns how many fitted. */
static inline size_t bytering_put(struct bytering *r, const void *p, size_t n)
{
	size_t done = 0;

	while (done < n && r->len < r->cap) {
		size_t tail = (r->head + r->len) % r->cap;
		size_t c = r->cap - tail;

		if (c > r->cap - r->len)
			c = r->cap - r->len;
		if (c > n - done)
			c = n - done;
		memcpy(r->buf + tail, (const uint8_t *)p + done, c);
		r->len += c;
		done += c;
	}
	return done;
}

/* The first contiguous stretch of data (up to *n bytes). */
static inline const uint8_t *bytering_peek(const struct bytering *r, size_t *n)
{
	size_t c = r->cap - r->head;

	*n = r->len < c ? r->len : c;
	return r->buf + r->head;
}

static inline void bytering_drop(struct bytering *r, size_t n)
{
	if (n > r->len)
		n = r->len;
	r->head = (r->head + n) % r->cap;
	r->len -= n;
	if (!r->len)
		r->head = 0;
}

#endif
