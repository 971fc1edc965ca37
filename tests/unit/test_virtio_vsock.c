// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-vsock: header validation, CONNECT line parsing, and connections
 * both ways through the hybrid UNIX socket, with this test as the guest
 * driver on one side and as the host programs on the other.
 */
#include <check.h>
#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "devices/vsock_priv.h"
#include "devices/vsock_proto.h"
#include "fake_driver.h"
#include "fake_vm.h"
#include "podvisor/virtio.h"

#define SLOT   VIRTIO_SLOT_VSOCK
#define RXRING 0x10000
#define TXRING 0x14000
#define EVRING 0x18000
#define TXBUF  0x20000
#define RXBUF  0x40000 /* 16 rx buffers of 0x1000 */
#define CID    3

static struct vm *vm;
static struct drv d;
static char dir[32], uds[64];
static uint64_t rx_addr[16];

/* ---- pure checks ---- */

static struct vsock_hdr good_hdr(void)
{
	return (struct vsock_hdr){.src_cid = CID,
	                          .dst_cid = 2,
	                          .src_port = 1,
	                          .dst_port = 2,
	                          .type = VSOCK_TYPE_STREAM,
	                          .op = VSOCK_OP_REQUEST};
}

START_TEST(test_hdr_check)
{
	struct vsock_hdr h = good_hdr();
	const char *why = NULL;

	ck_assert_int_eq(vsock_hdr_check(&h, CID, 0, &why), 0);
	h.src_cid = 4;
	ck_assert_int_eq(vsock_hdr_check(&h, CID, 0, &why), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "src_cid"));
	h = good_hdr();
	h.dst_cid = 1;
	ck_assert_int_eq(vsock_hdr_check(&h, CID, 0, &why), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "dst_cid"));
	h = good_hdr();
	h.op = 8;
	ck_assert_int_eq(vsock_hdr_check(&h, CID, 0, &why), -EINVAL);
	h.op = 0;
	ck_assert_int_eq(vsock_hdr_check(&h, CID, 0, &why), -EINVAL);
	h = good_hdr();
	h.op = VSOCK_OP_RW;
	h.len = 100;
	ck_assert_int_eq(vsock_hdr_check(&h, CID, 99, &why), -EINVAL);
	ck_assert_ptr_nonnull(strstr(why, "len"));
	ck_assert_int_eq(vsock_hdr_check(&h, CID, 100, &why), 0);
	h.len = VSOCK_MAX_PAYLOAD + 1;
	ck_assert_int_eq(vsock_hdr_check(&h, CID, 1 << 20, &why), -EINVAL);
	h = good_hdr();
	h.len = 4; /* payload on a REQUEST */
	ck_assert_int_eq(vsock_hdr_check(&h, CID, 4, &why), -EINVAL);
	h = good_hdr();
	h.type = 2; /* seqpacket: answered with RST */
	ck_assert_int_eq(vsock_hdr_check(&h, CID, 0, &why), -EPROTOTYPE);
}
END_TEST

START_TEST(test_connect_line)
{
	uint32_t port = 0;

	ck_assert_int_eq(vsock_parse_connect("CONNECT 1234\n", 13, &port), 13);
	ck_assert_uint_eq(port, 1234);
	ck_assert_int_eq(vsock_parse_connect("CONNECT 52\r\nxy", 14, &port),
	                 12);
	ck_assert_uint_eq(port, 52);
	ck_assert_int_eq(vsock_parse_connect("CONNECT 4294967295\n", 19, &port),
	                 19);
	ck_assert_uint_eq(port, 4294967295u);
	/* Incomplete but fine so far. */
	ck_assert_int_eq(vsock_parse_connect("CONN", 4, &port), 0);
	ck_assert_int_eq(vsock_parse_connect("CONNECT 12", 10, &port), 0);
	/* Never valid. */
	ck_assert_int_eq(vsock_parse_connect("connect 1\n", 10, &port),
	                 -EINVAL);
	ck_assert_int_eq(vsock_parse_connect("CONNECT \n", 9, &port), -EINVAL);
	ck_assert_int_eq(vsock_parse_connect("CONNECT 12x\n", 12, &port),
	                 -EINVAL);
	ck_assert_int_eq(vsock_parse_connect("CONNECT 4294967296\n", 19, &port),
	                 -EINVAL);
	ck_assert_int_eq(vsock_parse_connect("CONNECT -1\n", 11, &port),
	                 -EINVAL);
}
END_TEST

