/* SPDX-License-Identifier: Apache-2.0 */
/*
 * "exec": another process inside a running container. The agent joins the
 * container's pid namespace for its next child only (setns on
 * pid_for_children, then back), so the process is the agent's own child
 * and its status comes back through the normal reaping path.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "container.h"
#include "podvisor/log.h"
#include "podvisor/util.h"

static struct exec_proc *execs;

static int open_ns(pid_t pid, const char *ns)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, ns);
	return open(path, O_RDONLY | O_CLOEXEC);
}

static void __attribute__((noreturn))
exec_child(struct ctr *c, struct ctr_spec *spec, const int ns[3], int status_w,
           int out_w, int err_w)
{
	char msg[512];
	int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
	const char *step = "cgroup";
	size_t i;

	if (cgroup_attach(&c->cg, 0) < 0)
		goto fail;
	step = "setns mnt";
	if (setns(ns[0], CLONE_NEWNS) < 0)
		goto fail;
	step = "setns uts/ipc";
	if (setns(ns[1], CLONE_NEWUTS) < 0 || setns(ns[2], CLONE_NEWIPC) < 0)
		goto fail;
	step = "cwd";
	if (chdir(spec->cwd[0] ? spec->cwd : "/") < 0)
		goto fail;
	step = "stdio";
	status_w = fcntl(status_w, F_DUPFD_CLOEXEC, 100);
	out_w = fcntl(out_w, F_DUPFD, 100);
	err_w = fcntl(err_w, F_DUPFD, 100);
	if (nul < 0 || status_w < 0 || out_w < 0 || err_w < 0 ||
	    dup2(nul, 0) < 0 || dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0 ||
	    dup3(status_w, 3, O_CLOEXEC) < 0)
		goto fail;
	syscall(SYS_close_range, 4, ~0U, 0);
	status_w = 3;
	signal(SIGPIPE, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	for (i = 0; spec->envp[i]; i++)
		if (!strncmp(spec->envp[i], "PATH=", 5))
			setenv("PATH", spec->envp[i] + 5, 1);
	execvpe(spec->argv[0], spec->argv, spec->envp);
	snprintf(msg, sizeof(msg),
	         "Eargs[0] '%s' cannot run in container "
	         "'%s': %s",
	         spec->argv[0], c->spec.name, strerror(errno));
	(void)!write(status_w, msg, strlen(msg));
	_exit(127);
fail:
	snprintf(msg, sizeof(msg), "Eentering container '%s' (%s): %s",
	         c->spec.name, step, strerror(errno));
	(void)!write(status_w, msg, strlen(msg));
	_exit(126);
}

/* Waits for the child's exec: EOF = it ran, 'E'+message = it did not. */
static int exec_status(int fd, char *msg, size_t len)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	size_t n = 0;
	ssize_t r;

	while (n + 1 < len && poll(&p, 1, 10000) > 0) {
		r = read(fd, msg + n, len - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	msg[n] = '\0';
	if (n == 0)
		return 0;
	memmove(msg, msg + 1, n);
	return -EINVAL;
}

static int exec_fork(struct ctr *c, struct ctr_spec *spec, int pipes[3][2],
                     pid_t *out)
{
	static int self_pidns = -1;
	int ns[3], pidns, r = 0, i;
	pid_t pid;

	if (self_pidns < 0)
		self_pidns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
	pidns = open_ns(c->pid, "pid");
	ns[0] = open_ns(c->pid, "mnt");
	ns[1] = open_ns(c->pid, "uts");
	ns[2] = open_ns(c->pid, "ipc");
	if (self_pidns < 0 || pidns < 0 || ns[0] < 0 || ns[1] < 0 ||
	    ns[2] < 0) {
		r = -errno;
		goto out;
	}
	if (setns(pidns, CLONE_NEWPID) < 0) {
		r = -errno;
		goto out;
	}
	pid = fork();
	if (pid == 0)
		exec_child(c, spec, ns, pipes[0][1], pipes[1][1], pipes[2][1]);
	if (setns(self_pidns, CLONE_NEWPID) < 0)
		log_err_errno(errno, "agent: cannot return to its own pid "
		                     "namespace");
	if (pid < 0)
		r = -errno;
	*out = pid;
out:
	if (pidns >= 0)
		close(pidns);
	for (i = 0; i < 3; i++)
		if (ns[i] >= 0)
			close(ns[i]);
	return r;
}

int ctr_exec(json_object *req, int conn_fd, struct agent_error *err)
{
	struct ctr_spec spec = {0};
	struct exec_proc *e;
	struct ctr *c = ctr_find(
	    json_object_get_string(json_object_object_get(req, "name")));
	int pipes[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}}, r, i;
	json_object *v;
	char msg[512];
	pid_t pid = -1;

	if (!c)
		return agent_err_set(err, AGENT_ERR_NOT_FOUND, "name",
		                     "no container named '%s'",
		                     json_object_get_string(
		                         json_object_object_get(req, "name")));
	if (c->state != CTR_RUNNING)
		return agent_err_set(err, AGENT_ERR_STATE, "name",
		                     "container '%s' is not running: start "
		                     "it first",
		                     c->spec.name);
	if ((r = spec_parse_cmd(req, &spec, err)) < 0)
		return r;
	for (i = 0; i < 3; i++)
		if (pipe2(pipes[i], O_CLOEXEC) < 0)
			r = -errno;
	if (r == 0)
		r = exec_fork(c, &spec, pipes, &pid);
	for (i = 0; i < 3; i++)
		if (pipes[i][1] >= 0)
			close(pipes[i][1]);
	if (r == 0)
		r = exec_status(pipes[0][0], msg, sizeof(msg));
	else
		snprintf(msg, sizeof(msg), "exec in '%s': %s", c->spec.name,
		         strerror(-r));
	close(pipes[0][0]);
	spec_free(&spec);
	e = r == 0 ? calloc(1, sizeof(*e)) : NULL;
	if (!e) {
		/* A child that failed to exec exits 126/127 and is reaped
		 * below as an unknown pid. */
		close(pipes[1][0]);
		close(pipes[2][0]);
		return agent_err_set(
		    err, r == -EINVAL ? AGENT_ERR_INVALID : AGENT_ERR_INTERNAL,
		    r == -EINVAL ? "args" : "", "%s", msg);
	}
	e->pid = pid;
	e->conn_fd = conn_fd;
	v = json_object_object_get(req, "timeout_ms");
	e->deadline_ns =
	    pv_now_ns() + (uint64_t)(v ? json_object_get_int64(v)
	                               : AGENT_EXEC_TIMEOUT_DEFAULT_MS) *
	                      1000000ULL;
	capture_init(&e->out, pipes[1][0], -1);
	capture_init(&e->err, pipes[2][0], -1);
	e->next = execs;
	execs = e;
	log_info("container %s: exec %s (pid %d)", c->spec.name,
	         json_object_get_string(json_object_array_get_idx(
	             json_object_object_get(req, "args"), 0)),
	         (int)pid);
	return 0;
}

