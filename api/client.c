// SPDX-License-Identifier: Apache-2.0
/*
 * Blocking HTTP/1.1 client over a UNIX socket. One request per connection
 * ("Connection: close"), so the reply ends at end of file; the reply is
 * parsed with libevent's evbuffer line reader and the body with json-c.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <json-c/json.h>

#include "podvisor/api.h"
#include "podvisor/log.h"
#include "podvisor/util.h"

/* Replies larger than this are refused (the console is 64 KiB). */
#define CLIENT_MAX_REPLY (8 * 1024 * 1024)

static int wait_fd(int fd, short events, uint64_t deadline_ns)
{
	for (;;) {
		uint64_t now = pv_now_ns();
		struct pollfd p = {.fd = fd, .events = events};
		int r;

		if (now >= deadline_ns)
			return -ETIMEDOUT;
		r = poll(&p, 1, (int)((deadline_ns - now) / 1000000 + 1));
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

static int client_connect(const char *path, uint64_t deadline)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	_cleanup_close_ int fd = -1;
	int r, err = 0;
	socklen_t len = sizeof(err);

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return pv_take_fd(&fd);
	if (errno != EAGAIN && errno != EINPROGRESS)
		return -errno;
	r = wait_fd(fd, POLLOUT, deadline);
	if (r < 0)
		return r;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return -errno;
	if (err)
		return -err;
	return pv_take_fd(&fd);
}

static int send_all(int fd, const char *p, size_t len, uint64_t deadline)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EAGAIN) {
			int r = wait_fd(fd, POLLOUT, deadline);

			if (r < 0)
				return r;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int recv_all(int fd, struct evbuffer *in, uint64_t deadline)
{
	for (;;) {
		char chunk[16384];
		ssize_t n = recv(fd, chunk, sizeof(chunk), 0);

		if (n == 0)
			return 0;
		if (n < 0 && errno == EAGAIN) {
			int r = wait_fd(fd, POLLIN, deadline);

			if (r < 0)
				return r;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (evbuffer_get_length(in) + (size_t)n > CLIENT_MAX_REPLY)
			return -EMSGSIZE;
		evbuffer_add(in, chunk, (size_t)n);
	}
}

/* Status line and headers; leaves the body in `in`. */
static int parse_head(struct evbuffer *in, int *status, long *clen)
{
	char *line = evbuffer_readln(in, NULL, EVBUFFER_EOL_CRLF);
	int major, minor;

	*clen = -1;
	if (!line ||
	    sscanf(line, "HTTP/%d.%d %d", &major, &minor, status) != 3) {
		free(line);
		return -EBADMSG;
	}
	free(line);
	while ((line = evbuffer_readln(in, NULL, EVBUFFER_EOL_CRLF))) {
		bool end = line[0] == '\0';

		if (strncasecmp(line, "Content-Length:", 15) == 0)
			*clen = strtol(line + 15, NULL, 10);
		if (strncasecmp(line, "Transfer-Encoding:", 18) == 0 &&
		    strcasestr(line, "chunked")) {
			/* Limitation: our servers never send chunked replies.
			 */
			free(line);
			return -EBADMSG;
		}
		free(line);
		if (end)
			return 0;
	}
	return -EBADMSG;
}

static int format_request(struct evbuffer *out, const char *method,
                          const char *uri, const char *body)
{
	size_t blen = body ? strlen(body) : 0;
	int r;

	r = evbuffer_add_printf(out,
	                        "%s %s HTTP/1.1\r\nHost: localhost\r\n"
	                        "Connection: close\r\nAccept: */*\r\n"
	                        "Content-Length: %zu\r\n",
	                        method, uri, blen);
	if (r >= 0 && blen)
		r = evbuffer_add_printf(out,
		                        "Content-Type: application/json\r\n");
	if (r >= 0)
		r = evbuffer_add(out, "\r\n", 2);
	if (r >= 0 && blen)
		r = evbuffer_add(out, body, blen);
	return r < 0 ? -ENOMEM : 0;
}

static int exchange(const char *sock_path, struct evbuffer *out,
                    struct evbuffer *in, int timeout_ms)
{
	uint64_t deadline = pv_now_ns() + (uint64_t)timeout_ms * 1000000ULL;
	_cleanup_close_ int fd = client_connect(sock_path, deadline);
	size_t len = evbuffer_get_length(out);
	int r;

	if (fd < 0)
		return fd;
	r = send_all(fd, (const char *)evbuffer_pullup(out, -1), len, deadline);
	if (r < 0)
		return r;
	shutdown(fd, SHUT_WR);
	return recv_all(fd, in, deadline);
}

int api_client_request_raw(const char *sock_path, const char *method,
                           const char *uri, const char *body, int timeout_ms,
                           int *status, char **resp_body, size_t *resp_len)
{
	struct evbuffer *out = evbuffer_new(), *in = evbuffer_new();
	long clen = -1;
	size_t have;
	int r = -ENOMEM;

	if (!out || !in)
		goto done;
	r = format_request(out, method, uri, body);
	if (r == 0)
		r = exchange(sock_path, out, in, timeout_ms);
	if (r == 0)
		r = parse_head(in, status, &clen);
	if (r < 0)
		goto done;
	have = evbuffer_get_length(in);
	if (clen >= 0 && (size_t)clen < have)
		have = (size_t)clen;
	if (clen >= 0 && (size_t)clen > have) {
		r = -EBADMSG; /* the connection closed mid-body */
		goto done;
	}
	*resp_body = malloc(have + 1);
	if (!*resp_body) {
		r = -ENOMEM;
		goto done;
	}
	evbuffer_remove(in, *resp_body, have);
	(*resp_body)[have] = '\0';
	if (resp_len)
		*resp_len = have;
done:
	if (out)
		evbuffer_free(out);
	if (in)
		evbuffer_free(in);
	return r;
}

int api_client_request(const char *sock_path, const char *method,
                       const char *uri, const char *body, int *status,
                       struct json_object **json)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r;

	r = api_client_request_raw(sock_path, method, uri, body,
	                           API_CLIENT_TIMEOUT_MS, status, &text, &len);
	if (r < 0)
		return r;
	if (!json)
		return 0;
	*json = NULL;
	if (strspn(text, " \t\r\n") == len)
		return 0;
	*json = json_tokener_parse(text);
	return *json ? 0 : -EBADMSG;
}
