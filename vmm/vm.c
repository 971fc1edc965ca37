/* SPDX-License-Identifier: Apache-2.0 */
/*
 * VM lifecycle: create (KVM, RAM, slots, buses, event base), start the
 * vCPUs, run the I/O loop, pause/resume, stop, destroy.
 */
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "podvisor/boot.h"
#include "podvisor/log.h"
#include "podvisor/util.h"
#include "podvisor/vm.h"

static void vm_stop_cb(evutil_socket_t fd, short what, void *arg)
{
	struct vm *vm = arg;

	(void)fd;
	(void)what;
	if (vm->stop_drain_ms) {
		struct timeval tv = {0, (suseconds_t)vm->stop_drain_ms * 1000};

		event_base_loopexit(vm->evbase, &tv);
	} else {
		event_base_loopbreak(vm->evbase);
	}
}

static int vm_pin_housekeeping(struct vm *vm);

static void vm_evthread_init(void)
{
	evthread_use_pthreads();
}

static int vm_create_memory(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;
	struct gmem_opts o = {
	    .ram_size = cfg->memory_mib * MiB,
	    .hugepages = cfg->hugepages,
	    .name = "podvisor-guest-ram",
	};
	int r = gmem_create(&vm->mem, &o);

	if (r < 0)
		return r;
	for (unsigned int i = 0; i < vm->mem.nr_regions; i++) {
		const struct gmem_region *g = &vm->mem.regions[i];

		r = kvm_vm_set_memory(&vm->kvm, i, g->gpa, g->size, g->hva);
		if (r < 0)
			return r;
	}
	return 0;
}

int vm_create(struct vm *vm, const struct vm_config *cfg)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	int r;

	memset(vm, 0, sizeof(*vm));
	vm->cfg = cfg;
	vm->mem.fd = -1;
	vm->kvm.sys_fd = vm->kvm.vm_fd = -1;
	vm->nr_vcpus = cfg->vcpus;
	vm->start_ns = pv_now_ns();
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->cond, NULL);
	io_bus_init(&vm->pio, "pio");
	io_bus_init(&vm->mmio, "mmio");
	/* Before any event base: vCPU threads stop the loop. */
	pthread_once(&once, vm_evthread_init);
	vm->evbase = event_base_new();
	if (!vm->evbase)
		return -ENOMEM;
	vm->stop_ev = event_new(vm->evbase, -1, 0, vm_stop_cb, vm);
	if (!vm->stop_ev)
		return -ENOMEM;
	vm->vcpus = calloc(cfg->vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return -ENOMEM;
	r = vcpu_signal_init();
	if (r < 0)
		return r;
	/* First, so every thread made later (devices, unpinned vCPUs: a
	 * shared VM's pool is its housekeeping set) inherits these CPUs. */
	r = vm_pin_housekeeping(vm);
	if (r < 0)
		return r;
	r = kvm_vm_create(&vm->kvm);
	if (r < 0)
		return r;
	vm->pvm_profile = cfg->pvm_profile == VM_PVM_ON ||
	                  (cfg->pvm_profile == VM_PVM_AUTO && vm->kvm.pvm);
	return vm_create_memory(vm);
}

void vm_destroy(struct vm *vm)
{
	if (vm->vcpus) {
		for (unsigned int i = 0; i < vm->nr_vcpus; i++)
			vcpu_destroy(vm->vcpus[i]);
		free(vm->vcpus);
		vm->vcpus = NULL;
	}
	gmem_destroy(&vm->mem);
	kvm_vm_destroy(&vm->kvm);
	if (vm->stop_ev)
		event_free(vm->stop_ev);
	if (vm->evbase)
		event_base_free(vm->evbase);
	vm->stop_ev = NULL;
	vm->evbase = NULL;
	io_bus_fini(&vm->pio);
	io_bus_fini(&vm->mmio);
}

/* Parses a cpulist such as "0-1,4" into set. */
static int vm_parse_cpulist(const char *s, cpu_set_t *set)
{
	CPU_ZERO(set);
	while (*s) {
		char *end;
		long a = strtol(s, &end, 10), b = a;

		if (end == s || a < 0 || a >= CPU_SETSIZE)
			return -EINVAL;
		if (*end == '-') {
			s = end + 1;
			b = strtol(s, &end, 10);
			if (end == s || b < a || b >= CPU_SETSIZE)
				return -EINVAL;
		}
		for (long c = a; c <= b; c++)
			CPU_SET((int)c, set);
		if (*end == ',')
			end++;
		else if (*end)
			return -EINVAL;
		s = end;
	}
	return CPU_COUNT(set) ? 0 : -EINVAL;
}

/* The I/O thread (the caller) goes to the housekeeping CPUs; the vCPU
 * threads created afterwards set their own affinity. */
static int vm_pin_housekeeping(struct vm *vm)
{
	const char *list = vm->cfg->housekeeping_cpus;
	cpu_set_t want, got;
	int r;

	if (!list)
		return 0;
	if (vm_parse_cpulist(list, &want) < 0) {
		log_err("housekeeping_cpus: '%s' is not a CPU list; give e.g. "
		        "\"0-1\"",
		        list);
		return -EINVAL;
	}
	r = pthread_setaffinity_np(pthread_self(), sizeof(want), &want);
	if (r)
		return log_err_errno(r,
		                     "housekeeping_cpus: cannot pin the "
		                     "I/O thread to %s",
		                     list);
	pthread_getaffinity_np(pthread_self(), sizeof(got), &got);
	if (!CPU_EQUAL(&want, &got)) {
		log_err("housekeeping_cpus: asked for %s but the I/O thread "
		        "runs elsewhere; check this process's cpuset",
		        list);
		return -EINVAL;
	}
	log_info("pinned the I/O thread to host CPUs %s", list);
	return 0;
}

