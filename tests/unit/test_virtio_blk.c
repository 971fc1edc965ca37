// SPDX-License-Identifier: Apache-2.0
/* virtio-blk on a temporary image, driven through the PCI transport. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_driver.h"
#include "fake_vm.h"
#include "podvisor/virtio.h"

#define RING        0x10000
#define HDR         0x20000
#define DATA        0x21000
#define STATUS      0x23000
#define IMG_SECTORS 2048

enum { T_IN = 0, T_OUT = 1, T_FLUSH = 4, T_GET_ID = 8 };

static struct vm *vm;
static struct vm_config *cfg;
static struct drv d;
static char img[64];

static void make_image(const char *path, size_t extra)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, IMG_SECTORS * 512 + extra), 0);
	close(fd);
}

static void open_disk(bool readonly, const char *serial)
{
	cfg->disks[0] = (struct vm_disk_config){
	    .path = img, .readonly = readonly, .serial = (char *)serial};
	cfg->nr_disks = 1;
	ck_assert_int_eq(virtio_blk_create(vm, 0, 1), 0);
	ck_assert_int_eq(drv_probe(&d, vm, 1), 0);
	ck_assert_uint_eq(drv_negotiate(&d, ~0ULL), 0xb);
	drv_setup_queue(&d, 0, 16, RING);
	drv_driver_ok(&d);
}

static void setup(void)
{
	vm = fake_vm_create(1 << 20);
	cfg = (struct vm_config *)vm->cfg;
	memset(cfg, 0, sizeof(*cfg));
	strcpy(img, "/tmp/pv-blk-XXXXXX");
	close(mkstemp(img));
	make_image(img, 100); /* not a multiple of 512: rounds down */
}

static void teardown(void)
{
	struct virtio_dev *vdev = virtio_dev_at_slot(vm, 1);

	if (vdev)
		virtio_dev_destroy(vdev);
	fake_vm_destroy(vm);
	unlink(img);
}

/* Submits header + optional data + status; returns the status byte and
 * the used length in *ulen. */
static int request(uint32_t type, uint64_t sector, uint32_t len,
                   bool data_write, uint32_t *ulen)
{
	uint32_t hdr[4] = {type, 0, (uint32_t)sector, (uint32_t)(sector >> 32)};
	struct drv_buf b[3];
	unsigned int n = 0;
	uint32_t id;

	memcpy(fake_gpa(vm, HDR), hdr, 16);
	*(uint8_t *)fake_gpa(vm, STATUS) = 0xee;
	b[n++] = (struct drv_buf){HDR, 16, false};
	if (len)
		b[n++] = (struct drv_buf){DATA, len, data_write};
	b[n++] = (struct drv_buf){STATUS, 1, true};
	drv_submit(&d, 0, b, n, true);
	/* Served by the disk's worker thread: wait for it. */
	ck_assert(drv_wait_used(&d, 0, &id, ulen, 2000));
	return *(uint8_t *)fake_gpa(vm, STATUS);
}

START_TEST(test_config_and_features)
{
	uint64_t cap;
	uint32_t seg_max, blk_size;

	open_disk(false, NULL);
	drv_config_read(&d, 0, &cap, 8);
	drv_config_read(&d, 12, &seg_max, 4);
	drv_config_read(&d, 20, &blk_size, 4);
	ck_assert_uint_eq(cap, IMG_SECTORS);
	ck_assert_uint_ge(seg_max, 1);
	ck_assert_uint_eq(blk_size, 512);
	ck_assert(d.features & 1 << 9);    /* FLUSH */
	ck_assert(d.features & 1 << 2);    /* SEG_MAX */
	ck_assert(!(d.features & 1 << 5)); /* not RO */
	ck_assert_uint_eq(fake_cfg_read(vm, 1, 0, 4), 0x10421af4);
}
END_TEST

START_TEST(test_write_flush_read_back)
{
	uint8_t *buf = fake_gpa(vm, DATA), pattern[1024], disk[1024];
	uint32_t ulen;
	int fd;

	open_disk(false, NULL);
	for (int i = 0; i < 1024; i++)
		pattern[i] = (uint8_t)(i * 7 + 3);
	memcpy(buf, pattern, sizeof(pattern));
	ck_assert_int_eq(request(T_OUT, 10, 1024, false, &ulen), 0);
	ck_assert_uint_eq(ulen, 1);
	ck_assert_int_eq(request(T_FLUSH, 0, 0, false, &ulen), 0);

	/* The host sees the bytes at sector 10. */
	fd = open(img, O_RDONLY);
	ck_assert_int_eq(pread(fd, disk, sizeof(disk), 10 * 512), 1024);
	close(fd);
	ck_assert_mem_eq(disk, pattern, 1024);

	memset(buf, 0, 1024);
	ck_assert_int_eq(request(T_IN, 10, 1024, true, &ulen), 0);
	ck_assert_uint_eq(ulen, 1025);
	ck_assert_mem_eq(buf, pattern, 1024);
}
END_TEST

