// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-net whose rings are served by podvisor-switch over vhost-user
 * (VIRTIO 1.2 section 5.1), across a switch restart. Run by
 * tests/switch/test_vm_net.py (test=net_switch), which plays the other
 * side (switch + a testpmd port) and follows the INFO markers printed here:
 *
 *   netsw_link_up          config status LINK_UP once the switch connects
 *   netsw_tx               N broadcast frames sent and completed
 *   "INFO netsw: want rx"  -> the host sends frames to our MAC
 *   netsw_rx               frames addressed to us land in the RX ring
 *   "INFO netsw: kill"     -> the host kills the switch and restarts it
 *   netsw_link_down, netsw_link_up_again, netsw_tx_after_restart
 *
 * No MSI-X: every ring is polled, so the test depends only on the rings.
 */
#include "virtio.h"

#define NET_F_MAC    (1ull << 5)
#define NET_F_STATUS (1ull << 16)
#define HDR          12 /* virtio_net_hdr + num_buffers (VERSION_1) */
#define FRAME        60
#define RXBUF        (HDR + 1514)
#define NRX          32
#define QSZ          64

static uint8_t mac[6];
static uint8_t *rxbuf[NRX];

static uint16_t link_status(struct vdev *v)
{
	return (uint16_t)(vcfg_r8(v, 6) | vcfg_r8(v, 7) << 8);
}

static bool wait_link(struct vdev *v, uint16_t want, uint64_t timeout_us)
{
	uint64_t end = now_us() + timeout_us;

	while (now_us() < end) {
		if ((link_status(v) & 1) == want)
			return true;
		delay_us(10000);
	}
	return false;
}

static void rx_post(struct vdev *v, int i)
{
	struct vbuf b = {rxbuf[i], RXBUF, true};

	vq_add(&v->vq[0], &b, 1);
}

/* Sends n broadcast frames, each completed before the next; returns the
 * number completed. */
static unsigned int tx_burst(struct vdev *v, unsigned int n, uint32_t tag)
{
	uint8_t *f = palloc(HDR + FRAME, 64);
	unsigned int done = 0;
	uint32_t len;

	for (unsigned int i = 0; i < n; i++) {
		struct vbuf b = {f, HDR + FRAME, false};

		memset(f, 0, HDR + FRAME);
		memset(f + HDR, 0xff, 6);
		memcpy(f + HDR + 6, mac, 6);
		f[HDR + 12] = 0x88; /* local experimental ethertype */
		f[HDR + 13] = 0xb5;
		memcpy(f + HDR + 14, &tag, 4);
		memcpy(f + HDR + 18, &i, 4);
		if (vq_add(&v->vq[1], &b, 1) < 0)
			break;
		vq_kick(&v->vq[1]);
		if (vq_wait(&v->vq[1], &len, 2000000) < 0)
			break;
		done++;
	}
	return done;
}

/* Counts frames addressed to us (up to 16) for at most timeout_us. */
static unsigned int rx_count(struct vdev *v, uint64_t timeout_us)
{
	uint64_t end = now_us() + timeout_us;
	unsigned int got = 0;
	uint32_t len;
	int id;

	while (now_us() < end && got < 16) {
		id = vq_poll(&v->vq[0], &len);
		if (id < 0) {
			delay_us(1000);
			continue;
		}
		for (int i = 0; i < NRX; i++) {
			if (v->vq[0].desc[id].addr != (uint64_t)rxbuf[i])
				continue;
			if (len >= HDR + 14 && !memcmp(rxbuf[i] + HDR, mac, 6))
				got++;
			rx_post(v, i);
		}
		vq_kick(&v->vq[0]);
	}
	return got;
}

static bool net_setup(struct vdev *v)
{
	if (!virtio_find(v, VIRTIO_ID_NET, 0, "net") ||
	    !virtio_init(v, NET_F_MAC | NET_F_STATUS))
		return false;
	if (!virtio_setup_vq(v, 0, QSZ, VIRTIO_NO_VECTOR) ||
	    !virtio_setup_vq(v, 1, QSZ, VIRTIO_NO_VECTOR))
		return false;
	for (int i = 0; i < 6; i++)
		mac[i] = vcfg_r8(v, (uint32_t)i);
	for (int i = 0; i < NRX; i++) {
		rxbuf[i] = palloc(RXBUF, 64);
		rx_post(v, i);
	}
	virtio_driver_ok(v);
	printf("INFO netsw: mac %02x:%02x:%02x:%02x:%02x:%02x\n", mac[0],
	       mac[1], mac[2], mac[3], mac[4], mac[5]);
	return check(!(virtio_status(v) & VIRTIO_S_NEEDS_RESET),
	             "netsw_driver_ok", "status 0x%x", virtio_status(v));
}

void test_net_switch(void)
{
	unsigned int n = (unsigned int)arg_u64("frames", 100), sent, got;
	struct vdev v;

	if (!net_setup(&v))
		return;
	if (!check(wait_link(&v, 1, 60000000), "netsw_link_up",
	           "status %u after 60 s", link_status(&v)))
		return;
	sent = tx_burst(&v, n, 1);
	check(sent == n, "netsw_tx", "%u of %u frames completed", sent, n);
	printf("INFO netsw: want rx\n");
	got = rx_count(&v, 30000000);
	check(got > 0, "netsw_rx", "no frame for our MAC in 30 s");
	printf("INFO netsw: kill\n");
	if (!check(wait_link(&v, 0, 60000000), "netsw_link_down",
	           "link still up 60 s after the switch was killed"))
		return;
	if (!check(wait_link(&v, 1, 60000000), "netsw_link_up_again",
	           "no link 60 s after the switch went away"))
		return;
	sent = tx_burst(&v, n, 2);
	check(sent == n, "netsw_tx_after_restart", "%u of %u frames completed",
	      sent, n);
	printf("INFO netsw: done\n");
}
