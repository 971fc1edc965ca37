/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Legacy platform devices: 8250 UART on COM1 (0x3f8, IRQ 4) whose output
 * goes to stdout or cfg->console_log and into a 64 KiB ring; the i8042
 * controller enough for a guest reset (command 0xfe); the power management
 * port BOOT_PM_SLEEP_PORT. devices_create() calls these first.
 */
#ifndef PODVISOR_LEGACY_H
#define PODVISOR_LEGACY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;
struct io_ops;
struct serial;

/* Registers serial, i8042, CMOS/RTC, POST and PM ports on vm->pio and sets
 * vm->serial. Returns 0 or -errno after logging. */
int legacy_devices_create(struct vm *vm);
/* Frees them; safe after a failed or no create. Call after the vCPUs
 * stopped. */
void legacy_devices_destroy(struct vm *vm);

#define SERIAL_COM1_BASE 0x3f8
#define SERIAL_COM1_IRQ  4
#define SERIAL_RING_SIZE (64 * 1024)

/*
 * The 8250 model alone (used by legacy_devices_create and the unit tests).
 * Every byte the guest transmits goes to out_fd (when >= 0; the fd stays
 * the caller's) and into a ring of the last SERIAL_RING_SIZE bytes.
 * set_irq(opaque, level) is called when the interrupt output changes.
 */
struct serial *serial_new(int out_fd, void (*set_irq)(void *opaque, int level),
                          void *opaque);
void serial_free(struct serial *s);
/* io_ops for an 8-byte port range; opaque is the struct serial. */
extern const struct io_ops serial_io_ops;
/* Copies the last min(len, held) bytes, oldest first; returns the count. */
size_t serial_snapshot(struct serial *s, char *buf, size_t len);
/* Total bytes the guest has written since creation. */
uint64_t serial_bytes_out(struct serial *s);
/* Queues host input for the guest (RBR) as far as the 16-byte FIFO has room;
 * returns how many bytes it took. */
size_t serial_input(struct serial *s, const void *buf, size_t len);
/* cb(opaque) runs (on the vCPU thread, serial lock held: only signal
 * another thread from it) once the guest frees FIFO space after a
 * serial_input() that could not take everything. */
void serial_set_rx_space_cb(struct serial *s, void (*cb)(void *opaque),
                            void *opaque);

/*
 * Power management port BOOT_PM_SLEEP_PORT (4 bytes). Accepted power-off
 * writes, everything else is ignored:
 *  - 2 or 4 bytes at offset 0 whose bits 10-12 (SLP_TYP) are 5 and bit 13
 *    (SLP_EN) is set: the ACPI PM1a control register form;
 *  - 1 byte of value (5 << 2) | (1 << 5) = 0x34 at offset 0 (the ACPI
 *    hardware-reduced sleep control register) or at offset 1 (the high
 *    byte of the PM1a control register, same bits).
 * Returns true when the write asks for power-off.
 */
bool pm_write_is_poweroff(uint64_t off, const void *data, uint32_t len);

#endif
