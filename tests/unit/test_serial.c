/* SPDX-License-Identifier: Apache-2.0 */
/* 8250 UART registers as Linux's driver uses them, and the console ring. */
#include <check.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "podvisor/iobus.h"
#include "podvisor/legacy.h"

static struct serial *s;
static int pipefd[2];
static int irq_level, irq_changes;

static void fake_irq(void *opaque, int level)
{
	(void)opaque;
	irq_level = level;
	irq_changes++;
}

static void wr(unsigned int reg, uint8_t v)
{
	serial_io_ops.write(s, reg, &v, 1);
}

static uint8_t rd(unsigned int reg)
{
	uint8_t v = 0xee;

	serial_io_ops.read(s, reg, &v, 1);
	return v;
}

static void setup(void)
{
	ck_assert_int_eq(pipe2(pipefd, O_NONBLOCK), 0);
	irq_level = irq_changes = 0;
	s = serial_new(pipefd[1], fake_irq, NULL);
	ck_assert_ptr_nonnull(s);
}

static void teardown(void)
{
	serial_free(s);
	close(pipefd[0]);
	close(pipefd[1]);
}

START_TEST(test_transmit)
{
	char buf[8] = {0};

	wr(0, 'o');
	wr(0, 'k');
	ck_assert_int_eq(read(pipefd[0], buf, sizeof(buf)), 2);
	ck_assert_str_eq(buf, "ok");
	ck_assert_uint_eq(serial_bytes_out(s), 2);
	/* Transmitter always empty: THRE and TEMT, no data ready. */
	ck_assert_uint_eq(rd(5), 0x60);
	ck_assert_int_eq(irq_changes, 0); /* no interrupt enabled */
}
END_TEST

START_TEST(test_thre_interrupt)
{
	wr(1, 0x02); /* IER: THRE */
	ck_assert_int_eq(irq_level, 1);
	ck_assert_uint_eq(rd(2) & 0x0f, 0x02); /* IIR: THRE source */
	ck_assert_int_eq(irq_level, 0);        /* reading IIR acks it */
	ck_assert_uint_eq(rd(2) & 0x0f, 0x01); /* nothing pending */
	wr(0, 'x');                            /* THR empties again */
	ck_assert_int_eq(irq_level, 1);
	wr(1, 0x00);
	ck_assert_int_eq(irq_level, 0);
}
END_TEST

START_TEST(test_fifo_bits)
{
	ck_assert_uint_eq(rd(2), 0x01);
	wr(2, 0x07); /* FCR: enable and clear FIFOs */
	ck_assert_uint_eq(rd(2), 0xc1);
}
END_TEST

START_TEST(test_divisor_latch)
{
	char c;

	wr(3, 0x83); /* DLAB, 8N1 */
	wr(0, 0x01); /* DLL: 115200 baud */
	wr(1, 0x00); /* DLM */
	ck_assert_uint_eq(rd(0), 0x01);
	ck_assert_uint_eq(rd(1), 0x00);
	ck_assert_int_eq(read(pipefd[0], &c, 1), -1); /* nothing sent */
	wr(3, 0x03);
	ck_assert_uint_eq(rd(3), 0x03);
	ck_assert_uint_eq(rd(1), 0x00); /* IER untouched by DLM write */
	ck_assert_int_eq(irq_changes, 0);
}
END_TEST

START_TEST(test_loopback)
{
	char c;

	/* Linux's probe: loopback with RTS and OUT2 must show CTS and DCD. */
	wr(4, 0x1a);
	ck_assert_uint_eq(rd(6) & 0xf0, 0x90);
	wr(4, 0x1f);
	ck_assert_uint_eq(rd(6) & 0xf0, 0xf0);
	wr(1, 0x01); /* IER: received data */
	wr(0, 'Z');
	ck_assert_int_eq(read(pipefd[0], &c, 1), -1); /* not transmitted */
	ck_assert_uint_eq(rd(5) & 0x01, 0x01);        /* data ready */
	ck_assert_int_eq(irq_level, 1);
	ck_assert_uint_eq(rd(2) & 0x0f, 0x04);
	ck_assert_uint_eq(rd(0), 'Z');
	ck_assert_uint_eq(rd(5) & 0x01, 0x00);
	ck_assert_int_eq(irq_level, 0);
	wr(4, 0x0b);
	ck_assert_uint_eq(rd(6), 0xb0); /* cable attached */
}
END_TEST

