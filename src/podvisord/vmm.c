// SPDX-License-Identifier: Apache-2.0
/*
 * One podvisor-vmm process per VM: spawned with its config file in the VM's
 * run dir, in its own session so it outlives podvisord, supervised through
 * SIGCHLD (our children) or a pidfd (VMMs re-attached after a restart).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "podvisor/api.h"
#include "podvisor/log.h"
#include "podvisor/util.h"
#include "pod.h"

/* How long a new VMM has to answer on its control socket. */
#define READY_TIMEOUT_MS  30000
#define PROBE_TIMEOUT_MS  200
#define MAX_GUEST_REBOOTS 10
#define REBOOT_WINDOW_NS  (60 * 1000000000ULL)

static const char *const run_files[] = {
    "control.sock", "vsock.sock",  "vm.json",     "vm.json.tmp",
    "vmm.pid",      "vmm.pid.tmp", "console.log", "vmm.log",
};

/* <run dir>/containers holds rootfs disks converted for a host-side agent
 * (containers.c); they go with the VM. */
static void remove_containers_dir(struct pod *p)
{
	char dir[PATH_MAX], path[PATH_MAX + 256];
	struct dirent *de;
	DIR *dh;

	pod_path(p, "containers", dir, sizeof(dir));
	dh = opendir(dir);
	if (!dh)
		return;
	while ((de = readdir(dh)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			if (unlink(path) < 0)
				log_warn("vm %s: remove %s: %s", p->id, path,
				         strerror(errno));
		}
	closedir(dh);
	rmdir(dir);
}

void pod_vmm_cleanup(struct pod *p)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < ARRAY_SIZE(run_files); i++) {
		pod_path(p, run_files[i], path, sizeof(path));
		unlink(path);
	}
	for (unsigned int i = 0; i < p->spec.nr_nets; i++) {
		snprintf(path, sizeof(path), "%s/net%u.sock", p->dir, i);
		unlink(path);
	}
	remove_containers_dir(p);
	if (rmdir(p->dir) < 0 && errno != ENOENT)
		log_warn("vm %s: %s left behind: %s", p->id, p->dir,
		         strerror(errno));
}

/* Sockets and pid file of a VMM that is gone; logs stay for the API. */
static void remove_process_files(struct pod *p)
{
	static const char *const files[] = {"control.sock", "vsock.sock",
	                                    "vmm.pid"};
	char path[PATH_MAX];

	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		pod_path(p, files[i], path, sizeof(path));
		unlink(path);
	}
	/* Default vhost-user sockets are the VMM's too (given paths are the
	 * operator's and stay). */
	for (unsigned int i = 0; i < p->spec.nr_nets; i++)
		if (!p->spec.nets[i].vhost_user_socket &&
		    !p->spec.nets[i].tap) {
			snprintf(path, sizeof(path), "%s/net%u.sock", p->dir,
			         i);
			unlink(path);
		}
}

