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
#include <sched.h>
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
struct legacy;
struct vm_control;
struct boot_info;
struct event;

enum vm_state {
	VM_STATE_CREATED,
	VM_STATE_RUNNING,
	VM_STATE_PAUSED,
	VM_STATE_STOPPED,
};

/* Why the VM stopped; decides the process exit status. */
enum vm_exit_reason {
	VM_EXIT_NONE,
	VM_EXIT_POWEROFF, /* guest powered off: exit 0 */
	VM_EXIT_REBOOT,   /* guest asked for a reset */
	VM_EXIT_STOP,     /* stopped through the control socket */
	VM_EXIT_TRIPLE_FAULT,
	VM_EXIT_INTERNAL, /* KVM internal or emulation error */
	VM_EXIT_ERROR,    /* VMM error */
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

	/* Added by runtime: */
	bool pvm_profile;           /* PVM compatibility profile applied */
	bool stopping;              /* vm_request_stop() was called */
	unsigned int nr_parked;     /* vCPUs parked by vm_pause() */
	unsigned int nr_started;    /* vCPU threads running */
	struct event *stop_ev;      /* breaks the I/O loop */
	uint64_t boot_ns;           /* when the vCPUs started */
	struct legacy *legacy;      /* devices/legacy.c state */
	unsigned int stop_drain_ms; /* keep serving this long after stop */
	bool virtio_driven;         /* some virtio device reached DRIVER_OK */
};

/*
 * Ends the VM for the given reason (first reason wins): every vCPU leaves
 * KVM_RUN and the I/O loop breaks. Safe from any thread, including vCPUs.
 */
void vm_request_stop(struct vm *vm, enum vm_exit_reason why,
                     const char *detail);

/*
 * Creates the KVM VM, guest RAM (not touched, so NUMA policy can still be
 * applied), its memory slots, both buses and the I/O thread's event base.
 * cfg must outlive vm. Returns 0 or -errno after logging; call vm_destroy()
 * in both cases. vm->nr_vcpus is cfg->vcpus from here on.
 */
int vm_create(struct vm *vm, const struct vm_config *cfg);

/* Joins every vCPU thread, then frees what vm_create made. Devices must be
 * destroyed before. */
void vm_destroy(struct vm *vm);

/*
 * Creates the vCPUs (CPUID for each, registers of the BSP from bi), applies
 * cfg->vcpu_cpus pinning and starts one thread per vCPU. APs wait for
 * INIT/SIPI from the in-kernel LAPIC.
 */
int vm_start(struct vm *vm, const struct boot_info *bi);

/* Runs the I/O thread's loop on the calling thread until the VM stops,
 * then waits for the vCPU threads. Returns the exit reason. */
enum vm_exit_reason vm_run(struct vm *vm);

/* Parks every vCPU outside KVM_RUN (-EBUSY unless running), and back. */
int vm_pause(struct vm *vm);
int vm_resume(struct vm *vm);

/* Exit status of podvisor-vmm for a reason (see the common rules). */
int vm_exit_status(enum vm_exit_reason why);
const char *vm_state_name(enum vm_state state);
const char *vm_exit_reason_name(enum vm_exit_reason why);

/*
 * Serves the control socket at path on vm->evbase (routes in
 * vmm/control.c: GET /v1/vm, /v1/vm/config, /v1/vm/console,
 * PUT|POST /v1/vm/pause, /resume, /stop). Returns 0 or -errno after logging.
 */
int vm_control_start(struct vm *vm, const char *path, struct vm_control **out);
/* Closes and unlinks the socket; NULL is fine. */
void vm_control_stop(struct vm_control *ctl);

/* vcpu.c, used by vm.c: one vCPU's fd, kvm_run page and thread. */
int vcpu_create(struct vm *vm, unsigned int index, struct vcpu **out);
/* Starts the thread, pinned to host_cpu when >= 0 (checked after), else
 * on the CPUs of unpinned (NULL: inherited from the caller). */
int vcpu_start(struct vcpu *vcpu, int host_cpu, const cpu_set_t *unpinned);
/* Makes the vCPU leave KVM_RUN soon (immediate_exit and a signal). */
void vcpu_kick(struct vcpu *vcpu);
int vcpu_fd(const struct vcpu *vcpu);
/* Joins the thread if started, unmaps and closes. */
void vcpu_destroy(struct vcpu *vcpu);
/* Installs the kick signal's handler; once per process. */
int vcpu_signal_init(void);

#endif
