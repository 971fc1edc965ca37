// SPDX-License-Identifier: Apache-2.0
/* podvisord: REST API on a UNIX socket, one podvisor-vmm per pod VM. */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "podvisor/api.h"
#include "podvisor/log.h"
#include "podvisor/switch.h"
#include "podvisor/util.h"
#include "pod.h"
#include "work.h"

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: podvisord [OPTIONS]\n"
	    "Serves the podvisor REST API on a UNIX socket and runs one "
	    "podvisor-vmm per pod VM.\n\n"
	    "  --socket PATH         API socket (default "
	    "/run/podvisor/api.sock)\n"
	    "  --socket-mode MODE    its permissions, octal (default 0660)\n"
	    "  --state-dir DIR       VM specs (default /var/lib/podvisor)\n"
	    "  --run-dir DIR         VMM sockets and logs (default "
	    "/run/podvisor)\n"
	    "  --vmm PATH            podvisor-vmm binary (default: next to "
	    "podvisord, then %s)\n"
	    "  --kernel PATH         default kernel for specs without one\n"
	    "  --initrd PATH         default initrd\n"
	    "  --cmdline TEXT        default kernel command line\n"
	    "  --admin-gid GID|NAME  group allowed to change state (root "
	    "always is)\n"
	    "  --vcpu-overcommit N   vCPUs per host CPU before 503, and per\n"
	    "                        shared-pool CPU for placement (default "
	    "4)\n"
	    "  --switch-socket PATH  podvisor-switch control socket for NICs "
	    "with a\n"
	    "                        segment (default %s)\n"
	    "  --topology SRC        place VMs on an hwloc synthetic topology\n"
	    "                        or XML file instead of this host\n"
	    "  --log-level LEVEL     error, warn, info (default) or debug\n"
	    "  --help, --version\n",
	    PODVISOR_LIBEXECDIR, SW_DEFAULT_CONTROL);
}

static bool executable(const char *p)
{
	return access(p, X_OK) == 0;
}

/* Next to us in the build tree, next to us when installed, then the
 * configured install dirs. */
static int find_vmm(char *out, size_t size)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	const char *dir;

	if (n > 0) {
		self[n] = '\0';
		dir = dirname(self);
		snprintf(out, size, "%s/../podvisor-vmm/podvisor-vmm", dir);
		if (executable(out))
			return 0;
		snprintf(out, size, "%s/podvisor-vmm", dir);
		if (executable(out))
			return 0;
	}
	snprintf(out, size, "%s/podvisor-vmm", PODVISOR_LIBEXECDIR);
	if (executable(out))
		return 0;
	snprintf(out, size, "%s/podvisor-vmm", PODVISOR_BINDIR);
	if (executable(out))
		return 0;
	return -ENOENT;
}

static int parse_gid(const char *s, gid_t *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	struct group *g;

	if (*s && !*end) {
		*out = (gid_t)v;
		return 0;
	}
	g = getgrnam(s);
	if (!g)
		return -ENOENT;
	*out = g->gr_gid;
	return 0;
}

struct options {
	gid_t admin_gid;
	const char *vmm;
	int log_level;
};

enum {
	OPT_SOCKET = 256,
	OPT_SOCKET_MODE,
	OPT_STATE_DIR,
	OPT_RUN_DIR,
	OPT_VMM,
	OPT_KERNEL,
	OPT_INITRD,
	OPT_CMDLINE,
	OPT_ADMIN_GID,
	OPT_OVERCOMMIT,
	OPT_LOG_LEVEL,
	OPT_TOPOLOGY,
	OPT_SWITCH_SOCKET,
	OPT_VERSION,
};

static const struct option long_opts[] = {
    {"socket", required_argument, NULL, OPT_SOCKET},
    {"socket-mode", required_argument, NULL, OPT_SOCKET_MODE},
    {"state-dir", required_argument, NULL, OPT_STATE_DIR},
    {"run-dir", required_argument, NULL, OPT_RUN_DIR},
    {"vmm", required_argument, NULL, OPT_VMM},
    {"kernel", required_argument, NULL, OPT_KERNEL},
    {"initrd", required_argument, NULL, OPT_INITRD},
    {"cmdline", required_argument, NULL, OPT_CMDLINE},
    {"admin-gid", required_argument, NULL, OPT_ADMIN_GID},
    {"vcpu-overcommit", required_argument, NULL, OPT_OVERCOMMIT},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"topology", required_argument, NULL, OPT_TOPOLOGY},
    {"switch-socket", required_argument, NULL, OPT_SWITCH_SOCKET},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

