/* SPDX-License-Identifier: Apache-2.0 */
/*
 * podvisor-vmm's command line: the same fields as the JSON config, as flags
 * that override the file given with --config.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "podvisor/config.h"
#include "podvisor/log.h"
#include "podvisor/util.h"

#include "config_priv.h"

enum {
	OPT_CONFIG = 'c',
	OPT_HELP = 'h',
	OPT_VERSION = 'V',
	OPT_NAME = 256,
	OPT_KERNEL,
	OPT_INITRD,
	OPT_CMDLINE,
	OPT_VCPUS,
	OPT_MEMORY,
	OPT_HUGEPAGES,
	OPT_CONSOLE_LOG,
	OPT_API_SOCKET,
	OPT_DISK,
	OPT_RNG,
	OPT_CONSOLE_SOCKET,
	OPT_VSOCK_CID,
	OPT_VSOCK_UDS,
	OPT_NET,
	OPT_PVM_PROFILE,
	OPT_SECCOMP,
	OPT_LOG_LEVEL,
	OPT_VCPU_CPUS,
	OPT_HOUSEKEEPING,
	OPT_NUMA_NODE,
};

static const struct option cli_opts[] = {
    {"config", required_argument, NULL, OPT_CONFIG},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {"name", required_argument, NULL, OPT_NAME},
    {"kernel", required_argument, NULL, OPT_KERNEL},
    {"initrd", required_argument, NULL, OPT_INITRD},
    {"cmdline", required_argument, NULL, OPT_CMDLINE},
    {"vcpus", required_argument, NULL, OPT_VCPUS},
    {"memory", required_argument, NULL, OPT_MEMORY},
    {"hugepages", no_argument, NULL, OPT_HUGEPAGES},
    {"console-log", required_argument, NULL, OPT_CONSOLE_LOG},
    {"api-socket", required_argument, NULL, OPT_API_SOCKET},
    {"disk", required_argument, NULL, OPT_DISK},
    {"rng", no_argument, NULL, OPT_RNG},
    {"console-socket", required_argument, NULL, OPT_CONSOLE_SOCKET},
    {"vsock-cid", required_argument, NULL, OPT_VSOCK_CID},
    {"vsock-uds", required_argument, NULL, OPT_VSOCK_UDS},
    {"net", required_argument, NULL, OPT_NET},
    {"pvm-profile", required_argument, NULL, OPT_PVM_PROFILE},
    {"seccomp", required_argument, NULL, OPT_SECCOMP},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"vcpu-cpus", required_argument, NULL, OPT_VCPU_CPUS},
    {"housekeeping-cpus", required_argument, NULL, OPT_HOUSEKEEPING},
    {"numa-node", required_argument, NULL, OPT_NUMA_NODE},
    {NULL, 0, NULL, 0},
};

const char *vm_config_usage(void)
{
	return "Usage: podvisor-vmm [--config vm.json] [flags]\n"
	       "Runs one KVM virtual machine. Flags override the file's "
	       "fields.\n\n"
	       "  --config FILE            JSON config: keys are the flag "
	       "names with '_',\n"
	       "                           except memory_mib, disks[], "
	       "nets[], vsock{}\n"
	       "  --name NAME              VM name, used in logs\n"
	       "  --kernel PATH            bzImage or ELF vmlinux (required)\n"
	       "  --initrd PATH            initramfs\n"
	       "  --cmdline TEXT           kernel command line\n"
	       "  --vcpus N                vCPUs (default 1)\n"
	       "  --memory SIZE            guest RAM: MiB, or 512M, 2G "
	       "(default 256)\n"
	       "  --hugepages              back RAM with 2 MiB hugepages\n"
	       "  --console-log FILE       serial console to FILE, not "
	       "stdout\n"
	       "  --api-socket PATH        control socket (HTTP/JSON)\n"
	       "  --disk PATH[,readonly][,serial=ID]   virtio-blk, "
	       "repeatable\n"
	       "  --rng                    virtio-rng\n"
	       "  --console-socket PATH    virtio-console on a UNIX socket\n"
	       "  --vsock-cid N            virtio-vsock guest CID (>= 3)\n"
	       "  --vsock-uds PATH         vsock host socket\n"
	       "  --net vhost-user=PATH[,mac=M][,mtu=N] | tap=NAME[,mac=M]\n"
	       "  --pvm-profile auto|on|off  PVM compatibility profile\n"
	       "  --seccomp kill|log|off   denied system calls kill the "
	       "VMM (default), are\n"
	       "                           logged, or no filter\n"
	       "  --vcpu-cpus LIST         host CPU per vCPU, e.g. 2,3\n"
	       "  --housekeeping-cpus LIST CPUs of the VMM's other threads\n"
	       "  --numa-node N            bind guest RAM to NUMA node N\n"
	       "  --log-level LEVEL        error|warn|info|debug\n"
	       "  --help, --version\n\n"
	       "Exit status: 0 poweroff or stop, 1 VMM error, 2 bad config, "
	       "3 reboot, 4 guest crash, 5 KVM internal error.\n";
}

static int cli_uint(const char *flag, const char *s, unsigned long long max,
                    unsigned long long *out, struct vm_config_error *err)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 10);
	if (!*s || *end || errno || *s == '-' || *out > max)
		return cfg_fail(err, flag, "'%s' is not a number in 0..%llu", s,
		                max);
	return 0;
}

static int cli_memory(struct vm_config *cfg, const char *s,
                      struct vm_config_error *err)
{
	unsigned long long mib;
	uint64_t bytes;
	char *end;

	/* A bare number is MiB, as in the JSON's memory_mib. */
	errno = 0;
	mib = strtoull(s, &end, 10);
	if (*s && !*end && !errno && *s != '-') {
		cfg->memory_mib = mib;
		return 0;
	}
	if (pv_parse_size(s, &bytes) < 0 || bytes % MiB)
		return cfg_fail(err, "--memory",
		                "'%s' is not a size in whole "
		                "MiB; give e.g. 512, 512M or 2G",
		                s);
	cfg->memory_mib = bytes / MiB;
	return 0;
}

