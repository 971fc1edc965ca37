/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Validation of a VM configuration against the rules and the host, the
 * defaults that follow, and the effective config as JSON.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "podvisor/config.h"
#include "podvisor/util.h"

#include "config_priv.h"

void vm_host_limits_read(struct vm_host_limits *host)
{
	char line[256];
	unsigned long long kib;
	FILE *f = fopen("/proc/meminfo", "re");
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	host->mem_total_mib = 0;
	host->cpus = cpus > 0 ? (unsigned int)cpus : 1;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemTotal: %llu kB", &kib) == 1) {
			host->mem_total_mib = kib / 1024;
			break;
		}
	fclose(f);
}

/* A file the VMM will open: must exist and be a regular file. */
static int cfg_check_file(const char *field, const char *path, const char *what,
                          struct vm_config_error *err)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return cfg_fail(err, field, "%s: %s; give the path of %s", path,
		                strerror(errno), what);
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return cfg_fail(err, field,
		                "%s: not a regular file; give the "
		                "path of %s",
		                path, what);
	if (access(path, R_OK) < 0)
		return cfg_fail(err, field,
		                "%s: %s; make it readable by this "
		                "user",
		                path, strerror(errno));
	return 0;
}

/* A file the VMM will create: its directory must exist. */
static int cfg_check_parent(const char *field, const char *path,
                            struct vm_config_error *err)
{
	char dir[4096];
	const char *slash;
	struct stat st;
	size_t n;

	if (!path)
		return 0;
	if (!*path)
		return cfg_fail(err, field,
		                "empty path; give a file path or "
		                "leave it out");
	slash = strrchr(path, '/');
	if (!slash)
		return 0; /* the current directory */
	n = slash == path ? 1 : (size_t)(slash - path);
	if (n >= sizeof(dir))
		return cfg_fail(err, field, "path too long");
	memcpy(dir, path, n);
	dir[n] = 0;
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return cfg_fail(err, field,
		                "%s: directory %s does not exist; "
		                "create it or give another path",
		                path, dir);
	return 0;
}

static int cfg_check_name(const struct vm_config *cfg,
                          struct vm_config_error *err)
{
	const char *n = cfg->name;

	if (!n)
		return 0;
	if (!*n || strlen(n) > 64 ||
	    strspn(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	              "0123456789._-") != strlen(n))
		return cfg_fail(err, "name",
		                "'%s' is not a VM name; use 1-64 "
		                "letters, digits, '.', '_' or '-'",
		                n);
	return 0;
}

static int cfg_check_cpu_mem(const struct vm_config *cfg,
                             const struct vm_host_limits *host,
                             struct vm_config_error *err)
{
	unsigned int max = MIN(host->cpus, VM_MAX_VCPUS);

	if (cfg->vcpus == 0)
		return cfg_fail(err, "vcpus", "0 vCPUs; give at least 1");
	if (cfg->vcpus > max)
		return cfg_fail(err, "vcpus",
		                "%u vCPUs but this host runs at "
		                "most %u (%u online CPUs, limit %u); give "
		                "1..%u",
		                cfg->vcpus, max, host->cpus, VM_MAX_VCPUS, max);
	for (unsigned int i = 0; i < cfg->vcpus; i++)
		if (cfg->vcpu_cpus[i] >= (int)host->cpus)
			return cfg_fail(err, "vcpu_cpus",
			                "vCPU %u is pinned to "
			                "host CPU %d, but the host has CPUs "
			                "0-%u",
			                i, cfg->vcpu_cpus[i], host->cpus - 1);
	if (cfg->memory_mib == 0)
		return cfg_fail(err, "memory_mib",
		                "0 MiB; give the guest RAM "
		                "size, e.g. --memory 512M");
	if (host->mem_total_mib && cfg->memory_mib > host->mem_total_mib)
		return cfg_fail(err, "memory_mib",
		                "%llu MiB is more than this "
		                "host's %llu MiB of RAM; give less",
		                (unsigned long long)cfg->memory_mib,
		                (unsigned long long)host->mem_total_mib);
	if (cfg->hugepages && cfg->memory_mib % 2)
		return cfg_fail(err, "memory_mib",
		                "%llu MiB is not a multiple "
		                "of 2 MiB, which hugepages need; give %llu",
		                (unsigned long long)cfg->memory_mib,
		                (unsigned long long)cfg->memory_mib + 1);
	return 0;
}

static int cfg_check_disks(const struct vm_config *cfg,
                           struct vm_config_error *err)
{
	char f[32];
	int r;

