/* SPDX-License-Identifier: Apache-2.0 */
/*
 * podvisor-vmm: one KVM virtual machine per process. Reads the config,
 * creates the VM (memory before anything touches it), its devices, loads
 * the kernel, starts the vCPUs, serves the I/O loop until the VM stops and
 * exits with the status of the stop reason (see vm_exit_status()).
 */
#include <errno.h>
#include <event2/event.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "podvisor/boot.h"
#include "podvisor/config.h"
#include "podvisor/devices.h"
#include "podvisor/log.h"
#include "podvisor/sandbox.h"
#include "podvisor/util.h"
#include "podvisor/vm.h"

#define EXIT_VMM_ERROR  1
#define EXIT_BAD_CONFIG 2

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	char detail[64];

	(void)what;
	snprintf(detail, sizeof(detail), "stopped by signal %s",
	         sig == SIGINT ? "SIGINT" : "SIGTERM");
	vm_request_stop(arg, VM_EXIT_STOP, detail);
}

/* Parses and validates; returns 0 to run, or the process exit status + 1
 * (so 1 means "exit 0 now", for --help and --version). */
static int load_config(struct vm_config *cfg, int argc, char **argv)
{
	struct vm_config_error err;
	struct vm_host_limits host;
	struct vm_cli cli;

	memset(&err, 0, sizeof(err));

	if (vm_config_parse_args(cfg, &cli, argc, argv, &err) < 0) {
		log_err("%s: %s", err.field, err.message);
		return EXIT_BAD_CONFIG + 1;
	}
	if (cli.help) {
		fputs(vm_config_usage(), stdout);
		return 1;
	}
	if (cli.version) {
		printf("podvisor-vmm %s\n", PODVISOR_VERSION);
		return 1;
	}
	if (cli.log_level >= 0)
		pv_log_init("podvisor-vmm", (enum pv_log_level)cli.log_level);
	vm_host_limits_read(&host);
	if (vm_config_validate(cfg, &host, &err) < 0) {
		log_err("%s: %s", err.field, err.message);
		return EXIT_BAD_CONFIG + 1;
	}
	if (vm_config_finalize(cfg) < 0) {
		log_err("out of memory");
		return EXIT_VMM_ERROR + 1;
	}
	return 0;
}

