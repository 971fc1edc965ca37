// SPDX-License-Identifier: Apache-2.0
/*
 * Seeded random descriptor chains against virtio-blk, end to end through
 * the real notify path and worker threads (the host-side libFuzzer harness
 * covers the parser alone). Buffers point into a sandbox in our memory or,
 * sometimes, outside guest RAM; flags, next indices, indirect tables and
 * avail heads are random. The device may complete a request or go
 * NEEDS_RESET (then we reset it); the VMM must live through all of it and
 * virtio-blk must serve a good read at the end.
 * Command line: test=ringfuzz seed=<n> ops=<n> (needs --disk).
 */
#include "virtio.h"

#define QSZ 16

static uint64_t st;
static struct vdev blk;
static uint8_t sandbox[256 * 1024] __attribute__((aligned(4096)));
static unsigned int resets, completions;

static uint64_t rnd(void)
{
	st ^= st >> 12;
	st ^= st << 25;
	st ^= st >> 27;
	return st * 0x2545f4914f6cdd1dull;
}

static bool up(void)
{
	return virtio_init(&blk, VIRTIO_F_INDIRECT_DESC) &&
	       virtio_setup_vq(&blk, 0, QSZ, VIRTIO_NO_VECTOR) &&
	       (virtio_driver_ok(&blk), true);
}

/* A buffer: mostly inside the sandbox, sometimes somewhere it must not be. */
static void rand_buf(uint64_t *addr, uint32_t *len)
{
	static const uint64_t bad[] = {0x7f0000000000ull, 0xfee00000ull,
	                               0xbffff000ull, 0xfffffffffffff000ull};
	unsigned int k = rnd() % 10;

	*len = k == 0 ? (uint32_t)rnd() : 1 + rnd() % 4096;
	if (k == 1) {
		*addr = bad[rnd() % ARRAY_SIZE(bad)];
		return;
	}
	*len = *len % (sizeof(sandbox) / 2) + 1;
	*addr = (uint64_t)sandbox + rnd() % (sizeof(sandbox) - *len);
}

static void rand_desc(struct vring_desc *d, unsigned int limit)
{
	uint64_t a;
	uint32_t l;

	rand_buf(&a, &l);
	d->addr = a;
	d->len = l;
	d->flags = rnd() & (VRING_F_NEXT | VRING_F_WRITE);
	d->next = rnd() % 8 ? rnd() % limit : rnd();
}

/* A well-formed request (header, data, status) at head, in the sandbox,
 * with a random type, sector and data length. */
static uint16_t plausible(struct vring_desc *d, uint16_t head)
{
	uint8_t *h = sandbox + 16 * (rnd() % 64);
	uint32_t dlen = 512 * (rnd() % 9) + (rnd() % 4 == 0 ? rnd() % 512 : 0);
	uint16_t n = dlen ? 3 : 2, i1 = (head + 1) % QSZ, i2 = (head + 2) % QSZ;

	*(uint32_t *)h = (uint32_t[]){0, 1, 4, 8, 0, 1, 11, 99}[rnd() % 8];
	*(uint64_t *)(h + 8) = rnd() % 8 ? rnd() % 2100 : rnd();
	d[head] = (struct vring_desc){(uint64_t)h, 16, VRING_F_NEXT, i1};
	if (dlen)
		d[i1] = (struct vring_desc){
		    (uint64_t)sandbox + 8192 + rnd() % (sizeof(sandbox) / 2),
		    dlen, VRING_F_NEXT | (rnd() & 1 ? VRING_F_WRITE : 0), i2};
	d[dlen ? i2 : i1] = (struct vring_desc){
	    (uint64_t)sandbox + 1024 + rnd() % 1024, 1, VRING_F_WRITE, 0};
	return n;
}

static void one_op(void)
{
	struct vq *q = &blk.vq[0];
	uint16_t head = rnd() % QSZ, n = plausible(q->desc, head);
	uint64_t end;

	/* Half the requests stay well-formed; the rest get one to n fields
	 * replaced by random ones. */
	for (uint16_t k = rnd() % 2 ? 0 : 1 + rnd() % n; k; k--)
		rand_desc(&q->desc[(head + rnd() % n) % QSZ], QSZ);
	if (rnd() % 12 == 0) { /* an indirect table in the sandbox */
		struct vring_desc *t = (void *)(sandbox + 4096 * (rnd() % 8));
		unsigned int m = 1 + rnd() % 6;

		for (unsigned int i = 0; i < m; i++)
			rand_desc(&t[i], m);
		q->desc[head].addr = (uint64_t)t;
		q->desc[head].len = 16 * m + (rnd() % 8 == 0 ? 4 : 0);
		q->desc[head].flags = VRING_F_INDIRECT;
	}
	q->avail->ring[q->avail_idx % QSZ] = rnd() % 50 ? head : rnd();
	barrier();
	q->avail_idx += rnd() % 50 ? 1 : 1 + rnd() % 40;
	q->avail->idx = q->avail_idx;
	vq_kick(q);
	end = now_us() + 20000;
	while (now_us() < end) {
		if (virtio_status(&blk) & VIRTIO_S_NEEDS_RESET) {
			resets++;
			up();
			return;
		}
		if (q->used->idx != q->last_used) {
			completions += (uint16_t)(q->used->idx - q->last_used);
			q->last_used = q->used->idx;
			return;
		}
		cpu_relax();
	}
}

static void good_read(void)
{
	uint8_t *hdr = palloc(16, 16), *data = palloc(512, 512),
	        *s = palloc(1, 1);
	struct vbuf b[3] = {{hdr, 16, false}, {data, 512, true}, {s, 1, true}};

	*s = 0xee;
	if (!up())
		return;
	vq_add(&blk.vq[0], b, 3);
	vq_kick(&blk.vq[0]);
	check(vq_wait(&blk.vq[0], NULL, 3000000) >= 0 && *s == 0,
	      "ringfuzz_blk_works_after", "status byte 0x%x, device 0x%x", *s,
	      virtio_status(&blk));
}

void test_ringfuzz(void)
{
	uint64_t seed = arg_u64("seed", 1), ops = arg_u64("ops", 2000);

	st = seed ? seed : 1;
	if (!virtio_find(&blk, VIRTIO_ID_BLK, 0, "blk") || !up())
		return;
	printf("INFO ringfuzz: seed %lu, %lu requests\n", (unsigned long)seed,
	       (unsigned long)ops);
	for (uint64_t i = 0; i < ops; i++)
		one_op();
	printf("INFO ringfuzz: %u completions, %u device resets\n", completions,
	       resets);
	pass("ringfuzz_vmm_survived");
	good_read();
}
