/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The KVM VM file descriptor and what devices need from it: interrupt lines,
 * MSI routes, irqfds and ioeventfds. Every ioctl goes through kvm_ioctl(),
 * which logs the request's name, the result and errno when it fails;
 * kvm_ioctl_raw() is for calls that are expected to fail sometimes.
 *
 * GSIs 0-23 are the in-kernel IOAPIC pins; MSI routes are allocated from 24
 * up. The routing table is rebuilt and committed (KVM_SET_GSI_ROUTING) under
 * routes_lock on every change, so callers may use it from any thread.
 */
#ifndef PODVISOR_KVM_H
#define PODVISOR_KVM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define KVM_IOAPIC_PINS    24
#define KVM_MAX_GSI_ROUTES 1024

struct kvm_irq_routing_entry;

struct kvm_vm {
	int sys_fd; /* /dev/kvm */
	int vm_fd;
	int vcpu_mmap_size;
	bool pvm; /* /dev/kvm is the kvm_pvm module */
	pthread_mutex_t routes_lock;
	struct kvm_irq_routing_entry *routes; /* KVM_MAX_GSI_ROUTES slots */
	uint32_t nr_routes;
	uint8_t msi_used[KVM_MAX_GSI_ROUTES]; /* by GSI */
};

int kvm_ioctl_at(int fd, unsigned long req, void *arg, const char *name,
                 const char *file, int line);
#define kvm_ioctl(fd, req, arg)                                                \
	kvm_ioctl_at((fd), (req), (void *)(arg), #req, __FILE__, __LINE__)
/* Returns the ioctl result or -errno without logging. */
int kvm_ioctl_raw(int fd, unsigned long req, void *arg);

/* True when /dev/kvm is the PVM module (software nested virtualization). */
bool kvm_host_is_pvm(void);

/*
 * Opens /dev/kvm, checks the API version and every capability podvisor
 * needs (logging the missing one), creates the VM with the in-kernel irqchip
 * and PIT and installs the default GSI routes. Returns 0 or -errno; call
 * kvm_vm_destroy() in both cases.
 */
int kvm_vm_create(struct kvm_vm *vm);
void kvm_vm_destroy(struct kvm_vm *vm);

/* Maps [gpa, gpa + size) of the guest to hva as memory slot slot. */
int kvm_vm_set_memory(struct kvm_vm *vm, uint32_t slot, uint64_t gpa,
                      uint64_t size, void *hva);

/* Asserts (level 1) or deasserts (0) an IOAPIC/PIC input. */
int kvm_vm_irq_line(struct kvm_vm *vm, uint32_t irq, int level);

/* Adds an MSI route; returns its GSI (>= KVM_IOAPIC_PINS) or -errno. */
int kvm_vm_msi_route_add(struct kvm_vm *vm, uint64_t addr, uint32_t data);
int kvm_vm_msi_route_update(struct kvm_vm *vm, uint32_t gsi, uint64_t addr,
                            uint32_t data);
int kvm_vm_msi_route_del(struct kvm_vm *vm, uint32_t gsi);

/* Injects one MSI directly (KVM_SIGNAL_MSI). */
int kvm_vm_signal_msi(struct kvm_vm *vm, uint64_t addr, uint32_t data);

/* Binds (assign) or unbinds an eventfd to a GSI with KVM_IRQFD. */
int kvm_vm_irqfd(struct kvm_vm *vm, int efd, uint32_t gsi, bool assign);

/*
 * Binds an eventfd to guest writes of len bytes at addr (any value), on the
 * port bus when pio, else MMIO. The write then never exits to userspace.
 */
int kvm_vm_ioeventfd(struct kvm_vm *vm, uint64_t addr, uint32_t len, bool pio,
                     int efd, bool assign);

#endif