/* Options that are plain strings; false when c is not one of them. */
static bool string_opt(int c, const char *arg, struct daemon *d,
                       struct options *o)
{
	switch (c) {
	case OPT_SOCKET:
		d->socket_path = arg;
		break;
	case OPT_STATE_DIR:
		d->state_dir = arg;
		break;
	case OPT_RUN_DIR:
		d->run_dir = arg;
		break;
	case OPT_VMM:
		o->vmm = arg;
		break;
	case OPT_KERNEL:
		d->defaults.kernel = arg;
		break;
	case OPT_INITRD:
		d->defaults.initrd = arg;
		break;
	case OPT_CMDLINE:
		d->defaults.cmdline = arg;
		break;
	case OPT_SWITCH_SOCKET:
		d->switch_socket = arg;
		break;
	case OPT_TOPOLOGY:
		d->topology = arg;
		break;
	default:
		return false;
	}
	return true;
}

static int bad_opt(const char *opt, const char *arg, const char *fix)
{
	fprintf(stderr, "podvisord: --%s '%s': %s\n", opt, arg, fix);
	return 2;
}

/* Returns -1 to continue, else the exit status. */
static int parse_opt(int c, const char *arg, struct daemon *d,
                     struct options *o)
{
	char *end;

	if (string_opt(c, arg, d, o))
		return -1;
	switch (c) {
	case OPT_SOCKET_MODE:
		d->socket_mode = (mode_t)strtoul(arg, &end, 8);
		if (*end || d->socket_mode > 0777)
			return bad_opt("socket-mode", arg,
			               "give an octal mode like 0660");
		return -1;
	case OPT_ADMIN_GID:
		if (parse_gid(arg, &o->admin_gid) < 0)
			return bad_opt(
			    "admin-gid", arg,
			    "no such group; give a gid or group name");
		return -1;
	case OPT_OVERCOMMIT:
		d->vcpu_overcommit = (unsigned)strtoul(arg, &end, 10);
		if (*end || d->vcpu_overcommit < 1 || d->vcpu_overcommit > 64)
			return bad_opt("vcpu-overcommit", arg,
			               "give a number from 1 to 64");
		return -1;
	case OPT_LOG_LEVEL:
		o->log_level = pv_log_level_parse(arg);
		if (o->log_level < 0)
			return bad_opt("log-level", arg,
			               "give error, warn, info or debug");
		return -1;
	case 'h':
		usage(stdout);
		return 0;
	case OPT_VERSION:
		printf("podvisord %s\n", PODVISOR_VERSION);
		return 0;
	default:
		usage(stderr);
		return 2;
	}
}

static void on_sigchld(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	pod_vmm_reap(arg);
}

static void on_term(evutil_socket_t sig, short what, void *arg)
{
	struct daemon *d = arg;

	(void)what;
	log_info("signal %d: exiting; VMM processes keep running and are "
	         "re-attached at the next start",
	         (int)sig);
	event_base_loopbreak(d->base);
}

static int prepare_dirs(struct daemon *d)
{
	char path[PATH_MAX];
	int r;

	snprintf(path, sizeof(path), "%s/vms", d->state_dir);
	r = pod_mkdir_p(path, 0750);
	if (r < 0)
		return log_err_errno(r, "create %s; check --state-dir", path);
	snprintf(path, sizeof(path), "%s/vms", d->run_dir);
	r = pod_mkdir_p(path, 0750);
	if (r < 0)
		return log_err_errno(r, "create %s; check --run-dir", path);
	snprintf(path, sizeof(path), "%s", d->socket_path);
	r = pod_mkdir_p(dirname(path), 0755);
	if (r < 0)
		return log_err_errno(r, "create the directory of %s",
		                     d->socket_path);
	return 0;
}

/* Host topology (or --topology) and the placer that hands out CPUs. */
static int placer_start(struct daemon *d)
{
	struct numa_place_config cfg = {.shared_overcommit =
	                                    d->vcpu_overcommit};
	struct numa_place_err err = {0};
	int r = numa_topo_load(d->topology, &d->topo);

	if (r < 0)
		return log_err_errno(r,
		                     "--topology %s: cannot load it; give an "
		                     "hwloc synthetic description or XML file",
		                     d->topology ? d->topology : "(host)");
	r = numa_placer_new(d->topo, &cfg, &d->placer, &err);
	if (r < 0)
		return log_err_errno(r, "placement: %s", err.message);
	return 0;
}

