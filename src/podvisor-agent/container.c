/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Container lifecycle in podvisor-agent: create (namespaces, cgroup,
 * rootfs; the process waits), start (exec the workload), state, logs,
 * kill, delete. Single-threaded: called from the agent's event loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "blkdev.h"
#include "container.h"
#include "podvisor/log.h"
#include "podvisor/util.h"

static char state_dir[128] = "/run/podvisor-agent";
static struct ctr *ctrs;

void ctr_runtime_init(const char *dir)
{
	snprintf(state_dir, sizeof(state_dir), "%s", dir);
}

struct ctr *ctr_find(const char *name)
{
	struct ctr *c;

	for (c = ctrs; c; c = c->next)
		if (!strcmp(c->spec.name, name))
			return c;
	return NULL;
}

struct ctr *ctr_by_pid(pid_t pid)
{
	struct ctr *c;

	for (c = ctrs; c; c = c->next)
		if (c->pid == pid && c->state != CTR_EXITED)
			return c;
	return NULL;
}

static const char *req_name(json_object *req)
{
	return json_object_get_string(json_object_object_get(req, "name"));
}

static struct ctr *find_or_err(json_object *req, struct agent_error *err)
{
	struct ctr *c = ctr_find(req_name(req));

	if (!c)
		agent_err_set(err, AGENT_ERR_NOT_FOUND, "name",
		              "no container named '%s' in this pod",
		              req_name(req));
	return c;
}

json_object *ctr_state_json(const struct ctr *c)
{
	static const char *const states[] = {"created", "running", "exited"};
	json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(c->spec.name));
	json_object_object_add(o, "rootfs",
	                       json_object_new_string(c->spec.rootfs));
	json_object_object_add(o, "state",
	                       json_object_new_string(states[c->state]));
	json_object_object_add(o, "pid", json_object_new_int(c->pid));
	json_object_object_add(
	    o, "exit_code",
	    c->exit_code >= 0 ? json_object_new_int(c->exit_code) : NULL);
	json_object_object_add(
	    o, "signal", c->signal ? json_object_new_int(c->signal) : NULL);
	json_object_object_add(o, "oom_killed",
	                       json_object_new_boolean(c->oom_killed));
	json_object_object_add(
	    o, "memory_mib",
	    json_object_new_int64((int64_t)c->spec.memory_mib));
	json_object_object_add(o, "pids",
	                       json_object_new_int64((int64_t)c->spec.pids));
	return o;
}

static json_object *reply_with(const struct ctr *c)
{
	json_object *r = agent_reply_ok();

	json_object_object_add(r, "container", ctr_state_json(c));
	return r;
}

/* Child: the container's pid 1 until execve. Never returns. */
static void __attribute__((noreturn))
child_main(struct ctr *c, int sync_r, int status_w, int out_w, int err_w)
{
	char msg[512], b;
	int nul, a, s, o, e, r;
	size_t i;

	a = fcntl(sync_r, F_DUPFD_CLOEXEC, 100);
	s = fcntl(status_w, F_DUPFD_CLOEXEC, 100);
	o = fcntl(out_w, F_DUPFD, 100);
	e = fcntl(err_w, F_DUPFD, 100);
	nul = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (a < 0 || s < 0 || o < 0 || e < 0 || nul < 0 || dup2(nul, 0) < 0 ||
	    dup2(o, 1) < 0 || dup2(e, 2) < 0 || dup3(a, 3, O_CLOEXEC) < 0 ||
	    dup3(s, 4, O_CLOEXEC) < 0)
		_exit(126);
	/* Nothing of the agent's (sockets, other containers' pipes) may
	 * leak into the workload. */
	syscall(SYS_close_range, 5, ~0U, 0);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	if (read(3, &b, 1) != 1)
		_exit(126);
	setsid();
	r = rootfs_enter(&c->spec, c->dir, msg + 1, sizeof(msg) - 1);
	if (r < 0) {
		msg[0] = 'E';
		(void)!write(4, msg, strlen(msg));
		_exit(127);
	}
	if (write(4, "R", 1) != 1 || read(3, &b, 1) != 1 || b != 's')
		_exit(126);
	close(3);
	/* execvpe searches the PATH of our own environment. */
	for (i = 0; c->spec.envp[i]; i++)
		if (!strncmp(c->spec.envp[i], "PATH=", 5))
			setenv("PATH", c->spec.envp[i] + 5, 1);
	execvpe(c->spec.argv[0], c->spec.argv, c->spec.envp);
	snprintf(msg, sizeof(msg),
	         "Eargs[0] '%s' cannot run in the "
	         "container: %s",
	         c->spec.argv[0], strerror(errno));
	(void)!write(4, msg, strlen(msg));
	_exit(127);
}