/* Last non-empty line of vmm.log: usually why the VMM gave up. */
static void last_log_line(struct pod *p, char *buf, size_t size)
{
	char path[PATH_MAX], tail[1024];
	ssize_t n;
	off_t end;
	int fd;

	buf[0] = '\0';
	pod_path(p, "vmm.log", path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	end = lseek(fd, 0, SEEK_END);
	n = pread(fd, tail, sizeof(tail) - 1,
	          end > (off_t)sizeof(tail) - 1 ? end - (off_t)sizeof(tail) + 1
	                                        : 0);
	close(fd);
	if (n <= 0)
		return;
	tail[n] = '\0';
	while (n > 0 && (tail[n - 1] == '\n' || tail[n - 1] == ' '))
		tail[--n] = '\0';
	char *line = strrchr(tail, '\n');

	line = line ? line + 1 : tail;
	n = (ssize_t)MIN(strlen(line), size - 1);
	memcpy(buf, line, (size_t)n);
	buf[n] = '\0';
}

static void stop_watching(struct pod *p)
{
	if (p->probe_ev) {
		event_free(p->probe_ev);
		p->probe_ev = NULL;
	}
	if (p->pidfd_ev) {
		event_free(p->pidfd_ev);
		p->pidfd_ev = NULL;
	}
	if (p->pidfd >= 0) {
		close(p->pidfd);
		p->pidfd = -1;
	}
}

void pod_vmm_exited(struct pod *p, int wstatus)
{
	enum pod_exit_kind kind = POD_EXIT_FAILURE;
	enum pod_event ev;
	char what[160], last[160];

	if (wstatus >= 0)
		kind = pod_exit_describe(wstatus, what, sizeof(what));
	else
		snprintf(what, sizeof(what),
		         "exited (status unknown: it was "
		         "re-attached, not podvisord's child)");
	p->d->vmm_exits[kind]++;
	/* The VMM's own last words explain an error exit; after a signal
	 * or a clean exit they are noise. */
	last_log_line(p, last, sizeof(last));
	if (wstatus >= 0 && kind != POD_EXIT_FAILURE)
		last[0] = '\0';
	if (wstatus >= 0 && !WIFEXITED(wstatus))
		last[0] = '\0';
	snprintf(p->reason, sizeof(p->reason), "VMM pid %d exited: %s%s%s",
	         (int)p->pid, what, last[0] ? "; last log: " : "", last);
	pv_log(kind == POD_EXIT_FAILURE ? PV_LOG_WARN : PV_LOG_INFO,
	       "vm %s (%s): %s", p->id, p->spec.name, p->reason);
	stop_watching(p);
	p->pid = 0;
	p->boot_ms = -1;
	remove_process_files(p);
	/* A guest that reboots now and then gets a new VMM each time; one
	 * that does nothing else is stopped after MAX_GUEST_REBOOTS. */
	if (kind == POD_EXIT_REBOOT &&
	    pv_now_ns() - p->last_reboot_ns > REBOOT_WINDOW_NS)
		p->reboots = 0;
	if (kind == POD_EXIT_REBOOT && p->state != POD_STOPPING &&
	    ++p->reboots <= MAX_GUEST_REBOOTS) {
		p->last_reboot_ns = pv_now_ns();
		pod_transition(p, POD_EV_REBOOT, (uid_t)-1, "guest reboot");
		if (pod_vmm_spawn(p) < 0) {
			pod_switch_detach(p);
			pod_unplace(p);
			pod_transition(p, POD_EV_EXIT_FAIL, (uid_t)-1,
			               "respawn failed");
		}
		return;
	}
	if (kind == POD_EXIT_REBOOT && p->state != POD_STOPPING) {
		size_t n = strlen(p->reason);

		snprintf(p->reason + n, sizeof(p->reason) - n,
		         "; %u guest reboots within %d s, not restarting",
		         p->reboots - 1,
		         (int)(REBOOT_WINDOW_NS / 1000000000ULL));
	}
	pod_switch_detach(p);
	pod_unplace(p);
	ev = kind == POD_EXIT_CLEAN ? POD_EV_EXIT_OK : POD_EV_EXIT_FAIL;
	pod_transition(p, ev, (uid_t)-1, what);
	/* Last: whoever waited for this exit may destroy p. */
	if (p->stop_done)
		pod_vmm_stop_finish(p, 0);
}

int pod_vmm_control(struct pod *p, const char *method, const char *uri)
{
	char sock[PATH_MAX];
	_cleanup_free_ char *body = NULL;
	int status = 0, r;

	pod_path(p, "control.sock", sock, sizeof(sock));
	r = api_client_request_raw(sock, method, uri, NULL, 2000, &status,
	                           &body, NULL);
	if (r < 0)
		return log_warn_errno(r, "vm %s: %s %s on %s", p->id, method,
		                      uri, sock);
	if (status < 200 || status > 299) {
		log_warn("vm %s: %s %s answered %d: %.200s", p->id, method, uri,
		         status, body);
		return -EIO;
	}
	return 0;
}

void pod_vmm_kill(struct pod *p, int sig)
{
	if (p->pid > 0 && kill(p->pid, sig) < 0 && errno != ESRCH)
		log_warn("vm %s: kill %d %d: %s", p->id, (int)p->pid, sig,
		         strerror(errno));
}

static void on_probe(evutil_socket_t fd, short what, void *arg)
{
	struct pod *p = arg;
	char sock[PATH_MAX];
	uint64_t now = pv_now_ns();
	struct timeval tv = {0, 5000};
	char *body = NULL;
	int status = 0, r;

	(void)fd;
	(void)what;
	pod_path(p, "control.sock", sock, sizeof(sock));
	/* Short timeout: this runs on the daemon's only thread. */
	r = api_client_request_raw(sock, "GET", "/v1/vm", NULL,
	                           PROBE_TIMEOUT_MS, &status, &body, NULL);
	free(body);
	if (r == 0 && status == 200) {
		p->boot_ms = (int64_t)((now - p->spawn_ns) / 1000000);
		event_free(p->probe_ev);
		p->probe_ev = NULL;
		pod_transition(p, POD_EV_READY, (uid_t)-1, "control socket up");
		log_info("vm %s (%s): running, pid %d, ready after %lld ms",
		         p->id, p->spec.name, (int)p->pid,
		         (long long)p->boot_ms);
		return;
	}
	if (now - p->spawn_ns > READY_TIMEOUT_MS * 1000000ULL) {
		log_err("vm %s (%s): control socket %s did not answer within "
		        "%d ms; killing VMM pid %d",
		        p->id, p->spec.name, sock, READY_TIMEOUT_MS,
		        (int)p->pid);
		event_free(p->probe_ev);
		p->probe_ev = NULL;
		pod_vmm_kill(p, SIGKILL); /* SIGCHLD marks it failed */
		return;
	}
	/* Poll fast at first (VMMs are up in milliseconds), then back off. */
	if (now - p->spawn_ns > 200000000ULL)
		tv.tv_usec = 50000;
	evtimer_add(p->probe_ev, &tv);
}

static int write_config(struct pod *p, char *cfg, size_t size)
{
	char control[PATH_MAX], console[PATH_MAX], vsock[PATH_MAX];
	struct pod_vmm_paths paths = {
	    .control_socket = control,
	    .console_log = console,
	    .vsock_uds = vsock,
	    .run_dir = p->dir,
	};
	json_object *o;
	const char *text;
	int r;

	pod_path(p, "control.sock", control, sizeof(control));
	pod_path(p, "console.log", console, sizeof(console));
	pod_path(p, "vsock.sock", vsock, sizeof(vsock));
	pod_path(p, "vm.json", cfg, size);
	unlink(control);
	unlink(vsock);
	o = pod_vmm_config(&p->spec, &paths, p->placed ? &p->alloc : NULL);
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY);
	r = pod_write_atomic(cfg, text, strlen(text), false);
	json_object_put(o);
	return r;
}