	for (unsigned int i = 0; i < cfg->nr_disks; i++) {
		const struct vm_disk_config *d = &cfg->disks[i];

		snprintf(f, sizeof(f), "disks[%u].path", i);
		if (!d->path)
			return cfg_fail(err, f,
			                "missing; give the path of a "
			                "raw disk image");
		r = cfg_check_file(f, d->path, "a raw disk image", err);
		if (r < 0)
			return r;
		for (unsigned int j = 0; j < i; j++)
			if (!strcmp(cfg->disks[j].path, d->path))
				return cfg_fail(err, f,
				                "%s is also disks[%u]; "
				                "give each disk once",
				                d->path, j);
		snprintf(f, sizeof(f), "disks[%u].serial", i);
		if (d->serial && strlen(d->serial) > 20)
			return cfg_fail(err, f,
			                "'%s' is longer than the 20 "
			                "bytes virtio-blk can report",
			                d->serial);
	}
	return 0;
}

static int cfg_check_nets(const struct vm_config *cfg,
                          struct vm_config_error *err)
{
	char f[32];

	for (unsigned int i = 0; i < cfg->nr_nets; i++) {
		const struct vm_net_config *n = &cfg->nets[i];

		snprintf(f, sizeof(f), "nets[%u]", i);
		if (!!n->vhost_user_socket == !!n->tap)
			return cfg_fail(err, f,
			                "give exactly one back-end: "
			                "vhost_user_socket or tap");
		snprintf(f, sizeof(f), "nets[%u].mac", i);
		if (n->mac[0] & 1)
			return cfg_fail(err, f,
			                "%02x:%02x:%02x:%02x:%02x:%02x "
			                "is a multicast address; give a "
			                "unicast one such as 52:54:00:12:34:56",
			                n->mac[0], n->mac[1], n->mac[2],
			                n->mac[3], n->mac[4], n->mac[5]);
		snprintf(f, sizeof(f), "nets[%u].mtu", i);
		if (n->mtu && n->mtu < 68)
			return cfg_fail(err, f,
			                "%u is below the IPv4 minimum; "
			                "give 68..65535 or leave it out",
			                n->mtu);
	}
	return 0;
}

static int cfg_check_vsock(const struct vm_config *cfg,
                           struct vm_config_error *err)
{
	const struct vm_vsock_config *vs = &cfg->vsock;

	if (!vs->enabled)
		return 0;
	if (vs->guest_cid < 3 || vs->guest_cid >= UINT32_MAX)
		return cfg_fail(err, "vsock.guest_cid",
		                "%llu is reserved (0-2 "
		                "are the hypervisor and host); give 3 or more",
		                (unsigned long long)vs->guest_cid);
	if (!vs->uds_path || !*vs->uds_path)
		return cfg_fail(err, "vsock.uds_path",
		                "missing; give the "
		                "host UNIX socket path for vsock");
	return 0;
}

int vm_config_validate(const struct vm_config *cfg,
                       const struct vm_host_limits *host,
                       struct vm_config_error *err)
{
	int r;

	r = cfg_check_name(cfg, err);
	if (r < 0)
		return r;
	if (!cfg->kernel)
		return cfg_fail(err, "kernel",
		                "missing; give --kernel PATH of "
		                "a bzImage or ELF vmlinux");
	r = cfg_check_file("kernel", cfg->kernel, "a bzImage or ELF vmlinux",
	                   err);
	if (r == 0 && cfg->initrd)
		r = cfg_check_file("initrd", cfg->initrd,
		                   "an initramfs (cpio) image", err);
	if (r == 0)
		r = cfg_check_parent("console_log", cfg->console_log, err);
	if (r == 0)
		r = cfg_check_parent("api_socket", cfg->api_socket, err);
	if (r == 0)
		r = cfg_check_cpu_mem(cfg, host, err);
	if (r == 0)
		r = cfg_check_disks(cfg, err);
	if (r == 0)
		r = cfg_check_nets(cfg, err);
	if (r == 0)
		r = cfg_check_vsock(cfg, err);
	return r;
}

