/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The legacy PC devices every guest expects: COM1, the i8042 reset, the RTC,
 * the power management port, and quiet sinks for the POST port 0x80 and
 * system control port B 0x61, which Linux probes and firmware would own.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "podvisor/iobus.h"
#include "podvisor/legacy.h"
#include "podvisor/log.h"
#include "podvisor/vm.h"

#include "legacy_priv.h"

struct legacy {
	int console_fd; /* the --console-log file, or -1 */
	struct i8042 *i8042;
	struct rtc *rtc;
};

static void legacy_serial_irq(void *opaque, int level)
{
	struct vm *vm = opaque;

	kvm_vm_irq_line(&vm->kvm, SERIAL_COM1_IRQ, level);
}

/* POST codes and port B: accepted and ignored, reads 0. */
static void legacy_sink_read(void *opaque, uint64_t off, void *data,
                             uint32_t len)
{
	memset(data, 0, len);
}

static const struct io_ops legacy_sink_ops = {
    .read = legacy_sink_read,
};

static int legacy_serial_create(struct vm *vm, struct legacy *lg)
{
	const char *path = vm->cfg->console_log;
	int fd = STDOUT_FILENO;

	if (path) {
		/* A fresh log per VM run, as a console is seen from boot. */
		lg->console_fd =
		    open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
		if (lg->console_fd < 0)
			return log_err_errno(
			    errno, "console_log: cannot open %s", path);
		fd = lg->console_fd;
	}
	vm->serial = serial_new(fd, legacy_serial_irq, vm);
	if (!vm->serial)
		return -ENOMEM;
	return io_bus_add(&vm->pio, SERIAL_COM1_BASE, 8, &serial_io_ops,
	                  vm->serial);
}

int legacy_devices_create(struct vm *vm)
{
	struct legacy *lg = calloc(1, sizeof(*lg));
	int r;

	if (!lg)
		return -ENOMEM;
	lg->console_fd = -1;
	vm->legacy = lg;
	r = legacy_serial_create(vm, lg);
	if (r == 0)
		r = i8042_create(vm, &lg->i8042);
	if (r == 0)
		r = rtc_create(vm, &lg->rtc);
	if (r == 0)
		r = pm_create(vm);
	if (r == 0)
		r = io_bus_add(&vm->pio, 0x80, 1, &legacy_sink_ops, lg);
	if (r == 0)
		r = io_bus_add(&vm->pio, 0x61, 1, &legacy_sink_ops, lg);
	if (r < 0)
		return log_err_errno(r, "legacy devices: cannot register "
		                        "their ports");
	return 0;
}

void legacy_devices_destroy(struct vm *vm)
{
	struct legacy *lg = vm->legacy;

	serial_free(vm->serial);
	vm->serial = NULL;
	if (!lg)
		return;
	i8042_free(lg->i8042);
	rtc_free(lg->rtc);
	if (lg->console_fd >= 0)
		close(lg->console_fd);
	free(lg);
	vm->legacy = NULL;
}
