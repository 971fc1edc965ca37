/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vCPU threads: KVM_RUN and the exits that come back to userspace. Port and
 * MMIO accesses go to the VM's buses; shutdown, internal errors and system
 * events end the VM with the matching reason.
 */
#include <errno.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "podvisor/boot.h"
#include "podvisor/log.h"
#include "podvisor/util.h"
#include "podvisor/vm.h"

struct vcpu {
	struct vm *vm;
	unsigned int index;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	uint64_t unclaimed_logged; /* rate limit of "nothing at port" logs */
};

static void vcpu_sig_handler(int sig)
{
	(void)sig;
}

int vcpu_signal_init(void)
{
	struct sigaction sa = {.sa_handler = vcpu_sig_handler};

	/* No SA_RESTART: the signal must make KVM_RUN return EINTR. */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGRTMIN, &sa, NULL) < 0)
		return log_err_errno(errno, "sigaction(SIGRTMIN)");
	return 0;
}

int vcpu_create(struct vm *vm, unsigned int index, struct vcpu **out)
{
	struct vcpu *v = calloc(1, sizeof(*v));
	void *run;
	int r;

	if (!v)
		return -ENOMEM;
	v->vm = vm;
	v->index = index;
	v->fd = kvm_ioctl(vm->kvm.vm_fd, KVM_CREATE_VCPU, (long)index);
	if (v->fd < 0) {
		r = v->fd;
		free(v);
		return r;
	}
	run = mmap(NULL, (size_t)vm->kvm.vcpu_mmap_size, PROT_READ | PROT_WRITE,
	           MAP_SHARED, v->fd, 0);
	if (run == MAP_FAILED) {
		r = log_err_errno(errno, "vcpu %u: mmap of kvm_run", index);
		close(v->fd);
		free(v);
		return r;
	}
	v->run = run;
	*out = v;
	r = cpuid_setup_vcpu(vm, v->fd, index, vm->pvm_profile);
	if (r < 0)
		return log_err_errno(r, "vcpu %u: CPUID setup", index);
	return 0;
}

int vcpu_fd(const struct vcpu *vcpu)
{
	return vcpu->fd;
}

void vcpu_kick(struct vcpu *vcpu)
{
	/* immediate_exit covers a signal that lands just before KVM_RUN. */
	__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	if (vcpu->started)
		pthread_kill(vcpu->thread, SIGRTMIN);
}

static uint64_t vcpu_rip(struct vcpu *v)
{
	struct kvm_regs regs;

	if (kvm_ioctl_raw(v->fd, KVM_GET_REGS, &regs) < 0)
		return 0;
	return regs.rip;
}

static void vcpu_exit_io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool wr = run->io.direction == KVM_EXIT_IO_OUT;
	uint32_t size = run->io.size;

	/* String I/O (rep ins/outs) arrives as count items back to back in
	 * the kvm_run mapping; KVM keeps them inside it, checked anyway so a
	 * kernel bug cannot make us write past the mapping. */
	if (run->io.data_offset > (uint64_t)v->vm->kvm.vcpu_mmap_size ||
	    (uint64_t)run->io.count * size >
	        v->vm->kvm.vcpu_mmap_size - run->io.data_offset) {
		vm_request_stop(v->vm, VM_EXIT_INTERNAL,
		                "KVM internal error: port I/O data outside "
		                "the kvm_run mapping");
		return;
	}
	for (uint32_t i = 0; i < run->io.count; i++) {
		int r = io_bus_access(&v->vm->pio, run->io.port,
		                      data + (size_t)i * size, size, wr);

		if (r == -ENOENT && v->unclaimed_logged < 8) {
			v->unclaimed_logged++;
			log_debug("vcpu %u: %s of %u bytes at unclaimed port "
			          "0x%x",
			          v->index, wr ? "write" : "read", size,
			          run->io.port);
		}
	}
}

static void vcpu_exit_mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint32_t len = run->mmio.len;
	int r;

	if (len == 0 || len > sizeof(run->mmio.data))
		return;
	r = io_bus_access(&v->vm->mmio, run->mmio.phys_addr, run->mmio.data,
	                  len, run->mmio.is_write);
	if (r == -ENOENT && v->unclaimed_logged < 8) {
		v->unclaimed_logged++;
		log_debug("vcpu %u: MMIO %s of %u bytes at unclaimed 0x%llx",
		          v->index, run->mmio.is_write ? "write" : "read", len,
		          (unsigned long long)run->mmio.phys_addr);
	}
}

static void vcpu_exit_internal(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	char detail[160];

	if (run->exit_reason == KVM_EXIT_FAIL_ENTRY)
		snprintf(detail, sizeof(detail),
		         "KVM internal error: vcpu %u failed to enter the "
		         "guest (hardware reason 0x%llx) at rip=0x%" PRIx64,
		         v->index,
		         (unsigned long long)
		             run->fail_entry.hardware_entry_failure_reason,
		         vcpu_rip(v));
	else
		snprintf(detail, sizeof(detail),
		         "KVM internal error: vcpu %u suberror %u%s at "
		         "rip=0x%" PRIx64,
		         v->index, run->internal.suberror,
		         run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION
		             ? " (instruction emulation failed)"
		             : "",
		         vcpu_rip(v));
	vm_request_stop(v->vm, VM_EXIT_INTERNAL, detail);
}

