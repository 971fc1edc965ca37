// SPDX-License-Identifier: Apache-2.0
/*
 * The 8250/16550A UART on COM1 as Linux's 8250 driver probes and drives it:
 * scratch register, divisor latch, loopback with the modem-status mirror
 * its autoconfig checks, FIFO detection, and the THR-empty interrupt on
 * IRQ 4 through the IOAPIC.
 * Command line: test=serial.
 */
#include "rt.h"

#define COM1       0x3f8
#define IOAPIC     0xfec00000ull
#define VEC_SERIAL 0x81

static void ioapic_write(uint32_t reg, uint32_t v)
{
	mmio_w32(IOAPIC, reg);
	mmio_w32(IOAPIC + 0x10, v);
}

static uint32_t ioapic_read(uint32_t reg)
{
	mmio_w32(IOAPIC, reg);
	return mmio_r32(IOAPIC + 0x10);
}

static void registers(void)
{
	uint8_t lcr = inb(COM1 + 3), dll, dlm, msr, rx;

	outb(COM1 + 7, 0x5a);
	check(inb(COM1 + 7) == 0x5a, "serial_scratch", "scratch reads 0x%x",
	      inb(COM1 + 7));
	outb(COM1 + 3, lcr | 0x80); /* DLAB */
	outb(COM1 + 0, 0x0c);
	outb(COM1 + 1, 0x00);
	dll = inb(COM1 + 0);
	dlm = inb(COM1 + 1);
	outb(COM1 + 3, 0x03); /* 8N1, DLAB off */
	check(dll == 0x0c && dlm == 0, "serial_divisor_latch",
	      "divisor reads %02x%02x, wrote 000c", dlm, dll);
	outb(COM1 + 4, 0x10 | 0x0a); /* loopback, RTS, OUT2 */
	msr = inb(COM1 + 6) & 0xf0;
	while (inb(COM1 + 5) & 1)
		(void)inb(COM1);
	outb(COM1, 'L');
	rx = (inb(COM1 + 5) & 1) ? inb(COM1) : 0;
	outb(COM1 + 4, 0x0b); /* loopback off: DTR, RTS, OUT2 */
	/* Print only now: in loopback our own output never leaves the UART. */
	check(msr == 0x90, "serial_loopback_msr",
	      "MSR 0x%x in loopback with MCR 0x1a (Linux's 8250 "
	      "autoconfig wants 0x90)",
	      msr);
	check(rx == 'L', "serial_loopback_data",
	      "loopback read 0x%x, wrote 'L'", rx);
	outb(COM1 + 2, 0x07); /* enable and clear FIFOs */
	check((inb(COM1 + 2) & 0xc0) == 0xc0, "serial_fifo_16550a",
	      "IIR 0x%x after enabling FIFOs", inb(COM1 + 2));
}

/* THRE interrupt: IER bit 1 raises IRQ 4 while the transmitter is empty. */
static void thre_interrupt(void)
{
	uint32_t seen = irq_count[VEC_SERIAL], ver = ioapic_read(1);

	printf("INFO serial: IOAPIC version 0x%x, %u pins\n", ver & 0xff,
	       ((ver >> 16) & 0xff) + 1);
	ioapic_write(0x10 + 2 * 4 + 1, lapic_id() << 24);
	ioapic_write(0x10 + 2 * 4, VEC_SERIAL); /* fixed, edge, unmasked */
	outb(COM1 + 1, 0x02);
	check(irq_wait(VEC_SERIAL, seen, 1000000), "serial_thre_irq4",
	      "no interrupt on IRQ 4 (vector 0x%x) with IER.THRI set; IIR 0x%x",
	      VEC_SERIAL, inb(COM1 + 2));
	outb(COM1 + 1, 0x00);
	ioapic_write(0x10 + 2 * 4, 0x10000); /* mask the pin again */
}

void test_serial(void)
{
	registers();
	thre_interrupt();
}