/* systemd Type=notify: "READY=1" once the socket accepts. No libsystemd:
 * one datagram to $NOTIFY_SOCKET ('@' = abstract namespace). */
static void notify_ready(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	socklen_t len;
	int fd;

	if (!path || !*path || strlen(path) >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, path, strlen(path));
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	len =
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, "READY=1", 7, MSG_NOSIGNAL, (struct sockaddr *)&sa,
	           len) < 0)
		log_warn("sd_notify to %s: %s", path, strerror(errno));
	close(fd);
}

static int serve(struct daemon *d, gid_t admin_gid)
{
	struct event *evs[3];
	int r;

	d->base = event_base_new();
	if (!d->base)
		return log_err_errno(ENOMEM, "event_base_new");
	evs[0] = evsignal_new(d->base, SIGCHLD, on_sigchld, d);
	evs[1] = evsignal_new(d->base, SIGTERM, on_term, d);
	evs[2] = evsignal_new(d->base, SIGINT, on_term, d);
	for (int i = 0; i < 3; i++)
		event_add(evs[i], NULL);
	r = placer_start(d);
	if (r == 0)
		r = work_pool_new(d->base, &d->work);
	if (r < 0)
		goto out;
	/* The socket first: a daemon already serving it owns the state, so
	 * a second one must stop before touching any record. Requests wait
	 * in the backlog until the loop runs, after the records are read. */
	r = daemon_api_start(d);
	if (r < 0)
		goto out;
	pod_store_load_all(d);
	if (admin_gid != (gid_t)-1) {
		api_server_set_admin_gid(d->api, admin_gid);
		if (chown(d->socket_path, (uid_t)-1, admin_gid) < 0)
			log_warn("chown %s to gid %u: %s", d->socket_path,
			         (unsigned)admin_gid, strerror(errno));
	}
	log_info("podvisord %s: listening on %s (mode %04o), state %s, run "
	         "%s, vmm %s, default kernel %s",
	         PODVISOR_VERSION, d->socket_path, (unsigned)d->socket_mode,
	         d->state_dir, d->run_dir, d->vmm_path,
	         d->defaults.kernel ? d->defaults.kernel : "(none)");
	notify_ready();
	event_base_dispatch(d->base);
	r = 0;
out:
	/* The server first: every deferred request then counts as hung up,
	 * so what still answers one only frees it. */
	api_server_free(d->api);
	work_pool_free(d->work);
	/* Stops drained below may still finish a DELETE: without the pool
	 * it releases the VM's containers the blocking way. */
	d->work = NULL;
	pod_vmm_stop_drain(d);
	while (d->pods) /* the VMMs keep running; only our memory goes */
		pod_destroy(d->pods);
	for (int i = 0; i < 3; i++)
		event_free(evs[i]);
	event_base_free(d->base);
	numa_placer_free(d->placer);
	numa_topo_free(d->topo);
	return r;
}

int main(int argc, char **argv)
{
	struct daemon d = {
	    .socket_path = "/run/podvisor/api.sock",
	    .socket_mode = 0660,
	    .state_dir = "/var/lib/podvisor",
	    .run_dir = "/run/podvisor",
	    .vcpu_overcommit = 4,
	    .switch_socket = SW_DEFAULT_CONTROL,
	    .defaults = {.vcpus = 1, .memory_mib = 128, .check_files = true},
	};
	struct options o = {.admin_gid = (gid_t)-1, .log_level = PV_LOG_INFO};
	int c, r;

	while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
		r = parse_opt(c, optarg, &d, &o);
		if (r >= 0)
			return r;
	}
	if (optind < argc) {
		fprintf(stderr, "podvisord: unexpected argument '%s'\n",
		        argv[optind]);
		return 2;
	}
	pv_log_init("podvisord", (enum pv_log_level)o.log_level);
	if (o.vmm)
		snprintf(d.vmm_path, sizeof(d.vmm_path), "%s", o.vmm);
	else if (find_vmm(d.vmm_path, sizeof(d.vmm_path)) < 0) {
		log_err("podvisor-vmm not found next to podvisord nor in %s; "
		        "give --vmm PATH",
		        PODVISOR_LIBEXECDIR);
		return 2;
	}
	if (access(d.vmm_path, X_OK) < 0) {
		log_err("--vmm %s: %s; give the path of podvisor-vmm",
		        d.vmm_path, strerror(errno));
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	umask(0027);
	if (prepare_dirs(&d) < 0)
		return 1;
	return serve(&d, o.admin_gid) < 0 ? 1 : 0;
}
