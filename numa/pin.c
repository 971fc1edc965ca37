/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Applying a placement inside podvisor-vmm and reading it back: thread CPU
 * affinity (sched_getaffinity and /proc), memory policy (get_mempolicy and
 * /proc/<pid>/numa_maps). A plan that was applied but reads back different
 * is an error, never a warning: overlapping pinning is what this prevents.
 */
#include <errno.h>
#include <hwloc.h>
#include <numaif.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "podvisor/log.h"
#include "podvisor/numa.h"
#include "podvisor/util.h"

#define ULONG_BITS (8 * sizeof(unsigned long))

int numa_cpulist_parse(const char *list, int *cpus, unsigned int max)
{
	hwloc_bitmap_t b = hwloc_bitmap_alloc();
	unsigned int n = 0;
	int r = 0, i;

	if (!b)
		return -ENOMEM;
	if (!list || hwloc_bitmap_list_sscanf(b, list) < 0 ||
	    hwloc_bitmap_weight(b) < 0 ||
	    strspn(list, "0123456789,-") != strlen(list)) {
		hwloc_bitmap_free(b);
		return -EINVAL;
	}
	hwloc_bitmap_foreach_begin(i, b)
	{
		if (n == max) {
			r = -E2BIG;
			break;
		}
		cpus[n++] = i;
	}
	hwloc_bitmap_foreach_end();
	hwloc_bitmap_free(b);
	return r < 0 ? r : (int)n;
}

int numa_cpulist_format(const int *cpus, unsigned int n, char *buf, size_t len)
{
	hwloc_bitmap_t b = hwloc_bitmap_alloc();
	int r;

	if (!b)
		return -ENOMEM;
	for (unsigned int i = 0; i < n; i++)
		if (cpus[i] >= 0)
			hwloc_bitmap_set(b, (unsigned int)cpus[i]);
	r = hwloc_bitmap_list_snprintf(buf, len, b);
	hwloc_bitmap_free(b);
	if (r < 0)
		return -EINVAL;
	return (size_t)r >= len ? -ENAMETOOLONG : 0;
}

static int list_to_set(const char *cpulist, cpu_set_t *set)
{
	int cpus[CPU_SETSIZE];
	int n = numa_cpulist_parse(cpulist, cpus, CPU_SETSIZE);

	if (n <= 0)
		return -EINVAL;
	CPU_ZERO(set);
	for (int i = 0; i < n; i++) {
		if (cpus[i] >= CPU_SETSIZE)
			return -EINVAL;
		CPU_SET(cpus[i], set);
	}
	return 0;
}

static void set_to_list(const cpu_set_t *set, char *buf, size_t len)
{
	int cpus[CPU_SETSIZE];
	unsigned int n = 0;

	for (int i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, set))
			cpus[n++] = i;
	if (numa_cpulist_format(cpus, n, buf, len) < 0)
		snprintf(buf, len, "?");
}

int numa_pin_thread(pthread_t thread, const char *cpulist, const char *label)
{
	cpu_set_t set;
	int r;

	if (list_to_set(cpulist, &set) < 0)
		return log_err_errno(EINVAL,
		                     "%s: cannot pin to \"%s\": not a "
		                     "cpulist",
		                     label, cpulist ? cpulist : "(null)");
	r = pthread_setaffinity_np(thread, sizeof(set), &set);
	if (r)
		return log_err_errno(r, "%s: pin to CPUs %s", label, cpulist);
	log_info("%s: pinned to CPUs %s", label, cpulist);
	return 0;
}

int numa_pin_thread_cpu(pthread_t thread, int cpu, const char *label)
{
	char list[16];

	if (cpu < 0)
		return -EINVAL;
	snprintf(list, sizeof(list), "%d", cpu);
	return numa_pin_thread(thread, list, label);
}

/* Cpus_allowed_list of thread tid from /proc/<tid>/status. */
static int proc_cpus_allowed(pid_t tid, char *buf, size_t len)
{
	char path[64], line[512];
	int r = -ENODATA;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "Cpus_allowed_list:", 18))
			continue;
		snprintf(buf, len, "%s", line + 18 + strspn(line + 18, " \t"));
		buf[strcspn(buf, "\n")] = 0;
		r = 0;
		break;
	}
	fclose(f);
	return r;
}

