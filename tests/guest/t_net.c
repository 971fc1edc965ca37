// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-net (VIRTIO 1.2 section 5.1) through a vhost-user back-end: the
 * host test runs DPDK testpmd in macswap mode on the VMM's socket, so every
 * frame the guest sends comes back with the MACs swapped. The guest sends a
 * broadcast test frame (ethertype 0x88b5) until the reflection arrives, so
 * it does not matter whether the back-end connects before or after
 * DRIVER_OK. With reconnect=1 the host then restarts the back-end and the
 * reflections must resume. Command line: test=net mac=<12 hex> [reconnect=1].
 */
#include "virtio.h"

#define NET_F_MAC    (1ull << 5)
#define NET_F_STATUS (1ull << 16)
#define HDR          12 /* virtio_net_hdr with num_buffers (VERSION_1) */
#define FRAME        1514
#define VEC_RX       0x68
#define VEC_CFG      0x69
#define NRX          8

static struct vdev net;
static uint8_t *rxbuf[VQ_MAX];
static uint8_t mac[6];

static void post_rx(uint8_t *p)
{
	struct vbuf b = {p, HDR + FRAME, true};
	int h = vq_add(&net.vq[0], &b, 1);

	if (h >= 0)
		rxbuf[h] = p;
}

static void send_frame(unsigned int seq)
{
	static uint8_t *f;
	struct vbuf b;
	uint32_t len;

	if (!f)
		f = palloc(HDR + 128, 64);
	while (vq_poll(&net.vq[1], &len) >= 0)
		;
	memset(f, 0, HDR + 128);
	memset(f + HDR, 0xff, 6);    /* dst: broadcast */
	memcpy(f + HDR + 6, mac, 6); /* src: us */
	f[HDR + 12] = 0x88;
	f[HDR + 13] = 0xb5;
	snprintf((char *)f + HDR + 14, 64, "podvisor-net-test-%u", seq);
	b = (struct vbuf){f, HDR + 60, false};
	if (vq_add(&net.vq[1], &b, 1) >= 0)
		vq_kick(&net.vq[1]);
}

/* A reflected frame: to our MAC, from broadcast, our payload. */
static bool reflected(const uint8_t *p, uint32_t len)
{
	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	const uint8_t *e = p + HDR;

	return len >= HDR + 14 + 18 && !memcmp(e, mac, 6) &&
	       !memcmp(e + 6, bcast, 6) && e[12] == 0x88 && e[13] == 0xb5 &&
	       !memcmp(e + 14, "podvisor-net-test-", 18);
}

static bool bring_up(void)
{
	char want[16], got[16];

	if (!virtio_find(&net, VIRTIO_ID_NET, 0, "net") ||
	    !virtio_init(&net, NET_F_MAC | NET_F_STATUS))
		return false;
	for (int i = 0; i < 6; i++)
		mac[i] = vcfg_r8(&net, i);
	snprintf(got, sizeof(got), "%02x%02x%02x%02x%02x%02x", mac[0], mac[1],
	         mac[2], mac[3], mac[4], mac[5]);
	if (!arg_str("mac", want, sizeof(want)))
		want[0] = 0;
	check(!strcmp(got, want), "net_mac", "config MAC %s, configured %s",
	      got, want);
	msix_enable(&net);
	msix_route(&net, 0, VEC_CFG, false);
	mmio_w16(net.common + VC_MSIX_CONFIG, 0);
	msix_route(&net, 1, VEC_RX, false);
	if (!virtio_setup_vq(&net, 0, 64, 1) ||
	    !virtio_setup_vq(&net, 1, 64, VIRTIO_NO_VECTOR))
		return false;
	virtio_driver_ok(&net);
	for (int i = 0; i < NRX; i++)
		post_rx(palloc(HDR + FRAME, 64));
	vq_kick(&net.vq[0]);
	return true;
}

/* After READY net-reconnect the host kills the back-end and starts a new
 * one: the link status (config bit 0) must go down, and after it is up
 * again our frames must be reflected again. */
static void reconnect(unsigned int *seq)
{
	uint64_t end = now_us() + 40000000, next = 0;
	uint32_t cfg_irqs;
	bool gap = false, back = false;
	uint32_t len;
	int h;

	/* Take what is pending (earlier link-ups) before counting. */
	irq_wait(VEC_CFG, irq_count[VEC_CFG], 20000);
	cfg_irqs = irq_count[VEC_CFG];
	printf("READY net-reconnect\n");
	while (now_us() < end && !back) {
		if (now_us() >= next) {
			send_frame((*seq)++);
			next = now_us() + 100000;
			if (!gap && !(vcfg_r8(&net, 6) & 1)) {
				gap = true;
				printf("INFO net: link down (back-end gone)\n");
			}
		}
		if ((h = vq_poll(&net.vq[0], &len)) < 0) {
			cpu_relax();
			continue;
		}
		if (reflected(rxbuf[h], len))
			back = gap && (vcfg_r8(&net, 6) & 1);
		post_rx(rxbuf[h]);
		vq_kick(&net.vq[0]);
	}
	check(gap && back, "net_reconnect", "link down %s, reflections %s",
	      gap ? "seen" : "never seen",
	      back ? "resumed" : "did not resume within 40 s");
	/* 5.1.4.2: a status change comes with a configuration notification. */
	check(irq_wait(VEC_CFG, cfg_irqs, 1000000), "net_link_change_irq",
	      "no config interrupt (vector 0x%x) for the link changes",
	      VEC_CFG);
}

/* Sends a frame every 200 ms until one comes back; false after secs. */
static bool until_reflected(unsigned int *seqp, uint64_t secs)
{
	uint64_t end = now_us() + secs * 1000000, next = 0;
	unsigned int seq = *seqp;
	bool seen = false;
	uint32_t len;
	int h;

	while (now_us() < end && !seen) {
		if (now_us() >= next) {
			send_frame(seq++);
			next = now_us() + 200000;
		}
		if ((h = vq_poll(&net.vq[0], &len)) < 0) {
			cpu_relax();
			continue;
		}
		seen = reflected(rxbuf[h], len);
		if (!seen)
			printf("INFO net: ignored a %u-byte frame\n", len);
		post_rx(rxbuf[h]);
		vq_kick(&net.vq[0]);
	}
	*seqp = seq;
	return seen;
}

void test_net(void)
{
	unsigned int seq = 0;
	bool seen;

	if (!bring_up())
		return;
	printf("READY net\n");
	seen = until_reflected(&seq, 30);
	printf("INFO net: sent %u frames, link status %u\n", seq,
	       (unsigned int)(vcfg_r8(&net, 6) | vcfg_r8(&net, 7) << 8));
	if (check(seen, "net_frame_reflected",
	          "no reflected frame within 30 s (%u sent)", seq))
		check(irq_wait(VEC_RX, 0, 1000000), "net_rx_msix",
		      "no interrupt on vector 0x%x", VEC_RX);
	/* A driver reset (reload, kexec) while the back-end runs: the rings
	 * are taken back and handed over again. */
	if (seen && arg_u64("reinit", 0)) {
		seen = virtio_reset(&net) && bring_up() &&
		       until_reflected(&seq, 15);
		check(seen, "net_reset_and_reinit",
		      "no reflection within 15 s after a device reset");
	}
	if (seen && arg_u64("reconnect", 0))
		reconnect(&seq);
}
