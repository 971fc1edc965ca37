/* SPDX-License-Identifier: Apache-2.0 */
/*
 * podvisor-vmm's configuration: a JSON file (keys = the field names of
 * struct vm_config, see vm_config.h) and command-line flags that override
 * it. Every error comes back as a vm_config_error naming the field and the
 * fix, printed by main() as one line before exiting with status 2.
 *
 * JSON keys: name, kernel, initrd, cmdline, vcpus, memory_mib, hugepages,
 * console_log, api_socket, rng, console_socket,
 * disks: [{path, readonly, serial}], nets: [{vhost_user_socket | tap, mac,
 * mtu}], vsock: {guest_cid, uds_path}, pvm_profile ("auto"|"on"|"off"),
 * seccomp ("kill"|"log"|"off"), vcpu_cpus: [cpu per vCPU], housekeeping_cpus
 * ("0-1"), numa_node, numa_preferred.
 */
#ifndef PODVISOR_CONFIG_H
#define PODVISOR_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "podvisor/vm_config.h"

struct json_object;

struct vm_config_error {
	char field[64];    /* "vcpus", "disks[1].path", "--memory" */
	char message[320]; /* what is wrong and how to fix it */
};

/* What the host offers, given to validation so it stays a pure function. */
struct vm_host_limits {
	uint64_t mem_total_mib; /* MemTotal of /proc/meminfo */
	unsigned int cpus;      /* online CPUs */
};

/* Options of the command line that are not part of the VM. */
struct vm_cli {
	const char *config_path;
	int log_level; /* enum pv_log_level, or -1: default */
	bool help;
	bool version;
};

/* Defaults: 1 vCPU, 256 MiB, no pinning, PVM profile auto. */
void vm_config_init(struct vm_config *cfg);
/* Frees every string the config owns; cfg can be re-initialised. */
void vm_config_free(struct vm_config *cfg);

/* Applies the JSON text (object) on top of cfg. Returns 0 or -EINVAL with
 * err filled: unknown keys (with a suggestion), wrong types, bad values. */
int vm_config_from_json(struct vm_config *cfg, const char *text,
                        struct vm_config_error *err);
/* Reads the file and calls vm_config_from_json(). */
int vm_config_load_file(struct vm_config *cfg, const char *path,
                        struct vm_config_error *err);

/*
 * Parses argv: --config FILE is loaded first, then every other flag
 * overrides it. Returns 0 or -EINVAL with err filled (field = the flag).
 * Uses getopt_long (resets optind).
 */
int vm_config_parse_args(struct vm_config *cfg, struct vm_cli *cli, int argc,
                         char **argv, struct vm_config_error *err);

/* The text of --help. */
const char *vm_config_usage(void);

/* Reads MemTotal and the online CPU count of this host. */
void vm_host_limits_read(struct vm_host_limits *host);

/*
 * Checks the whole config against the rules and the host's limits: the
 * kernel (and initrd, disks) must exist, 1 <= vcpus <= min(host CPUs,
 * VM_MAX_VCPUS), 0 < memory <= MemTotal and 2 MiB aligned with hugepages,
 * unique disk paths, unicast MACs, vsock cid >= 3, ... Returns 0 or
 * -EINVAL with err filled. Reads nothing but the file system (stat).
 */
int vm_config_validate(const struct vm_config *cfg,
                       const struct vm_host_limits *host,
                       struct vm_config_error *err);

/* Fills what validation leaves open: name "podvisor", a stable locally
 * administered MAC per NIC (from name and index), serial "podvisor<N>". */
int vm_config_finalize(struct vm_config *cfg);

/* The effective configuration, keys as in the file. */
struct json_object *vm_config_to_json(const struct vm_config *cfg);

/* Parses "52:54:00:12:34:56"; returns 0 or -EINVAL. */
int vm_config_parse_mac(const char *s, uint8_t mac[6]);

#endif
