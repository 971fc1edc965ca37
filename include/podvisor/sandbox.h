/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VMM's seccomp filter. Once a VM runs, podvisor-vmm needs no new
 * program, process, mount, namespace, credential or kernel module, so a
 * guest that takes over a device model must not get them either:
 * sandbox_apply() installs a filter on every thread of the process
 * (TSYNC, with no_new_privs) that denies those system calls.
 *
 * It is a deny list: every other call stays allowed, which keeps the VMM's
 * own paths (KVM ioctls, virtio I/O, vhost-user and vsock sockets, thread
 * creation) working without a per-call audit. clone() is allowed only for
 * threads and for children that share the VMM's memory (CLONE_VM, as the
 * leak checker of sanitizer builds makes at exit), which cannot exec
 * either; a fork is denied. clone3() answers ENOSYS so the C library falls
 * back to clone(), whose flags a filter can read. AddressSanitizer builds
 * allow ptrace, which their leak checker needs at exit.
 *
 * Threading: call once, from any thread, after setup; threads created later
 * inherit the filter.
 */
#ifndef PODVISOR_SANDBOX_H
#define PODVISOR_SANDBOX_H

#include <stddef.h>

#include "podvisor/vm_config.h"

/* The denied system calls by name, NULL-terminated (for logs and tests). */
extern const char *const sandbox_denied[];

/*
 * Installs the filter: VM_SECCOMP_KILL kills the process on a denied call,
 * VM_SECCOMP_LOG lets it through and has the kernel log it, VM_SECCOMP_OFF
 * does nothing. Returns the number of calls denied (0 for off) or -errno
 * after logging.
 */
int sandbox_apply(enum vm_seccomp mode);

#endif