static void log_effective_config(const struct vm_config *cfg)
{
	json_object *o = vm_config_to_json(cfg);

	log_info("config: %s",
	         json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

/* The guest's command line: the configured one plus, with the PVM profile,
 * the arguments the emulator needs. Caller frees. */
static char *effective_cmdline(struct vm *vm)
{
	const char *base = vm->cfg->cmdline ? vm->cfg->cmdline : "";
	char *s = NULL;

	if (vm->kvm.pvm && vm->pvm_profile)
		log_info("this host's /dev/kvm is PVM (software nested "
		         "virtualisation): guest kernel code is emulated and "
		         "runs slowly; applying the PVM compatibility profile "
		         "(baseline CPUID, kernel arguments)");
	else if (vm->kvm.pvm)
		log_warn("this host's /dev/kvm is PVM (software nested "
		         "virtualisation) and --pvm-profile is off: stock "
		         "Linux kernels fail there on instructions the "
		         "emulator cannot run");
	else if (vm->pvm_profile)
		log_info("applying the PVM compatibility profile as asked, "
		         "although /dev/kvm has hardware virtualisation");
	if (!vm->pvm_profile)
		return strdup(base);
	if (asprintf(&s, "%s%s%s", base, *base ? " " : "", boot_pvm_cmdline()) <
	    0)
		return NULL;
	return s;
}

static void log_stop(const struct vm *vm, enum vm_exit_reason why)
{
	switch (why) {
	case VM_EXIT_POWEROFF:
	case VM_EXIT_STOP:
	case VM_EXIT_REBOOT:
		log_info("%s", vm->exit_detail);
		break;
	default:
		log_err("%s", vm->exit_detail);
		break;
	}
}

struct vmm {
	struct vm vm;
	struct vm_control *ctl;
	struct event *sigs[2];
	bool devices;
	bool bad_kernel; /* boot_load refused the kernel, initrd or cmdline */
};

/* Binds guest RAM to cfg->numa_node before anything touches it (the boot
 * loader is the first writer); gmem_bind_node() reads the policy back. */
static int bind_guest_ram(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;
	int r;

	if (cfg->numa_node < 0)
		return 0;
	r = gmem_bind_node(&vm->mem, cfg->numa_node, cfg->numa_preferred);
	if (r < 0)
		return r;
	log_info("guest RAM bound to NUMA node %d (%s)", cfg->numa_node,
	         cfg->numa_preferred ? "preferred" : "strict");
	return 0;
}

/* Before the guest runs its first instruction: from here on the process
 * cannot exec, fork, mount or change credentials (sandbox.h). */
static int apply_sandbox(enum vm_seccomp mode)
{
	int n = sandbox_apply(mode);

	if (n < 0)
		return n;
	if (mode == VM_SECCOMP_OFF)
		log_warn("seccomp off: a guest that takes over a device model "
		         "could run programs as this process");
	else
		log_info("seccomp: %d system calls denied (%s)", n,
		         mode == VM_SECCOMP_LOG ? "logged only" : "kill");
	return 0;
}

/* Builds everything up to running vCPUs; returns 0 or -errno. */
static int vmm_setup(struct vmm *m, const struct vm_config *cfg, uint64_t t0)
{
	struct boot_info bi = {0};
	char *cmdline;
	int r;

	r = vm_create(&m->vm, cfg);
	m->vm.start_ns = t0; /* times reported are from process start */
	if (r < 0)
		return r;
	r = bind_guest_ram(&m->vm);
	if (r < 0)
		return r;
	cmdline = effective_cmdline(&m->vm);
	if (!cmdline)
		return -ENOMEM;
	m->devices = true;
	r = devices_create(&m->vm);
	if (r == 0) {
		r = boot_load(&m->vm, cmdline, &bi);
		/* What boot_load refuses is what the user gave it: a bad
		 * configuration (exit 2), already logged in one line. */
		m->bad_kernel = r < 0;
	}
	free(cmdline);
	if (r < 0)
		return r;
	m->sigs[0] = evsignal_new(m->vm.evbase, SIGTERM, on_signal, &m->vm);
	m->sigs[1] = evsignal_new(m->vm.evbase, SIGINT, on_signal, &m->vm);
	for (int i = 0; i < 2; i++)
		if (!m->sigs[i] || event_add(m->sigs[i], NULL) < 0)
			return -ENOMEM;
	if (cfg->api_socket) {
		r = vm_control_start(&m->vm, cfg->api_socket, &m->ctl);
		if (r < 0)
			return r;
	}
	r = apply_sandbox(cfg->seccomp);
	if (r < 0)
		return r;
	return vm_start(&m->vm, &bi);
}

static void vmm_teardown(struct vmm *m)
{
	vm_control_stop(m->ctl);
	for (int i = 0; i < 2; i++)
		if (m->sigs[i])
			event_free(m->sigs[i]);
	/* vCPU threads end before devices go away. */
	if (m->vm.vcpus)
		for (unsigned int i = 0; i < m->vm.nr_vcpus; i++) {
			vcpu_destroy(m->vm.vcpus[i]);
			m->vm.vcpus[i] = NULL;
		}
	if (m->devices)
		devices_destroy(&m->vm);
	vm_destroy(&m->vm);
}

int main(int argc, char **argv)
{
	uint64_t t0 = pv_now_ns();
	static struct vmm m;
	struct vm_config cfg;
	enum vm_exit_reason why;
	char ident[80];
	int r;

	pv_log_init("podvisor-vmm", PV_LOG_INFO);
	signal(SIGPIPE, SIG_IGN);
	vm_config_init(&cfg);
	r = load_config(&cfg, argc, argv);
	if (r) {
		vm_config_free(&cfg);
		return r - 1;
	}
	snprintf(ident, sizeof(ident), "vm %s", cfg.name);
	pv_log_set_ident(ident);
	log_effective_config(&cfg);
	r = vmm_setup(&m, &cfg, t0);
	if (r < 0) {
		if (!m.bad_kernel)
			log_err("VM not started: %s", strerror(-r));
		vm_request_stop(&m.vm, VM_EXIT_ERROR, "setup failed");
		vmm_teardown(&m);
		vm_config_free(&cfg);
		return m.bad_kernel ? EXIT_BAD_CONFIG : EXIT_VMM_ERROR;
	}
	log_info("ready: %u vCPUs running, %llu MiB, %.2f ms after start",
	         cfg.vcpus, (unsigned long long)cfg.memory_mib,
	         (double)(pv_now_ns() - t0) / 1e6);
	why = vm_run(&m.vm);
	log_stop(&m.vm, why);
	vmm_teardown(&m);
	vm_config_free(&cfg);
	return vm_exit_status(why);
}
