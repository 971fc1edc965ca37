// SPDX-License-Identifier: Apache-2.0
/*
 * pv-boottime: runs a VMM command with its stdout on a pipe and prints how
 * long after the fork the first occurrence of a marker appeared there; with
 * --rss, also the VMM's resident memory apart from guest RAM, read while
 * the guest idles. Used by scripts/bench/boot.sh; not a test.
 *
 *   pv-boottime [--until STR] [--timeout-ms N] [--rss GUEST_MIB]
 *               [--settle-ms N] -- CMD [ARGS...]
 *
 * Prints one line: "first_output_us=N" [" vmrss_kib=R guest_rss_kib=G
 * overhead_kib=R-G"]. Exit 0 when the marker was seen, 1 otherwise.
 * Guest RAM is every mapping at least GUEST_MIB large (podvisor's memfd,
 * qemu's RAM block); its resident part is what the guest touched.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct opts {
	const char *until;
	long timeout_ms, settle_ms, guest_mib;
	char **cmd;
};

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
	    {"until", required_argument, NULL, 'u'},
	    {"timeout-ms", required_argument, NULL, 't'},
	    {"rss", required_argument, NULL, 'r'},
	    {"settle-ms", required_argument, NULL, 's'},
	    {NULL, 0, NULL, 0}};
	int c;

	*o = (struct opts){"Z", 10000, 300, 0, NULL};
	while ((c = getopt_long(argc, argv, "+", lo, NULL)) != -1) {
		switch (c) {
		case 'u':
			o->until = optarg;
			break;
		case 't':
			o->timeout_ms = atol(optarg);
			break;
		case 'r':
			o->guest_mib = atol(optarg);
			break;
		case 's':
			o->settle_ms = atol(optarg);
			break;
		default:
			return -1;
		}
	}
	if (optind >= argc || !*o->until)
		return -1;
	o->cmd = argv + optind;
	return 0;
}

static pid_t spawn(char **cmd, int *out_fd)
{
	int p[2], null;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(p[1], 1);
		dup2(null, 2);
		execvp(cmd[0], cmd);
		_exit(127);
	}
	close(p[1]);
	*out_fd = p[0];
	return pid;
}

/* Reads fd until 'until' shows up; returns 0 or -1 on timeout or EOF. */
static int wait_marker(int fd, const char *until, long timeout_ms, long long t0)
{
	char buf[65536];
	size_t have = 0, ul = strlen(until);

	for (;;) {
		long left = timeout_ms - (now_us() - t0) / 1000;
		struct pollfd pfd = {fd, POLLIN, 0};
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return -1;
		if (have + 4096 > sizeof(buf)) {
			memmove(buf, buf + have - ul, ul);
			have = ul;
		}
		n = read(fd, buf + have, sizeof(buf) - have - 1);
		if (n <= 0)
			return -1;
		have += (size_t)n;
		buf[have] = 0;
		if (memmem(buf, have, until, ul))
			return 0;
	}
}

/* VmRSS and the resident part of mappings of at least guest_kib. */
static int read_rss(pid_t pid, long guest_kib, long *rss, long *guest)
{
	char path[64], line[512];
	long size = 0, v;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (!(f = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof(line), f))
		sscanf(line, "VmRSS: %ld", rss);
	fclose(f);
	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	if (!(f = fopen(path, "r")))
		return -1;
	*guest = 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Size: %ld", &v) == 1)
			size = v;
		else if (sscanf(line, "Rss: %ld", &v) == 1 && size >= guest_kib)
			*guest += v;
	}
	fclose(f);
	return 0;
}

static void stop(pid_t pid)
{
	int st;

	kill(pid, SIGTERM);
	for (int i = 0; i < 100; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
}

int main(int argc, char **argv)
{
	struct opts o;
	long long t0, t1;
	long rss = 0, guest = 0;
	int fd, found;
	pid_t pid;

	if (parse(argc, argv, &o) < 0) {
		fprintf(stderr,
		        "usage: pv-boottime [--until STR] [--timeout-ms "
		        "N] [--rss GUEST_MIB] [--settle-ms N] -- CMD "
		        "[ARGS...]\n");
		return 2;
	}
	t0 = now_us();
	pid = spawn(o.cmd, &fd);
	if (pid < 0) {
		fprintf(stderr, "pv-boottime: cannot start %s: %s\n", o.cmd[0],
		        strerror(errno));
		return 1;
	}
	found = wait_marker(fd, o.until, o.timeout_ms, t0) == 0;
	t1 = now_us();
	printf("first_output_us=%lld", found ? t1 - t0 : -1LL);
	if (found && o.guest_mib > 0) {
		usleep((useconds_t)o.settle_ms * 1000);
		if (read_rss(pid, o.guest_mib * 1024, &rss, &guest) == 0)
			printf(
			    " vmrss_kib=%ld guest_rss_kib=%ld overhead_kib=%ld",
			    rss, guest, rss - guest);
	}
	printf("\n");
	stop(pid);
	close(fd);
	if (!found)
		fprintf(stderr, "pv-boottime: '%s' not seen within %ld ms\n",
		        o.until, o.timeout_ms);
	return found ? 0 : 1;
}
