// SPDX-License-Identifier: Apache-2.0
/*
 * numa/ apply + verify on this host: a thread pinned through numa_pin_thread
 * reads back the same CPU from /proc/<tid>/status, a MAP_SHARED memfd range
 * bound with numa_bind_memory shows the policy in /proc/self/numa_maps and
 * through get_mempolicy, and a wrong expectation is reported as a mismatch.
 *
 * Exits 0 on success, 1 on a failed check, 77 when the host cannot do it
 * (kernel without NUMA policy support, a single allowed CPU for the part
 * that needs two).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "podvisor/log.h"
#include "podvisor/numa.h"

static int failures;

#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		if (cond) {                                                    \
			printf("ok: ");                                        \
		} else {                                                       \
			printf("FAIL: ");                                      \
			failures++;                                            \
		}                                                              \
		printf(__VA_ARGS__);                                           \
		printf("\n");                                                  \
	} while (0)

struct worker {
	pthread_t thread;
	pid_t tid;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool ready, stop;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	pthread_mutex_lock(&w->lock);
	w->tid = (pid_t)syscall(SYS_gettid);
	w->ready = true;
	pthread_cond_broadcast(&w->cond);
	while (!w->stop)
		pthread_cond_wait(&w->cond, &w->lock);
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* Cpus_allowed_list as the kernel shows it, read by the test itself. */
static void proc_allowed(pid_t tid, char *buf, size_t len)
{
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", (int)tid);
	buf[0] = 0;
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Cpus_allowed_list: %63s", buf) == 1)
			break;
	fclose(f);
}

static void test_pin(void)
{
	struct worker w = {.lock = PTHREAD_MUTEX_INITIALIZER,
	                   .cond = PTHREAD_COND_INITIALIZER};
	cpu_set_t mine;
	int cpus[CPU_SETSIZE], n = 0;
	char want[16], other[16], seen[64];

	sched_getaffinity(0, sizeof(mine), &mine);
	for (int i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &mine))
			cpus[n++] = i;
	pthread_create(&w.thread, NULL, worker_main, &w);
	pthread_mutex_lock(&w.lock);
	while (!w.ready)
		pthread_cond_wait(&w.cond, &w.lock);
	pthread_mutex_unlock(&w.lock);

	/* the last allowed CPU, so the pin differs from the default */
	snprintf(want, sizeof(want), "%d", cpus[n - 1]);
	CHECK(numa_pin_thread(w.thread, want, "worker") == 0,
	      "numa_pin_thread(worker, \"%s\")", want);
	proc_allowed(w.tid, seen, sizeof(seen));
	CHECK(strcmp(seen, want) == 0,
	      "/proc/self/task/%d/status Cpus_allowed_list: %s (want %s)",
	      (int)w.tid, seen, want);
	CHECK(numa_verify_thread(w.tid, want, "worker") == 0,
	      "numa_verify_thread agrees");
	if (n >= 2) {
		snprintf(other, sizeof(other), "%d", cpus[0]);
		CHECK(numa_verify_thread(w.tid, other, "worker") == -EIO,
		      "numa_verify_thread reports a mismatch against CPU %s",
		      other);
	} else {
		printf("note: one allowed CPU, mismatch check not run\n");
	}
	CHECK(numa_pin_thread(w.thread, "banana", "worker") == -EINVAL,
	      "a bad cpulist is refused");
	pthread_mutex_lock(&w.lock);
	w.stop = true;
	pthread_cond_broadcast(&w.cond);
	pthread_mutex_unlock(&w.lock);
	pthread_join(w.thread, NULL);
}

/* numa_maps line of the mapping at addr: "N0=<pages>" count after touch. */
static long node0_pages(const void *addr)
{
	char want[32], line[1024], *p;
	long pages = -1;
	FILE *f = fopen("/proc/self/numa_maps", "re");

	if (!f)
		return -1;
	snprintf(want, sizeof(want), "%lx ", (unsigned long)(uintptr_t)addr);
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, want, strlen(want)))
			continue;
		p = strstr(line, " N0=");
		pages = p ? strtol(p + 4, NULL, 10) : 0;
		break;
	}
	fclose(f);
	return pages;
}

static void *shared_region(size_t len, const char *name)
{
	int fd = memfd_create(name, MFD_CLOEXEC);
	void *p;

	if (fd < 0 || ftruncate(fd, (off_t)len) < 0) {
		perror("memfd");
		exit(1);
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	return p;
}

static void test_bind(void)
{
	const size_t len = 16 << 20;
	void *ram = shared_region(len, "pv-numa-guest-ram");
	void *pref = shared_region(len, "pv-numa-preferred");
	char pol[64] = "";
	int r;

	r = numa_bind_memory(ram, len, 0, false);
	if (r == -ENOSYS) {
		printf("SKIP: this kernel has no NUMA memory policy (mbind: "
		       "ENOSYS)\n");
		exit(77);
	}
	CHECK(r == 0, "numa_bind_memory(16 MiB memfd MAP_SHARED, node 0, "
	              "strict)");
	CHECK(numa_verify_memory(ram, len, 0, false, "guest RAM") == 0,
	      "numa_verify_memory agrees (get_mempolicy MPOL_F_ADDR)");
	CHECK(numa_verify_memory(ram, len, 0, true, "guest RAM") == -EIO,
	      "numa_verify_memory reports bind-vs-preferred mismatch");
	memset(ram, 0x5a, len); /* first touch after the bind */
	r = numa_maps_policy(getpid(), ram, pol, sizeof(pol));
	CHECK(r == 0 && strcmp(pol, "bind:0") == 0,
	      "/proc/self/numa_maps policy of the range: %s (want bind:0)",
	      pol);
	CHECK(node0_pages(ram) == (long)(len / 4096),
	      "numa_maps: %ld pages on N0 after touch (want %zu)",
	      node0_pages(ram), len / 4096);

	CHECK(numa_bind_memory(pref, len, 0, true) == 0,
	      "numa_bind_memory(node 0, preferred)");
	r = numa_maps_policy(getpid(), pref, pol, sizeof(pol));
	CHECK(r == 0 && strcmp(pol, "prefer:0") == 0,
	      "/proc/self/numa_maps policy: %s (want prefer:0)", pol);
	CHECK(numa_verify_memory(pref, len, 0, true, "preferred RAM") == 0,
	      "numa_verify_memory agrees (preferred)");
	CHECK(numa_bind_memory((char *)ram + 1, len, 0, false) == -EINVAL,
	      "an unaligned range is refused");
	munmap(ram, len);
	munmap(pref, len);
}

int main(void)
{
	pv_log_init("test_numa_pin", PV_LOG_WARN);
	if (access("/proc/self/numa_maps", R_OK) != 0) {
		printf("SKIP: /proc/self/numa_maps missing (kernel without "
		       "CONFIG_NUMA)\n");
		return 77;
	}
	test_pin();
	test_bind();
	printf("%s: %d failure(s)\n", failures ? "FAIL" : "PASS", failures);
	return failures ? 1 : 0;
}
