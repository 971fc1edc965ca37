/* SPDX-License-Identifier: Apache-2.0 */
/* Private to devices/: the legacy devices legacy.c puts together. */
#ifndef PODVISOR_DEVICES_LEGACY_PRIV_H
#define PODVISOR_DEVICES_LEGACY_PRIV_H

struct vm;
struct i8042;
struct rtc;

/* Registers ports 0x60 and 0x64; *out is set even on failure. */
int i8042_create(struct vm *vm, struct i8042 **out);
void i8042_free(struct i8042 *k);

/* Registers the CMOS index/data ports 0x70-0x71; *out set even on failure. */
int rtc_create(struct vm *vm, struct rtc **out);
void rtc_free(struct rtc *r);

/* Registers BOOT_PM_SLEEP_PORT. */
int pm_create(struct vm *vm);

#endif