/* Reads the child's report: 'R' (ready) or 'E'+message. With
 * want_eof, success is the pipe closing on execve. */
static int read_status(int fd, bool want_eof, char *msg, size_t len)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	size_t n = 0;
	ssize_t r;

	msg[0] = '\0';
	while (n + 1 < len) {
		if (poll(&p, 1, 30000) <= 0)
			return -ETIMEDOUT;
		r = read(fd, msg + n, len - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
		if (!want_eof && msg[0] == 'R')
			return 0;
	}
	msg[n] = '\0';
	if (n == 0)
		return want_eof ? 0 : -ECHILD;
	if (msg[0] == 'E') {
		memmove(msg, msg + 1, n);
		return -EINVAL;
	}
	return -EPROTO;
}

static int spawn(struct ctr *c, char *msg, size_t len)
{
	struct clone_args ca = {
	    .flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC,
	    .exit_signal = SIGCHLD,
	};
	int p[4][2] = {{-1, -1}, {-1, -1}, {-1, -1}, {-1, -1}}, r, i, err;
	long pid;

	/* p[0] sync (agent -> child), p[1] status, p[2] stdout, p[3] stderr */
	for (i = 0; i < 4; i++)
		if (pipe2(p[i], O_CLOEXEC) < 0) {
			err = errno;
			while (i-- > 0) {
				close(p[i][0]);
				close(p[i][1]);
			}
			snprintf(msg, len, "pipe: %s", strerror(err));
			return -err;
		}
	pid = syscall(SYS_clone3, &ca, sizeof(ca));
	err = errno;
	if (pid == 0)
		child_main(c, p[0][0], p[1][1], p[2][1], p[3][1]);
	close(p[0][0]);
	close(p[1][1]);
	close(p[2][1]);
	close(p[3][1]);
	c->sync_fd = p[0][1];
	c->status_fd = p[1][0];
	capture_init(&c->out, p[2][0], c->out.file);
	capture_init(&c->err, p[3][0], c->err.file);
	if (pid < 0) {
		snprintf(msg, len, "clone3 with new namespaces: %s",
		         strerror(err));
		return -err;
	}
	c->pid = (pid_t)pid;
	r = cgroup_attach(&c->cg, c->pid);
	if (r < 0) {
		snprintf(msg, len, "joining the cgroup: %s", strerror(-r));
		return r;
	}
	if (write(c->sync_fd, "p", 1) != 1)
		return -EPIPE;
	return read_status(c->status_fd, false, msg, len);
}

static int open_log(const struct ctr *c, const char *file)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/%s", c->dir, file);
	return open(path, O_CREAT | O_TRUNC | O_RDWR | O_CLOEXEC, 0600);
}