static int cli_disk(struct vm_config *cfg, char *arg,
                    struct vm_config_error *err)
{
	struct vm_disk_config *d;
	char *save = NULL, *tok;

	if (cfg->nr_disks == VM_MAX_DISKS)
		return cfg_fail(err, "--disk", "more than %d disks",
		                VM_MAX_DISKS);
	d = &cfg->disks[cfg->nr_disks++];
	tok = strtok_r(arg, ",", &save);
	if (!tok || cfg_set_str(&d->path, tok) < 0)
		return cfg_fail(err, "--disk",
		                "give PATH[,readonly]"
		                "[,serial=ID]");
	while ((tok = strtok_r(NULL, ",", &save))) {
		if (!strcmp(tok, "readonly"))
			d->readonly = true;
		else if (!strncmp(tok, "serial=", 7))
			cfg_set_str(&d->serial, tok + 7);
		else
			return cfg_fail(err, "--disk",
			                "unknown option '%s'; "
			                "give PATH[,readonly][,serial=ID]",
			                tok);
	}
	return 0;
}

static int cli_net_opt(struct vm_net_config *n, const char *tok,
                       struct vm_config_error *err)
{
	unsigned long long mtu;

	if (!strncmp(tok, "vhost-user=", 11))
		return cfg_set_str(&n->vhost_user_socket, tok + 11);
	if (!strncmp(tok, "tap=", 4))
		return cfg_set_str(&n->tap, tok + 4);
	if (!strncmp(tok, "mac=", 4)) {
		if (vm_config_parse_mac(tok + 4, n->mac) < 0)
			return cfg_fail(err, "--net",
			                "'%s' is not a MAC "
			                "address; give mac=52:54:00:12:34:56",
			                tok + 4);
		return 0;
	}
	if (!strncmp(tok, "mtu=", 4)) {
		if (cli_uint("--net", tok + 4, 65535, &mtu, err) < 0)
			return -EINVAL;
		n->mtu = (uint16_t)mtu;
		return 0;
	}
	return cfg_fail(err, "--net",
	                "unknown option '%s'; give "
	                "vhost-user=PATH,mac=M or tap=NAME,mac=M",
	                tok);
}

static int cli_net(struct vm_config *cfg, char *arg,
                   struct vm_config_error *err)
{
	char *save = NULL, *tok;
	int r;

