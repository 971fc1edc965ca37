/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Legacy platform devices: 8250 UART on COM1 (0x3f8, IRQ 4) whose output
 * goes to stdout or cfg->console_log and into a 64 KiB ring; the i8042
 * controller enough for a guest reset (command 0xfe); the power management
 * port BOOT_PM_SLEEP_PORT. devices_create() calls these first.
 */
#ifndef PODVISOR_LEGACY_H
#define PODVISOR_LEGACY_H

struct vm;

int legacy_devices_create(struct vm *vm);
void legacy_devices_destroy(struct vm *vm);

#endif
