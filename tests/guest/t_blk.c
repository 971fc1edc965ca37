// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-blk (VIRTIO 1.2 section 5.2): read what the host wrote, write a
 * pattern, FLUSH, read it back, GET_ID, out-of-range and unknown requests,
 * an MSI-X interrupt per completion, and a read-only disk refusing writes.
 * Command line: test=blk sectors=<n> serial=<id> ro=<0|1> [disk=<index>]
 * [high=<MiB of RAM, > 3072: DMA above 4 GiB>].
 * Sector s holds 32 copies of "hostdata-s%05u\n" from the host test and
 * "guestdat-s%05u\n" after the guest writes it; the host checks the image.
 */
#include "virtio.h"

#define BLK_F_RO    (1ull << 5)
#define BLK_F_FLUSH (1ull << 9)
#define T_IN        0
#define T_OUT       1
#define T_FLUSH     4
#define T_GET_ID    8
#define VEC_CFG     0x40
#define VEC_Q       0x41

struct blk_hdr {
	uint32_t type, reserved;
	uint64_t sector;
};

static struct vdev blk;
static struct blk_hdr *hdr;
static uint8_t *status;
static uint8_t *buf;
/* Set while a test expects the device to refuse (no completion). */
static bool quiet_timeout;

static void fill(uint8_t *p, const char *who, uint64_t s)
{
	char line[17];

	snprintf(line, sizeof(line), "%s-s%05lu\n", who, (unsigned long)s);
	for (int i = 0; i < 32; i++)
		memcpy(p + 16 * i, line, 16);
}

/* One request; data split over two descriptors when it is 1 KiB or more.
 * Returns the status byte, or -1 when the device never completed it. */
static int blk_rq(uint32_t type, uint64_t sector, void *data, uint32_t len,
                  bool dev_writes)
{
	struct vq *q = &blk.vq[0];
	struct vbuf b[4];
	int n = 0;
	uint32_t seen = irq_count[VEC_Q], used;

	hdr->type = type;
	hdr->reserved = 0;
	hdr->sector = sector;
	*status = 0xee;
	b[n++] = (struct vbuf){hdr, sizeof(*hdr), false};
	if (len >= 1024) {
		b[n++] = (struct vbuf){data, len / 2, dev_writes};
		b[n++] = (struct vbuf){(uint8_t *)data + len / 2, len - len / 2,
		                       dev_writes};
	} else if (len) {
		b[n++] = (struct vbuf){data, len, dev_writes};
	}
	b[n++] = (struct vbuf){status, 1, true};
	if (vq_add(q, b, n) < 0)
		return -1;
	vq_kick(q);
	if (vq_wait(q, &used, 3000000) < 0) {
		if (!quiet_timeout)
			fail("blk_request",
			     "type %u sector %lu: no completion in 3 s "
			     "(status 0x%x)",
			     type, (unsigned long)sector, virtio_status(&blk));
		return -1;
	}
	if (!irq_wait(VEC_Q, seen, 1000000))
		fail("blk_msix",
		     "type %u: completed but MSI-X vector 0x%x "
		     "never fired",
		     type, VEC_Q);
	return *status;
}

static bool setup(bool ro)
{
	uint64_t want = BLK_F_FLUSH | BLK_F_RO;

	if (!virtio_find(&blk, VIRTIO_ID_BLK, (int)arg_u64("disk", 0), "blk") ||
	    !virtio_init(&blk, want))
		return false;
	hdr = palloc(sizeof(*hdr), 16);
	status = palloc(1, 1);
	buf = palloc(8192, 4096);
	msix_enable(&blk);
	msix_route(&blk, 0, VEC_CFG, false);
	msix_route(&blk, 1, VEC_Q, false);
	mmio_w16(blk.common + VC_MSIX_CONFIG, 0);
	if (!virtio_setup_vq(&blk, 0, 16, 1))
		return false;
	virtio_driver_ok(&blk);
	check(!!(blk.features & BLK_F_RO) == ro, "blk_ro_feature",
	      "RO feature %s but ro=%d",
	      blk.features & BLK_F_RO ? "set" : "clear", ro);
	return true;
}

static void rw_tests(uint64_t cap)
{
	int st;

	fill(buf + 4096, "hostdata", 0);
	st = blk_rq(T_IN, 0, buf, 512, true);
	check(st == 0 && !memcmp(buf, buf + 4096, 512), "blk_read_host_data",
	      "status %d, sector 0 reads '%.15s'", st, (const char *)buf);
	for (int s = 1; s <= 8; s++)
		fill(buf + 512 * (s - 1), "guestdat", s);
	st = blk_rq(T_OUT, 1, buf, 4096, false);
	check(st == 0, "blk_write", "status %d writing sectors 1-8", st);
	fill(buf, "guestdat", cap - 1);
	st = blk_rq(T_OUT, cap - 1, buf, 512, false);
	check(st == 0, "blk_write_last_sector", "status %d", st);
	st = blk_rq(T_FLUSH, 0, NULL, 0, false);
	check((blk.features & BLK_F_FLUSH) && st == 0, "blk_flush",
	      "FLUSH %s, status %d",
	      blk.features & BLK_F_FLUSH ? "offered" : "not offered", st);
	memset(buf, 0, 8192);
	st = blk_rq(T_IN, 1, buf, 4096, true);
	fill(buf + 4096, "guestdat", 1);
	check(st == 0 && !memcmp(buf, buf + 4096, 512), "blk_read_back",
	      "status %d, sector 1 reads '%.15s'", st, (const char *)buf);
	fill(buf + 4096, "guestdat", 8);
	check(!memcmp(buf + 3584, buf + 4096, 512), "blk_read_back_split",
	      "sector 8 reads '%.15s'", (const char *)buf + 3584);
	st = blk_rq(T_IN, cap - 1, buf, 512, true);
	fill(buf + 4096, "guestdat", cap - 1);
	check(st == 0 && !memcmp(buf, buf + 4096, 512), "blk_read_last_sector",
	      "status %d", st);
}

