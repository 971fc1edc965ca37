/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VM's devices. Legacy ones (8250 serial on COM1 / IRQ 4, i8042 reset,
 * the power management port) and the PCI host bridge with every virtio
 * device the configuration names. Devices register themselves in a table in
 * devices/devices.c; podvisor-vmm's main() calls only these functions.
 *
 * PCI layout on bus 0 (fixed, whatever else is configured, so guests and
 * tests can rely on it):
 *   00:00.0  host bridge 8086:0d57, class 06:00
 *   00:01.0 .. 00:08.0  virtio-blk for disks[0..7]   1af4:1042
 *   00:09.0  virtio-console (when console_socket)      1af4:1043
 *   00:0a.0  virtio-rng (when rng)                     1af4:1044
 *   00:0b.0  virtio-vsock (when vsock.enabled)         1af4:1053
 *   00:0c.0 .. 00:0f.0  virtio-net for nets[0..3]     1af4:1041
 * BAR 0 of every virtio function is 64-bit, 32 KiB, allocated in slot order
 * from 0xC0000000 (see virtio.h for its layout).
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
