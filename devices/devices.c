// SPDX-License-Identifier: Apache-2.0
/*
 * Creates the VM's devices from its configuration: the legacy platform
 * devices, then the PCI bus and one row of the table below per device type,
 * at the fixed slots documented in devices.h.
 */
#include <errno.h>

#include "podvisor/devices.h"
#include "podvisor/legacy.h"
#include "podvisor/log.h"
#include "podvisor/pci.h"
#include "podvisor/virtio.h"
#include "podvisor/virtio_net.h"
#include "podvisor/vm.h"

struct device_type {
	const char *name;
	unsigned int first_slot;
	/* How many of this type vm->cfg asks for. */
	unsigned int (*count)(const struct vm_config *cfg);
	int (*create)(struct vm *vm, unsigned int index, unsigned int slot);
};

static unsigned int count_disks(const struct vm_config *cfg)
{
	return cfg->nr_disks;
}

static unsigned int count_rng(const struct vm_config *cfg)
{
	return cfg->rng;
}

static int create_rng(struct vm *vm, unsigned int index, unsigned int slot)
{
	return virtio_rng_create(vm, slot);
}

static unsigned int count_console(const struct vm_config *cfg)
{
	return cfg->console_socket != NULL;
}

static int create_console(struct vm *vm, unsigned int index, unsigned int slot)
{
	return virtio_console_create(vm, slot);
}

static unsigned int count_vsock(const struct vm_config *cfg)
{
	return cfg->vsock.enabled;
}

static int create_vsock(struct vm *vm, unsigned int index, unsigned int slot)
{
	return virtio_vsock_create(vm, slot);
}

static unsigned int count_nets(const struct vm_config *cfg)
{
	return cfg->nr_nets;
}

/* One row per device type, in slot order (devices.h). virtio-net rows
 * belong to the vhost-user work and go last. */
static const struct device_type device_types[] = {
    /* clang-format off */
	{"virtio-blk", VIRTIO_SLOT_DISK0, count_disks, virtio_blk_create},
	{"virtio-console", VIRTIO_SLOT_CONSOLE, count_console, create_console},
	{"virtio-rng", VIRTIO_SLOT_RNG, count_rng, create_rng},
	{"virtio-vsock", VIRTIO_SLOT_VSOCK, count_vsock, create_vsock},
	{"virtio-net", VIRTIO_SLOT_NET0, count_nets, virtio_net_create},
    /* clang-format on */
};

int devices_create(struct vm *vm)
{
	int r = legacy_devices_create(vm);

	if (r < 0)
		return r;
	vm->pci = pci_bus_create(&vm->pio, &vm->mmio);
	if (!vm->pci)
		return log_err_errno(errno, "cannot create the PCI bus");
	for (size_t t = 0; t < sizeof(device_types) / sizeof(device_types[0]);
	     t++) {
		const struct device_type *dt = &device_types[t];
		unsigned int n = dt->count(vm->cfg);

		for (unsigned int i = 0; i < n; i++) {
			r = dt->create(vm, i, dt->first_slot + i);
			if (r < 0)
				return log_err_errno(r, "cannot create %s %u",
				                     dt->name, i);
		}
	}
	return 0;
}

void devices_destroy(struct vm *vm)
{
	if (vm->pci) {
		for (unsigned int s = 1; s < PCI_MAX_SLOTS; s++) {
			struct virtio_dev *vdev = virtio_dev_at_slot(vm, s);

			if (vdev)
				virtio_dev_destroy(vdev);
		}
		pci_bus_destroy(vm->pci);
		vm->pci = NULL;
	}
	legacy_devices_destroy(vm);
}
