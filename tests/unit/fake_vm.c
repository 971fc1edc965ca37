// SPDX-License-Identifier: Apache-2.0
/* Test doubles for devices/: see fake_vm.h. */
#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "fake_vm.h"
#include "podvisor/guest_mem.h"
#include "podvisor/iobus.h"
#include "podvisor/kvm.h"
#include "podvisor/pci.h"
#include "podvisor/vm.h"

struct fake_kvm_log fake_kvm;

/* ---- io_bus ---- */

void io_bus_init(struct io_bus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
	pthread_rwlock_init(&bus->lock, NULL);
}

void io_bus_fini(struct io_bus *bus)
{
	free(bus->ranges);
	pthread_rwlock_destroy(&bus->lock);
}

static bool overlaps(struct io_bus *bus, uint64_t base, uint64_t len,
                     const struct io_range *skip)
{
	for (size_t i = 0; i < bus->nr; i++) {
		struct io_range *r = &bus->ranges[i];

		if (r == skip)
			continue;
		if (base < r->base + r->len && r->base < base + len)
			return true;
	}
	return false;
}

int io_bus_add(struct io_bus *bus, uint64_t base, uint64_t len,
               const struct io_ops *ops, void *opaque)
{
	if (!len)
		return -EINVAL;
	if (overlaps(bus, base, len, NULL))
		return -EEXIST;
	if (bus->nr == bus->cap) {
		size_t cap = bus->cap ? bus->cap * 2 : 8;
		void *p = realloc(bus->ranges, cap * sizeof(*bus->ranges));

		if (!p)
			return -ENOMEM;
		bus->ranges = p;
		bus->cap = cap;
	}
	bus->ranges[bus->nr++] = (struct io_range){base, len, ops, opaque};
	return 0;
}

static struct io_range *find(struct io_bus *bus, uint64_t base, void *opaque)
{
	for (size_t i = 0; i < bus->nr; i++)
		if (bus->ranges[i].base == base &&
		    bus->ranges[i].opaque == opaque)
			return &bus->ranges[i];
	return NULL;
}

int io_bus_remove(struct io_bus *bus, uint64_t base, void *opaque)
{
	struct io_range *r = find(bus, base, opaque);

	if (!r)
		return -ENOENT;
	*r = bus->ranges[--bus->nr];
	return 0;
}

int io_bus_move(struct io_bus *bus, uint64_t old_base, uint64_t new_base,
                void *opaque)
{
	struct io_range *r = find(bus, old_base, opaque);

	if (!r)
		return -ENOENT;
	if (overlaps(bus, new_base, r->len, r))
		return -EEXIST;
	r->base = new_base;
	return 0;
}

int io_bus_access(struct io_bus *bus, uint64_t addr, void *data, uint32_t len,
                  bool is_write)
{
	for (size_t i = 0; i < bus->nr; i++) {
		struct io_range *r = &bus->ranges[i];

		if (addr < r->base || addr + len > r->base + r->len)
			continue;
		if (is_write && r->ops->write)
			r->ops->write(r->opaque, addr - r->base, data, len);
		else if (!is_write && r->ops->read)
			r->ops->read(r->opaque, addr - r->base, data, len);
		else if (!is_write)
			memset(data, 0xff, len);
		return 0;
	}
	if (!is_write)
		memset(data, 0xff, len);
	return -ENOENT;
}

/* ---- guest memory ---- */

void *gmem_ptr_at(const struct guest_mem *gm, uint64_t gpa, uint64_t len,
                  const char *file, int line)
{
	(void)file;
	(void)line;
	for (unsigned int i = 0; i < gm->nr_regions; i++) {
		const struct gmem_region *r = &gm->regions[i];

		if (gpa + len < gpa)
			return NULL;
		if (gpa >= r->gpa && gpa + len <= r->gpa + r->size)
			return r->hva + (gpa - r->gpa);
	}
	return NULL;
}

bool gmem_contains(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	return gmem_ptr_at(gm, gpa, len, __FILE__, __LINE__) != NULL;
}

uint64_t gmem_low_end(const struct guest_mem *gm)
{
	return gm->regions[0].size;
}

/* ---- kvm ---- */

int kvm_vm_irq_line(struct kvm_vm *vm, uint32_t irq, int level)
{
	return 0;
}

int kvm_vm_msi_route_add(struct kvm_vm *vm, uint64_t addr, uint32_t data)
{
	for (uint32_t g = 0; g < FAKE_MAX; g++) {
		if (vm->msi_used[KVM_IOAPIC_PINS + g])
			continue;
		vm->msi_used[KVM_IOAPIC_PINS + g] = 1;
		fake_kvm.route_addr[g] = addr;
		fake_kvm.route_data[g] = data;
		fake_kvm.routes_added++;
		return (int)(KVM_IOAPIC_PINS + g);
	}
	return -ENOSPC;
}

int kvm_vm_msi_route_update(struct kvm_vm *vm, uint32_t gsi, uint64_t addr,
                            uint32_t data)
{
	if (gsi < KVM_IOAPIC_PINS || gsi >= KVM_IOAPIC_PINS + FAKE_MAX ||
	    !vm->msi_used[gsi])
		return -EINVAL;
	fake_kvm.route_addr[gsi - KVM_IOAPIC_PINS] = addr;
	fake_kvm.route_data[gsi - KVM_IOAPIC_PINS] = data;
	fake_kvm.routes_updated++;
	return 0;
}