int numa_verify_thread(pid_t tid, const char *cpulist, const char *label)
{
	cpu_set_t want, got, proc;
	char got_s[512], proc_s[512];
	int r;

	if (list_to_set(cpulist, &want) < 0)
		return -EINVAL;
	if (sched_getaffinity(tid, sizeof(got), &got) < 0)
		return log_err_errno(errno, "%s: read affinity of thread %d",
		                     label, (int)tid);
	r = proc_cpus_allowed(tid, proc_s, sizeof(proc_s));
	if (r < 0)
		return log_err_errno(r, "%s: read /proc/%d/status", label,
		                     (int)tid);
	set_to_list(&got, got_s, sizeof(got_s));
	if (list_to_set(proc_s, &proc) < 0 || !CPU_EQUAL(&want, &got) ||
	    !CPU_EQUAL(&want, &proc)) {
		log_err("%s: thread %d should run on CPUs %s but "
		        "sched_getaffinity says %s and /proc says %s",
		        label, (int)tid, cpulist, got_s, proc_s);
		return -EIO;
	}
	log_debug("%s: thread %d verified on CPUs %s", label, (int)tid,
	          cpulist);
	return 0;
}

int numa_bind_memory(void *addr, size_t len, int os_node, bool preferred)
{
	unsigned long mask[NUMA_MAX_NODES / ULONG_BITS] = {0};
	long ps = sysconf(_SC_PAGESIZE);

	if (os_node < 0 || os_node >= NUMA_MAX_NODES || !len ||
	    (uintptr_t)addr % (uintptr_t)ps)
		return log_err_errno(EINVAL,
		                     "bind %zu bytes at %p to node %d: "
		                     "need a page-aligned range and a "
		                     "node 0..%d",
		                     len, addr, os_node, NUMA_MAX_NODES - 1);
	mask[os_node / ULONG_BITS] |= 1UL << (os_node % ULONG_BITS);
	if (mbind(addr, len, preferred ? MPOL_PREFERRED : MPOL_BIND, mask,
	          NUMA_MAX_NODES + 1, 0) < 0)
		return log_err_errno(errno,
		                     "mbind %zu MiB at %p to node %d "
		                     "(%s)",
		                     len >> 20, addr, os_node,
		                     preferred ? "preferred" : "bind");
	log_info("memory %p+%zu MiB bound to node %d (%s)", addr, len >> 20,
	         os_node, preferred ? "preferred" : "strict");
	return 0;
}

static int policy_at(void *addr, int *mode, unsigned long *mask,
                     unsigned long maxnode)
{
	if (get_mempolicy(mode, mask, maxnode, addr, MPOL_F_ADDR) < 0)
		return -errno;
	return 0;
}

int numa_verify_memory(void *addr, size_t len, int os_node, bool preferred,
                       const char *label)
{
	long ps = sysconf(_SC_PAGESIZE);
	void *probe[2] = {addr, (char *)addr + ((len - 1) & ~(size_t)(ps - 1))};
	int want = preferred ? MPOL_PREFERRED : MPOL_BIND;

	if (os_node < 0 || os_node >= NUMA_MAX_NODES || !len)
		return -EINVAL;
	for (unsigned int i = 0; i < ARRAY_SIZE(probe); i++) {
		unsigned long mask[NUMA_MAX_NODES / ULONG_BITS] = {0};
		unsigned long only[NUMA_MAX_NODES / ULONG_BITS] = {0};
		int mode = -1, r;

		r = policy_at(probe[i], &mode, mask, NUMA_MAX_NODES);
		if (r < 0)
			return log_err_errno(r, "%s: get_mempolicy at %p",
			                     label, probe[i]);
		only[os_node / ULONG_BITS] = 1UL << (os_node % ULONG_BITS);
		if (mode != want || memcmp(mask, only, sizeof(mask))) {
			log_err("%s: policy at %p is mode %d nodes 0x%lx, "
			        "expected mode %d (%s) on node %d",
			        label, probe[i], mode, mask[0], want,
			        preferred ? "preferred" : "bind", os_node);
			return -EIO;
		}
	}
	return 0;
}

int numa_maps_policy(pid_t pid, const void *addr, char *buf, size_t len)
{
	char path[64], line[1024], want[32];
	int r = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/numa_maps", (int)pid);
	snprintf(want, sizeof(want), "%lx ", (unsigned long)(uintptr_t)addr);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, want, strlen(want)))
			continue;
		snprintf(buf, len, "%.*s",
		         (int)strcspn(line + strlen(want), " \n"),
		         line + strlen(want));
		r = 0;
		break;
	}
	fclose(f);
	return r;
}
