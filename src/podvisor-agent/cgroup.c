/* SPDX-License-Identifier: Apache-2.0 */
/* Per-container cgroups: v2 when it has the controllers, else v1. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "podvisor/log.h"
#include "podvisor/util.h"

static int write_file(const char *dir, const char *file, const char *val)
{
	char path[PATH_MAX + 64];
	_cleanup_close_ int fd = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	if (n < 0)
		return -errno;
	return 0;
}

static int read_file(const char *path, char *buf, size_t size)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

static bool has_word(const char *list, const char *word)
{
	size_t n = strlen(word);
	const char *p = list;

	while ((p = strstr(p, word))) {
		if ((p == list || p[-1] == ' ') &&
		    (p[n] == '\0' || p[n] == ' ' || p[n] == '\n'))
			return true;
		p += n;
	}
	return false;
}

/* The v2 mount that carries the memory controller, or NULL. */
static const char *v2_root(void)
{
	static const char *const roots[] = {"/sys/fs/cgroup",
	                                    "/sys/fs/cgroup/unified"};
	char path[128], buf[512];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(roots); i++) {
		snprintf(path, sizeof(path), "%s/cgroup.controllers", roots[i]);
		if (read_file(path, buf, sizeof(buf)) == 0 &&
		    has_word(buf, "memory"))
			return roots[i];
	}
	return NULL;
}

/* The agent's own path in v1 hierarchy `ctrl` from /proc/self/cgroup, so
 * container cgroups nest under (and are accounted to) the agent's. */
static int v1_own_path(const char *ctrl, char *out, size_t size)
{
	char buf[4096], *line, *save = NULL;
	size_t n = strlen(ctrl);

	if (read_file("/proc/self/cgroup", buf, sizeof(buf)) < 0)
		return -ENOENT;
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *c = strchr(line, ':');

		if (c && !strncmp(c + 1, ctrl, n) && c[1 + n] == ':') {
			snprintf(out, size, "%s", c + 2 + n);
			return 0;
		}
	}
	return -ENOENT;
}

static int v1_dir(const char *ctrl, const char *name, char *out, size_t size)
{
	char own[PATH_MAX / 2], base[PATH_MAX + 32];
	int r;

	snprintf(base, sizeof(base), "/sys/fs/cgroup/%s/tasks", ctrl);
	if (access(base, F_OK) < 0 || v1_own_path(ctrl, own, sizeof(own)) < 0)
		return -ENOTSUP;
	if (!strcmp(own, "/"))
		own[0] = '\0';
	snprintf(base, sizeof(base), "/sys/fs/cgroup/%s%s/podvisor", ctrl, own);
	if (mkdir(base, 0755) < 0 && errno != EEXIST)
		return -errno;
	r = snprintf(out, size, "%s/%s", base, name);
	if (r < 0 || (size_t)r >= size)
		return -ENAMETOOLONG;
	if (mkdir(out, 0755) < 0)
		return errno == EEXIST ? 0 : -errno;
	return 0;
}

static int create_v2(struct cgroup *cg, const char *root, const char *name,
                     uint64_t mem, uint64_t pids)
{
	char base[PATH_MAX / 2], val[32];
	int r;

	/* Delegate memory and pids down to podvisor/<name>. */
	write_file(root, "cgroup.subtree_control", "+memory +pids");
	snprintf(base, sizeof(base), "%s/podvisor", root);
	if (mkdir(base, 0755) < 0 && errno != EEXIST)
		return -errno;
	write_file(base, "cgroup.subtree_control", "+memory +pids");
	snprintf(cg->v2, sizeof(cg->v2), "%s/%s", base, name);
	if (mkdir(cg->v2, 0755) < 0 && errno != EEXIST)
		return -errno;
	cg->version = 2;
	if (mem) {
		snprintf(val, sizeof(val), "%llu", (unsigned long long)mem);
		if ((r = write_file(cg->v2, "memory.max", val)) < 0)
			return r;
		write_file(cg->v2, "memory.swap.max", "0");
	}
	if (pids) {
		snprintf(val, sizeof(val), "%llu", (unsigned long long)pids);
		if ((r = write_file(cg->v2, "pids.max", val)) < 0)
			return r;
	}
	return 0;
}