/* Fills the ring with 5 reads at a time, 8 rounds: avail and used indices
 * wrap the 16-entry ring several times and completions may come batched. */
static void many_requests(void)
{
	struct vq *q = &blk.vq[0];
	static struct blk_hdr *h;
	static uint8_t *s, *d;
	unsigned int done = 0, bad = 0;

	if (!h) {
		h = palloc(5 * sizeof(*h), 16);
		s = palloc(5, 1);
		d = palloc(5 * 512, 512);
	}
	for (int round = 0; round < 8; round++) {
		for (int i = 0; i < 5; i++) {
			struct vbuf b[3] = {{&h[i], sizeof(*h), false},
			                    {d + 512 * i, 512, true},
			                    {&s[i], 1, true}};

			h[i] = (struct blk_hdr){T_IN, 0, 1 + (uint64_t)i};
			s[i] = 0xee;
			vq_add(q, b, 3);
		}
		vq_kick(q);
		for (int i = 0; i < 5; i++)
			done += vq_wait(q, NULL, 3000000) >= 0;
		for (int i = 0; i < 5; i++) {
			fill(buf, "guestdat", 1 + i);
			bad += s[i] != 0 || memcmp(d + 512 * i, buf, 512);
		}
	}
	check(done == 40 && !bad, "blk_ring_wraps",
	      "%u of 40 completed, %u bad", done, bad);
}

static void edge_tests(uint64_t cap)
{
	char want[21] = {0}, serial[24];
	int st;

	if (!arg_str("serial", serial, sizeof(serial)))
		serial[0] = 0;
	memcpy(want, serial, strlen(serial) > 20 ? 20 : strlen(serial));
	memset(buf, 0, 64);
	st = blk_rq(T_GET_ID, 0, buf, 20, true);
	check(st == 0 && !memcmp(buf, want, 20), "blk_get_id",
	      "status %d, id '%.20s', expected '%s'", st, (const char *)buf,
	      want);
	st = blk_rq(T_IN, cap, buf, 512, true);
	check(st == 1, "blk_read_past_end",
	      "status %d reading sector %lu of "
	      "%lu (expected IOERR 1)",
	      st, (unsigned long)cap, (unsigned long)cap);
	st = blk_rq(T_IN, cap - 1, buf, 1024, true);
	check(st == 1, "blk_read_across_end", "status %d (expected IOERR 1)",
	      st);
	st = blk_rq(99, 0, buf, 512, true);
	check(st == 2, "blk_unsupported_type",
	      "status %d for type 99 "
	      "(expected UNSUPP 2)",
	      st);
	check(!(virtio_status(&blk) & VIRTIO_S_NEEDS_RESET),
	      "blk_still_healthy", "status 0x%x", virtio_status(&blk));
}

static void ro_tests(void)
{
	int st;

	fill(buf, "guestdat", 1);
	st = blk_rq(T_OUT, 1, buf, 512, false);
	check(st == 1 || st == 2, "blk_ro_write_refused",
	      "write status %d "
	      "on a read-only disk",
	      st);
	memset(buf, 0, 512);
	st = blk_rq(T_IN, 1, buf, 512, true);
	fill(buf + 4096, "hostdata", 1);
	check(st == 0 && !memcmp(buf, buf + 4096, 512), "blk_ro_data_intact",
	      "status %d, sector 1 reads '%.15s'", st, (const char *)buf);
}

/* RAM above 4 GiB (--memory > 3072): DMA into and out of the high region,
 * and a buffer straddling the end of low RAM into the MMIO gap, which must
 * break the device rather than touch the gap. */
static void high_memory(uint64_t mib)
{
	uint64_t high = 0x100000000ull + ((mib - 3072) << 20) - 0x200000;
	uint8_t *hb = (uint8_t *)high, *ref = buf + 4096;
	int st;

	map_identity(high, 0x200000);
	fill(hb, "guestdat", 20);
	st = blk_rq(T_OUT, 20, hb, 512, false);
	memset(hb, 0, 512);
	st = st == 0 ? blk_rq(T_IN, 20, hb, 512, true) : st;
	fill(ref, "guestdat", 20);
	check(st == 0 && !memcmp(hb, ref, 512), "blk_dma_above_4g",
	      "status %d, buffer at 0x%lx reads '%.15s'", st,
	      (unsigned long)high, (const char *)hb);
	quiet_timeout = true;
	st = blk_rq(T_IN, 0, (void *)(0xc0000000ull - 256), 512, true);
	quiet_timeout = false;
	check(st == -1 && (virtio_status(&blk) & VIRTIO_S_NEEDS_RESET),
	      "blk_buffer_into_mmio_gap_refused",
	      "status %d, device status 0x%x for [3 GiB - 256, +512)", st,
	      virtio_status(&blk));
}

void test_blk(void)
{
	bool ro = arg_u64("ro", 0);
	uint64_t cap, want = arg_u64("sectors", 0);

	if (!setup(ro))
		return;
	cap = vcfg_r64(&blk, 0);
	if (!check(cap == want && cap > 16, "blk_capacity",
	           "capacity %lu "
	           "sectors, the host image has %lu",
	           (unsigned long)cap, (unsigned long)want))
		return;
	if (ro) {
		ro_tests();
		return;
	}
	rw_tests(cap);
	edge_tests(cap);
	many_requests();
	if (arg_u64("high", 0) > 3072)
		high_memory(arg_u64("high", 0));
}
