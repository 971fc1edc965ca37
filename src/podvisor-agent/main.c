/* SPDX-License-Identifier: Apache-2.0 */
/*
 * podvisor-agent: the guest agent. Listens on vsock (inside a pod VM) or a
 * UNIX socket (on a host), speaks the framed JSON protocol of
 * include/podvisor/agent.h and runs containers. One thread, one poll loop:
 * client requests, container output and child exits.
 */
#include <errno.h>
#include <getopt.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "container.h"
#include "podvisor/log.h"
#include "podvisor/util.h"

#define MAX_CONNS 16
#define MAX_FDS   256

struct conn {
	int fd;
	bool busy; /* an exec answer is pending: do not read */
};

static struct conn conns[MAX_CONNS];
static char unix_path[108];

void agent_conn_resume(int conn_fd)
{
	size_t i;

	for (i = 0; i < MAX_CONNS; i++)
		if (conns[i].fd == conn_fd)
			conns[i].busy = false;
}

static int listen_on(const char *spec)
{
	int fd;

	if (!strncmp(spec, "vsock:", 6)) {
		char *end;
		unsigned long port = strtoul(spec + 6, &end, 10);
		struct sockaddr_vm sa = {
		    .svm_family = AF_VSOCK,
		    .svm_cid = VMADDR_CID_ANY,
		    .svm_port = (unsigned)port,
		};

		if (end == spec + 6 || *end || port == 0 ||
		    port >= UINT32_MAX) {
			log_err("--listen %s: the vsock port must be a number "
			        "from 1 to 4294967294",
			        spec);
			return -EINVAL;
		}
		fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return log_err_errno(errno, "vsock socket (is the "
			                            "virtio-vsock driver "
			                            "loaded?)");
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			return log_err_errno(errno, "bind vsock port %u",
			                     sa.svm_port);
	} else if (!strncmp(spec, "unix:", 5) &&
	           strlen(spec + 5) < sizeof(unix_path) && spec[5]) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};

		strcpy(sa.sun_path, spec + 5);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		unlink(sa.sun_path);
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			return log_err_errno(errno, "bind %s", sa.sun_path);
		chmod(sa.sun_path, 0600);
		strcpy(unix_path, sa.sun_path);
	} else {
		log_err("--listen %s: use vsock:PORT or unix:/path", spec);
		return -EINVAL;
	}
	if (listen(fd, 8) < 0)
		return log_err_errno(errno, "listen %s", spec);
	return fd;
}

int agent_send(int fd, json_object *reply)
{
	struct agent_error err = {0};
	json_object *e;
	int r = agent_frame_write(fd, reply);

	if (r == -EMSGSIZE) {
		/* Mostly logs full of bytes JSON must escape: say so rather
		 * than leave the client waiting for an answer. */
		agent_err_set(&err, AGENT_ERR_TOO_LARGE, "",
		              "the answer exceeds the 1 MiB frame limit "
		              "(output with many control bytes?)");
		e = agent_reply_error(&err);
		r = agent_frame_write(fd, e);
		json_object_put(e);
	}
	if (r < 0)
		log_warn("client fd %d: cannot send the answer: %s", fd,
		         strerror(-r));
	return r;
}

static void dispatch(int fd, json_object *req)
{
	static const struct {
		const char *op;
		int (*fn)(json_object *, json_object **, struct agent_error *);
	} ops[] = {
	    {"create", ctr_create}, {"start", ctr_start}, {"state", ctr_state},
	    {"list", ctr_list},     {"logs", ctr_logs},   {"kill", ctr_kill},
	    {"delete", ctr_delete},
	};
	struct agent_error err = {0};
	json_object *reply = NULL;
	const char *op;
	size_t i;
	int r;

	r = agent_request_validate(req, &err);
	op = r < 0 ? ""
	           : json_object_get_string(json_object_object_get(req, "op"));
	if (r == 0 && !strcmp(op, "ping")) {
		reply = agent_reply_ok();
		json_object_object_add(
		    reply, "version", json_object_new_string(PODVISOR_VERSION));
	} else if (r == 0 && (!strcmp(op, "exec") || !strcmp(op, "wait"))) {
		/* Deferred: the answer goes out when the process ends. */
		r = strcmp(op, "exec") ? ctr_wait(req, fd, &err)
		                       : ctr_exec(req, fd, &err);
		if (r == 0) {
			for (i = 0; i < MAX_CONNS; i++)
				if (conns[i].fd == fd)
					conns[i].busy = true;
			return;
		}
	} else if (r == 0) {
		for (i = 0; i < ARRAY_SIZE(ops); i++)
			if (!strcmp(op, ops[i].op))
				r = ops[i].fn(req, &reply, &err);
	}
	if (r < 0 || !reply) {
		if (!err.code)
			agent_err_set(&err, AGENT_ERR_INTERNAL, "", "%s",
			              strerror(r < 0 ? -r : EIO));
		reply = agent_reply_error(&err);
	}
	agent_send(fd, reply);
	json_object_put(reply);
}

static void conn_close(struct conn *c)
{
	ctr_conn_closed(c->fd);
	ctr_wait_conn_closed(c->fd);
	close(c->fd);
	c->fd = -1;
	c->busy = false;
}