int kvm_vm_msi_route_del(struct kvm_vm *vm, uint32_t gsi)
{
	if (gsi < KVM_IOAPIC_PINS || gsi >= KVM_IOAPIC_PINS + FAKE_MAX ||
	    !vm->msi_used[gsi])
		return -EINVAL;
	vm->msi_used[gsi] = 0;
	fake_kvm.routes_deleted++;
	return 0;
}

int kvm_vm_signal_msi(struct kvm_vm *vm, uint64_t addr, uint32_t data)
{
	fake_kvm.msi_signalled++;
	fake_kvm.last_msi_addr = addr;
	fake_kvm.last_msi_data = data;
	return 0;
}

int kvm_vm_irqfd(struct kvm_vm *vm, int efd, uint32_t gsi, bool assign)
{
	struct fake_kvm_log *k = &fake_kvm;

	if (assign) {
		if (k->nr_irqfds == FAKE_MAX)
			return -ENOSPC;
		k->irqfds[k->nr_irqfds++] = (struct fake_irqfd){efd, gsi};
		return 0;
	}
	for (unsigned int i = 0; i < k->nr_irqfds; i++) {
		if (k->irqfds[i].efd == efd && k->irqfds[i].gsi == gsi) {
			k->irqfds[i] = k->irqfds[--k->nr_irqfds];
			return 0;
		}
	}
	return -ENOENT;
}

int kvm_vm_ioeventfd(struct kvm_vm *vm, uint64_t addr, uint32_t len, bool pio,
                     int efd, bool assign)
{
	struct fake_kvm_log *k = &fake_kvm;

	if (assign) {
		if (k->nr_ioeventfds == FAKE_MAX)
			return -ENOSPC;
		k->ioeventfds[k->nr_ioeventfds++] =
		    (struct fake_ioeventfd){addr, len, efd};
		return 0;
	}
	for (unsigned int i = 0; i < k->nr_ioeventfds; i++) {
		if (k->ioeventfds[i].efd == efd &&
		    k->ioeventfds[i].addr == addr) {
			k->ioeventfds[i] = k->ioeventfds[--k->nr_ioeventfds];
			return 0;
		}
	}
	return -ENOENT;
}

unsigned int fake_irqfds_on(uint32_t gsi)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < fake_kvm.nr_irqfds; i++)
		n += fake_kvm.irqfds[i].gsi == gsi;
	return n;
}

void vm_request_stop(struct vm *vm, enum vm_exit_reason why, const char *detail)
{
	vm->exit_reason = why;
}

/* ---- the VM ---- */

struct vm *fake_vm_create(uint64_t ram_size)
{
	struct vm *vm = calloc(1, sizeof(*vm));
	static struct vm_config cfg;

	memset(&fake_kvm, 0, sizeof(fake_kvm));
	vm->cfg = &cfg;
	vm->mem.regions[0].hva = calloc(1, ram_size);
	vm->mem.regions[0].size = ram_size;
	vm->mem.nr_regions = 1;
	vm->mem.ram_size = ram_size;
	vm->mem.fd = -1;
	io_bus_init(&vm->pio, "pio");
	io_bus_init(&vm->mmio, "mmio");
	vm->evbase = event_base_new();
	vm->pci = pci_bus_create(&vm->pio, &vm->mmio);
	pthread_mutex_init(&vm->lock, NULL);
	return vm;
}

void fake_vm_destroy(struct vm *vm)
{
	pci_bus_destroy(vm->pci);
	event_base_free(vm->evbase);
	io_bus_fini(&vm->pio);
	io_bus_fini(&vm->mmio);
	free(vm->mem.regions[0].hva);
	pthread_mutex_destroy(&vm->lock);
	free(vm);
}

void *fake_gpa(struct vm *vm, uint64_t gpa)
{
	return vm->mem.regions[0].hva + gpa;
}

uint32_t fake_mmio_read(struct vm *vm, uint64_t addr, uint32_t len)
{
	uint64_t v = 0;

	io_bus_access(&vm->mmio, addr, &v, len, false);
	return (uint32_t)v;
}

void fake_mmio_write(struct vm *vm, uint64_t addr, uint32_t len, uint64_t val)
{
	io_bus_access(&vm->mmio, addr, &val, len, true);
}

static void cfg_select(struct vm *vm, unsigned int slot, uint32_t off)
{
	uint32_t a = 0x80000000u | slot << 11 | (off & 0xfc);

	io_bus_access(&vm->pio, PCI_CONFIG_ADDR_PORT, &a, 4, true);
}

uint32_t fake_cfg_read(struct vm *vm, unsigned int slot, uint32_t off,
                       uint32_t len)
{
	uint32_t v = 0;

	cfg_select(vm, slot, off);
	io_bus_access(&vm->pio, PCI_CONFIG_DATA_PORT + (off & 3), &v, len,
	              false);
	return v;
}

void fake_cfg_write(struct vm *vm, unsigned int slot, uint32_t off,
                    uint32_t len, uint32_t val)
{
	cfg_select(vm, slot, off);
	io_bus_access(&vm->pio, PCI_CONFIG_DATA_PORT + (off & 3), &val, len,
	              true);
}
