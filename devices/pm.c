/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Power management port BOOT_PM_SLEEP_PORT: the sleep control register the
 * ACPI tables of the boot module point at. A write asking for sleep state
 * 5 (soft off) powers the VM off; the accepted forms are listed on
 * pm_write_is_poweroff() in legacy.h (ACPI 6.4, 4.8.3.2.1 PM1 control
 * register and 4.8.3.7 sleep control register).
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "podvisor/boot.h"
#include "podvisor/iobus.h"
#include "podvisor/legacy.h"
#include "podvisor/vm.h"

#include "legacy_priv.h"

#define PM_SLP_TYP_S5     5u
#define PM1_SLP_TYP_SHIFT 10
#define PM1_SLP_EN        (1u << 13)
#define PM1_SLP_TYP_MASK  (7u << PM1_SLP_TYP_SHIFT)
#define SLEEP_CTL_S5      ((PM_SLP_TYP_S5 << 2) | (1u << 5))

bool pm_write_is_poweroff(uint64_t off, const void *data, uint32_t len)
{
	const uint8_t *b = data;
	uint32_t v;

	if (len == 1)
		return (off == 0 || off == 1) && b[0] == SLEEP_CTL_S5;
	if (off != 0 || (len != 2 && len != 4))
		return false;
	v = (uint32_t)b[0] | ((uint32_t)b[1] << 8);
	return (v & PM1_SLP_EN) &&
	       (v & PM1_SLP_TYP_MASK) == (PM_SLP_TYP_S5 << PM1_SLP_TYP_SHIFT);
}

static void pm_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	if (pm_write_is_poweroff(off, data, len))
		vm_request_stop(opaque, VM_EXIT_POWEROFF, "guest powered off");
}

static void pm_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	memset(data, 0, len); /* not sleeping, no wake status */
}

static const struct io_ops pm_ops = {
    .read = pm_read,
    .write = pm_write,
};

int pm_create(struct vm *vm)
{
	return io_bus_add(&vm->pio, BOOT_PM_SLEEP_PORT, 4, &pm_ops, vm);
}
