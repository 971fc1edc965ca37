/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The pod VM spec as POST /v1/vms takes it: validation field by field (each
 * error names the field and the fix), defaults, the persisted JSON form and
 * the podvisor-vmm --config file built from it. No I/O except checking that
 * named files exist (when asked).
 */
#ifndef PODVISORD_SPEC_H
#define PODVISORD_SPEC_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "podvisor/vm_config.h"

#define POD_NAME_MAX    63
#define POD_CMDLINE_MAX 4095
#define POD_LABELS_MAX  64
#define POD_MEMORY_MIN  16
#define POD_MEMORY_MAX  (1024 * 1024) /* 1 TiB, before host checks */

struct pod_disk {
	char *path;
	bool readonly;
	char *serial; /* NULL: the VMM's default */
};

struct pod_net {
	char *tap;               /* tap interface, or */
	char *vhost_user_socket; /* vhost-user socket (NULL: in the run dir) */
	uint8_t mac[6];
	bool has_mac;
	unsigned int mtu;
	char *segment;      /* podvisor-switch segment; NULL: not wired */
	json_object *allow; /* switch rules (array) for this port, or NULL */
};

struct pod_spec {
	char *name;
	unsigned int vcpus;
	uint64_t memory_mib;
	char *kernel;
	char *initrd;  /* NULL: none */
	char *cmdline; /* NULL: none */
	struct pod_disk disks[VM_MAX_DISKS];
	unsigned int nr_disks;
	bool vsock;
	uint64_t guest_cid;
	struct pod_net nets[VM_MAX_NETS];
	unsigned int nr_nets;
	json_object *labels;    /* object of strings; never NULL */
	json_object *placement; /* object as given (numa/ validated), or NULL */
};

struct pod_spec_defaults {
	const char *kernel; /* --kernel; NULL: the spec must name one */
	const char *initrd;
	const char *cmdline;
	unsigned int vcpus;
	uint64_t memory_mib;
	bool check_files; /* kernel, initrd, disks must be readable files */
};

struct pod_spec_error {
	char field[64];
	char message[320];
};

/*
 * Fills *out from the request body. Returns 0, or -EINVAL with err naming
 * the first bad field ("disks[1].path") and how to fix it. out is left
 * empty (safe to free) on error.
 */
int pod_spec_parse(json_object *in, const struct pod_spec_defaults *d,
                   struct pod_spec *out, struct pod_spec_error *err);

void pod_spec_free(struct pod_spec *spec);

/* The complete spec, defaults applied; pod_spec_parse() reads it back. */
json_object *pod_spec_to_json(const struct pod_spec *spec);

/* Locally administered MACs derived from the VM id for nets without one. */
void pod_spec_fill_macs(struct pod_spec *spec, const char *id);

struct pod_vmm_paths {
	const char *control_socket;
	const char *console_log;
	const char *vsock_uds;
	const char *run_dir; /* for default vhost-user sockets */
};

struct numa_alloc;

/* podvisor-vmm's --config document (keys of struct vm_config), with the
 * placement decision (vCPU pinning, housekeeping CPUs, memory node) when
 * alloc is not NULL. */
json_object *pod_vmm_config(const struct pod_spec *spec,
                            const struct pod_vmm_paths *paths,
                            const struct numa_alloc *alloc);

/* Names are [A-Za-z0-9][A-Za-z0-9_.-]{0,62}. */
bool pod_name_valid(const char *s);

#endif