START_TEST(test_get_id)
{
	uint32_t ulen;

	open_disk(false, "serial-abc");
	ck_assert_int_eq(request(T_GET_ID, 0, 20, true, &ulen), 0);
	ck_assert_str_eq((char *)fake_gpa(vm, DATA), "serial-abc");
}
END_TEST

START_TEST(test_get_id_default_and_long)
{
	uint32_t ulen;

	open_disk(false, NULL);
	ck_assert_int_eq(request(T_GET_ID, 0, 20, true, &ulen), 0);
	ck_assert_str_eq((char *)fake_gpa(vm, DATA), "podvisor0");
	virtio_dev_destroy(virtio_dev_at_slot(vm, 1));
	open_disk(false, "0123456789abcdefghijKLMN");
	memset(fake_gpa(vm, DATA), 'x', 32);
	ck_assert_int_eq(request(T_GET_ID, 0, 32, true, &ulen), 0);
	ck_assert_mem_eq(fake_gpa(vm, DATA), "0123456789abcdefghij", 20);
	ck_assert_uint_eq(ulen, 21);
}
END_TEST

START_TEST(test_out_of_range_is_ioerr)
{
	uint32_t ulen;

	open_disk(false, NULL);
	ck_assert_int_eq(request(T_IN, IMG_SECTORS - 1, 1024, true, &ulen), 1);
	ck_assert_int_eq(request(T_OUT, IMG_SECTORS, 512, false, &ulen), 1);
	ck_assert_int_eq(request(T_IN, UINT64_MAX / 512, 512, true, &ulen), 1);
	ck_assert_int_eq(request(T_IN, UINT64_MAX, 512, true, &ulen), 1);
	/* The last sector itself is fine. */
	ck_assert_int_eq(request(T_IN, IMG_SECTORS - 1, 512, true, &ulen), 0);
}
END_TEST

START_TEST(test_unknown_type_unsupp)
{
	uint32_t ulen;

	open_disk(false, NULL);
	ck_assert_int_eq(request(99, 0, 0, false, &ulen), 2);
}
END_TEST

START_TEST(test_readonly)
{
	uint8_t disk[512], zero[512] = {0};
	uint32_t ulen;
	int fd;

	open_disk(true, NULL);
	ck_assert(d.features & 1 << 5);
	memset(fake_gpa(vm, DATA), 0x5a, 512);
	ck_assert_int_eq(request(T_OUT, 0, 512, false, &ulen), 1);
	fd = open(img, O_RDONLY);
	ck_assert_int_eq(pread(fd, disk, 512, 0), 512);
	close(fd);
	ck_assert_mem_eq(disk, zero, 512);
	ck_assert_int_eq(request(T_IN, 0, 512, true, &ulen), 0);
}
END_TEST

START_TEST(test_read_into_readonly_buffer_is_ioerr)
{
	uint32_t ulen;

	open_disk(false, NULL);
	memset(fake_gpa(vm, DATA), 0xa5, 512);
	/* data_write false: the data buffer is device-readable. */
	ck_assert_int_eq(request(T_IN, 0, 512, false, &ulen), 1);
	for (int i = 0; i < 512; i++)
		ck_assert_uint_eq(((uint8_t *)fake_gpa(vm, DATA))[i], 0xa5);
	/* A write whose data sits in writable buffers fails too. */
	ck_assert_int_eq(request(T_OUT, 0, 512, true, &ulen), 1);
}
END_TEST

START_TEST(test_missing_status_needs_reset)
{
	struct drv_buf b = {HDR, 16, false};
	uint32_t hdr[4] = {T_IN, 0, 0, 0};

	open_disk(false, NULL);
	memcpy(fake_gpa(vm, HDR), hdr, 16);
	drv_submit(&d, 0, &b, 1, true);
	for (int i = 0; i < 2000 && !(drv_status(&d) & 0x40); i++)
		usleep(1000);
	ck_assert(drv_status(&d) & 0x40);
}
END_TEST

START_TEST(test_missing_image_fails_cleanly)
{
	cfg->disks[0] = (struct vm_disk_config){.path = "/nonexistent/x.img"};
	cfg->nr_disks = 1;
	ck_assert_int_lt(virtio_blk_create(vm, 0, 1), 0);
	ck_assert_ptr_null(virtio_dev_at_slot(vm, 1));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("virtio_blk");
	TCase *tc = tcase_create("requests");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_config_and_features);
	tcase_add_test(tc, test_write_flush_read_back);
	tcase_add_test(tc, test_get_id);
	tcase_add_test(tc, test_get_id_default_and_long);
	tcase_add_test(tc, test_out_of_range_is_ioerr);
	tcase_add_test(tc, test_unknown_type_unsupp);
	tcase_add_test(tc, test_readonly);
	tcase_add_test(tc, test_read_into_readonly_buffer_is_ioerr);
	tcase_add_test(tc, test_missing_status_needs_reset);
	tcase_add_test(tc, test_missing_image_fails_cleanly);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