START_TEST(test_rx_priority_and_scratch)
{
	wr(7, 0xa5);
	ck_assert_uint_eq(rd(7), 0xa5);
	wr(1, 0x03); /* RDA and THRE */
	ck_assert_uint_eq(serial_input(s, "ab", 2), 2);
	/* Received data outranks THR empty. */
	ck_assert_uint_eq(rd(2) & 0x0f, 0x04);
	ck_assert_uint_eq(rd(0), 'a');
	ck_assert_uint_eq(rd(0), 'b');
	ck_assert_uint_eq(rd(2) & 0x0f, 0x02);
	ck_assert_uint_eq(rd(0), 0); /* empty FIFO reads 0 */
}
END_TEST

START_TEST(test_ring_wrap)
{
	size_t total = SERIAL_RING_SIZE + 100;
	char *buf = malloc(SERIAL_RING_SIZE);
	char tail[16];

	/* No output fd: only the ring sees the bytes. */
	serial_free(s);
	s = serial_new(-1, fake_irq, NULL);
	for (size_t i = 0; i < total; i++)
		wr(0, (uint8_t)('a' + i % 26));
	ck_assert_uint_eq(serial_bytes_out(s), total);
	ck_assert_uint_eq(serial_snapshot(s, buf, SERIAL_RING_SIZE),
	                  SERIAL_RING_SIZE);
	/* Oldest kept byte is byte 100; newest is the last one written. */
	ck_assert_int_eq(buf[0], 'a' + 100 % 26);
	ck_assert_int_eq(buf[SERIAL_RING_SIZE - 1], 'a' + (total - 1) % 26);
	ck_assert_uint_eq(serial_snapshot(s, tail, 3), 3);
	ck_assert_int_eq(tail[2], 'a' + (total - 1) % 26);
	ck_assert_int_eq(tail[0], 'a' + (total - 3) % 26);
	free(buf);
}
END_TEST

START_TEST(test_ring_partial)
{
	char buf[16];

	wr(0, 'h');
	wr(0, 'i');
	ck_assert_uint_eq(serial_snapshot(s, buf, sizeof(buf)), 2);
	ck_assert_int_eq(memcmp(buf, "hi", 2), 0);
}
END_TEST

static int space_calls;

static void on_space(void *opaque)
{
	(void)opaque;
	space_calls++;
}

START_TEST(test_input_flow_control)
{
	char in[40];

	memset(in, 'i', sizeof(in));
	space_calls = 0;
	serial_set_rx_space_cb(s, on_space, NULL);
	/* The FIFO holds 16: the rest stays with the caller. */
	ck_assert_uint_eq(serial_input(s, in, sizeof(in)), 16);
	ck_assert_uint_eq(serial_input(s, in, 1), 0);
	ck_assert_uint_eq(rd(5) & 0x01, 0x01);
	ck_assert_uint_eq(rd(0), 'i');
	ck_assert_int_eq(space_calls, 1); /* told once room appeared */
	ck_assert_uint_eq(rd(0), 'i');
	ck_assert_int_eq(space_calls, 1);
	ck_assert_uint_eq(serial_input(s, in, 2), 2);
	ck_assert_uint_eq(serial_input(s, in, 1), 0);
	for (int i = 0; i < 16; i++)
		ck_assert_uint_eq(rd(0), 'i');
	ck_assert_uint_eq(rd(5) & 0x01, 0x00);
	ck_assert_int_eq(space_calls, 2);
}
END_TEST

static Suite *serial_suite(void)
{
	Suite *su = suite_create("serial");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_transmit);
	tcase_add_test(tc, test_thre_interrupt);
	tcase_add_test(tc, test_fifo_bits);
	tcase_add_test(tc, test_divisor_latch);
	tcase_add_test(tc, test_loopback);
	tcase_add_test(tc, test_rx_priority_and_scratch);
	tcase_add_test(tc, test_ring_wrap);
	tcase_add_test(tc, test_ring_partial);
	tcase_add_test(tc, test_input_flow_control);
	suite_add_tcase(su, tc);
	return su;
}

int main(void)
{
	SRunner *sr = srunner_create(serial_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