int vm_start(struct vm *vm, const struct boot_info *bi)
{
	int r;

	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		if (vm->vcpus[i])
			continue;
		r = vcpu_create(vm, i, &vm->vcpus[i]);
		if (r < 0)
			return r;
	}
	r = boot_setup_bsp(vm, vcpu_fd(vm->vcpus[0]), bi);
	if (r < 0)
		return log_err_errno(r, "vcpu 0: boot register setup");
	pthread_mutex_lock(&vm->lock);
	vm->state = VM_STATE_RUNNING;
	vm->boot_ns = pv_now_ns();
	pthread_mutex_unlock(&vm->lock);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		int cpu = vm->cfg->vcpu_cpus[i];

		r = vcpu_start(vm->vcpus[i], cpu, NULL);
		if (r < 0) {
			vm_request_stop(vm, VM_EXIT_ERROR,
			                "a vCPU could not start");
			return r;
		}
		vm->nr_started++;
	}
	return 0;
}

void vm_request_stop(struct vm *vm, enum vm_exit_reason why, const char *detail)
{
	pthread_mutex_lock(&vm->lock);
	if (vm->exit_reason == VM_EXIT_NONE) {
		vm->exit_reason = why;
		snprintf(vm->exit_detail, sizeof(vm->exit_detail), "%s",
		         detail ? detail : vm_exit_reason_name(why));
	}
	vm->stopping = true;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	for (unsigned int i = 0; vm->vcpus && i < vm->nr_vcpus; i++)
		if (vm->vcpus[i])
			vcpu_kick(vm->vcpus[i]);
	/* An active event survives until the loop runs, unlike a
	 * loopbreak issued before the loop starts. */
	if (vm->stop_ev)
		event_active(vm->stop_ev, EV_READ, 0);
}

enum vm_exit_reason vm_run(struct vm *vm)
{
	enum vm_exit_reason why;
	bool stopping;

	pthread_mutex_lock(&vm->lock);
	stopping = vm->stopping;
	pthread_mutex_unlock(&vm->lock);
	if (!stopping &&
	    event_base_loop(vm->evbase, EVLOOP_NO_EXIT_ON_EMPTY) < 0)
		log_err("the I/O loop failed; stopping the VM");
	/* Whatever ended the loop, the vCPUs must stop before the join
	 * (a no-op but for the kicks when a reason is already set). */
	vm_request_stop(vm, VM_EXIT_ERROR, "the I/O loop failed");
	/* Joined here so the exit line comes after every vCPU left. */
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		vcpu_destroy(vm->vcpus[i]);
		vm->vcpus[i] = NULL;
	}
	pthread_mutex_lock(&vm->lock);
	vm->state = VM_STATE_STOPPED;
	why = vm->exit_reason;
	pthread_mutex_unlock(&vm->lock);
	return why;
}

int vm_pause(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	if (vm->state != VM_STATE_RUNNING || vm->stopping) {
		pthread_mutex_unlock(&vm->lock);
		return -EBUSY;
	}
	vm->state = VM_STATE_PAUSED;
	pthread_mutex_unlock(&vm->lock);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(vm->vcpus[i]);
	/* Wait until every vCPU is out of KVM_RUN: a paused VM runs no guest
	 * code, so its memory can be read consistently. */
	pthread_mutex_lock(&vm->lock);
	while (vm->nr_parked < vm->nr_started && !vm->stopping)
		pthread_cond_wait(&vm->cond, &vm->lock);
	pthread_mutex_unlock(&vm->lock);
	log_info("VM paused");
	return 0;
}

int vm_resume(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	if (vm->state != VM_STATE_PAUSED || vm->stopping) {
		pthread_mutex_unlock(&vm->lock);
		return -EBUSY;
	}
	vm->state = VM_STATE_RUNNING;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	log_info("VM resumed");
	return 0;
}

int vm_exit_status(enum vm_exit_reason why)
{
	switch (why) {
	case VM_EXIT_NONE:
	case VM_EXIT_POWEROFF:
	case VM_EXIT_STOP:
		return 0;
	case VM_EXIT_REBOOT:
		return 3;
	case VM_EXIT_TRIPLE_FAULT:
		return 4;
	case VM_EXIT_INTERNAL:
		return 5;
	case VM_EXIT_ERROR:
	default:
		return 1;
	}
}

const char *vm_state_name(enum vm_state state)
{
	static const char *const names[] = {
	    [VM_STATE_CREATED] = "created",
	    [VM_STATE_RUNNING] = "running",
	    [VM_STATE_PAUSED] = "paused",
	    [VM_STATE_STOPPED] = "stopped",
	};

	return (unsigned int)state < ARRAY_SIZE(names) ? names[state] : "?";
}

const char *vm_exit_reason_name(enum vm_exit_reason why)
{
	static const char *const names[] = {
	    [VM_EXIT_NONE] = "none",
	    [VM_EXIT_POWEROFF] = "poweroff",
	    [VM_EXIT_REBOOT] = "reboot",
	    [VM_EXIT_STOP] = "stopped",
	    [VM_EXIT_TRIPLE_FAULT] = "triple_fault",
	    [VM_EXIT_INTERNAL] = "kvm_internal_error",
	    [VM_EXIT_ERROR] = "vmm_error",
	};

	return (unsigned int)why < ARRAY_SIZE(names) ? names[why] : "?";
}