/* In the child between fork and exec: only async-signal-safe calls. */
static void exec_vmm(const char *vmm, const char *cfg, int logfd, int nullfd)
{
	sigset_t none;

	setsid();
	dup2(nullfd, 0);
	dup2(logfd, 1);
	dup2(logfd, 2);
	/* Ours are all O_CLOEXEC, but podvisord may have inherited open fds
	 * from whoever started it; none of them is the VMM's business. */
	if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0)
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
	signal(SIGPIPE, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execl(vmm, vmm, "--config", cfg, (char *)NULL);
	_exit(127);
}

static void write_pid_file(struct pod *p)
{
	char path[PATH_MAX], text[32];
	int n = snprintf(text, sizeof(text), "%d\n", (int)p->pid);

	pod_path(p, "vmm.pid", path, sizeof(path));
	pod_write_atomic(path, text, (size_t)n, false);
}

int pod_vmm_spawn(struct pod *p)
{
	struct daemon *d = p->d;
	char cfg[PATH_MAX], logp[PATH_MAX];
	struct timeval tv = {0, 2000};
	int logfd, nullfd, r;
	pid_t pid;

	r = pod_mkdir_p(p->dir, 0750);
	if (r < 0)
		return log_err_errno(r, "vm %s: create %s", p->id, p->dir);
	r = write_config(p, cfg, sizeof(cfg));
	if (r < 0)
		return r;
	pod_path(p, "vmm.log", logp, sizeof(logp));
	logfd = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (logfd < 0 || nullfd < 0) {
		r = log_err_errno(errno, "vm %s: open %s", p->id, logp);
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		r = log_err_errno(errno, "vm %s: fork", p->id);
		goto out;
	}
	if (pid == 0)
		exec_vmm(d->vmm_path, cfg, logfd, nullfd);
	p->pid = pid;
	p->is_child = true;
	p->spawn_ns = pv_now_ns();
	p->boot_ms = -1;
	p->reason[0] = '\0';
	d->vmm_spawns++;
	write_pid_file(p);
	log_info("vm %s (%s): started %s --config %s as pid %d", p->id,
	         p->spec.name, d->vmm_path, cfg, (int)pid);
	p->probe_ev = evtimer_new(d->base, on_probe, p);
	if (p->probe_ev)
		evtimer_add(p->probe_ev, &tv);
	r = 0;
out:
	if (logfd >= 0)
		close(logfd);
	if (nullfd >= 0)
		close(nullfd);
	return r;
}

