/* SPDX-License-Identifier: Apache-2.0 */
/*
 * 8250/16550 UART, enough for Linux's 8250 driver and early console:
 * transmission is instant (THR always empty), a 16-byte receive FIFO fed by
 * loopback or serial_input(), IIR priorities RX data > THR empty, the
 * loopback test bits of MCR reflected in MSR. Registers: PC16550D data
 * sheet, "Register descriptions".
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "podvisor/devices.h"
#include "podvisor/iobus.h"
#include "podvisor/legacy.h"
#include "podvisor/log.h"
#include "podvisor/util.h"
#include "podvisor/vm.h"

enum {
	UART_RBR_THR = 0,
	UART_IER = 1,
	UART_IIR_FCR = 2,
	UART_LCR = 3,
	UART_MCR = 4,
	UART_LSR = 5,
	UART_MSR = 6,
	UART_SCR = 7,
};

#define IER_RDA       0x01
#define IER_THRE      0x02
#define IIR_NONE      0x01
#define IIR_THRE      0x02
#define IIR_RDA       0x04
#define IIR_FIFO      0xc0
#define FCR_ENABLE    0x01
#define FCR_CLEAR_RX  0x02
#define LCR_DLAB      0x80
#define MCR_LOOP      0x10
#define LSR_DR        0x01
#define LSR_THRE      0x20
#define LSR_TEMT      0x40
#define SERIAL_RXFIFO 16

struct serial {
	pthread_mutex_t lock;
	int out_fd;
	void (*set_irq)(void *opaque, int level);
	void *irq_opaque;
	int irq_level;

	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
	bool thri; /* THR-empty interrupt pending until IIR is read */
	uint8_t rx[SERIAL_RXFIFO];
	unsigned int rx_head, rx_count;

	/* Host input waiting for FIFO space is told when the guest reads. */
	void (*rx_space)(void *opaque);
	void *rx_space_opaque;
	bool rx_blocked; /* serial_input() could not take everything */

	char *ring;
	size_t ring_pos; /* next write index */
	uint64_t total;  /* bytes ever written */
	bool out_failed;
};

static uint8_t serial_iir(const struct serial *s)
{
	uint8_t fifo = (s->fcr & FCR_ENABLE) ? IIR_FIFO : 0;

	if ((s->ier & IER_RDA) && s->rx_count)
		return IIR_RDA | fifo;
	if ((s->ier & IER_THRE) && s->thri)
		return IIR_THRE | fifo;
	return IIR_NONE | fifo;
}

/* Called with lock held; raises or lowers the line only on a change. */
static void serial_update_irq(struct serial *s)
{
	int level = !(serial_iir(s) & IIR_NONE);

	if (level != s->irq_level) {
		s->irq_level = level;
		if (s->set_irq)
			s->set_irq(s->irq_opaque, level);
	}
}

static void serial_rx_push(struct serial *s, uint8_t b)
{
	if (s->rx_count == SERIAL_RXFIFO)
		return; /* overrun: the byte is lost, as on hardware */
	s->rx[(s->rx_head + s->rx_count) % SERIAL_RXFIFO] = b;
	s->rx_count++;
}

static void serial_emit(struct serial *s, uint8_t b)
{
	s->ring[s->ring_pos] = (char)b;
	s->ring_pos = (s->ring_pos + 1) % SERIAL_RING_SIZE;
	s->total++;
	if (s->out_fd < 0 || s->out_failed)
		return;
	if (pv_write_full(s->out_fd, &b, 1) < 0) {
		/* Keep the guest running; the ring still has the output. */
		s->out_failed = true;
		log_warn("serial: console output failed; further output only "
		         "in the console ring (GET /v1/vm/console)");
	}
}

static void serial_write_reg(struct serial *s, uint64_t reg, uint8_t v)
{
	bool dlab = s->lcr & LCR_DLAB;

	switch (reg) {
	case UART_RBR_THR:
		if (dlab) {
			s->dll = v;
			break;
		}
		if (s->mcr & MCR_LOOP)
			serial_rx_push(s, v);
		else
			serial_emit(s, v);
		s->thri = true; /* sent at once: THR is empty again */
		break;
	case UART_IER:
		if (dlab) {
			s->dlm = v;
			break;
		}
		/* Enabling THRE while THR is empty raises it (16550). */
		if ((v & IER_THRE) && !(s->ier & IER_THRE))
			s->thri = true;
		s->ier = v & 0x0f;
		break;
	case UART_IIR_FCR:
		s->fcr = v & (FCR_ENABLE | 0xc8);
		if (v & FCR_CLEAR_RX)
			s->rx_count = 0;
		break;
	case UART_LCR:
		s->lcr = v;
		break;
	case UART_MCR:
		s->mcr = v & 0x1f;
		break;
	case UART_SCR:
		s->scr = v;
		break;
	default: /* LSR and MSR are read-only */
		break;
	}
}