static void ctr_free(struct ctr *c)
{
	struct ctr **pp;
	char path[300];

	for (pp = &ctrs; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	capture_close(&c->out);
	capture_close(&c->err);
	if (c->sync_fd >= 0)
		close(c->sync_fd);
	if (c->status_fd >= 0)
		close(c->status_fd);
	cgroup_destroy(&c->cg);
	snprintf(path, sizeof(path), "%s/stdout.log", c->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/stderr.log", c->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/mnt", c->dir);
	rmdir(path);
	rmdir(c->dir);
	spec_free(&c->spec);
	free(c);
}

static int ctr_prepare(struct ctr *c, json_object *req, struct agent_error *err)
{
	json_object *lim, *v;
	struct stat st;
	char why[256], path[300];
	int r;

	r = spec_parse_cmd(req, &c->spec, err);
	if (r < 0)
		return r;
	snprintf(c->spec.rootfs, sizeof(c->spec.rootfs), "%s",
	         json_object_get_string(json_object_object_get(req, "rootfs")));
	if (json_object_object_get_ex(req, "limits", &lim)) {
		if (json_object_object_get_ex(lim, "memory_mib", &v))
			c->spec.memory_mib = (uint64_t)json_object_get_int64(v);
		if (json_object_object_get_ex(lim, "pids", &v))
			c->spec.pids = (uint64_t)json_object_get_int64(v);
	}
	if (!strncmp(c->spec.rootfs, BLKDEV_SERIAL_PREFIX,
	             strlen(BLKDEV_SERIAL_PREFIX))) {
		const char *serial =
		    c->spec.rootfs + strlen(BLKDEV_SERIAL_PREFIX);

		if (blkdev_by_serial("/sys", serial, path, sizeof(path)) < 0)
			return agent_err_set(
			    err, AGENT_ERR_INVALID, "rootfs",
			    "no disk with serial '%s' in this "
			    "VM: add it to the VM's disks with "
			    "that serial",
			    serial);
		snprintf(c->spec.rootfs, sizeof(c->spec.rootfs), "%s", path);
	}
	if (stat(c->spec.rootfs, &st) < 0)
		return agent_err_set(err, AGENT_ERR_INVALID, "rootfs",
		                     "rootfs %s: %s: give an existing block "
		                     "device, image file or directory",
		                     c->spec.rootfs, strerror(errno));
	snprintf(c->dir, sizeof(c->dir), "%s/%s", state_dir, c->spec.name);
	mkdir(state_dir, 0700);
	if (mkdir(c->dir, 0700) < 0 && errno != EEXIST)
		return agent_err_set(err, AGENT_ERR_INTERNAL, "",
		                     "state dir %s: %s", c->dir,
		                     strerror(errno));
	snprintf(path, sizeof(path), "%s/mnt", c->dir);
	mkdir(path, 0700);
	c->out.file = open_log(c, "stdout.log");
	c->err.file = open_log(c, "stderr.log");
	r = cgroup_create(&c->cg, c->spec.name, c->spec.memory_mib * MiB,
	                  c->spec.pids, why, sizeof(why));
	if (r < 0)
		return agent_err_set(
		    err, r == -ENOTSUP ? AGENT_ERR_INVALID : AGENT_ERR_INTERNAL,
		    r == -ENOTSUP ? "limits" : "", "%s", why);
	return 0;
}

int ctr_create(json_object *req, json_object **reply, struct agent_error *err)
{
	struct ctr *c;
	char msg[512];
	size_t n = 0;
	int r;

	for (c = ctrs; c; c = c->next)
		n++;
	/* Each container holds fds and a poll slot; bound them. */
	if (n >= AGENT_MAX_CONTAINERS)
		return agent_err_set(err, AGENT_ERR_INVALID, "name",
		                     "%zu containers exist, the most one agent "
		                     "runs: delete some first",
		                     n);
	if (ctr_find(req_name(req)))
		return agent_err_set(err, AGENT_ERR_EXISTS, "name",
		                     "container '%s' exists: delete it first "
		                     "or pick another name",
		                     req_name(req));
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->sync_fd = c->status_fd = -1;
	c->exit_code = -1;
	capture_init(&c->out, -1, -1);
	capture_init(&c->err, -1, -1);
	c->next = ctrs;
	ctrs = c;
	r = ctr_prepare(c, req, err);
	if (r < 0)
		goto fail;
	r = spawn(c, msg, sizeof(msg));
	if (r < 0) {
		agent_err_set(
		    err, r == -EINVAL ? AGENT_ERR_INVALID : AGENT_ERR_INTERNAL,
		    r == -EINVAL ? "rootfs" : "", "%s",
		    msg[0] ? msg : strerror(-r));
		goto fail;
	}
	log_info("container %s: created from %s (pid %d, memory %llu MiB, "
	         "pids %llu)",
	         c->spec.name, c->spec.rootfs, c->pid,
	         (unsigned long long)c->spec.memory_mib,
	         (unsigned long long)c->spec.pids);
	*reply = reply_with(c);
	return 0;
fail:
	log_err("container %s: create failed: %s", c->spec.name, err->message);
	ctr_kill_and_wait(c);
	ctr_free(c);
	return r;
}

int ctr_start(json_object *req, json_object **reply, struct agent_error *err)
{
	struct ctr *c = find_or_err(req, err);
	char msg[512];
	int r;

	if (!c)
		return -ENOENT;
	if (c->state != CTR_CREATED)
		return agent_err_set(err, AGENT_ERR_STATE, "name",
		                     "container '%s' was already started",
		                     c->spec.name);
	if (write(c->sync_fd, "s", 1) != 1)
		r = -EPIPE;
	else
		r = read_status(c->status_fd, true, msg, sizeof(msg));
	c->state = CTR_RUNNING;
	if (r < 0) {
		/* The child exits 127; reaping records it as such. */
		ctr_reap();
		return agent_err_set(err, AGENT_ERR_INVALID, "args", "%s",
		                     r == -EINVAL ? msg : strerror(-r));
	}
	log_info("container %s: started %s", c->spec.name, c->spec.argv[0]);
	*reply = reply_with(c);
	return 0;
}

int ctr_state(json_object *req, json_object **reply, struct agent_error *err)
{
	struct ctr *c = find_or_err(req, err);

	if (!c)
		return -ENOENT;
	*reply = reply_with(c);
	return 0;
}

int ctr_list(json_object *req, json_object **reply, struct agent_error *err)
{
	json_object *a = json_object_new_array();
	struct ctr *c;

	for (c = ctrs; c; c = c->next)
		json_object_array_add(a, ctr_state_json(c));
	*reply = agent_reply_ok();
	json_object_object_add(*reply, "containers", a);
	return 0;
}

static json_object *read_log(const struct ctr *c, const char *file)
{
	char path[300];
	_cleanup_free_ char *buf = malloc(AGENT_LOG_MAX + 1);
	_cleanup_close_ int fd = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/%s", c->dir, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || !buf)
		return json_object_new_string("");
	n = pread(fd, buf, AGENT_LOG_MAX, 0);
	return json_object_new_string_len(buf, n > 0 ? (int)n : 0);
}

int ctr_logs(json_object *req, json_object **reply, struct agent_error *err)
{
	struct ctr *c = find_or_err(req, err);

	if (!c)
		return -ENOENT;
	capture_pump(&c->out);
	capture_pump(&c->err);
	*reply = agent_reply_ok();
	json_object_object_add(*reply, "stdout", read_log(c, "stdout.log"));
	json_object_object_add(*reply, "stderr", read_log(c, "stderr.log"));
	json_object_object_add(
	    *reply, "truncated",
	    json_object_new_boolean(c->out.dropped || c->err.dropped));
	return 0;
}

int ctr_kill(json_object *req, json_object **reply, struct agent_error *err)
{
	struct ctr *c = find_or_err(req, err);
	json_object *v;
	int sig = SIGTERM;

	if (!c)
		return -ENOENT;
	if (json_object_object_get_ex(req, "signal", &v))
		sig = json_object_get_int(v);
	if (c->state != CTR_RUNNING)
		return agent_err_set(err, AGENT_ERR_STATE, "name",
		                     "container '%s' is not running",
		                     c->spec.name);
	/* Limitation: as pid 1 of its namespace the workload only gets
	 * signals it handles, SIGKILL and SIGSTOP aside. */
	if (kill(c->pid, sig) < 0)
		return agent_err_set(err, AGENT_ERR_INTERNAL, "", "kill: %s",
		                     strerror(errno));
	log_info("container %s: sent signal %d", c->spec.name, sig);
	*reply = agent_reply_ok();
	return 0;
}

int ctr_delete(json_object *req, json_object **reply, struct agent_error *err)
{
	struct ctr *c = find_or_err(req, err);

	if (!c)
		return -ENOENT;
	ctr_kill_and_wait(c);
	log_info("container %s: deleted", c->spec.name);
	ctr_free(c);
	*reply = agent_reply_ok();
	return 0;
}

int ctr_poll_fds(struct pollfd *fds, size_t max, size_t *n)
{
	struct ctr *c;
	int t1, t2;

	for (c = ctrs; c; c = c->next) {
		if (c->out.fd >= 0 && *n < max)
			fds[(*n)++] = (struct pollfd){c->out.fd, POLLIN, 0};
		if (c->err.fd >= 0 && *n < max)
			fds[(*n)++] = (struct pollfd){c->err.fd, POLLIN, 0};
	}
	exec_poll_fds(fds, max, n);
	t1 = ctr_exec_service();
	t2 = ctr_wait_service();
	return t1 < 0 ? t2 : t2 < 0 ? t1 : MIN(t1, t2);
}

void ctr_poll_ready(const struct pollfd *fds, size_t n)
{
	struct ctr *c;

	/* Pumping is non-blocking and cheap: drain every stream. */
	for (c = ctrs; c; c = c->next) {
		capture_pump(&c->out);
		capture_pump(&c->err);
	}
	exec_pump();
}

void ctr_shutdown(void)
{
	while (ctrs) {
		ctr_kill_and_wait(ctrs);
		ctr_free(ctrs);
	}
	/* Their execs died with them and were reaped: answer those clients,
	 * and those waiting for a container, before the agent exits. */
	ctr_exec_service();
	ctr_wait_service();
	cgroup_cleanup_parents();
}
