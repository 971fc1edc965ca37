/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One virtual machine inside podvisor-vmm: KVM, guest RAM, the I/O buses,
 * the vCPU threads and the I/O thread whose libevent loop serves device
 * fds (ioeventfds, backing sockets) and the control socket.
 *
 * Threads: each vCPU thread runs KVM_RUN and dispatches PIO/MMIO exits to the
 * buses; the I/O thread runs evbase. Devices lock their own state.
 */
#ifndef PODVISOR_VM_H
#define PODVISOR_VM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "podvisor/guest_mem.h"
#include "podvisor/iobus.h"
#include "podvisor/kvm.h"
#include "podvisor/vm_config.h"

struct event_base;
struct pci_bus;
struct serial;
struct vcpu;

enum vm_state {
	VM_STATE_CREATED,
	VM_STATE_RUNNING,
	VM_STATE_PAUSED,
	VM_STATE_STOPPED,
};

/* Why the VM stopped; decides the process exit status. */
enum vm_exit_reason {
	VM_EXIT_NONE,
	VM_EXIT_POWEROFF,    /* guest powered off: exit 0 */
	VM_EXIT_REBOOT,	     /* guest asked for a reset */
	VM_EXIT_STOP,	     /* stopped through the control socket */
	VM_EXIT_TRIPLE_FAULT,
	VM_EXIT_INTERNAL,    /* KVM internal or emulation error */
	VM_EXIT_ERROR,	     /* VMM error */
};

struct vm {
	const struct vm_config *cfg;
	struct kvm_vm kvm;
	struct guest_mem mem;
	struct io_bus pio;
	struct io_bus mmio;
	struct event_base *evbase; /* I/O thread loop */
	struct pci_bus *pci;
	struct serial *serial;
	struct vcpu **vcpus;
	unsigned int nr_vcpus;

	pthread_mutex_t lock; /* state, exit_reason */
	pthread_cond_t cond;
	enum vm_state state;
	enum vm_exit_reason exit_reason;
	char exit_detail[160];
	uint64_t start_ns;
};

/*
 * Ends the VM for the given reason (first reason wins): every vCPU leaves
 * KVM_RUN and the I/O loop breaks. Safe from any thread, including vCPUs.
 */
void vm_request_stop(struct vm *vm, enum vm_exit_reason why,
		     const char *detail);

#endif