/* ---- through the device ---- */

static void pump(void)
{
	for (int i = 0; i < 20; i++) {
		event_base_loop(vm->evbase, EVLOOP_NONBLOCK);
		usleep(500);
	}
}

static void post_rx(unsigned int i)
{
	struct drv_buf b = {RXBUF + 0x1000ULL * i, 0x1000, true};
	uint16_t head = drv_submit(&d, 0, &b, 1, true);

	rx_addr[head] = b.addr;
}

static void setup(void)
{
	struct vm_config *cfg;

	vm = fake_vm_create(1 << 20);
	cfg = (struct vm_config *)vm->cfg;
	memset(cfg, 0, sizeof(*cfg));
	strcpy(dir, "/tmp/pv-vs-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(uds, sizeof(uds), "%s/v.sock", dir);
	cfg->vsock = (struct vm_vsock_config){true, CID, uds};
	ck_assert_int_eq(virtio_vsock_create(vm, SLOT), 0);
	ck_assert_int_eq(drv_probe(&d, vm, SLOT), 0);
	ck_assert_uint_eq(drv_negotiate(&d, 0), 0xb);
	drv_setup_queue(&d, 0, 16, RXRING);
	drv_setup_queue(&d, 1, 16, TXRING);
	drv_setup_queue(&d, 2, 16, EVRING);
	drv_driver_ok(&d);
	for (unsigned int i = 0; i < 8; i++)
		post_rx(i);
}

static void teardown(void)
{
	virtio_dev_destroy(virtio_dev_at_slot(vm, SLOT));
	fake_vm_destroy(vm);
	ck_assert_int_ne(access(uds, F_OK), 0);
	rmdir(dir);
}

static int unix_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static int unix_listen(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(fd, 4), 0);
	return fd;
}

/* The guest sends one packet. */
static void guest_send(uint16_t op, uint32_t sport, uint32_t dport,
                       const char *data, uint32_t flags)
{
	struct vsock_hdr h = {.src_cid = CID,
	                      .dst_cid = 2,
	                      .src_port = sport,
	                      .dst_port = dport,
	                      .len = data ? (uint32_t)strlen(data) : 0,
	                      .type = VSOCK_TYPE_STREAM,
	                      .op = op,
	                      .flags = flags,
	                      .buf_alloc = 65536};
	struct drv_buf b = {TXBUF, (uint32_t)sizeof(h) + h.len, false};
	uint32_t id, len;

	memcpy(fake_gpa(vm, TXBUF), &h, sizeof(h));
	if (data)
		memcpy(fake_gpa(vm, TXBUF + sizeof(h)), data, h.len);
	drv_submit(&d, 1, &b, 1, true);
	ck_assert(drv_get_used(&d, 1, &id, &len));
}

/* The guest takes the next packet the device sent, if any. */
static bool guest_recv(struct vsock_hdr *h, char *payload)
{
	uint32_t id, len;

	if (!drv_get_used(&d, 0, &id, &len))
		return false;
	ck_assert_uint_ge(len, sizeof(*h));
	memcpy(h, fake_gpa(vm, rx_addr[id]), sizeof(*h));
	ck_assert_uint_eq(len, sizeof(*h) + h->len);
	if (payload) {
		memcpy(payload, fake_gpa(vm, rx_addr[id] + sizeof(*h)), h->len);
		payload[h->len] = 0;
	}
	ck_assert_uint_eq(h->src_cid, 2);
	ck_assert_uint_eq(h->dst_cid, CID);
	ck_assert_uint_eq(h->type, VSOCK_TYPE_STREAM);
	post_rx((unsigned int)((rx_addr[id] - RXBUF) / 0x1000));
	return true;
}

