/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A virtio-net "guest" without a VM, for the switch suite: it owns guest
 * RAM (a memfd) and one split-ring queue pair, and hands them to a
 * vhost-user back-end (podvisor-switch) through the VMM's front-end
 * (vhost/vhost_user.c), exactly as podvisor-vmm's virtio-net does. It
 * listens on SOCK; commands on stdin, one JSON line per answer on stdout:
 *
 *   send N DST_MAC   queue N 60-byte frames from our MAC to DST_MAC
 *   stats            {"link":..,"sent":..,"completed":..,"received":..,
 *                     "from_peer":..,"bad":..}
 *   quit
 *
 * Usage: vu_guest SOCK MAC PEER_MAC   (frames from PEER_MAC are counted)
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "podvisor/log.h"
#include "podvisor/switch.h"
#include "podvisor/vhost_user.h"

#define QSZ           256
#define RAM           (16u << 20)
#define BUF           2048
#define HDR           12 /* virtio_net_hdr with num_buffers (VERSION_1) */
#define F_V1          (1ull << 32)
#define RX            0
#define TX            1
#define RING_GPA(q)   (0x10000u * (q + 1))
#define BUF_GPA(q, i) (0x100000u + (q)*QSZ * BUF + (i)*BUF)

struct vdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

struct ring {
	struct vdesc *desc;
	volatile uint16_t *avail; /* flags, idx, ring[] */
	volatile uint8_t *used;   /* flags, idx, {u32 id, u32 len}[] */
	uint16_t avail_idx, last_used;
};

static uint8_t *ram;
static struct ring rings[2];
static struct vhost_user vu;
static uint8_t mac[6], peer[6];
static unsigned long sent, completed, received, from_peer, bad;

static uint16_t used_idx(struct ring *r)
{
	return __atomic_load_n((uint16_t *)(r->used + 2), __ATOMIC_ACQUIRE);
}

static void publish(struct ring *r, uint16_t head)
{
	r->avail[2 + r->avail_idx % QSZ] = head;
	r->avail_idx++;
	__atomic_store_n((uint16_t *)&r->avail[1], r->avail_idx,
	                 __ATOMIC_RELEASE);
}

static void rings_init(void)
{
	for (int q = 0; q < 2; q++) {
		struct ring *r = &rings[q];

		r->desc = (struct vdesc *)(ram + RING_GPA(q));
		r->avail = (uint16_t *)(ram + RING_GPA(q) + 0x1000);
		r->used = ram + RING_GPA(q) + 0x2000;
		for (int i = 0; i < QSZ; i++)
			r->desc[i] = (struct vdesc){
			    .addr = BUF_GPA(q, i),
			    .len = BUF,
			    .flags = q == RX ? 2 : 0, /* WRITE */
			};
	}
	/* The receive ring starts full of empty buffers. */
	for (int i = 0; i < QSZ; i++)
		publish(&rings[RX], (uint16_t)i);
}

static void rx_drain(void)
{
	struct ring *r = &rings[RX];

	while (r->last_used != used_idx(r)) {
		volatile uint32_t *e =
		    (uint32_t *)(r->used + 4 + (r->last_used % QSZ) * 8);
		uint32_t id = e[0], len = e[1];

		r->last_used++;
		if (id >= QSZ || len < HDR + 14 || len > BUF) {
			bad++;
			continue;
		}
		received++;
		if (!memcmp(ram + BUF_GPA(RX, id) + HDR + 6, peer, 6))
			from_peer++;
		publish(r, (uint16_t)id);
	}
}

static void tx_reclaim(void)
{
	struct ring *r = &rings[TX];

	while (r->last_used != used_idx(r)) {
		r->last_used++;
		completed++;
	}
}

