/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-net with the tap back-end: a fake guest driver sends a frame that
 * must come out of the tap interface (read with an AF_PACKET socket), and
 * a frame sent into the interface must land in the guest's RX buffer
 * behind a 12-byte virtio_net_hdr. Needs CAP_NET_ADMIN to create the tap:
 * exits 77 saying so otherwise.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fake_driver.h"
#include "fake_vm.h"
#include "podvisor/virtio.h"
#include "podvisor/virtio_net.h"

#define SLOT   VIRTIO_SLOT_NET0
#define RXRING 0x10000
#define TXRING 0x18000
#define TXBUF  0x40000
#define RXBUF  0x50000
#define HDR    12
#define ETYPE  0x88b5

static struct vm *vm;
static struct drv d;
static char ifname[IFNAMSIZ];
static int pkt = -1;
static const uint8_t guest_mac[6] = {2, 0, 0, 0, 0, 0x77};

static void pump(void)
{
	for (int i = 0; i < 20; i++) {
		event_base_loop(vm->evbase, EVLOOP_NONBLOCK);
		usleep(1000);
	}
}

static void if_up(void)
{
	struct ifreq ifr = {0};
	char path[128];
	int s = socket(AF_INET, SOCK_DGRAM, 0), f;

	/* No IPv6 chatter (router solicitations) into the guest's ring. */
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6",
	         ifname);
	f = open(path, O_WRONLY);
	if (f >= 0) {
		ck_assert_int_eq(write(f, "1", 1), 1);
		close(f);
	}
	strcpy(ifr.ifr_name, ifname);
	ck_assert_int_eq(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	ck_assert_int_eq(ioctl(s, SIOCSIFFLAGS, &ifr), 0);
	close(s);
}

static void setup(void)
{
	struct vm_config *cfg;
	struct sockaddr_ll sll = {.sll_family = AF_PACKET,
	                          .sll_protocol = htons(ETH_P_ALL)};

	vm = fake_vm_create(1 << 20);
	cfg = (struct vm_config *)vm->cfg;
	memset(cfg, 0, sizeof(*cfg));
	snprintf(ifname, sizeof(ifname), "pvtap%d", getpid() % 100000);
	cfg->nr_nets = 1;
	cfg->nets[0].tap = ifname;
	memcpy(cfg->nets[0].mac, guest_mac, 6);
	ck_assert_int_eq(virtio_net_create(vm, 0, SLOT), 0);
	ck_assert_int_eq(drv_probe(&d, vm, SLOT), 0);
	ck_assert_uint_eq(drv_negotiate(&d, 1ull << VIRTIO_NET_F_MAC |
	                                        1ull << VIRTIO_NET_F_STATUS),
	                  0xb);
	drv_setup_queue(&d, 0, 16, RXRING);
	drv_setup_queue(&d, 1, 16, TXRING);
	drv_driver_ok(&d);
	if_up();
	pkt = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	ck_assert_int_ge(pkt, 0);
	sll.sll_ifindex = (int)if_nametoindex(ifname);
	ck_assert_int_gt(sll.sll_ifindex, 0);
	ck_assert_int_eq(bind(pkt, (struct sockaddr *)&sll, sizeof(sll)), 0);
}

static void teardown(void)
{
	struct virtio_dev *vdev = virtio_dev_at_slot(vm, SLOT);

	close(pkt);
	if (vdev)
		virtio_dev_destroy(vdev); /* closes the tap: it disappears */
	fake_vm_destroy(vm);
}

static size_t make_frame(uint8_t *f, const uint8_t *dst, const uint8_t *src,
                         uint8_t tag)
{
	memset(f, 0, 60);
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = ETYPE >> 8;
	f[13] = ETYPE & 0xff;
	memset(f + 14, tag, 46);
	return 60;
}

START_TEST(config_says_link_up)
{
	uint8_t mac[6];
	uint16_t st;

	drv_config_read(&d, 0, mac, 6);
	ck_assert_mem_eq(mac, guest_mac, 6);
	drv_config_read(&d, 6, &st, 2);
	ck_assert_uint_eq(st, VIRTIO_NET_S_LINK_UP);
	ck_assert_uint_eq(drv_status(&d), 0xf);
}
END_TEST

START_TEST(guest_frame_leaves_through_the_tap)
{
	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	uint8_t *buf = fake_gpa(vm, TXBUF), got[2048];
	struct drv_buf b = {TXBUF, HDR + 60, false};
	struct pollfd p = {.fd = pkt, .events = POLLIN};
	uint32_t id, len;
	bool seen = false;
	ssize_t n;

	memset(buf, 0, HDR);
	make_frame(buf + HDR, bcast, guest_mac, 0xa5);
	drv_submit(&d, 1, &b, 1, true);
	pump();
	ck_assert(drv_get_used(&d, 1, &id, &len));
	while (!seen && poll(&p, 1, 2000) > 0) {
		n = recv(pkt, got, sizeof(got), 0);
		if (n >= 60 && got[12] == (ETYPE >> 8) &&
		    got[13] == (ETYPE & 0xff))
			seen = n == 60 && !memcmp(got, buf + HDR, 60);
	}
	ck_assert_msg(seen, "the guest's frame never left %s", ifname);
}
END_TEST

START_TEST(frame_into_the_tap_reaches_the_guest)
{
	static const uint8_t peer[6] = {2, 0, 0, 0, 0, 0x88};
	struct drv_buf b = {RXBUF, 2048, true};
	uint8_t f[60], *rx = NULL;
	uint32_t id, len;
	bool seen = false;

	for (int i = 0; i < 4; i++) {
		b.addr = RXBUF + (uint64_t)i * 2048;
		drv_submit(&d, 0, &b, 1, true);
	}
	pump();
	make_frame(f, guest_mac, peer, 0x5a);
	ck_assert_int_eq(send(pkt, f, sizeof(f), 0), (ssize_t)sizeof(f));
	for (int tries = 0; tries < 50 && !seen; tries++) {
		pump();
		while (!seen && drv_get_used(&d, 0, &id, &len)) {
			for (int i = 0; i < 4; i++) {
				uint8_t *p =
				    fake_gpa(vm, RXBUF + (uint64_t)i * 2048);

				if (len == HDR + 60 && !memcmp(p + HDR, f, 60))
					rx = p, seen = true;
			}
		}
	}
	ck_assert_msg(seen, "the frame sent into %s never reached the guest",
	              ifname);
	/* No offloads negotiated: the header is all zero but num_buffers. */
	for (int i = 0; i < 10; i++)
		ck_assert_uint_eq(rx[i], 0);
}
END_TEST

static bool can_make_tap(void)
{
	struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI};
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	bool ok;

	if (fd < 0)
		return false;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "pvprobe%d",
	         getpid() % 10000);
	ok = ioctl(fd, TUNSETIFF, &ifr) == 0;
	close(fd);
	return ok;
}

int main(void)
{
	Suite *s = suite_create("virtio_net_tap");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	if (!can_make_tap()) {
		printf("SKIP: creating a tap needs /dev/net/tun and "
		       "CAP_NET_ADMIN\n");
		return 77;
	}
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, config_says_link_up);
	tcase_add_test(tc, guest_frame_leaves_through_the_tap);
	tcase_add_test(tc, frame_into_the_tap_reaches_the_guest);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
