/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VM's devices. Legacy ones (8250 serial on COM1 / IRQ 4, i8042 reset,
 * the power management port) and the PCI host bridge with every virtio
 * device the configuration names. Devices register themselves in a table in
 * devices/devices.c; podvisor-vmm's main() calls only these functions.
 */
#ifndef PODVISOR_DEVICES_H
#define PODVISOR_DEVICES_H

#include <stddef.h>
#include <stdint.h>

struct vm;

/* Creates every device of vm->cfg on vm's buses; must run before the vCPUs
 * start and after guest RAM exists. Returns 0 or -errno after logging. */
int devices_create(struct vm *vm);

/* Stops device threads and frees them; safe after a failed create. */
void devices_destroy(struct vm *vm);

/* Serial console: last bytes written by the guest (up to 64 KiB). Copies at
 * most len bytes into buf and returns the count. */
size_t serial_console_snapshot(struct vm *vm, char *buf, size_t len);

#endif
