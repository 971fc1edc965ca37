// SPDX-License-Identifier: Apache-2.0
/*
 * libc subset, serial console, results, time and the command line for the
 * test guests. Everything here is plain integer code: the guests must run
 * under the PVM instruction emulator, which has no SSE or x87.
 */
#include "rt.h"

void *memset(void *d, int c, size_t n)
{
	uint8_t *p = d;

	while (n--)
		*p++ = (uint8_t)c;
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	uint8_t *dp = d;
	const uint8_t *sp = s;

	while (n--)
		*dp++ = *sp++;
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t *x = a, *y = b;

	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x - *y;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (uint8_t)*a - (uint8_t)*b;
		if (!*a)
			return 0;
	}
	return 0;
}

int strcmp(const char *a, const char *b)
{
	return strncmp(a, b, (size_t)-1);
}

char *strstr(const char *h, const char *n)
{
	size_t ln = strlen(n);

	for (; *h; h++)
		if (!strncmp(h, n, ln))
			return (char *)h;
	return ln ? NULL : (char *)h;
}

/* ---- formatting: %d %u %x %s %c %p with l/ll/z, width and '0' ---- */
struct out {
	char *buf;
	size_t size, pos;
	bool clean; /* %s control bytes as '?': keeps serial lines whole */
};

static void out_c(struct out *o, char c)
{
	if (o->pos + 1 < o->size)
		o->buf[o->pos] = c;
	o->pos++;
}

static void out_num(struct out *o, uint64_t v, unsigned int base, bool neg,
                    int width, char pad)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (neg)
		tmp[n++] = '-';
	while (width-- > n)
		out_c(o, pad);
	while (n)
		out_c(o, tmp[--n]);
}

static uint64_t arg_unsigned(va_list *ap, int lng)
{
	if (lng >= 1)
		return va_arg(*ap, unsigned long);
	return va_arg(*ap, unsigned int);
}

static int64_t arg_signed(va_list *ap, int lng)
{
	if (lng >= 1)
		return va_arg(*ap, long);
	return va_arg(*ap, int);
}

static void out_conv(struct out *o, char c, va_list *ap, int lng, int width,
                     char pad, int prec)
{
	const char *s;
	int64_t sv;

	switch (c) {
	case 'd':
	case 'i':
		sv = arg_signed(ap, lng);
		out_num(o, sv < 0 ? -(uint64_t)sv : (uint64_t)sv, 10, sv < 0,
		        width, pad);
		break;
	case 'u':
		out_num(o, arg_unsigned(ap, lng), 10, false, width, pad);
		break;
	case 'x':
		out_num(o, arg_unsigned(ap, lng), 16, false, width, pad);
		break;
	case 'p':
		out_c(o, '0');
		out_c(o, 'x');
		out_num(o, (uint64_t)va_arg(*ap, void *), 16, false, width,
		        pad);
		break;
	case 'c':
		out_c(o, (char)va_arg(*ap, int));
		break;
	case 's':
		s = va_arg(*ap, const char *);

		for (s = s ? s : "(null)"; *s && prec-- != 0; s++, width--)
			out_c(o, o->clean && (uint8_t)*s < 0x20 ? '?' : *s);
		while (width-- > 0)
			out_c(o, ' ');
		break;
	default:
		out_c(o, '%');
		out_c(o, c);
	}
}