static uint8_t serial_msr(const struct serial *s)
{
	uint8_t m = s->mcr;

	if (!(m & MCR_LOOP))
		return 0xb0; /* DCD, DSR, CTS: a cable is attached */
	/* Loopback: RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD. */
	return (uint8_t)(((m & 0x02) << 3) | ((m & 0x01) << 5) |
	                 ((m & 0x04) << 4) | ((m & 0x08) << 4));
}

static uint8_t serial_read_reg(struct serial *s, uint64_t reg)
{
	bool dlab = s->lcr & LCR_DLAB;
	uint8_t v;

	switch (reg) {
	case UART_RBR_THR:
		if (dlab)
			return s->dll;
		if (!s->rx_count)
			return 0;
		v = s->rx[s->rx_head];
		s->rx_head = (s->rx_head + 1) % SERIAL_RXFIFO;
		s->rx_count--;
		if (s->rx_blocked && s->rx_space) {
			s->rx_blocked = false;
			s->rx_space(s->rx_space_opaque);
		}
		return v;
	case UART_IER:
		return dlab ? s->dlm : s->ier;
	case UART_IIR_FCR:
		v = serial_iir(s);
		/* Reading IIR acknowledges a THRE interrupt. */
		if ((v & 0x0f) == IIR_THRE)
			s->thri = false;
		return v;
	case UART_LCR:
		return s->lcr;
	case UART_MCR:
		return s->mcr;
	case UART_LSR:
		return LSR_THRE | LSR_TEMT | (s->rx_count ? LSR_DR : 0);
	case UART_MSR:
		return serial_msr(s);
	default:
		return s->scr;
	}
}

static void serial_io_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	struct serial *s = opaque;

	memset(data, 0, len);
	pthread_mutex_lock(&s->lock);
	((uint8_t *)data)[0] = serial_read_reg(s, off & 7);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

static void serial_io_write(void *opaque, uint64_t off, const void *data,
                            uint32_t len)
{
	struct serial *s = opaque;

	/* A wider access touches only the addressed byte register. */
	pthread_mutex_lock(&s->lock);
	serial_write_reg(s, off & 7, ((const uint8_t *)data)[0]);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

const struct io_ops serial_io_ops = {
    .read = serial_io_read,
    .write = serial_io_write,
};

struct serial *serial_new(int out_fd, void (*set_irq)(void *opaque, int level),
                          void *opaque)
{
	struct serial *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->ring = calloc(1, SERIAL_RING_SIZE);
	if (!s->ring) {
		free(s);
		return NULL;
	}
	pthread_mutex_init(&s->lock, NULL);
	s->out_fd = out_fd;
	s->set_irq = set_irq;
	s->irq_opaque = opaque;
	s->mcr = 0x08; /* OUT2, as firmware leaves it */
	return s;
}

void serial_free(struct serial *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
	free(s->ring);
	free(s);
}

size_t serial_snapshot(struct serial *s, char *buf, size_t len)
{
	size_t held, n, start;

	pthread_mutex_lock(&s->lock);
	held =
	    s->total < SERIAL_RING_SIZE ? (size_t)s->total : SERIAL_RING_SIZE;
	n = MIN(len, held);
	start = (s->ring_pos + SERIAL_RING_SIZE - n) % SERIAL_RING_SIZE;
	for (size_t i = 0; i < n; i++)
		buf[i] = s->ring[(start + i) % SERIAL_RING_SIZE];
	pthread_mutex_unlock(&s->lock);
	return n;
}

uint64_t serial_bytes_out(struct serial *s)
{
	uint64_t n;

	pthread_mutex_lock(&s->lock);
	n = s->total;
	pthread_mutex_unlock(&s->lock);
	return n;
}

size_t serial_input(struct serial *s, const void *buf, size_t len)
{
	size_t n = 0;

	pthread_mutex_lock(&s->lock);
	while (n < len && s->rx_count < SERIAL_RXFIFO)
		serial_rx_push(s, ((const uint8_t *)buf)[n++]);
	s->rx_blocked = n < len;
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return n;
}

void serial_set_rx_space_cb(struct serial *s, void (*cb)(void *opaque),
                            void *opaque)
{
	pthread_mutex_lock(&s->lock);
	s->rx_space = cb;
	s->rx_space_opaque = opaque;
	pthread_mutex_unlock(&s->lock);
}

size_t serial_console_snapshot(struct vm *vm, char *buf, size_t len)
{
	return vm->serial ? serial_snapshot(vm->serial, buf, len) : 0;
}