static int create_v1(struct cgroup *cg, const char *name, uint64_t mem,
                     uint64_t pids, char *why, size_t why_len)
{
	char val[32];
	int r;

	cg->version = 1;
	r = v1_dir("memory", name, cg->mem, sizeof(cg->mem));
	if (r < 0)
		cg->mem[0] = '\0';
	if (r < 0 && mem) {
		snprintf(why, why_len,
		         "limits.memory_mib needs the memory "
		         "cgroup controller, which this system "
		         "does not offer: drop the limit");
		return r == -ENOTSUP ? r : log_err_errno(r, "cgroup %s", name);
	}
	r = v1_dir("pids", name, cg->pids, sizeof(cg->pids));
	if (r < 0)
		cg->pids[0] = '\0';
	if (r < 0 && pids) {
		snprintf(why, why_len,
		         "limits.pids needs the pids cgroup "
		         "controller, which this system does "
		         "not offer: drop the limit");
		return r == -ENOTSUP ? r : log_err_errno(r, "cgroup %s", name);
	}
	if (mem) {
		snprintf(val, sizeof(val), "%llu", (unsigned long long)mem);
		/* memsw must stay >= the memory limit: lower memory first
		 * when shrinking is irrelevant here, the cgroup is fresh. */
		if ((r = write_file(cg->mem, "memory.limit_in_bytes", val)) < 0)
			return r;
		write_file(cg->mem, "memory.memsw.limit_in_bytes", val);
		write_file(cg->mem, "memory.swappiness", "0");
	}
	if (pids) {
		snprintf(val, sizeof(val), "%llu", (unsigned long long)pids);
		if ((r = write_file(cg->pids, "pids.max", val)) < 0)
			return r;
	}
	return 0;
}

int cgroup_create(struct cgroup *cg, const char *name, uint64_t memory_bytes,
                  uint64_t pids, char *why, size_t why_len)
{
	const char *root = v2_root();
	char leaf[NAME_MAX + 1];
	int r;

	memset(cg, 0, sizeof(*cg));
	why[0] = '\0';
	/* Agents started from one cgroup (several host-side agents) share
	 * its podvisor/ parent: the agent's pid keeps their names apart. */
	r = snprintf(leaf, sizeof(leaf), "%s.%d", name, (int)getpid());
	if (r < 0 || (size_t)r >= sizeof(leaf))
		return -ENAMETOOLONG;
	r = root ? create_v2(cg, root, leaf, memory_bytes, pids)
	         : create_v1(cg, leaf, memory_bytes, pids, why, why_len);
	if (r < 0) {
		if (!why[0])
			snprintf(why, why_len, "cannot set up the cgroup: %s",
			         strerror(-r));
		cgroup_destroy(cg);
	}
	return r;
}

int cgroup_attach(const struct cgroup *cg, pid_t pid)
{
	char val[24];
	int r = 0;

	snprintf(val, sizeof(val), "%d", (int)pid);
	if (cg->version == 2)
		return write_file(cg->v2, "cgroup.procs", val);
	if (cg->mem[0] && (r = write_file(cg->mem, "cgroup.procs", val)) < 0)
		return r;
	if (cg->pids[0])
		r = write_file(cg->pids, "cgroup.procs", val);
	return r;
}

uint64_t cgroup_oom_kills(const struct cgroup *cg)
{
	char path[PATH_MAX + 32], buf[1024], *p;

	if (cg->version == 2)
		snprintf(path, sizeof(path), "%s/memory.events", cg->v2);
	else if (cg->version == 1 && cg->mem[0])
		snprintf(path, sizeof(path), "%s/memory.oom_control", cg->mem);
	else
		return 0;
	if (read_file(path, buf, sizeof(buf)) < 0)
		return 0;
	p = strstr(buf, "oom_kill ");
	return p ? strtoull(p + 9, NULL, 10) : 0;
}

static int rmdir_retry(const char *dir)
{
	struct timespec ts = {0, 10 * 1000 * 1000};
	int i;

	if (!dir[0])
		return 0;
	for (i = 0; i < 200; i++) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			break;
		nanosleep(&ts, NULL);
	}
	return log_warn_errno(errno, "cgroup %s: cannot remove", dir);
}

int cgroup_destroy(struct cgroup *cg)
{
	int r = 0;

	if (cg->version == 2)
		r = rmdir_retry(cg->v2);
	else if (cg->version == 1)
		r = MIN(rmdir_retry(cg->mem), rmdir_retry(cg->pids));
	cg->version = 0;
	return r;
}

const char *cgroup_describe(void)
{
	const char *root = v2_root();

	if (root)
		return strcmp(root, "/sys/fs/cgroup") ? "cgroup v2 (hybrid)"
		                                      : "cgroup v2";
	if (access("/sys/fs/cgroup/memory/tasks", F_OK) == 0)
		return "cgroup v1 memory+pids";
	return "no memory cgroup (limits unavailable)";
}

void cgroup_cleanup_parents(void)
{
	static const char *const ctrls[] = {"memory", "pids"};
	const char *root = v2_root();
	char own[PATH_MAX / 2], dir[PATH_MAX];
	size_t i;

	/* rmdir only succeeds on an empty cgroup: another agent's or a
	 * leftover container's cgroup keeps it, as it should. */
	if (root) {
		snprintf(dir, sizeof(dir), "%s/podvisor", root);
		rmdir(dir);
		return;
	}
	for (i = 0; i < ARRAY_SIZE(ctrls); i++) {
		if (v1_own_path(ctrls[i], own, sizeof(own)) < 0)
			continue;
		snprintf(dir, sizeof(dir), "/sys/fs/cgroup/%s%s/podvisor",
		         ctrls[i], strcmp(own, "/") ? own : "");
		rmdir(dir);
	}
}
