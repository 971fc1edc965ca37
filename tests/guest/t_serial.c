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

/* ---- MC146818 RTC (ports 0x70/0x71), as Linux reads the wall clock ---- */
static uint8_t cmos(uint8_t reg)
{
	outb(0x70, reg);
	return inb(0x71);
}

static unsigned int from_bcd(uint8_t v, bool binary)
{
	return binary ? v : (v >> 4) * 10 + (v & 0xf);
}

static bool valid_bcd(uint8_t v)
{
	return (v & 0xf) < 10 && (v >> 4) < 10;
}

/* Prints "RTC YYYY-MM-DD HH:MM:SS" for the host test to compare with its
 * own clock, after the checks a driver makes. */
void test_rtc(void)
{
	uint8_t r[10], b, cent;
	bool bin, ok = true;
	int spins = 0;

	while ((cmos(0x0a) & 0x80) && ++spins < 100000)
		cpu_relax(); /* update in progress */
	for (uint8_t i = 0; i < 10; i++)
		r[i] = cmos(i);
	b = cmos(0x0b);
	cent = cmos(0x32);
	bin = b & 0x04;
	for (int i = 0; i < 10 && !bin; i++)
		if (i != 1 && i != 3 && i != 5 && i != 6)
			ok &= valid_bcd(r[i]);
	check(
	    ok && (b & 0x02) && (cmos(0x0d) & 0x80), "rtc_registers",
	    "status B 0x%x, D 0x%x, clock bytes %02x %02x %02x %02x %02x %02x",
	    b, cmos(0x0d), r[0], r[2], r[4], r[7], r[8], r[9]);
	printf("RTC %02u%02u-%02u-%02u %02u:%02u:%02u\n",
	       cent ? from_bcd(cent, bin) : 20, from_bcd(r[9], bin),
	       from_bcd(r[8], bin), from_bcd(r[7], bin), from_bcd(r[4], bin),
	       from_bcd(r[2], bin), from_bcd(r[0], bin));
	outb(0x70, 0x40);
	outb(0x71, 0x5a);
	check(cmos(0x40) == 0x5a, "rtc_cmos_ram",
	      "CMOS byte 0x40 reads 0x%x "
	      "after writing 0x5a",
	      cmos(0x40));
}
