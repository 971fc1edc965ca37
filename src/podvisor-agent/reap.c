/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Child exits in podvisor-agent. Every child (a container's pid 1 or an
 * exec'd process) is reaped here, by one path that hands its status to its
 * owner, whether the event loop saw SIGCHLD or a delete waits for a
 * container to die.
 */
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "container.h"
#include "podvisor/log.h"

static void record_exit(struct ctr *c, int st)
{
	c->state = CTR_EXITED;
	c->exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	c->signal = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
	c->oom_killed = cgroup_oom_kills(&c->cg) > 0;
	if (c->sync_fd >= 0)
		close(c->sync_fd);
	if (c->status_fd >= 0)
		close(c->status_fd);
	c->sync_fd = c->status_fd = -1;
	capture_pump(&c->out);
	capture_pump(&c->err);
	if (c->oom_killed)
		log_warn("container %s: OOM-killed (memory limit %llu MiB)",
		         c->spec.name, (unsigned long long)c->spec.memory_mib);
	else if (c->signal)
		log_info("container %s: killed by signal %d", c->spec.name,
		         c->signal);
	else
		log_info("container %s: exited with code %d", c->spec.name,
		         c->exit_code);
}

void ctr_reap(void)
{
	struct ctr *c;
	pid_t pid;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		if (exec_reaped(pid, st))
			continue;
		c = ctr_by_pid(pid);
		if (c)
			record_exit(c, st);
	}
}

void ctr_kill_and_wait(struct ctr *c)
{
	siginfo_t si;

	if (c->state == CTR_EXITED || c->pid <= 0)
		return;
	kill(c->pid, SIGKILL);
	/*
	 * The kernel ends the container's pid 1 only once every other
	 * process of its pid namespace has been reaped. An exec'd
	 * process is the agent's child, not pid 1's: waiting for pid 1 alone
	 * would wait forever for a zombie only the agent can reap. So reap
	 * every child that exits, each through its owner, until pid 1 is.
	 */
	while (c->state != CTR_EXITED) {
		if (waitid(P_ALL, 0, &si, WEXITED | WNOWAIT) < 0 &&
		    errno != EINTR) {
			log_err_errno(errno, "container %s: waiting for pid %d",
			              c->spec.name, (int)c->pid);
			return;
		}
		ctr_reap();
	}
}