static ssize_t host_read(int fd, char *buf, size_t n)
{
	ssize_t r = recv(fd, buf, n - 1, MSG_DONTWAIT);

	buf[r > 0 ? r : 0] = 0;
	return r;
}

START_TEST(test_config_cid)
{
	uint64_t cid;

	ck_assert_uint_eq(fake_cfg_read(vm, SLOT, 0, 4), 0x10531af4);
	drv_config_read(&d, 0, &cid, 8);
	ck_assert_uint_eq(cid, CID);
}
END_TEST

START_TEST(test_host_connects_to_guest)
{
	struct vsock_hdr h;
	char buf[128], expect[32];
	int fd = unix_connect(uds);
	uint32_t hp;

	ck_assert_int_eq(send(fd, "CONNECT 1234\n", 13, 0), 13);
	pump();
	ck_assert(guest_recv(&h, NULL));
	ck_assert_uint_eq(h.op, VSOCK_OP_REQUEST);
	ck_assert_uint_eq(h.dst_port, 1234);
	hp = h.src_port;
	ck_assert_uint_ge(hp, 1u << 30);
	ck_assert_uint_eq(h.buf_alloc, 65536);

	guest_send(VSOCK_OP_RESPONSE, 1234, hp, NULL, 0);
	pump();
	snprintf(expect, sizeof(expect), "OK %u\n", hp);
	ck_assert_int_gt(host_read(fd, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, expect);

	/* Host -> guest. */
	ck_assert_int_eq(send(fd, "hello", 5, 0), 5);
	pump();
	ck_assert(guest_recv(&h, buf));
	ck_assert_uint_eq(h.op, VSOCK_OP_RW);
	ck_assert_str_eq(buf, "hello");
	/* Guest -> host. */
	guest_send(VSOCK_OP_RW, 1234, hp, "world", 0);
	pump();
	ck_assert_int_eq(host_read(fd, buf, sizeof(buf)), 5);
	ck_assert_str_eq(buf, "world");

	/* The guest closes: RST back, the host sees end of file. */
	guest_send(VSOCK_OP_SHUTDOWN, 1234, hp, NULL, 3);
	pump();
	ck_assert(guest_recv(&h, NULL));
	ck_assert_uint_eq(h.op, VSOCK_OP_RST);
	ck_assert_int_eq(recv(fd, buf, sizeof(buf), 0), 0);
	close(fd);
}
END_TEST

START_TEST(test_host_connect_refused_by_guest)
{
	struct vsock_hdr h;
	char buf[8];
	int fd = unix_connect(uds);

	ck_assert_int_eq(send(fd, "CONNECT 99\n", 11, 0), 11);
	pump();
	ck_assert(guest_recv(&h, NULL));
	guest_send(VSOCK_OP_RST, 99, h.src_port, NULL, 0);
	pump();
	ck_assert_int_eq(recv(fd, buf, sizeof(buf), 0), 0);
	close(fd);
}
END_TEST

START_TEST(test_bad_connect_line_closes)
{
	struct vsock_hdr h;
	char buf[8];
	int fd = unix_connect(uds);

	ck_assert_int_eq(send(fd, "HELLO\n", 6, 0), 6);
	pump();
	ck_assert_int_eq(recv(fd, buf, sizeof(buf), 0), 0);
	ck_assert(!guest_recv(&h, NULL));
	close(fd);
}
END_TEST

START_TEST(test_guest_connects_to_host)
{
	char path[160], buf[64];
	struct vsock_hdr h;
	int lfd, fd;

	snprintf(path, sizeof(path), "%s_5000", uds);
	lfd = unix_listen(path);
	guest_send(VSOCK_OP_REQUEST, 777, 5000, NULL, 0);
	pump();
	ck_assert(guest_recv(&h, NULL));
	ck_assert_uint_eq(h.op, VSOCK_OP_RESPONSE);
	ck_assert_uint_eq(h.src_port, 5000);
	ck_assert_uint_eq(h.dst_port, 777);
	fd = accept(lfd, NULL, NULL);
	ck_assert_int_ge(fd, 0);
	guest_send(VSOCK_OP_RW, 777, 5000, "guest-data", 0);
	pump();
	ck_assert_int_eq(host_read(fd, buf, sizeof(buf)), 10);
	ck_assert_str_eq(buf, "guest-data");
	ck_assert_int_eq(send(fd, "reply", 5, 0), 5);
	pump();
	ck_assert(guest_recv(&h, buf));
	ck_assert_uint_eq(h.op, VSOCK_OP_RW);
	ck_assert_str_eq(buf, "reply");
	/* Host half-closes: SHUTDOWN(SEND) to the guest, and the host can
	 * still read what the guest sends afterwards. */
	shutdown(fd, SHUT_WR);
	pump();
	ck_assert(guest_recv(&h, NULL));
	ck_assert_uint_eq(h.op, VSOCK_OP_SHUTDOWN);
	ck_assert_uint_eq(h.flags, VSOCK_SHUTDOWN_SEND);
	guest_send(VSOCK_OP_RW, 777, 5000, "late-answer", 0);
	pump();
	ck_assert_int_eq(host_read(fd, buf, sizeof(buf)), 11);
	ck_assert_str_eq(buf, "late-answer");
	/* Full close: the next guest data fails to send, the guest gets RST. */
	close(fd);
	guest_send(VSOCK_OP_RW, 777, 5000, "into-the-void", 0);
	pump();
	ck_assert(guest_recv(&h, NULL));
	ck_assert_uint_eq(h.op, VSOCK_OP_RST);
	close(lfd);
	unlink(path);
}
END_TEST

START_TEST(test_guest_connect_nothing_listening)
{
	struct vsock_hdr h;

	guest_send(VSOCK_OP_REQUEST, 778, 6000, NULL, 0);
	pump();
	ck_assert(guest_recv(&h, NULL));
	ck_assert_uint_eq(h.op, VSOCK_OP_RST);
	ck_assert_uint_eq(h.src_port, 6000);
	ck_assert_uint_eq(h.dst_port, 778);
}
END_TEST

START_TEST(test_bad_packets_dropped)
{
	struct vsock_hdr h = {.src_cid = 9,
	                      .dst_cid = 2,
	                      .dst_port = 1,
	                      .type = 1,
	                      .op = VSOCK_OP_REQUEST};
	struct drv_buf b = {TXBUF, sizeof(h), false};
	uint32_t id, len;

	memcpy(fake_gpa(vm, TXBUF), &h, sizeof(h));
	drv_submit(&d, 1, &b, 1, true);
	ck_assert(drv_get_used(&d, 1, &id, &len));
	/* Short packet. */
	b.len = 10;
	drv_submit(&d, 1, &b, 1, true);
	ck_assert(drv_get_used(&d, 1, &id, &len));
	/* Data for a connection that does not exist: RST. */
	guest_send(VSOCK_OP_RW, 5, 6, "x", 0);
	pump();
	ck_assert(guest_recv(&h, NULL));
	ck_assert_uint_eq(h.op, VSOCK_OP_RST);
	ck_assert(!guest_recv(&h, NULL));
	ck_assert_uint_eq(drv_status(&d) & 0x40, 0);
}
END_TEST

START_TEST(test_credit_respected)
{
	char path[160], big[3000];
	struct vsock_hdr h;
	int lfd, fd, n = 0;

	snprintf(path, sizeof(path), "%s_5001", uds);
	lfd = unix_listen(path);
	/* The guest offers only 1000 bytes of buffer. */
	struct vsock_hdr req = {.src_cid = CID,
	                        .dst_cid = 2,
	                        .src_port = 9,
	                        .dst_port = 5001,
	                        .type = 1,
	                        .op = VSOCK_OP_REQUEST,
	                        .buf_alloc = 1000};
	struct drv_buf b = {TXBUF, sizeof(req), false};
	uint32_t id, len;

	memcpy(fake_gpa(vm, TXBUF), &req, sizeof(req));
	drv_submit(&d, 1, &b, 1, true);
	ck_assert(drv_get_used(&d, 1, &id, &len));
	pump();
	ck_assert(guest_recv(&h, NULL));
	ck_assert_uint_eq(h.op, VSOCK_OP_RESPONSE);
	fd = accept(lfd, NULL, NULL);
	memset(big, 'a', sizeof(big));
	ck_assert_int_eq(send(fd, big, sizeof(big), 0), sizeof(big));
	pump();
	while (guest_recv(&h, NULL))
		n += (int)h.len;
	ck_assert_int_eq(n, 1000);
	close(fd);
	close(lfd);
	unlink(path);
}
END_TEST

START_TEST(test_stale_peer_fwd_cnt_tolerated)
{
	char path[160], buf[64];
	struct vsock_hdr h;
	int lfd, fd;

	snprintf(path, sizeof(path), "%s_5002", uds);
	lfd = unix_listen(path);
	/* fwd_cnt 11 although nothing was sent yet (a counter shared between
	 * connections): nothing is in flight, so full credit. */
	struct vsock_hdr req = {.src_cid = CID,
	                        .dst_cid = 2,
	                        .src_port = 10,
	                        .dst_port = 5002,
	                        .type = 1,
	                        .op = VSOCK_OP_REQUEST,
	                        .buf_alloc = 4096,
	                        .fwd_cnt = 11};
	struct drv_buf b = {TXBUF, sizeof(req), false};
	uint32_t id, len;

	memcpy(fake_gpa(vm, TXBUF), &req, sizeof(req));
	drv_submit(&d, 1, &b, 1, true);
	ck_assert(drv_get_used(&d, 1, &id, &len));
	pump();
	ck_assert(guest_recv(&h, NULL));
	ck_assert_uint_eq(h.op, VSOCK_OP_RESPONSE);
	fd = accept(lfd, NULL, NULL);
	ck_assert_int_eq(send(fd, "data", 4, 0), 4);
	pump();
	ck_assert(guest_recv(&h, buf));
	ck_assert_uint_eq(h.op, VSOCK_OP_RW);
	ck_assert_str_eq(buf, "data");
	close(fd);
	close(lfd);
	unlink(path);
}
END_TEST

START_TEST(test_host_connect_times_out)
{
	struct vsock *vs = (struct vsock *)virtio_dev_at_slot(vm, SLOT);
	struct vsock_hdr h;
	char buf[8];
	int fd, i;

	vs->connect_timeout_ms = 50; /* white-box: the default is 5 s */
	fd = unix_connect(uds);
	ck_assert_int_eq(send(fd, "CONNECT 7\n", 10, 0), 10);
	pump();
	ck_assert(guest_recv(&h, NULL));
	ck_assert_uint_eq(h.op, VSOCK_OP_REQUEST);
	/* The guest never answers. */
	for (i = 0; i < 200 && recv(fd, buf, sizeof(buf), MSG_DONTWAIT) != 0;
	     i++)
		pump();
	ck_assert_int_lt(i, 200); /* the client saw end of file */
	ck_assert(guest_recv(&h, NULL));
	ck_assert_uint_eq(h.op, VSOCK_OP_RST);
	ck_assert_uint_eq(h.dst_port, 7);
	close(fd);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("virtio_vsock");
	TCase *pure = tcase_create("proto");
	TCase *dev = tcase_create("device");
	SRunner *sr;
	int failed;

	tcase_add_test(pure, test_hdr_check);
	tcase_add_test(pure, test_connect_line);
	tcase_add_checked_fixture(dev, setup, teardown);
	tcase_add_test(dev, test_config_cid);
	tcase_add_test(dev, test_host_connects_to_guest);
	tcase_add_test(dev, test_host_connect_refused_by_guest);
	tcase_add_test(dev, test_bad_connect_line_closes);
	tcase_add_test(dev, test_guest_connects_to_host);
	tcase_add_test(dev, test_guest_connect_nothing_listening);
	tcase_add_test(dev, test_bad_packets_dropped);
	tcase_add_test(dev, test_credit_respected);
	tcase_add_test(dev, test_stale_peer_fwd_cnt_tolerated);
	tcase_add_test(dev, test_host_connect_times_out);
	suite_add_tcase(s, pure);
	suite_add_tcase(s, dev);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
