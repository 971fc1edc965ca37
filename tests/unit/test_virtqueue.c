// SPDX-License-Identifier: Apache-2.0
/* Split virtqueue walking with valid and hostile rings. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fake_vm.h"
#include "podvisor/virtqueue.h"

#define RAM   (1 << 20)
#define QSIZE 8
#define DESC  0x1000
#define AVAIL 0x2000
#define USED  0x3000
#define DATA  0x10000

static struct vm *vm;
static struct virtq vq;
static struct virtq_elem *elem;
static struct virtq_desc *desc;
static uint16_t *avail;
static uint8_t *used;

static void setup(void)
{
	vm = fake_vm_create(RAM);
	elem = calloc(1, sizeof(*elem));
	desc = fake_gpa(vm, DESC);
	avail = fake_gpa(vm, AVAIL);
	used = fake_gpa(vm, USED);
	virtq_init(&vq, &vm->mem, "test-dev", 0);
	ck_assert_int_eq(virtq_setup(&vq, QSIZE, DESC, AVAIL, USED), 0);
	vq.indirect = true;
}

static void teardown(void)
{
	free(elem);
	fake_vm_destroy(vm);
}

static void set_desc(struct virtq_desc *t, uint16_t i, uint64_t addr,
                     uint32_t len, uint16_t flags, uint16_t next)
{
	t[i] = (struct virtq_desc){addr, len, flags, next};
}

static void publish(uint16_t head)
{
	uint16_t idx = avail[1];

	avail[2 + idx % QSIZE] = head;
	avail[1] = (uint16_t)(idx + 1);
}

static uint16_t used_idx(void)
{
	uint16_t v;

	memcpy(&v, used + 2, 2);
	return v;
}

START_TEST(test_empty_ring_pops_nothing)
{
	ck_assert_int_eq(virtq_pop(&vq, elem), 0);
	ck_assert(!virtq_has_avail(&vq));
}
END_TEST

START_TEST(test_simple_and_chained)
{
	uint32_t id_len[2];

	strcpy(fake_gpa(vm, DATA), "hello");
	set_desc(desc, 0, DATA, 6, 0, 0);
	publish(0);
	set_desc(desc, 1, DATA, 16, VIRTQ_DESC_F_NEXT, 5);
	set_desc(desc, 5, DATA + 0x100, 32, VIRTQ_DESC_F_NEXT, 3);
	set_desc(desc, 3, DATA + 0x200, 64, VIRTQ_DESC_F_WRITE, 0);
	publish(1);
	ck_assert(virtq_has_avail(&vq));

	ck_assert_int_eq(virtq_pop(&vq, elem), 1);
	ck_assert_uint_eq(elem->head, 0);
	ck_assert_uint_eq(elem->out_num, 1);
	ck_assert_uint_eq(elem->in_num, 0);
	ck_assert_str_eq(elem->iov[0].iov_base, "hello");
	virtq_push(&vq, elem, 0);

	ck_assert_int_eq(virtq_pop(&vq, elem), 1);
	ck_assert_uint_eq(elem->head, 1);
	ck_assert_uint_eq(elem->out_num, 2);
	ck_assert_uint_eq(elem->in_num, 1);
	ck_assert_uint_eq(elem->out_len, 48);
	ck_assert_uint_eq(elem->in_len, 64);
	ck_assert_ptr_eq(elem->iov[2].iov_base, fake_gpa(vm, DATA + 0x200));
	ck_assert_uint_eq(virtq_elem_write(elem, 60, "abcdefgh", 8), 4);
	ck_assert_mem_eq(fake_gpa(vm, DATA + 0x200 + 60), "abcd", 4);
	/* The device claims more than the buffer holds: clamped. */
	virtq_push(&vq, elem, 1000);
	ck_assert_uint_eq(used_idx(), 2);
	memcpy(id_len, used + 4 + 8, 8);
	ck_assert_uint_eq(id_len[0], 1);
	ck_assert_uint_eq(id_len[1], 64);
	ck_assert_int_eq(virtq_pop(&vq, elem), 0);
}
END_TEST

