// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-rng (VIRTIO 1.2 section 5.4): two 64-byte requests are filled,
 * with bytes that are not all equal and differ between the requests.
 */
#include "virtio.h"

#define VEC_Q 0x48

static int rng_read(struct vdev *v, uint8_t *p, uint32_t len, uint32_t *got)
{
	struct vbuf b = {p, len, true};
	uint32_t seen = irq_count[VEC_Q];

	memset(p, 0, len);
	if (vq_add(&v->vq[0], &b, 1) < 0)
		return -1;
	vq_kick(&v->vq[0]);
	if (vq_wait(&v->vq[0], got, 3000000) < 0)
		return -1;
	return irq_wait(VEC_Q, seen, 1000000) ? 0 : -2;
}

void test_rng(void)
{
	struct vdev v;
	uint8_t *a = palloc(64, 64), *b = palloc(64, 64);
	uint32_t la = 0, lb = 0;
	bool varied = false;
	int r;

	if (!virtio_find(&v, VIRTIO_ID_RNG, 0, "rng") || !virtio_init(&v, 0))
		return;
	msix_enable(&v);
	msix_route(&v, 1, VEC_Q, false);
	if (!virtio_setup_vq(&v, 0, 8, 1))
		return;
	virtio_driver_ok(&v);
	r = rng_read(&v, a, 64, &la);
	if (!check(r != -1 && la > 0 && la <= 64, "rng_bytes_arrive",
	           "result %d, used len %u", r, la))
		return;
	check(r == 0, "rng_msix", "no interrupt on vector 0x%x", VEC_Q);
	for (uint32_t i = 1; i < la; i++)
		varied |= a[i] != a[0];
	check(varied || la == 1, "rng_bytes_vary", "%u bytes all 0x%02x", la,
	      a[0]);
	r = rng_read(&v, b, 64, &lb);
	check(r == 0 && lb > 0 && memcmp(a, b, la < lb ? la : lb),
	      "rng_second_request_differs", "result %d, len %u", r, lb);
}
