/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VMM's seccomp deny list (include/podvisor/sandbox.h), built with
 * libseccomp.
 */
#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <stdbool.h>
#include <string.h>

#include "podvisor/log.h"
#include "podvisor/sandbox.h"

const char *const sandbox_denied[] = {
    /* new programs and processes */
    "execve",
    "execveat",
    "fork",
    "vfork",
    /* other processes' memory */
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "pidfd_getfd",
    /* mounts, roots and namespaces */
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "setns",
    "unshare",
    "open_tree",
    "move_mount",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    "open_by_handle_at",
    "name_to_handle_at",
    /* credentials */
    "setuid",
    "setgid",
    "setreuid",
    "setregid",
    "setresuid",
    "setresgid",
    "setfsuid",
    "setfsgid",
    "setgroups",
    "capset",
    /* the kernel itself */
    "init_module",
    "finit_module",
    "delete_module",
    "kexec_load",
    "kexec_file_load",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "iopl",
    "ioperm",
    "reboot",
    "swapon",
    "swapoff",
    "acct",
    "quotactl",
    "syslog",
    "keyctl",
    "add_key",
    "request_key",
    "personality",
    "uselib",
    /* the host's clock */
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    NULL,
};

/* LeakSanitizer checks at exit from a clone(CLONE_VM) child that ptraces
 * the VMM's threads: sanitizer builds keep ptrace so they can end. */
#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_LEAK_CHECKER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_LEAK_CHECKER 1
#endif
#endif

static bool sandbox_skip(const char *name)
{
#ifdef SANDBOX_LEAK_CHECKER
	return !strcmp(name, "ptrace");
#else
	(void)name;
	return false;
#endif
}

/* Adds the rules; returns how many calls are denied or -errno. */
static int sandbox_rules(scmp_filter_ctx ctx, uint32_t action)
{
	int n = 0, r;

	for (const char *const *s = sandbox_denied; *s; s++) {
		int nr = seccomp_syscall_resolve_name(*s);

		/* Unknown on this architecture, or kept (above). */
		if (nr == __NR_SCMP_ERROR || sandbox_skip(*s))
			continue;
		r = seccomp_rule_add(ctx, action, nr, 0);
		if (r < 0)
			return log_err_errno(r, "seccomp: rule for %s", *s);
		n++;
	}
	/* A clone with neither CLONE_THREAD nor CLONE_VM is a fork. */
	r = seccomp_rule_add(
	    ctx, action, SCMP_SYS(clone), 1,
	    SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD | CLONE_VM, 0));
	if (r < 0)
		return log_err_errno(r, "seccomp: rule for clone");
	r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (r < 0)
		return log_err_errno(r, "seccomp: rule for clone3");
	return n + 1;
}

int sandbox_apply(enum vm_seccomp mode)
{
	uint32_t action;
	scmp_filter_ctx ctx;
	int n, r;

	if (mode == VM_SECCOMP_OFF)
		return 0;
	action = mode == VM_SECCOMP_LOG ? SCMP_ACT_LOG : SCMP_ACT_KILL_PROCESS;
	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return log_err_errno(ENOMEM, "seccomp: init");
	r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	if (r < 0) {
		seccomp_release(ctx);
		return log_err_errno(r, "seccomp: thread sync");
	}
	n = sandbox_rules(ctx, action);
	r = n < 0 ? n : seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0)
		return n < 0 ? n : log_err_errno(r, "seccomp: load the filter");
	return n;
}
