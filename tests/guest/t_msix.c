// SPDX-License-Identifier: Apache-2.0
/*
 * MSI-X (PCI 3.0 section 6.8.2, VIRTIO 1.2 section 4.1.5.1.2): one vector per
 * queue across several devices, each counted as it fires; a masked vector
 * holds its message in the PBA and delivers it at unmask; the function mask
 * does the same for the whole function.
 * Command line: test=msix (needs --disk, --rng and --console-socket).
 */
#include "virtio.h"

#define V_BLK    0x60
#define V_RNG    0x61
#define V_CON_TX 0x62

static struct vdev blk, rng, con;

static bool dev_up(struct vdev *v, unsigned int type, const char *name,
                   unsigned int q, uint8_t vector)
{
	if (!virtio_find(v, type, 0, name) || !virtio_init(v, 0))
		return false;
	msix_enable(v);
	for (unsigned int i = 0; i <= q; i++)
		if (!virtio_setup_vq(v, i, 8,
		                     i == q ? 1 + i : VIRTIO_NO_VECTOR))
			return false;
	msix_route(v, 1 + q, vector, false);
	virtio_driver_ok(v);
	return true;
}

/* Queues one buffer on v's queue q and waits for the used element. */
static bool one_request(struct vdev *v, unsigned int q)
{
	static uint8_t *hdr, *data, *st;
	struct vbuf b[3];
	int n = 0;

	if (!hdr) {
		hdr = palloc(16, 16);
		data = palloc(512, 512);
		st = palloc(1, 1);
	}
	if (v == &blk) {
		memset(hdr, 0, 16); /* IN, sector 0 */
		b[n++] = (struct vbuf){hdr, 16, false};
		b[n++] = (struct vbuf){data, 512, true};
		b[n++] = (struct vbuf){st, 1, true};
	} else if (v == &rng) {
		b[n++] = (struct vbuf){data, 16, true};
	} else {
		memcpy(data, "msix-test\n", 10);
		b[n++] = (struct vbuf){data, 10, false};
	}
	if (vq_add(&v->vq[q], b, n) < 0)
		return false;
	vq_kick(&v->vq[q]);
	return vq_wait(&v->vq[q], NULL, 3000000) >= 0;
}

static void per_queue_vectors(void)
{
	struct {
		struct vdev *v;
		unsigned int q;
		uint8_t vec;
	} qs[] = {{&blk, 0, V_BLK}, {&rng, 0, V_RNG}, {&con, 1, V_CON_TX}};
	unsigned int fired = 0;

	for (unsigned int i = 0; i < ARRAY_SIZE(qs); i++) {
		uint32_t seen[256];

		memcpy(seen, (const void *)irq_count, sizeof(seen));
		if (!one_request(qs[i].v, qs[i].q)) {
			fail("msix_request", "%s queue %u: no completion",
			     qs[i].v->name, qs[i].q);
			continue;
		}
		if (irq_wait(qs[i].vec, seen[qs[i].vec], 1000000))
			fired++;
		else
			fail("msix_vector",
			     "%s queue %u: vector 0x%x did not "
			     "fire",
			     qs[i].v->name, qs[i].q, qs[i].vec);
		for (unsigned int x = 32; x < 255; x++)
			if (x != qs[i].vec && irq_count[x] != seen[x])
				fail("msix_stray",
				     "%s queue %u also fired "
				     "vector 0x%x",
				     qs[i].v->name, qs[i].q, x);
	}
	printf("INFO msix: %u of %u queue vectors fired\n", fired,
	       (unsigned int)ARRAY_SIZE(qs));
	check(fired == ARRAY_SIZE(qs), "msix_one_vector_per_queue",
	      "%u of %u fired", fired, (unsigned int)ARRAY_SIZE(qs));
}

/* Masked: the completion arrives, the interrupt does not, the PBA bit is
 * set; unmasking delivers it. */
static void masking(bool function_mask)
{
	const char *nm = function_mask ? "msix_function_mask" : "msix_mask";
	uint16_t ctl = pci_read16(&rng.pci, rng.msix_cap + 2);
	uint32_t seen = irq_count[V_RNG];
	bool early, pend;

	if (function_mask)
		pci_write16(&rng.pci, rng.msix_cap + 2, ctl | 0x4000);
	else
		msix_mask(&rng, 1, true);
	if (!one_request(&rng, 0)) {
		fail(nm, "rng request not completed while masked");
		return;
	}
	early = irq_wait(V_RNG, seen, 300000);
	pend = msix_pending(&rng, 1);
	if (function_mask)
		pci_write16(&rng.pci, rng.msix_cap + 2, ctl & ~0x4000);
	else
		msix_mask(&rng, 1, false);
	if (early)
		fail(nm, "interrupt delivered while masked");
	else if (!pend)
		fail(nm, "PBA bit 1 not set while masked");
	else if (!irq_wait(V_RNG, seen, 1000000))
		fail(nm, "pending interrupt not delivered at unmask");
	else if (msix_pending(&rng, 1))
		fail(nm, "PBA bit still set after delivery");
	else
		pass(nm);
}

void test_msix(void)
{
	if (!dev_up(&blk, VIRTIO_ID_BLK, "blk", 0, V_BLK) ||
	    !dev_up(&rng, VIRTIO_ID_RNG, "rng", 0, V_RNG) ||
	    !dev_up(&con, VIRTIO_ID_CONSOLE, "console", 1, V_CON_TX))
		return;
	per_queue_vectors();
	masking(false);
	masking(true);
}