static int format(char *buf, size_t size, bool clean, const char *fmt,
                  va_list ap)
{
	struct out o = {buf, size, 0, clean};
	va_list aq;

	va_copy(aq, ap);
	for (; *fmt; fmt++) {
		int lng = 0, width = 0, prec = -1;
		char pad = ' ';

		if (*fmt != '%') {
			out_c(&o, *fmt);
			continue;
		}
		fmt++;
		if (*fmt == '0')
			pad = '0';
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		if (*fmt == '.')
			for (prec = 0, fmt++; *fmt >= '0' && *fmt <= '9'; fmt++)
				prec = prec * 10 + (*fmt - '0');
		while (*fmt == 'l' || *fmt == 'z')
			lng++, fmt++;
		if (!*fmt)
			break;
		out_conv(&o, *fmt, &aq, lng, width, pad, prec);
	}
	va_end(aq);
	if (size)
		buf[o.pos < size ? o.pos : size - 1] = 0;
	return (int)o.pos;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	return format(buf, size, false, fmt, ap);
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

/* ---- COM1: poll the line status register's THR-empty bit ---- */
#define COM1 0x3f8

void serial_putc(char c)
{
	int spin = 100000;

	while (!(inb(COM1 + 5) & 0x20) && --spin)
		cpu_relax();
	outb(COM1, (uint8_t)c);
}

static void serial_puts(const char *s)
{
	while (*s)
		serial_putc(*s++);
}

void printf(const char *fmt, ...)
{
	char buf[2048];
	va_list ap;

	va_start(ap, fmt);
	format(buf, sizeof(buf), true, fmt, ap);
	va_end(ap);
	serial_puts(buf);
}

/* ---- results ---- */
static unsigned int n_pass, n_fail;

void pass(const char *name)
{
	n_pass++;
	printf("PASS %s\n", name);
}

static void vfail(const char *name, const char *fmt, va_list ap)
{
	char buf[200];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	n_fail++;
	printf("FAIL %s: %s\n", name, buf);
}

void fail(const char *name, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(name, fmt, ap);
	va_end(ap);
}

bool check(bool cond, const char *name, const char *fmt, ...)
{
	va_list ap;

	if (cond) {
		pass(name);
		return true;
	}
	va_start(ap, fmt);
	vfail(name, fmt, ap);
	va_end(ap);
	return false;
}

unsigned int failures(void)
{
	return n_fail;
}

void halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

void poweroff(void)
{
	outw(PM_SLEEP_PORT, PM_SLEEP_OFF);
	/* The VMM stops the vCPU at the write; getting here is a bug. */
	delay_us(500000);
	printf("FAIL poweroff: still running 0.5 s after writing 0x%x to "
	       "port 0x%x\n",
	       PM_SLEEP_OFF, PM_SLEEP_PORT);
	halt_forever();
}

void guest_finish(void)
{
	printf("SUMMARY pass=%u fail=%u\n", n_pass, n_fail);
	printf("DONE\n");
	poweroff();
}

/* ---- time ---- */
static uint64_t tsc_per_us = 2000;

/* Channel 2's current count, latched so both bytes belong together. */
static uint16_t pit2_count(void)
{
	uint8_t lo;

	outb(0x43, 0x80);
	lo = inb(0x42);
	return lo | (uint16_t)inb(0x42) << 8;
}

/*
 * Measures the TSC against about 40 ms of PIT channel 2 (gate on port 0x61)
 * counting down from 0xffff. The elapsed time comes from the latched counts,
 * not from when our polling noticed, so a vCPU that is descheduled (a busy
 * host, an emulated guest) does not skew it. A VMM without the in-kernel
 * PIT makes this fail; we then assume 2 GHz and say so, since timeouts only
 * bound failures.
 */
void time_init(void)
{
	uint64_t t0, t1;
	uint16_t c0, c1 = 0;
	uint32_t spins = 0, elapsed = 0;

	outb(0x61, (inb(0x61) & ~0x02) | 0x01);
	outb(0x43, 0xb0); /* channel 2, lo/hi byte, mode 0 */
	outb(0x42, 0xff);
	outb(0x42, 0xff);
	c0 = pit2_count();
	t0 = rdtsc();
	while (elapsed < 47727 && ++spins < 1000000) { /* 40 ms */
		c1 = pit2_count();
		elapsed = (uint16_t)(c0 - c1);
	}
	t1 = rdtsc();
	if (spins >= 1000000 || elapsed < 1000 || t1 - t0 < 1000000) {
		printf("INFO time: PIT calibration failed (%u spins, %u PIT "
		       "ticks); assuming 2 GHz TSC\n",
		       spins, elapsed);
		return;
	}
	/* ticks / (elapsed / 1.193182 MHz), in ticks per microsecond */
	tsc_per_us = (t1 - t0) * 1193182 / ((uint64_t)elapsed * 1000000);
	printf("INFO time: TSC %lu MHz\n", (unsigned long)tsc_per_us);
}

uint64_t now_us(void)
{
	return rdtsc() / tsc_per_us;
}

void delay_us(uint64_t us)
{
	uint64_t end = now_us() + us;

	while (now_us() < end)
		cpu_relax();
}

/* ---- zero page command line ---- */
uint8_t *zero_page;

const char *cmdline(void)
{
	uint64_t p;

	if (!zero_page)
		return "";
	p = *(uint32_t *)(zero_page + 0x228) |
	    (uint64_t) * (uint32_t *)(zero_page + 0x0c8) << 32;
	return p ? (const char *)p : "";
}

const char *arg_str(const char *key, char *buf, size_t len)
{
	const char *s = cmdline();
	size_t kl = strlen(key);

	while (*s) {
		while (*s == ' ')
			s++;
		if (!strncmp(s, key, kl) && s[kl] == '=') {
			size_t n = 0;

			s += kl + 1;
			while (s[n] && s[n] != ' ' && n + 1 < len) {
				buf[n] = s[n];
				n++;
			}
			buf[n] = 0;
			return buf;
		}
		while (*s && *s != ' ')
			s++;
	}
	return NULL;
}

uint64_t arg_u64(const char *key, uint64_t def)
{
	char buf[32];
	uint64_t v = 0;
	unsigned int base = 10;
	const char *p = arg_str(key, buf, sizeof(buf));

	if (!p || !*p)
		return def;
	if (p[0] == '0' && p[1] == 'x')
		base = 16, p += 2;
	for (; *p; p++) {
		unsigned int d;

		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = *p - 'a' + 10;
		else
			return def;
		v = v * base + d;
	}
	return v;
}

/* ---- pool ---- */
static uint8_t pool[512 * 1024] __attribute__((aligned(4096)));
static size_t pool_used;

void *palloc(size_t size, size_t align)
{
	size_t at = ALIGN_UP(pool_used, align);

	if (at + size > sizeof(pool)) {
		printf("FAIL runtime: guest pool exhausted (%zu bytes)\n",
		       size);
		guest_finish();
	}
	pool_used = at + size;
	memset(pool + at, 0, size);
	return pool + at;
}
