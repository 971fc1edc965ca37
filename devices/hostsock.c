// SPDX-License-Identifier: Apache-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "hostsock.h"
#include "podvisor/log.h"

static int fill_addr(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memcpy(sa->sun_path, path, strlen(path));
	return 0;
}

int hostsock_listen(const char *path, const char *what)
{
	struct sockaddr_un sa;
	struct stat st;
	int fd, r;

	if (fill_addr(&sa, path) < 0)
		return log_err_errno(ENAMETOOLONG,
		                     "%s: path %s is longer than "
		                     "%zu bytes; use a shorter path",
		                     what, path, sizeof(sa.sun_path) - 1);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return log_err_errno(EEXIST,
			                     "%s: %s exists and is not "
			                     "a socket; remove it or pick "
			                     "another path",
			                     what, path);
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return log_err_errno(errno, "%s: socket", what);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 16) < 0) {
		r = errno;
		close(fd);
		return log_err_errno(r, "%s: cannot listen on %s", what, path);
	}
	return fd;
}

int hostsock_connect(const char *path)
{
	struct sockaddr_un sa;
	int fd, r;

	if (fill_addr(&sa, path) < 0)
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A UNIX connect either completes at once or fails (EAGAIN when the
	 * listener's backlog is full); it never stays in progress. */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

int hostsock_accept(int lfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	return fd < 0 ? -errno : fd;
}