/* FNV-1a: a stable per-VM hash for default MACs. */
static uint32_t cfg_hash(const char *s, unsigned int salt)
{
	uint32_t h = 2166136261u ^ salt;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

int vm_config_finalize(struct vm_config *cfg)
{
	static const uint8_t zero[6];
	char buf[32];

	if (!cfg->name && cfg_set_str(&cfg->name, "podvisor") < 0)
		return -ENOMEM;
	for (unsigned int i = 0; i < cfg->nr_nets; i++) {
		struct vm_net_config *n = &cfg->nets[i];
		uint32_t h = cfg_hash(cfg->name, i);

		if (memcmp(n->mac, zero, 6))
			continue;
		/* 52:54:00 is the locally administered range VMMs use. */
		n->mac[0] = 0x52;
		n->mac[1] = 0x54;
		n->mac[2] = 0x00;
		n->mac[3] = (uint8_t)(h >> 16);
		n->mac[4] = (uint8_t)(h >> 8);
		n->mac[5] = (uint8_t)h;
	}
	for (unsigned int i = 0; i < cfg->nr_disks; i++) {
		if (cfg->disks[i].serial)
			continue;
		snprintf(buf, sizeof(buf), "podvisor%u", i);
		if (cfg_set_str(&cfg->disks[i].serial, buf) < 0)
			return -ENOMEM;
	}
	return 0;
}

static void cfg_add_str(json_object *o, const char *k, const char *v)
{
	if (v)
		json_object_object_add(o, k, json_object_new_string(v));
}

static json_object *cfg_disks_json(const struct vm_config *cfg)
{
	json_object *a = json_object_new_array();

	for (unsigned int i = 0; i < cfg->nr_disks; i++) {
		json_object *d = json_object_new_object();

		cfg_add_str(d, "path", cfg->disks[i].path);
		json_object_object_add(
		    d, "readonly",
		    json_object_new_boolean(cfg->disks[i].readonly));
		cfg_add_str(d, "serial", cfg->disks[i].serial);
		json_object_array_add(a, d);
	}
	return a;
}

static json_object *cfg_nets_json(const struct vm_config *cfg)
{
	json_object *a = json_object_new_array();
	char mac[18];

	for (unsigned int i = 0; i < cfg->nr_nets; i++) {
		const struct vm_net_config *n = &cfg->nets[i];
		json_object *o = json_object_new_object();

		cfg_add_str(o, "vhost_user_socket", n->vhost_user_socket);
		cfg_add_str(o, "tap", n->tap);
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x",
		         n->mac[0], n->mac[1], n->mac[2], n->mac[3], n->mac[4],
		         n->mac[5]);
		cfg_add_str(o, "mac", mac);
		if (n->mtu)
			json_object_object_add(o, "mtu",
			                       json_object_new_int(n->mtu));
		json_object_array_add(a, o);
	}
	return a;
}

static void cfg_placement_json(json_object *o, const struct vm_config *cfg)
{
	static const char *const pvm[] = {"auto", "on", "off"};
	static const char *const seccomp[] = {"kill", "log", "off"};
	json_object *cpus = json_object_new_array();

	for (unsigned int i = 0; i < cfg->vcpus && i < VM_MAX_VCPUS; i++)
		json_object_array_add(cpus,
		                      json_object_new_int(cfg->vcpu_cpus[i]));
	json_object_object_add(o, "vcpu_cpus", cpus);
	cfg_add_str(o, "housekeeping_cpus", cfg->housekeeping_cpus);
	json_object_object_add(o, "numa_node",
	                       json_object_new_int(cfg->numa_node));
	json_object_object_add(o, "numa_preferred",
	                       json_object_new_boolean(cfg->numa_preferred));
	json_object_object_add(
	    o, "pvm_profile",
	    json_object_new_string(pvm[cfg->pvm_profile % 3]));
	json_object_object_add(
	    o, "seccomp", json_object_new_string(seccomp[cfg->seccomp % 3]));
}

struct json_object *vm_config_to_json(const struct vm_config *cfg)
{
	json_object *o = json_object_new_object();

	cfg_add_str(o, "name", cfg->name);
	cfg_add_str(o, "kernel", cfg->kernel);
	cfg_add_str(o, "initrd", cfg->initrd);
	cfg_add_str(o, "cmdline", cfg->cmdline);
	json_object_object_add(o, "vcpus", json_object_new_int64(cfg->vcpus));
	json_object_object_add(o, "memory_mib",
	                       json_object_new_int64((int64_t)cfg->memory_mib));
	json_object_object_add(o, "hugepages",
	                       json_object_new_boolean(cfg->hugepages));
	cfg_add_str(o, "console_log", cfg->console_log);
	cfg_add_str(o, "api_socket", cfg->api_socket);
	json_object_object_add(o, "rng", json_object_new_boolean(cfg->rng));
	cfg_add_str(o, "console_socket", cfg->console_socket);
	json_object_object_add(o, "disks", cfg_disks_json(cfg));
	json_object_object_add(o, "nets", cfg_nets_json(cfg));
	if (cfg->vsock.enabled) {
		json_object *vs = json_object_new_object();

		json_object_object_add(
		    vs, "guest_cid",
		    json_object_new_int64((int64_t)cfg->vsock.guest_cid));
		cfg_add_str(vs, "uds_path", cfg->vsock.uds_path);
		json_object_object_add(o, "vsock", vs);
	}
	cfg_placement_json(o, cfg);
	return o;
}
