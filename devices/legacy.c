/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The legacy PC devices every guest expects: COM1, the i8042 reset, the RTC,
 * the power management port, and quiet sinks for the POST port 0x80 and
 * system control port B 0x61, which Linux probes and firmware would own.
 */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "podvisor/iobus.h"
#include "podvisor/legacy.h"
#include "podvisor/log.h"
#include "podvisor/vm.h"

#include "legacy_priv.h"

struct legacy {
	struct vm *vm;
	int console_fd; /* the --console-log file, or -1 */
	struct i8042 *i8042;
	struct rtc *rtc;
	struct event *stdin_ev; /* host input for COM1, or NULL */
	uint8_t pend[64];       /* read from stdin, not yet in the FIFO */
	size_t pend_len, pend_off;
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

/*
 * Host input (I/O thread). The event is taken out before the bytes go to
 * the FIFO, so a wake-up from legacy_rx_space() cannot be lost; it goes back
 * once everything read was taken.
 */
static void legacy_stdin_cb(evutil_socket_t fd, short what, void *arg)
{
	struct legacy *lg = arg;
	ssize_t n;

	(void)what;
	if (lg->pend_off == lg->pend_len) {
		n = read(fd, lg->pend, sizeof(lg->pend));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			return;
		if (n <= 0) {
			event_del(lg->stdin_ev); /* end of input */
			return;
		}
		lg->pend_len = (size_t)n;
		lg->pend_off = 0;
	}
	event_del(lg->stdin_ev);
	lg->pend_off += serial_input(lg->vm->serial, lg->pend + lg->pend_off,
	                             lg->pend_len - lg->pend_off);
	if (lg->pend_off == lg->pend_len)
		event_add(lg->stdin_ev, NULL);
}

/* vCPU thread, serial lock held: only wake the I/O thread. */
static void legacy_rx_space(void *opaque)
{
	struct legacy *lg = opaque;

	event_active(lg->stdin_ev, EV_READ, 0);
}

/*
 * Guest console input from stdin when it is a pipe or this process's
 * foreground terminal (a background job reading its tty would be stopped).
 * Limitation: a terminal stays in its line mode, so input arrives by lines
 * and the host echoes it too.
 */
static int legacy_stdin_attach(struct vm *vm, struct legacy *lg)
{
	struct stat st;
	bool fg_tty =
	    isatty(STDIN_FILENO) && tcgetpgrp(STDIN_FILENO) == getpgrp();

	if (!vm->evbase || fstat(STDIN_FILENO, &st) < 0 ||
	    (!S_ISFIFO(st.st_mode) && !fg_tty))
		return 0;
	lg->stdin_ev = event_new(vm->evbase, STDIN_FILENO, EV_READ | EV_PERSIST,
	                         legacy_stdin_cb, lg);
	if (!lg->stdin_ev || event_add(lg->stdin_ev, NULL) < 0)
		return -ENOMEM;
	serial_set_rx_space_cb(vm->serial, legacy_rx_space, lg);
	return 0;
}

int legacy_devices_create(struct vm *vm)
{
	struct legacy *lg = calloc(1, sizeof(*lg));
	int r;

	if (!lg)
		return -ENOMEM;
	lg->console_fd = -1;
	lg->vm = vm;
	vm->legacy = lg;
	r = legacy_serial_create(vm, lg);
	if (r == 0)
		r = legacy_stdin_attach(vm, lg);
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

	if (lg && lg->stdin_ev)
		event_free(lg->stdin_ev);
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