static void vcpu_exit_system_event(struct vcpu *v)
{
	switch (v->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		vm_request_stop(v->vm, VM_EXIT_POWEROFF, "guest powered off");
		break;
	case KVM_SYSTEM_EVENT_RESET:
		vm_request_stop(v->vm, VM_EXIT_REBOOT,
		                "guest requested reboot");
		break;
	default:
		vm_request_stop(v->vm, VM_EXIT_TRIPLE_FAULT,
		                "guest crashed: system event crash");
		break;
	}
}

/* Returns false when the vCPU must stop running. */
static bool vcpu_handle_exit(struct vcpu *v)
{
	char detail[160];

	switch (v->run->exit_reason) {
	case KVM_EXIT_IO:
		vcpu_exit_io(v);
		return true;
	case KVM_EXIT_MMIO:
		vcpu_exit_mmio(v);
		return true;
	case KVM_EXIT_INTR:
	case KVM_EXIT_HLT: /* in-kernel LAPIC: HLT normally stays there */
		return true;
	case KVM_EXIT_SHUTDOWN:
		snprintf(detail, sizeof(detail),
		         "guest crashed: triple fault at rip=0x%" PRIx64
		         " (vcpu %u)",
		         vcpu_rip(v), v->index);
		vm_request_stop(v->vm, VM_EXIT_TRIPLE_FAULT, detail);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
	case KVM_EXIT_INTERNAL_ERROR:
		vcpu_exit_internal(v);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		vcpu_exit_system_event(v);
		return false;
	default:
		snprintf(detail, sizeof(detail),
		         "KVM internal error: vcpu %u unexpected exit reason "
		         "%u at rip=0x%" PRIx64,
		         v->index, v->run->exit_reason, vcpu_rip(v));
		vm_request_stop(v->vm, VM_EXIT_INTERNAL, detail);
		return false;
	}
}

/* Parks while paused; returns false once the VM is stopping. */
static bool vcpu_wait_runnable(struct vcpu *v)
{
	struct vm *vm = v->vm;
	bool go;

	/* Cleared before reading the state: a kick after this point is
	 * either seen here or makes the next KVM_RUN return at once. */
	__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
	pthread_mutex_lock(&vm->lock);
	while (vm->state == VM_STATE_PAUSED && !vm->stopping) {
		vm->nr_parked++;
		pthread_cond_broadcast(&vm->cond);
		pthread_cond_wait(&vm->cond, &vm->lock);
		vm->nr_parked--;
	}
	go = !vm->stopping;
	pthread_mutex_unlock(&vm->lock);
	return go;
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	char name[16];

	snprintf(name, sizeof(name), "vcpu%u", v->index);
	pthread_setname_np(pthread_self(), name);
	while (vcpu_wait_runnable(v)) {
		int r = kvm_ioctl_raw(v->fd, KVM_RUN, NULL);

		if (r == -EINTR || r == -EAGAIN)
			continue;
		if (r < 0) {
			char detail[160];

			snprintf(detail, sizeof(detail),
			         "vcpu %u: KVM_RUN failed: %s", v->index,
			         strerror(-r));
			vm_request_stop(v->vm, VM_EXIT_ERROR, detail);
			break;
		}
		if (!vcpu_handle_exit(v))
			break;
	}
	return NULL;
}

/* Reads the affinity back: a cpuset cgroup can silently narrow it. */
static int vcpu_check_pinned(struct vcpu *v, int host_cpu)
{
	cpu_set_t got;
	int r;

	CPU_ZERO(&got);
	r = pthread_getaffinity_np(v->thread, sizeof(got), &got);
	if (r)
		return log_err_errno(r, "vcpu %u: cannot read its affinity",
		                     v->index);
	if (CPU_COUNT(&got) != 1 || !CPU_ISSET(host_cpu, &got)) {
		log_err("vcpu %u: pinned to host CPU %d but runs on %d CPUs; "
		        "check the cpuset of this process",
		        v->index, host_cpu, CPU_COUNT(&got));
		return -EINVAL;
	}
	log_info("pinned vcpu %u to host CPU %d", v->index, host_cpu);
	return 0;
}

int vcpu_start(struct vcpu *vcpu, int host_cpu, const cpu_set_t *unpinned)
{
	pthread_attr_t attr;
	cpu_set_t set;
	int r;

	pthread_attr_init(&attr);
	if (host_cpu >= 0) {
		if (host_cpu >= CPU_SETSIZE) {
			pthread_attr_destroy(&attr);
			return -EINVAL;
		}
		CPU_ZERO(&set);
		CPU_SET(host_cpu, &set);
		pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
	} else if (unpinned && CPU_COUNT(unpinned)) {
		pthread_attr_setaffinity_np(&attr, sizeof(*unpinned), unpinned);
	}
	r = pthread_create(&vcpu->thread, &attr, vcpu_thread, vcpu);
	pthread_attr_destroy(&attr);
	if (r)
		return log_err_errno(r, "vcpu %u: cannot start its thread%s",
		                     vcpu->index,
		                     host_cpu >= 0 ? " on its host CPU" : "");
	vcpu->started = true;
	return host_cpu >= 0 ? vcpu_check_pinned(vcpu, host_cpu) : 0;
}

void vcpu_destroy(struct vcpu *vcpu)
{
	if (!vcpu)
		return;
	if (vcpu->started)
		pthread_join(vcpu->thread, NULL);
	if (vcpu->run)
		munmap(vcpu->run, (size_t)vcpu->vm->kvm.vcpu_mmap_size);
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	free(vcpu);
}