	if (cfg->nr_nets == VM_MAX_NETS)
		return cfg_fail(err, "--net", "more than %d NICs", VM_MAX_NETS);
	/* Counted first: vm_config_free() then frees a half-parsed entry. */
	cfg->nr_nets++;
	for (tok = strtok_r(arg, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		r = cli_net_opt(&cfg->nets[cfg->nr_nets - 1], tok, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int cli_cpus(struct vm_config *cfg, char *arg,
                    struct vm_config_error *err)
{
	char *save = NULL, *tok;
	unsigned int i = 0;
	unsigned long long cpu;

	for (tok = strtok_r(arg, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save), i++) {
		if (i == VM_MAX_VCPUS)
			return cfg_fail(err, "--vcpu-cpus", "more than %d CPUs",
			                VM_MAX_VCPUS);
		if (cli_uint("--vcpu-cpus", tok, 1023, &cpu, err) < 0)
			return -EINVAL;
		cfg->vcpu_cpus[i] = (int)cpu;
	}
	return 0;
}

static int cli_apply_num(struct vm_config *cfg, int opt, const char *arg,
                         struct vm_config_error *err)
{
	unsigned long long n;
	int r;

	switch (opt) {
	case OPT_VCPUS:
		r = cli_uint("--vcpus", arg, 4096, &n, err);
		cfg->vcpus = (unsigned int)n;
		return r;
	case OPT_VSOCK_CID:
		r = cli_uint("--vsock-cid", arg, UINT32_MAX, &n, err);
		cfg->vsock.guest_cid = n;
		cfg->vsock.enabled = true;
		return r;
	case OPT_NUMA_NODE:
		r = cli_uint("--numa-node", arg, 1023, &n, err);
		cfg->numa_node = (int)n;
		return r;
	default:
		return cli_memory(cfg, arg, err);
	}
}

/* The list flags are split on a copy: argv stays as the user wrote it. */
static int cli_apply_list(struct vm_config *cfg, int opt, const char *arg,
                          struct vm_config_error *err)
{
	char *copy = strdup(arg);
	int r;

	if (!copy)
		return -ENOMEM;
	if (opt == OPT_DISK)
		r = cli_disk(cfg, copy, err);
	else if (opt == OPT_NET)
		r = cli_net(cfg, copy, err);
	else
		r = cli_cpus(cfg, copy, err);
	free(copy);
	return r;
}

static int cli_apply(struct vm_config *cfg, struct vm_cli *cli, int opt,
                     char *arg, struct vm_config_error *err)
{
	switch (opt) {
	case OPT_NAME:
		return cfg_set_str(&cfg->name, arg);
	case OPT_KERNEL:
		return cfg_set_str(&cfg->kernel, arg);
	case OPT_INITRD:
		return cfg_set_str(&cfg->initrd, arg);
	case OPT_CMDLINE:
		return cfg_set_str(&cfg->cmdline, arg);
	case OPT_CONSOLE_LOG:
		return cfg_set_str(&cfg->console_log, arg);
	case OPT_API_SOCKET:
		return cfg_set_str(&cfg->api_socket, arg);
	case OPT_CONSOLE_SOCKET:
		return cfg_set_str(&cfg->console_socket, arg);
	case OPT_HOUSEKEEPING:
		return cfg_set_str(&cfg->housekeeping_cpus, arg);
	case OPT_VSOCK_UDS:
		cfg->vsock.enabled = true;
		return cfg_set_str(&cfg->vsock.uds_path, arg);
	case OPT_HUGEPAGES:
		cfg->hugepages = true;
		return 0;
	case OPT_RNG:
		cfg->rng = true;
		return 0;
	case OPT_DISK:
	case OPT_NET:
	case OPT_VCPU_CPUS:
		return cli_apply_list(cfg, opt, arg, err);
	case OPT_PVM_PROFILE:
		if (cfg_parse_pvm(arg, &cfg->pvm_profile) < 0)
			return cfg_fail(err, "--pvm-profile",
			                "'%s' is not a "
			                "profile; give auto, on or off",
			                arg);
		return 0;
	case OPT_SECCOMP:
		if (cfg_parse_seccomp(arg, &cfg->seccomp) < 0)
			return cfg_fail(err, "--seccomp",
			                "'%s' is not a seccomp mode; give "
			                "kill, log or off",
			                arg);
		return 0;
	case OPT_LOG_LEVEL:
		cli->log_level = pv_log_level_parse(arg);
		if (cli->log_level < 0)
			return cfg_fail(err, "--log-level",
			                "'%s' is not a "
			                "level; give error, warn, info or "
			                "debug",
			                arg);
		return 0;
	default:
		return cli_apply_num(cfg, opt, arg, err);
	}
}

/* First pass: --config, --help, --version and unknown flags. */
static int cli_first_pass(struct vm_cli *cli, int argc, char **argv,
                          struct vm_config_error *err)
{
	int opt;

	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":", cli_opts, NULL)) != -1) {
		if (opt == OPT_CONFIG)
			cli->config_path = optarg;
		else if (opt == OPT_HELP)
			cli->help = true;
		else if (opt == OPT_VERSION)
			cli->version = true;
		else if (opt == ':')
			return cfg_fail(err, argv[optind - 1],
			                "needs a value; "
			                "see --help");
		else if (opt == '?')
			return cfg_fail(err, argv[optind - 1],
			                "unknown flag; "
			                "see --help");
	}
	if (optind < argc)
		return cfg_fail(err, argv[optind],
		                "unexpected argument; flags "
		                "start with --, see --help");
	return 0;
}

int vm_config_parse_args(struct vm_config *cfg, struct vm_cli *cli, int argc,
                         char **argv, struct vm_config_error *err)
{
	int opt, r;

	memset(cli, 0, sizeof(*cli));
	cli->log_level = -1;
	r = cli_first_pass(cli, argc, argv, err);
	if (r < 0 || cli->help || cli->version)
		return r;
	if (cli->config_path) {
		r = vm_config_load_file(cfg, cli->config_path, err);
		if (r < 0)
			return r;
	}
	optind = 0;
	while ((opt = getopt_long(argc, argv, ":", cli_opts, NULL)) != -1) {
		if (opt == OPT_CONFIG)
			continue;
		r = cli_apply(cfg, cli, opt, optarg, err);
		if (r == -ENOMEM)
			return cfg_fail(err, "config", "out of memory");
		if (r < 0)
			return r;
	}
	return 0;
}
