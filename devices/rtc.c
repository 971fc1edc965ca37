/* SPDX-License-Identifier: Apache-2.0 */
/*
 * MC146818 CMOS/RTC at ports 0x70-0x71, read-mostly: the clock registers
 * report the host's UTC time in BCD, status A says no update is in
 * progress, status D says the battery is good; other CMOS bytes read 0 and
 * keep what the guest writes. No alarms, no periodic interrupt.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "podvisor/iobus.h"
#include "podvisor/vm.h"

#include "legacy_priv.h"

#define RTC_INDEX    0x70
#define RTC_STATUS_A 0x0a
#define RTC_STATUS_B 0x0b
#define RTC_STATUS_D 0x0d
#define RTC_CENTURY  0x32

struct rtc {
	pthread_mutex_t lock;
	uint8_t index;
	uint8_t cmos[128];
};

static uint8_t rtc_bcd(int v)
{
	return (uint8_t)(((v / 10) << 4) | (v % 10));
}

static uint8_t rtc_clock(uint8_t reg)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	switch (reg) {
	case 0x00:
		return rtc_bcd(tm.tm_sec);
	case 0x02:
		return rtc_bcd(tm.tm_min);
	case 0x04:
		return rtc_bcd(tm.tm_hour);
	case 0x06:
		return rtc_bcd(tm.tm_wday + 1);
	case 0x07:
		return rtc_bcd(tm.tm_mday);
	case 0x08:
		return rtc_bcd(tm.tm_mon + 1);
	case 0x09:
		return rtc_bcd(tm.tm_year % 100);
	default: /* RTC_CENTURY */
		return rtc_bcd(19 + tm.tm_year / 100);
	}
}

static uint8_t rtc_reg(struct rtc *r, uint8_t reg)
{
	switch (reg) {
	case 0x00:
	case 0x02:
	case 0x04:
	case 0x06:
	case 0x07:
	case 0x08:
	case 0x09:
	case RTC_CENTURY:
		return rtc_clock(reg);
	case RTC_STATUS_A:
		return 0x26; /* 32.768 kHz base, 1024 Hz rate, UIP clear */
	case RTC_STATUS_B:
		return 0x02; /* 24-hour, BCD */
	case RTC_STATUS_D:
		return 0x80; /* valid RAM and time */
	default:
		return r->cmos[reg & 0x7f];
	}
}

static void rtc_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	struct rtc *r = opaque;
	uint8_t v;

	pthread_mutex_lock(&r->lock);
	v = off == 0 ? r->index : rtc_reg(r, r->index);
	pthread_mutex_unlock(&r->lock);
	memset(data, 0, len);
	((uint8_t *)data)[0] = v;
}

static void rtc_write(void *opaque, uint64_t off, const void *data,
                      uint32_t len)
{
	struct rtc *r = opaque;
	uint8_t v = ((const uint8_t *)data)[0];

	pthread_mutex_lock(&r->lock);
	if (off == 0)
		r->index = v & 0x7f; /* bit 7 is the NMI mask */
	else if (r->index > RTC_STATUS_D && r->index != RTC_CENTURY)
		r->cmos[r->index] = v;
	pthread_mutex_unlock(&r->lock);
}

static const struct io_ops rtc_ops = {
    .read = rtc_read,
    .write = rtc_write,
};

int rtc_create(struct vm *vm, struct rtc **out)
{
	struct rtc *r = calloc(1, sizeof(*r));

	*out = r;
	if (!r)
		return -ENOMEM;
	pthread_mutex_init(&r->lock, NULL);
	return io_bus_add(&vm->pio, RTC_INDEX, 2, &rtc_ops, r);
}

void rtc_free(struct rtc *r)
{
	if (!r)
		return;
	pthread_mutex_destroy(&r->lock);
	free(r);
}