START_TEST(test_indirect)
{
	struct virtq_desc *ind = fake_gpa(vm, DATA + 0x1000);

	set_desc(ind, 0, DATA, 16, VIRTQ_DESC_F_NEXT, 2);
	set_desc(ind, 2, DATA + 0x100, 512, VIRTQ_DESC_F_NEXT, 1);
	set_desc(ind, 1, DATA + 0x400, 1, VIRTQ_DESC_F_WRITE, 0);
	set_desc(desc, 4, DATA + 0x1000, 3 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	publish(4);
	ck_assert_int_eq(virtq_pop(&vq, elem), 1);
	ck_assert_uint_eq(elem->head, 4);
	ck_assert_uint_eq(elem->out_num, 2);
	ck_assert_uint_eq(elem->in_num, 1);
	ck_assert_uint_eq(elem->out_len, 528);
	ck_assert(!vq.broken);
}
END_TEST

static void expect_broken(int err, const char *reason)
{
	ck_assert_int_eq(virtq_pop(&vq, elem), err);
	ck_assert(vq.broken);
	ck_assert_msg(strstr(vq.error, reason), "error '%s' lacks '%s'",
	              vq.error, reason);
	/* Broken stays broken, quietly, until reset. */
	ck_assert_int_eq(virtq_pop(&vq, elem), 0);
}

START_TEST(test_loop_rejected)
{
	set_desc(desc, 0, DATA, 8, VIRTQ_DESC_F_NEXT, 1);
	set_desc(desc, 1, DATA, 8, VIRTQ_DESC_F_NEXT, 0);
	publish(0);
	expect_broken(-EBADMSG, "loops");
}
END_TEST

START_TEST(test_self_loop_rejected)
{
	set_desc(desc, 2, DATA, 8, VIRTQ_DESC_F_NEXT, 2);
	publish(2);
	expect_broken(-EBADMSG, "loops");
}
END_TEST

START_TEST(test_indirect_longer_than_queue)
{
	set_desc(desc, 0, DATA, (QSIZE + 1) * 16, VIRTQ_DESC_F_INDIRECT, 0);
	publish(0);
	expect_broken(-EBADMSG, "indirect table");
}
END_TEST

START_TEST(test_indirect_loop)
{
	struct virtq_desc *ind = fake_gpa(vm, DATA);

	set_desc(ind, 0, DATA, 8, VIRTQ_DESC_F_NEXT, 1);
	set_desc(ind, 1, DATA, 8, VIRTQ_DESC_F_NEXT, 0);
	set_desc(desc, 0, DATA, 2 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	publish(0);
	expect_broken(-EBADMSG, "loops");
}
END_TEST

START_TEST(test_nested_indirect)
{
	struct virtq_desc *ind = fake_gpa(vm, DATA);

	set_desc(ind, 0, DATA, 16, VIRTQ_DESC_F_INDIRECT, 0);
	set_desc(desc, 0, DATA, 16, VIRTQ_DESC_F_INDIRECT, 0);
	publish(0);
	expect_broken(-EBADMSG, "nested");
}
END_TEST

START_TEST(test_indirect_not_negotiated)
{
	vq.indirect = false;
	set_desc(desc, 0, DATA, 16, VIRTQ_DESC_F_INDIRECT, 0);
	publish(0);
	expect_broken(-EBADMSG, "not negotiated");
}
END_TEST

START_TEST(test_indirect_table_outside_ram)
{
	set_desc(desc, 0, RAM - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
	publish(0);
	expect_broken(-EFAULT, "outside guest RAM");
}
END_TEST

START_TEST(test_buffer_outside_ram)
{
	set_desc(desc, 0, RAM - 8, 9, 0, 0);
	publish(0);
	expect_broken(-EFAULT, "outside guest RAM");
}
END_TEST

START_TEST(test_buffer_address_wraps)
{
	set_desc(desc, 0, UINT64_MAX - 4, 16, 0, 0);
	publish(0);
	expect_broken(-EFAULT, "outside guest RAM");
}
END_TEST

START_TEST(test_avail_idx_jump)
{
	avail[1] = QSIZE + 1;
	expect_broken(-EBADMSG, "ahead");
}
END_TEST

START_TEST(test_head_out_of_table)
{
	publish(QSIZE);
	expect_broken(-EBADMSG, "out of a table");
}
END_TEST

START_TEST(test_next_out_of_table)
{
	set_desc(desc, 0, DATA, 8, VIRTQ_DESC_F_NEXT, 0xffff);
	publish(0);
	expect_broken(-EBADMSG, "out of a table");
}
END_TEST

START_TEST(test_readable_after_writable)
{
	set_desc(desc, 0, DATA, 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	set_desc(desc, 1, DATA, 8, 0, 0);
	publish(0);
	expect_broken(-EBADMSG, "device-readable");
}
END_TEST

START_TEST(test_setup_rejects_bad_rings)
{
	struct virtq q;

	virtq_init(&q, &vm->mem, "t", 1);
	ck_assert_int_eq(virtq_setup(&q, 6, DESC, AVAIL, USED), -EINVAL);
	ck_assert_int_eq(virtq_setup(&q, 2048, DESC, AVAIL, USED), -EINVAL);
	ck_assert_int_eq(virtq_setup(&q, 8, DESC + 8, AVAIL, USED), -EINVAL);
	ck_assert_int_eq(virtq_setup(&q, 8, DESC, AVAIL, RAM - 16), -EFAULT);
	ck_assert(!q.ready);
	ck_assert_int_eq(virtq_pop(&q, elem), 0);
	ck_assert_int_eq(virtq_setup(&q, 8, DESC, AVAIL, USED), 0);
	ck_assert(q.ready);
}
END_TEST

START_TEST(test_interrupt_suppression)
{
	set_desc(desc, 0, DATA, 8, 0, 0);
	publish(0);
	ck_assert_int_eq(virtq_pop(&vq, elem), 1);
	virtq_push(&vq, elem, 0);
	ck_assert(virtq_should_notify(&vq));
	avail[0] = VIRTQ_AVAIL_F_NO_INTERRUPT;
	ck_assert(!virtq_should_notify(&vq));
	virtq_set_notification(&vq, false);
	ck_assert_uint_eq(used[0], VIRTQ_USED_F_NO_NOTIFY);
	virtq_set_notification(&vq, true);
	ck_assert_uint_eq(used[0], 0);
}
END_TEST

START_TEST(test_event_idx)
{
	vq.event_idx = true;
	for (uint16_t i = 0; i < 4; i++)
		set_desc(desc, i, DATA, 8, 0, 0), publish(i);
	/* used_event = 2: interrupt when used idx passes 2. */
	avail[2 + QSIZE] = 2;
	ck_assert_int_eq(virtq_pop(&vq, elem), 1);
	virtq_push(&vq, elem, 0);
	ck_assert(virtq_should_notify(&vq)); /* first one always */
	ck_assert_int_eq(virtq_pop(&vq, elem), 1);
	virtq_push(&vq, elem, 0); /* used 2 */
	ck_assert(!virtq_should_notify(&vq));
	ck_assert_int_eq(virtq_pop(&vq, elem), 1);
	virtq_push(&vq, elem, 0); /* used 3: crossed event 2 */
	ck_assert(virtq_should_notify(&vq));
	uint16_t ae;
	/* Each pop asks for a kick at the next unseen entry. */
	memcpy(&ae, used + 4 + 8 * QSIZE, 2);
	ck_assert_uint_eq(ae, 2);
	ck_assert_int_eq(virtq_pop(&vq, elem), 1);
	ck_assert_int_eq(virtq_pop(&vq, elem), 0);
	memcpy(&ae, used + 4 + 8 * QSIZE, 2);
	ck_assert_uint_eq(ae, 4);
}
END_TEST

START_TEST(test_reset_clears_broken)
{
	avail[1] = 100;
	ck_assert_int_lt(virtq_pop(&vq, elem), 0);
	virtq_reset(&vq);
	ck_assert(!vq.broken);
	ck_assert(!vq.ready);
	memset(avail, 0, 64);
	ck_assert_int_eq(virtq_setup(&vq, QSIZE, DESC, AVAIL, USED), 0);
	ck_assert_int_eq(virtq_pop(&vq, elem), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("virtqueue");
	TCase *ok = tcase_create("valid");
	TCase *bad = tcase_create("hostile");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(ok, setup, teardown);
	tcase_add_checked_fixture(bad, setup, teardown);
	tcase_add_test(ok, test_empty_ring_pops_nothing);
	tcase_add_test(ok, test_simple_and_chained);
	tcase_add_test(ok, test_indirect);
	tcase_add_test(ok, test_interrupt_suppression);
	tcase_add_test(ok, test_event_idx);
	tcase_add_test(ok, test_reset_clears_broken);
	tcase_add_test(bad, test_loop_rejected);
	tcase_add_test(bad, test_self_loop_rejected);
	tcase_add_test(bad, test_indirect_longer_than_queue);
	tcase_add_test(bad, test_indirect_loop);
	tcase_add_test(bad, test_nested_indirect);
	tcase_add_test(bad, test_indirect_not_negotiated);
	tcase_add_test(bad, test_indirect_table_outside_ram);
	tcase_add_test(bad, test_buffer_outside_ram);
	tcase_add_test(bad, test_buffer_address_wraps);
	tcase_add_test(bad, test_avail_idx_jump);
	tcase_add_test(bad, test_head_out_of_table);
	tcase_add_test(bad, test_next_out_of_table);
	tcase_add_test(bad, test_readable_after_writable);
	tcase_add_test(bad, test_setup_rejects_bad_rings);
	suite_add_tcase(s, ok);
	suite_add_tcase(s, bad);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