/*
 * Waits for our VMM children only, never waitpid(-1): worker threads wait
 * for the tools they run themselves (image conversion runs mke2fs), and
 * reaping those here would take their exit status away.
 */
void pod_vmm_reap(struct daemon *d)
{
	struct pod *p, *next;
	int st;

	for (p = d->pods; p; p = next) {
		next = p->next;
		if (p->is_child && p->pid > 0 &&
		    waitpid(p->pid, &st, WNOHANG) == p->pid)
			pod_vmm_exited(p, st);
	}
}

static void on_pidfd(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	pod_vmm_exited(arg, -1);
}

/* True when pid runs "<anything> --config <our vm.json>". */
static bool is_our_vmm(struct pod *p, pid_t pid)
{
	char path[64], cmd[4096], cfg[PATH_MAX];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, cmd, sizeof(cmd) - 1);
	close(fd);
	if (n <= 0)
		return false;
	cmd[n] = '\0';
	pod_path(p, "vm.json", cfg, sizeof(cfg));
	for (char *s = cmd; s < cmd + n; s += strlen(s) + 1)
		if (strcmp(s, "--config") == 0 && s + strlen(s) + 1 < cmd + n &&
		    strcmp(s + strlen(s) + 1, cfg) == 0)
			return true;
	return false;
}

static pid_t read_pid_file(struct pod *p)
{
	char path[PATH_MAX], text[32] = "";
	int fd;

	pod_path(p, "vmm.pid", path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (read(fd, text, sizeof(text) - 1) < 0)
		text[0] = '\0';
	close(fd);
	return (pid_t)atoi(text);
}

/* The state the VMM reports (GET /v1/vm {"state": "paused"}), if any. */
static enum pod_state reported_state(struct pod *p, enum pod_state dflt)
{
	char sock[PATH_MAX];
	json_object *j = NULL, *v;
	char *text = NULL;
	enum pod_state s = dflt;
	int status = 0;

	pod_path(p, "control.sock", sock, sizeof(sock));
	/* Bounded: a wedged VMM must not hold up the daemon's start. */
	if (api_client_request_raw(sock, "GET", "/v1/vm", NULL, 1000, &status,
	                           &text, NULL) < 0 ||
	    status != 200) {
		free(text);
		return POD_CREATING;
	}
	j = json_tokener_parse(text);
	free(text);
	if (j && json_object_object_get_ex(j, "state", &v) &&
	    json_object_is_type(v, json_type_string))
		s = strcmp(json_object_get_string(v), "paused") == 0
		        ? POD_PAUSED
		        : POD_RUNNING;
	json_object_put(j);
	return s;
}

int pod_vmm_reattach(struct pod *p)
{
	pid_t pid = read_pid_file(p);
	struct timeval tv = {0, 2000};

	if (pid <= 0 || !is_our_vmm(p, pid)) {
		if (pod_state_has_process(p->state)) {
			log_warn(
			    "vm %s (%s): its VMM (pid %d) is gone; marking "
			    "it failed",
			    p->id, p->spec.name, (int)pid);
			snprintf(p->reason, sizeof(p->reason),
			         "VMM was not running when podvisord started");
			p->state = POD_FAILED;
			pod_store_save(p);
		}
		remove_process_files(p);
		return -ESRCH;
	}
	p->pid = pid;
	p->is_child = false;
	for (unsigned int i = 0; i < p->spec.nr_nets; i++)
		if (p->spec.nets[i].segment)
			p->switch_ports |= 1u << i;
	p->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (p->pidfd >= 0) {
		fcntl(p->pidfd, F_SETFD, FD_CLOEXEC);
		p->pidfd_ev =
		    event_new(p->d->base, p->pidfd, EV_READ, on_pidfd, p);
		event_add(p->pidfd_ev, NULL);
	}
	p->state = reported_state(p, p->state == POD_PAUSED ? POD_PAUSED
	                                                    : POD_RUNNING);
	if (p->state == POD_CREATING) {
		p->spawn_ns = pv_now_ns();
		p->probe_ev = evtimer_new(p->d->base, on_probe, p);
		evtimer_add(p->probe_ev, &tv);
	}
	log_info("vm %s (%s): re-attached to VMM pid %d, %s", p->id,
	         p->spec.name, (int)pid, pod_state_name(p->state));
	pod_store_save(p);
	return 0;
}