bool exec_reaped(pid_t pid, int wstatus)
{
	struct exec_proc *e;

	for (e = execs; e; e = e->next)
		if (e->pid == pid && !e->reaped) {
			e->reaped = true;
			e->wstatus = wstatus;
			return true;
		}
	return false;
}

void exec_poll_fds(struct pollfd *fds, size_t max, size_t *n)
{
	struct exec_proc *e;

	for (e = execs; e; e = e->next) {
		if (e->out.fd >= 0 && *n < max)
			fds[(*n)++] = (struct pollfd){e->out.fd, POLLIN, 0};
		if (e->err.fd >= 0 && *n < max)
			fds[(*n)++] = (struct pollfd){e->err.fd, POLLIN, 0};
	}
}

void exec_pump(void)
{
	struct exec_proc *e;

	for (e = execs; e; e = e->next) {
		capture_pump(&e->out);
		capture_pump(&e->err);
	}
}

static json_object *capture_str(const struct capture *c)
{
	return json_object_new_string_len(c->buf ? c->buf : "", (int)c->len);
}

static void exec_answer(struct exec_proc *e)
{
	json_object *r = agent_reply_ok();
	int st = e->wstatus;

	json_object_object_add(
	    r, "exit_code",
	    WIFEXITED(st) ? json_object_new_int(WEXITSTATUS(st)) : NULL);
	json_object_object_add(
	    r, "signal",
	    WIFSIGNALED(st) ? json_object_new_int(WTERMSIG(st)) : NULL);
	json_object_object_add(r, "timed_out",
	                       json_object_new_boolean(e->timed_out));
	json_object_object_add(r, "stdout", capture_str(&e->out));
	json_object_object_add(r, "stderr", capture_str(&e->err));
	json_object_object_add(
	    r, "truncated",
	    json_object_new_boolean(e->out.dropped || e->err.dropped));
	if (e->conn_fd >= 0) {
		agent_send(e->conn_fd, r);
		agent_conn_resume(e->conn_fd);
	}
	json_object_put(r);
}

int ctr_exec_service(void)
{
	struct exec_proc **pp = &execs, *e;
	uint64_t now = pv_now_ns();
	int timeout = -1, ms;

	while ((e = *pp)) {
		if (!e->reaped && now >= e->deadline_ns && !e->timed_out) {
			log_warn("exec pid %d: timed out, killing it",
			         (int)e->pid);
			kill(e->pid, SIGKILL);
			e->timed_out = true;
		}
		if (e->reaped) {
			/* It has exited: what it wrote is in the pipes. */
			capture_pump(&e->out);
			capture_pump(&e->err);
			exec_answer(e);
			*pp = e->next;
			capture_close(&e->out);
			capture_close(&e->err);
			free(e);
			continue;
		}
		if (!e->timed_out) {
			ms = (int)((e->deadline_ns - now) / 1000000ULL) + 1;
			timeout = timeout < 0 ? ms : MIN(timeout, ms);
		}
		pp = &e->next;
	}
	return timeout;
}

void ctr_conn_closed(int conn_fd)
{
	struct exec_proc *e;

	for (e = execs; e; e = e->next)
		if (e->conn_fd == conn_fd) {
			/* Once reaped, the pid may be another process's. */
			if (!e->reaped)
				kill(e->pid, SIGKILL);
			e->conn_fd = -1;
		}
}
