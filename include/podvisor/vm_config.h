/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What one VM is made of, as podvisor-vmm reads it from --config FILE (JSON)
 * and the equivalent command-line flags. Field names match the JSON keys.
 */
#ifndef PODVISOR_VM_CONFIG_H
#define PODVISOR_VM_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#define VM_MAX_VCPUS 64
#define VM_MAX_DISKS 8
#define VM_MAX_NETS  4

struct vm_disk_config {
	char *path; /* raw image file */
	bool readonly;
	char *serial; /* GET_ID answer, up to 20 bytes; default "podvisor<N>" */
};

struct vm_vsock_config {
	bool enabled;
	uint64_t guest_cid; /* >= 3 */
	char *uds_path;     /* hybrid vsock socket: CONNECT <port> */
};

struct vm_net_config {
	char *vhost_user_socket; /* VMM listens, the switch connects */
	char *tap;               /* tap interface name (alternative) */
	uint8_t mac[6];
	uint16_t mtu;
};

/* What the VMM's seccomp filter does to a denied system call (sandbox.h). */
enum vm_seccomp {
	VM_SECCOMP_KILL, /* kill the process: the default */
	VM_SECCOMP_LOG,  /* allow it and have the kernel log it */
	VM_SECCOMP_OFF,  /* no filter */
};

enum vm_pvm_profile {
	VM_PVM_AUTO, /* apply the compatibility profile when PVM is detected */
	VM_PVM_ON,
	VM_PVM_OFF,
};

struct vm_config {
	char *name;
	char *kernel;  /* bzImage or ELF vmlinux (PVH note when present) */
	char *initrd;  /* optional */
	char *cmdline; /* optional; the PVM profile appends to it */
	unsigned int vcpus;
	uint64_t memory_mib;
	bool hugepages;
	char *console_log;    /* serial console to this file; NULL: stdout */
	char *api_socket;     /* control socket; NULL: none */
	bool rng;             /* virtio-rng */
	char *console_socket; /* virtio-console host side (UNIX socket) */
	struct vm_disk_config disks[VM_MAX_DISKS];
	unsigned int nr_disks;
	struct vm_net_config nets[VM_MAX_NETS];
	unsigned int nr_nets;
	struct vm_vsock_config vsock;
	enum vm_pvm_profile pvm_profile;
	enum vm_seccomp seccomp;
	/* Placement, filled by podvisord: vCPU i runs on host CPU
	 * vcpu_cpus[i] (-1: not pinned); VMM threads on housekeeping_cpus. */
	int vcpu_cpus[VM_MAX_VCPUS];
	char *housekeeping_cpus; /* cpulist, e.g. "0-1"; NULL: not pinned */
	int numa_node;           /* bind guest RAM there; -1: no binding */
	bool numa_preferred;     /* MPOL_PREFERRED instead of MPOL_BIND */
};

#endif