static void conn_read(struct conn *c)
{
	struct agent_error err = {0};
	json_object *req, *reply;
	int r = agent_frame_read(c->fd, &req);

	if (r == 1) {
		dispatch(c->fd, req);
		json_object_put(req);
		return;
	}
	if (r == -EBADMSG || r == -EMSGSIZE) {
		agent_err_set(&err,
		              r == -EBADMSG ? AGENT_ERR_BAD_JSON
		                            : AGENT_ERR_TOO_LARGE,
		              "",
		              r == -EBADMSG ? "frame is not one JSON object"
		                            : "frame larger than 1 MiB or "
		                              "empty: closing the connection");
		reply = agent_reply_error(&err);
		agent_frame_write(c->fd, reply);
		json_object_put(reply);
		/* A bad JSON body was fully read: the stream is in sync. */
		if (r == -EBADMSG)
			return;
	}
	conn_close(c);
}

static void conn_accept(int lfd)
{
	struct timeval tv = {.tv_sec = 10};
	size_t i;
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	/* A client that stalls mid-frame must not stall the agent. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	for (i = 0; i < MAX_CONNS; i++)
		if (conns[i].fd < 0) {
			conns[i].fd = fd;
			return;
		}
	log_warn("too many clients (%d): refusing one", MAX_CONNS);
	close(fd);
}

/* Returns false when a termination signal arrived. */
static bool handle_signals(int sfd)
{
	struct signalfd_siginfo si;
	bool run = true;

	while (read(sfd, &si, sizeof(si)) == sizeof(si))
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
			run = false;
	ctr_reap();
	return run;
}

static int serve(int lfd, int sfd)
{
	struct pollfd fds[MAX_FDS];
	size_t n, i, k;
	int timeout;

	for (;;) {
		n = 0;
		fds[n++] = (struct pollfd){lfd, POLLIN, 0};
		fds[n++] = (struct pollfd){sfd, POLLIN, 0};
		for (i = 0; i < MAX_CONNS; i++)
			if (conns[i].fd >= 0 && !conns[i].busy)
				fds[n++] =
				    (struct pollfd){conns[i].fd, POLLIN, 0};
		k = n;
		timeout = ctr_poll_fds(fds, MAX_FDS, &n);
		if (poll(fds, n, timeout) < 0 && errno != EINTR)
			return log_err_errno(errno, "poll");
		if ((fds[1].revents & POLLIN) && !handle_signals(sfd))
			return 0;
		ctr_poll_ready(fds + k, n - k);
		for (i = 2; i < k; i++) {
			size_t j;

			if (!fds[i].revents)
				continue;
			for (j = 0; j < MAX_CONNS; j++)
				if (conns[j].fd == fds[i].fd)
					conn_read(&conns[j]);
		}
		if (fds[0].revents & POLLIN)
			conn_accept(lfd);
	}
}

static void usage(FILE *f)
{
	fprintf(f,
	        "Usage: podvisor-agent [--listen vsock:PORT|unix:/path] "
	        "[--state-dir DIR] [--log-level LEVEL]\n"
	        "Runs containers for podvisor; speaks length-prefixed JSON "
	        "(see include/podvisor/agent.h).\n"
	        "Default: --listen vsock:%d --state-dir "
	        "/run/podvisor-agent\n",
	        AGENT_VSOCK_PORT);
}

struct opts {
	const char *listen;
	const char *dir;
	int level;
};

/* Returns -1 to go on, or the exit status. */
static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
	    {"listen", required_argument, NULL, 'l'},
	    {"state-dir", required_argument, NULL, 's'},
	    {"log-level", required_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {0},
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "l:s:v:hV", longopts, NULL)) !=
	       -1) {
		switch (opt) {
		case 'l':
			o->listen = optarg;
			break;
		case 's':
			o->dir = optarg;
			break;
		case 'v':
			o->level = pv_log_level_parse(optarg);
			if (o->level < 0) {
				fprintf(stderr,
				        "podvisor-agent: --log-level %s: use "
				        "error, warn, info or debug\n",
				        optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("podvisor-agent %s\n", PODVISOR_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct opts o = {"vsock:1024", "/run/podvisor-agent", PV_LOG_INFO};
	sigset_t mask;
	int lfd, sfd, r;
	size_t i;

	pv_log_init("podvisor-agent", PV_LOG_INFO);
	r = parse_args(argc, argv, &o);
	if (r >= 0)
		return r;
	pv_log_init("podvisor-agent", (enum pv_log_level)o.level);
	for (i = 0; i < MAX_CONNS; i++)
		conns[i].fd = -1;
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	lfd = listen_on(o.listen);
	if (lfd == -EINVAL)
		return 2; /* a bad --listen, already explained */
	if (lfd < 0 || sfd < 0)
		return 1;
	if (mkdir(o.dir, 0700) < 0 && errno != EEXIST) {
		log_err_errno(errno, "--state-dir %s", o.dir);
		return 1;
	}
	ctr_runtime_init(o.dir);
	log_info("listening on %s, state in %s, %s", o.listen, o.dir,
	         cgroup_describe());
	r = serve(lfd, sfd);
	log_info("shutting down: removing every container");
	ctr_shutdown();
	if (unix_path[0])
		unlink(unix_path);
	return r < 0 ? 1 : 0;
}
