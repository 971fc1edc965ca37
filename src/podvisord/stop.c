// SPDX-License-Identifier: Apache-2.0
/*
 * Stopping a VMM without blocking the daemon's loop: the VMM's own stop
 * through its control socket (the answer is read when it comes), a timer
 * that escalates to SIGKILL, and the exit processed where every exit is
 * (SIGCHLD, pidfd, or the timer's own check), which ends the stop.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "podvisor/log.h"
#include "podvisor/util.h"
#include "pod.h"

#define STOP_TIMEOUT_MS 3000
#define STOP_TICK_MS    20

/* The VMM's wait status when it has exited (-1: unknown, not our child),
 * else -EAGAIN. Never blocks. */
static int vmm_exit_status(struct pod *p)
{
	int st;

	if (p->is_child) {
		pid_t r = waitpid(p->pid, &st, WNOHANG);

		if (r == p->pid)
			return st;
		if (r < 0 && errno == ECHILD)
			return -1;
		return -EAGAIN;
	}
	return kill(p->pid, 0) < 0 && errno == ESRCH ? -1 : -EAGAIN;
}

void pod_vmm_stop_forget(struct pod *p)
{
	if (p->stop_ctl_ev) {
		close(event_get_fd(p->stop_ctl_ev));
		event_free(p->stop_ctl_ev);
		p->stop_ctl_ev = NULL;
	}
	if (p->stop_ev) {
		event_free(p->stop_ev);
		p->stop_ev = NULL;
	}
	p->stop_done = NULL;
	p->stop_arg = NULL;
}

void pod_vmm_stop_finish(struct pod *p, int r)
{
	pod_stop_fn done = p->stop_done;
	void *arg = p->stop_arg;

	pod_vmm_stop_forget(p);
	if (done)
		done(p, r, arg);
}

/* The VMM's answer to PUT /v1/vm/stop: a 2xx means it is on its way out;
 * anything else (or none) gets SIGTERM. */
static void on_stop_answer(evutil_socket_t fd, short what, void *arg)
{
	struct pod *p = arg;
	char buf[64];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);

	(void)what;
	if (n < 0 && errno == EAGAIN)
		return;
	if (n < 12 || memcmp(buf, "HTTP/1.", 7) || buf[9] != '2') {
		log_warn("vm %s: the VMM did not take PUT /v1/vm/stop; "
		         "sending SIGTERM",
		         p->id);
		pod_vmm_kill(p, SIGTERM);
	}
	close(fd);
	event_free(p->stop_ctl_ev);
	p->stop_ctl_ev = NULL;
}

/* PUT /v1/vm/stop on the control socket without waiting for the answer
 * (on_stop_answer): a wedged VMM must not hold up the loop. */
static int send_stop(struct pod *p)
{
	static const char msg[] = "PUT /v1/vm/stop HTTP/1.1\r\n"
	                          "Host: localhost\r\n"
	                          "Content-Length: 0\r\n"
	                          "Connection: close\r\n\r\n";
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char path[PATH_MAX];
	int fd, r;

	pod_path(p, "control.sock", path, sizeof(path));
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    send(fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL) !=
	        (ssize_t)sizeof(msg) - 1) {
		r = -errno;
		close(fd);
		return r ? r : -EIO;
	}
	p->stop_ctl_ev =
	    event_new(p->d->base, fd, EV_READ | EV_PERSIST, on_stop_answer, p);
	if (!p->stop_ctl_ev || event_add(p->stop_ctl_ev, NULL) < 0) {
		close(fd);
		return -ENOMEM;
	}
	return 0;
}

/* Every STOP_TICK_MS while stopping: the exit (also of a re-attached VMM
 * without pidfd), then SIGKILL, then giving up. */
static void on_stop_tick(evutil_socket_t fd, short what, void *arg)
{
	struct pod *p = arg;
	uint64_t ms = (pv_now_ns() - p->stop_ns) / 1000000;
	int st = vmm_exit_status(p);

	(void)fd;
	(void)what;
	if (st != -EAGAIN) {
		pod_vmm_exited(p, st);
		return;
	}
	if (ms < STOP_TIMEOUT_MS)
		return;
	if (p->stop_killed) {
		log_err("vm %s: VMM pid %d survived SIGKILL", p->id,
		        (int)p->pid);
		pod_vmm_stop_finish(p, -ETIMEDOUT);
		return;
	}
	log_warn("vm %s: VMM pid %d did not stop within %d ms; sending "
	         "SIGKILL",
	         p->id, (int)p->pid, STOP_TIMEOUT_MS);
	pod_vmm_kill(p, SIGKILL);
	p->stop_killed = true;
	p->stop_ns = pv_now_ns();
}

int pod_vmm_stop_begin(struct pod *p, uid_t uid, pod_stop_fn done, void *arg)
{
	struct timeval tick = {0, STOP_TICK_MS * 1000};
	int r;

	if (!p->pid)
		return -ESRCH;
	if (p->stop_done)
		return -EALREADY;
	if (pod_transition(p, POD_EV_STOP, uid, "stop requested") < 0 &&
	    p->state != POD_STOPPING)
		return -EBUSY;
	if (p->probe_ev) {
		event_free(p->probe_ev);
		p->probe_ev = NULL;
	}
	p->stop_ev = event_new(p->d->base, -1, EV_PERSIST, on_stop_tick, p);
	if (!p->stop_ev || event_add(p->stop_ev, &tick) < 0)
		log_warn("vm %s: no stop timer: out of memory", p->id);
	p->stop_done = done;
	p->stop_arg = arg;
	p->stop_ns = pv_now_ns();
	p->stop_killed = false;
	/* The VMM's own stop first: it exits 0 after a clean shutdown. */
	r = send_stop(p);
	if (r < 0) {
		log_warn("vm %s: PUT /v1/vm/stop: %s; sending SIGTERM", p->id,
		         strerror(-r));
		pod_vmm_kill(p, SIGTERM);
	}
	return 0;
}

/* Waits up to ms for the VMM to exit (daemon exit only). */
static int wait_exit(struct pod *p, int ms)
{
	uint64_t deadline = pv_now_ns() + (uint64_t)ms * 1000000ULL;
	int st;

	while ((st = vmm_exit_status(p)) == -EAGAIN) {
		if (pv_now_ns() >= deadline)
			return -ETIMEDOUT;
		usleep(2000);
	}
	return st;
}

void pod_vmm_stop_drain(struct daemon *d)
{
	struct pod *p;
	int st;

	for (;;) {
		for (p = d->pods; p && !p->stop_done; p = p->next)
			;
		if (!p)
			return;
		log_info("vm %s: waiting for its VMM to stop before exiting",
		         p->id);
		st = wait_exit(p, STOP_TIMEOUT_MS);
		if (st == -ETIMEDOUT && !p->stop_killed) {
			pod_vmm_kill(p, SIGKILL);
			p->stop_killed = true;
			st = wait_exit(p, STOP_TIMEOUT_MS);
		}
		if (st == -ETIMEDOUT)
			pod_vmm_stop_finish(p, -ETIMEDOUT);
		else
			pod_vmm_exited(p, st); /* ends with the stop's done */
	}
}
