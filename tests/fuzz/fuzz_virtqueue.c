// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer harness for the split virtqueue: the input becomes guest RAM
 * (descriptor table, avail ring, buffers, indirect tables) plus a few
 * control bytes (queue size, negotiated features, how the device answers),
 * and the device side pops and pushes until the ring is empty or broken.
 * Any crash, sanitizer report or out-of-RAM access is a bug: every pointer
 * the virtqueue hands out must lie inside the RAM buffer.
 *
 * Input: byte 0 = log2(queue size) (mod 7: 1..64 entries), byte 1 = flags
 * (bit 0 EVENT_IDX, bit 1 INDIRECT_DESC), bytes 2.. = RAM image from
 * address 0. Rings: avail at 0x0, desc at 0x240, used at 0x800, so short
 * inputs already reach the descriptors; RAM is 64 KiB.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "podvisor/guest_mem.h"
#include "podvisor/virtqueue.h"

#define RAM_SIZE 0x10000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t ram[RAM_SIZE];
static struct virtq_elem elem;

/* The one checked translation, as vmm/guest_mem.c does it for one region. */
void *gmem_ptr_at(const struct guest_mem *gm, uint64_t gpa, uint64_t len,
                  const char *file, int line)
{
	const struct gmem_region *r = &gm->regions[0];

	(void)file;
	(void)line;
	if (gpa + len < gpa || gpa < r->gpa || gpa + len > r->gpa + r->size)
		return NULL;
	return r->hva + (gpa - r->gpa);
}

static void check_elem(const struct virtq_elem *e)
{
	for (unsigned int i = 0; i < e->out_num + e->in_num; i++) {
		const uint8_t *p = e->iov[i].iov_base;

		if (!e->iov[i].iov_len)
			continue;
		if (p < ram || p + e->iov[i].iov_len > ram + RAM_SIZE)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_mem gm = {.nr_regions = 1};
	struct virtq vq;
	uint8_t scratch[256];
	uint16_t qsize;

	if (size < 2)
		return 0;
	qsize = (uint16_t)(1u << (data[0] % 7));
	memset(ram, 0, sizeof(ram));
	memcpy(ram, data + 2, size - 2 < RAM_SIZE ? size - 2 : RAM_SIZE);
	gm.regions[0] = (struct gmem_region){.size = RAM_SIZE, .hva = ram};
	virtq_init(&vq, &gm, "fuzz", 0);
	if (virtq_setup(&vq, qsize, 0x240, 0x0, 0x800) < 0)
		return 0;
	vq.event_idx = data[1] & 1;
	vq.indirect = data[1] & 2;

	/* At most 2 * qsize rounds: the avail index cannot run further. */
	for (unsigned int round = 0; round < 2u * qsize; round++) {
		int r = virtq_pop(&vq, &elem);

		if (r <= 0)
			break;
		check_elem(&elem);
		virtq_elem_read(&elem, 0, scratch, sizeof(scratch));
		virtq_elem_write(&elem, 1, scratch, sizeof(scratch));
		virtq_push(&vq, &elem, (uint32_t)elem.in_len);
		virtq_should_notify(&vq);
		virtq_set_notification(&vq, round & 1);
	}
	return 0;
}
