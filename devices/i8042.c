/* SPDX-License-Identifier: Apache-2.0 */
/*
 * i8042 keyboard controller, only as far as a guest needs it: the status and
 * command port 0x64, the data port 0x60, the controller configuration byte,
 * the self tests Linux runs, and command 0xfe (pulse the reset line), which
 * is how Linux reboots by default ("reboot=k"). No keyboard, no mouse.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "podvisor/iobus.h"
#include "podvisor/legacy.h"
#include "podvisor/vm.h"

#include "legacy_priv.h"

#define I8042_DATA    0x60
#define I8042_CMD     0x64
#define STATUS_OBF    0x01
#define STATUS_SYS    0x04
#define STATUS_CMD    0x08
#define CMD_READ_CTR  0x20
#define CMD_WRITE_CTR 0x60
#define CMD_SELF_TEST 0xaa
#define CMD_KBD_TEST  0xab
#define CMD_AUX_TEST  0xa9
#define CMD_WRITE_OUT 0xd1
#define CMD_RESET     0xfe

struct i8042 {
	struct vm *vm;
	pthread_mutex_t lock;
	uint8_t ctr; /* controller configuration byte */
	uint8_t out; /* output buffer */
	bool out_full;
	uint8_t pending; /* command waiting for its data byte */
	uint8_t status_cmd;
};

static void i8042_reply(struct i8042 *k, uint8_t v)
{
	k->out = v;
	k->out_full = true;
}

static void i8042_reset(struct i8042 *k)
{
	vm_request_stop(k->vm, VM_EXIT_REBOOT, "guest requested reboot");
}

static void i8042_command(struct i8042 *k, uint8_t cmd)
{
	k->status_cmd = STATUS_CMD;
	switch (cmd) {
	case CMD_READ_CTR:
		i8042_reply(k, k->ctr);
		break;
	case CMD_WRITE_CTR:
	case CMD_WRITE_OUT:
		k->pending = cmd;
		break;
	case CMD_SELF_TEST:
		i8042_reply(k, 0x55);
		break;
	case CMD_KBD_TEST:
	case CMD_AUX_TEST:
		i8042_reply(k, 0x00);
		break;
	case CMD_RESET:
		i8042_reset(k);
		break;
	default: /* enable/disable ports and the rest: accepted, no effect */
		break;
	}
}

static void i8042_data(struct i8042 *k, uint8_t v)
{
	k->status_cmd = 0;
	if (k->pending == CMD_WRITE_CTR)
		k->ctr = v;
	else if (k->pending == CMD_WRITE_OUT && !(v & 0x01))
		i8042_reset(k); /* bit 0 of the output port is the reset line */
	k->pending = 0;
}

static void i8042_access(struct i8042 *k, bool cmd_port, uint8_t *v,
                         bool is_write)
{
	pthread_mutex_lock(&k->lock);
	if (is_write && cmd_port) {
		i8042_command(k, *v);
	} else if (is_write) {
		i8042_data(k, *v);
	} else if (cmd_port) {
		*v =
		    STATUS_SYS | k->status_cmd | (k->out_full ? STATUS_OBF : 0);
	} else {
		*v = k->out;
		k->out_full = false;
	}
	pthread_mutex_unlock(&k->lock);
}

static void i8042_data_read(void *opaque, uint64_t off, void *data,
                            uint32_t len)
{
	memset(data, 0, len);
	i8042_access(opaque, false, data, false);
}

static void i8042_data_write(void *opaque, uint64_t off, const void *data,
                             uint32_t len)
{
	uint8_t v = *(const uint8_t *)data;

	i8042_access(opaque, false, &v, true);
}

static void i8042_cmd_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	memset(data, 0, len);
	i8042_access(opaque, true, data, false);
}

static void i8042_cmd_write(void *opaque, uint64_t off, const void *data,
                            uint32_t len)
{
	uint8_t v = *(const uint8_t *)data;

	i8042_access(opaque, true, &v, true);
}

static const struct io_ops i8042_data_ops = {
    .read = i8042_data_read,
    .write = i8042_data_write,
};

static const struct io_ops i8042_cmd_ops = {
    .read = i8042_cmd_read,
    .write = i8042_cmd_write,
};

int i8042_create(struct vm *vm, struct i8042 **out)
{
	struct i8042 *k = calloc(1, sizeof(*k));
	int r;

	if (!k)
		return -ENOMEM;
	k->vm = vm;
	pthread_mutex_init(&k->lock, NULL);
	k->ctr = 0x47; /* interrupts on, system flag, translation */
	r = io_bus_add(&vm->pio, I8042_DATA, 1, &i8042_data_ops, k);
	if (r == 0)
		r = io_bus_add(&vm->pio, I8042_CMD, 1, &i8042_cmd_ops, k);
	*out = k;
	return r;
}

void i8042_free(struct i8042 *k)
{
	if (!k)
		return;
	pthread_mutex_destroy(&k->lock);
	free(k);
}