static int tx_one(const uint8_t dst[6])
{
	struct ring *r = &rings[TX];
	uint16_t head = r->avail_idx % QSZ;
	uint8_t *f = ram + BUF_GPA(TX, head);
	uint64_t one = 1;

	tx_reclaim();
	if ((uint16_t)(r->avail_idx - r->last_used) >= QSZ)
		return -EAGAIN;
	memset(f, 0, HDR + 60);
	memcpy(f + HDR, dst, 6);
	memcpy(f + HDR + 6, mac, 6);
	f[HDR + 12] = 0x88; /* local experimental ethertype */
	f[HDR + 13] = 0xb5;
	r->desc[head].len = HDR + 60;
	publish(r, head);
	sent++;
	/* The switch polls, but a real driver kicks unless suppressed. */
	if (!(*(uint16_t *)r->used & 1) &&
	    write(vu.rings[TX].kick_fd, &one, 8) != 8)
		return -errno;
	return 0;
}

static void service(int timeout_ms)
{
	struct pollfd p[2] = {{.fd = vu.listen_fd, .events = POLLIN},
	                      {.fd = vu.fd, .events = POLLIN}};

	if (poll(p, 2, timeout_ms) > 0) {
		if (p[0].revents & POLLIN)
			vhost_user_accept(&vu);
		else if (p[1].revents)
			vhost_user_handle_event(&vu);
	}
	rx_drain();
	tx_reclaim();
}

static void cmd_send(unsigned long n, const uint8_t dst[6])
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned long i = 0; i < n;) {
		if (tx_one(dst) == 0) {
			i++;
			continue;
		}
		service(1);
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (t.tv_sec - t0.tv_sec > 20)
			break; /* the back-end stopped reading */
	}
}

static void print_stats(void)
{
	printf("{\"link\":%s,\"sent\":%lu,\"completed\":%lu,\"received\":%lu,"
	       "\"from_peer\":%lu,\"bad\":%lu}\n",
	       vu.link_up ? "true" : "false", sent, completed, received,
	       from_peer, bad);
	fflush(stdout);
}

static int setup(const char *sock)
{
	struct vhost_user_mem mem = {.nr = 1};
	struct vhost_user_ring vr[2];
	int fd = memfd_create("vu-guest", MFD_CLOEXEC);

	if (fd < 0 || ftruncate(fd, RAM))
		return -errno;
	ram = mmap(NULL, RAM, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (ram == MAP_FAILED)
		return -errno;
	mem.r[0].gpa = 0;
	mem.r[0].size = RAM;
	mem.r[0].hva = ram;
	mem.r[0].fd = fd;
	rings_init();
	for (int q = 0; q < 2; q++)
		vr[q] = (struct vhost_user_ring){
		    .num = QSZ,
		    .desc = rings[q].desc,
		    .avail = (void *)rings[q].avail,
		    .used = (void *)rings[q].used,
		    .kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK),
		    .call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK),
		};
	vhost_user_init(&vu, sock, NULL, NULL);
	if (vhost_user_listen(&vu))
		return -EIO;
	/* The guest driver is up before any back-end: start now, the
	 * sequence runs when the switch connects. */
	return vhost_user_start(&vu, F_V1, &mem, vr, 2, 0x0f);
}

int main(int argc, char **argv)
{
	char line[256], dst_s[32];
	unsigned long n;
	uint8_t dst[6];

	pv_log_init("vu_guest", PV_LOG_INFO);
	if (argc != 4 || sw_mac_parse(argv[2], mac) ||
	    sw_mac_parse(argv[3], peer)) {
		fprintf(stderr, "usage: vu_guest SOCK MAC PEER_MAC\n");
		return 2;
	}
	if (setup(argv[1]))
		return 1;
	printf("{\"listening\":true}\n");
	fflush(stdout);
	for (;;) {
		struct pollfd in = {.fd = 0, .events = POLLIN};

		service(5);
		if (poll(&in, 1, 0) <= 0)
			continue;
		if (!fgets(line, sizeof(line), stdin) ||
		    !strncmp(line, "quit", 4))
			break;
		if (sscanf(line, "send %lu %31s", &n, dst_s) == 2 &&
		    !sw_mac_parse(dst_s, dst))
			cmd_send(n, dst);
		else if (strncmp(line, "stats", 5))
			fprintf(stderr, "vu_guest: unknown command %s", line);
		for (int i = 0; i < 20; i++)
			service(5); /* let completions settle */
		print_stats();
	}
	vhost_user_close(&vu);
	return 0;
}
