// SPDX-License-Identifier: Apache-2.0
/* virtio-console: guest bytes reach the UNIX socket client and back. */
#include <check.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fake_driver.h"
#include "fake_vm.h"
#include "podvisor/virtio.h"

#define SLOT   VIRTIO_SLOT_CONSOLE
#define RXRING 0x10000
#define TXRING 0x18000
#define BUF    0x40000

static struct vm *vm;
static struct drv d;
static char dir[64], path[128];

static void pump(void)
{
	for (int i = 0; i < 20; i++) {
		event_base_loop(vm->evbase, EVLOOP_NONBLOCK);
		usleep(1000);
	}
}

static int client(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	strcpy(sa.sun_path, path);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	pump();
	return fd;
}

static void setup(void)
{
	struct vm_config *cfg;

	vm = fake_vm_create(1 << 20);
	cfg = (struct vm_config *)vm->cfg;
	memset(cfg, 0, sizeof(*cfg));
	strcpy(dir, "/tmp/pv-con-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/con.sock", dir);
	cfg->console_socket = path;
	ck_assert_int_eq(virtio_console_create(vm, SLOT), 0);
	ck_assert_int_eq(drv_probe(&d, vm, SLOT), 0);
	ck_assert_uint_eq(drv_negotiate(&d, 0), 0xb);
	drv_setup_queue(&d, 0, 16, RXRING);
	drv_setup_queue(&d, 1, 16, TXRING);
	drv_driver_ok(&d);
}

static void teardown(void)
{
	virtio_dev_destroy(virtio_dev_at_slot(vm, SLOT));
	fake_vm_destroy(vm);
	ck_assert_int_ne(access(path, F_OK), 0); /* socket file removed */
	rmdir(dir);
}

static void guest_send(const char *s)
{
	struct drv_buf b = {BUF, (uint32_t)strlen(s), false};
	uint32_t id, len;

	memcpy(fake_gpa(vm, BUF), s, b.len);
	drv_submit(&d, 1, &b, 1, true);
	ck_assert(drv_get_used(&d, 1, &id, &len));
}

static ssize_t client_read(int fd, char *buf, size_t n)
{
	ssize_t r = recv(fd, buf, n - 1, MSG_DONTWAIT);

	buf[r > 0 ? r : 0] = 0;
	return r;
}

START_TEST(test_guest_output_kept_until_client_connects)
{
	char buf[64];
	int fd;

	ck_assert_uint_eq(fake_cfg_read(vm, SLOT, 0, 4), 0x10431af4);
	guest_send("early\n");
	fd = client();
	ck_assert_int_eq(client_read(fd, buf, sizeof(buf)), 6);
	ck_assert_str_eq(buf, "early\n");
	guest_send("later\n");
	pump();
	ck_assert_int_eq(client_read(fd, buf, sizeof(buf)), 6);
	ck_assert_str_eq(buf, "later\n");
	close(fd);
}
END_TEST

START_TEST(test_host_input_waits_for_rx_buffers)
{
	struct drv_buf b = {BUF + 0x1000, 64, true};
	uint32_t id, len;
	int fd = client();

	ck_assert_int_eq(send(fd, "ping\n", 5, 0), 5);
	pump();
	ck_assert(!drv_get_used(&d, 0, &id, &len));
	drv_submit(&d, 0, &b, 1, true);
	ck_assert(drv_get_used(&d, 0, &id, &len));
	ck_assert_uint_eq(len, 5);
	ck_assert_mem_eq(fake_gpa(vm, BUF + 0x1000), "ping\n", 5);
	/* A buffer already posted is filled as soon as bytes arrive. */
	drv_submit(&d, 0, &b, 1, true);
	ck_assert_int_eq(send(fd, "pong", 4, 0), 4);
	pump();
	ck_assert(drv_get_used(&d, 0, &id, &len));
	ck_assert_uint_eq(len, 4);
	close(fd);
}
END_TEST

START_TEST(test_second_client_refused)
{
	char buf[8];
	int a = client(), b = client();

	ck_assert_int_eq(recv(b, buf, sizeof(buf), 0), 0);
	close(b);
	guest_send("x");
	pump();
	ck_assert_int_eq(client_read(a, buf, sizeof(buf)), 1);
	close(a);
	pump();
	/* After the client left, a new one may connect. */
	a = client();
	guest_send("y");
	pump();
	ck_assert_int_eq(client_read(a, buf, sizeof(buf)), 1);
	ck_assert_str_eq(buf, "y");
	close(a);
}
END_TEST

START_TEST(test_slow_client_loses_nothing)
{
	enum { ELEM = 100 * 1024, N = 6 };
	struct drv_buf b = {BUF, ELEM, false};
	unsigned int used = 0;
	size_t total = 0;
	uint32_t id, len;
	char buf[65536];
	int fd = client();

	memset(fake_gpa(vm, BUF), 'z', ELEM);
	for (int i = 0; i < N; i++)
		drv_submit(&d, 1, &b, 1, true);
	pump();
	while (drv_get_used(&d, 1, &id, &len))
		used++;
	/* 600 KiB cannot all sit in the socket and the 64 KiB buffer. */
	ck_assert_uint_lt(used, N);
	for (int i = 0; i < 2000 && total < (size_t)N * ELEM; i++) {
		ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (r > 0)
			total += (size_t)r;
		event_base_loop(vm->evbase, EVLOOP_NONBLOCK);
	}
	while (drv_get_used(&d, 1, &id, &len))
		used++;
	ck_assert_uint_eq(total, (size_t)N * ELEM);
	ck_assert_uint_eq(used, N);
	close(fd);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("virtio_console");
	TCase *tc = tcase_create("console");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_guest_output_kept_until_client_connects);
	tcase_add_test(tc, test_host_input_waits_for_rx_buffers);
	tcase_add_test(tc, test_second_client_refused);
	tcase_add_test(tc, test_slow_client_loses_nothing);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
