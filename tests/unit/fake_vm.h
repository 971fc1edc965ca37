/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test doubles for the device unit tests: io_bus_* over a small array,
 * guest_mem over one malloc'd buffer, and kvm_vm_* that record what the
 * devices asked of KVM instead of issuing ioctls.
 */
#ifndef PODVISOR_TEST_FAKE_VM_H
#define PODVISOR_TEST_FAKE_VM_H

#include <stdbool.h>
#include <stdint.h>

#include "podvisor/vm.h"

#define FAKE_MAX 64

struct fake_irqfd {
	int efd;
	uint32_t gsi;
};

struct fake_ioeventfd {
	uint64_t addr;
	uint32_t len;
	int efd;
};

struct fake_kvm_log {
	unsigned int routes_added, routes_updated, routes_deleted;
	unsigned int msi_signalled;
	uint64_t last_msi_addr;
	uint32_t last_msi_data;
	struct fake_irqfd irqfds[FAKE_MAX];
	unsigned int nr_irqfds;
	struct fake_ioeventfd ioeventfds[FAKE_MAX];
	unsigned int nr_ioeventfds;
	uint64_t route_addr[FAKE_MAX];
	uint32_t route_data[FAKE_MAX];
};

extern struct fake_kvm_log fake_kvm;

/* Builds a vm with ram_size bytes of zeroed RAM at guest address 0, empty
 * buses, a fresh event_base and a PCI bus. */
struct vm *fake_vm_create(uint64_t ram_size);
void fake_vm_destroy(struct vm *vm);

/* Host pointer of guest address gpa (test-side, unchecked by design). */
void *fake_gpa(struct vm *vm, uint64_t gpa);

/* MMIO and config space helpers, as a guest would issue them. */
uint32_t fake_mmio_read(struct vm *vm, uint64_t addr, uint32_t len);
void fake_mmio_write(struct vm *vm, uint64_t addr, uint32_t len, uint64_t val);
uint32_t fake_cfg_read(struct vm *vm, unsigned int slot, uint32_t off,
                       uint32_t len);
void fake_cfg_write(struct vm *vm, unsigned int slot, uint32_t off,
                    uint32_t len, uint32_t val);

/* Number of irqfds currently bound to gsi. */
unsigned int fake_irqfds_on(uint32_t gsi);

#endif
