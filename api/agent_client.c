/* SPDX-License-Identifier: Apache-2.0 */
/* Host-side client of podvisor-agent: plain UNIX socket or hybrid vsock. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "podvisor/agent.h"
#include "podvisor/log.h"
#include "podvisor/util.h"

struct agent_client {
	int fd;
	char addr[128];
};

static int set_timeouts(int fd, int timeout_ms)
{
	struct timeval tv = {
	    .tv_sec = timeout_ms / 1000,
	    .tv_usec = (timeout_ms % 1000) * 1000,
	};

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		return -errno;
	return 0;
}

static int connect_unix(const char *path, int timeout_ms)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	_cleanup_close_ int fd = -1;
	int r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* A UNIX connect does not block on a listener; the timeouts bound
	 * the handshake and the calls. */
	r = set_timeouts(fd, timeout_ms);
	if (r < 0)
		return r;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	return pv_take_fd(&fd);
}

/* Reads one '\n'-terminated line byte by byte: the bytes after it belong
 * to the agent's stream and must stay in the socket. */
static int read_line(int fd, char *buf, size_t size)
{
	size_t n = 0;

	while (n + 1 < size) {
		ssize_t r = read(fd, buf + n, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ECONNRESET;
		if (buf[n] == '\n') {
			buf[n] = '\0';
			return 0;
		}
		n++;
	}
	return -EPROTO;
}

static int hvsock_handshake(int fd, const char *uds, unsigned port)
{
	char line[64];
	int r, len;

	len = snprintf(line, sizeof(line), "CONNECT %u\n", port);
	r = pv_write_full(fd, line, (size_t)len);
	if (r < 0)
		return log_err_errno(r, "agent %s: sending CONNECT %u", uds,
		                     port);
	r = read_line(fd, line, sizeof(line));
	if (r == -ECONNRESET) {
		log_err("agent %s: the VMM closed the connection on CONNECT "
		        "%u: is the agent listening on vsock port %u inside "
		        "the guest?",
		        uds, port, port);
		return -ECONNREFUSED;
	}
	if (r < 0)
		return log_err_errno(r,
		                     "agent %s: reading the answer to "
		                     "CONNECT %u",
		                     uds, port);
	if (strncmp(line, "OK ", 3) != 0) {
		log_err("agent %s: VMM answered '%.40s' to CONNECT %u", uds,
		        line, port);
		return -ECONNREFUSED;
	}
	return 0;
}

static int parse_hvsock(const char *spec, char *path, size_t size,
                        unsigned *port)
{
	const char *colon = strrchr(spec, ':');
	size_t n = strlen(spec);
	char *end;

	*port = AGENT_VSOCK_PORT;
	if (colon && colon[1] >= '0' && colon[1] <= '9') {
		unsigned long p = strtoul(colon + 1, &end, 10);

		if (*end || p == 0 || p > UINT32_MAX)
			return -EINVAL;
		*port = (unsigned)p;
		n = (size_t)(colon - spec);
	}
	if (n == 0 || n >= size)
		return -EINVAL;
	memcpy(path, spec, n);
	path[n] = '\0';
	return 0;
}

int agent_client_connect(const char *addr, int timeout_ms,
                         struct agent_client **out)
{
	struct agent_client *c;
	char path[108];
	unsigned port = 0;
	bool hybrid;
	int fd, r;

	*out = NULL;
	if (timeout_ms <= 0)
		timeout_ms = 5000;
	if (!strncmp(addr, "unix:", 5)) {
		hybrid = false;
		if (strlen(addr + 5) == 0 || strlen(addr + 5) >= sizeof(path))
			return -EINVAL;
		strcpy(path, addr + 5);
	} else if (!strncmp(addr, "hvsock:", 7)) {
		hybrid = true;
		if (parse_hvsock(addr + 7, path, sizeof(path), &port) < 0)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	fd = connect_unix(path, timeout_ms);
	if (fd < 0)
		return log_err_errno(fd, "agent %s: connect", addr);
	if (hybrid && (r = hvsock_handshake(fd, path, port)) < 0) {
		close(fd);
		return r;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	c->fd = fd;
	snprintf(c->addr, sizeof(c->addr), "%s", addr);
	*out = c;
	return 0;
}

int agent_client_call(struct agent_client *c, json_object *req,
                      json_object **resp)
{
	int r;

	*resp = NULL;
	if (c->fd < 0)
		return -ENOTCONN;
	r = agent_frame_write(c->fd, req);
	if (r < 0)
		goto broken;
	r = agent_frame_read(c->fd, resp);
	if (r == 0)
		r = -ECONNRESET;
	if (r < 0)
		goto broken;
	return 0;
broken:
	/* A half-written or half-read frame leaves the stream out of sync. */
	log_err_errno(r, "agent %s: call failed", c->addr);
	close(c->fd);
	c->fd = -1;
	return r;
}

int agent_client_call_checked(struct agent_client *c, json_object *req,
                              json_object **resp, struct agent_error *err)
{
	json_object *o, *e, *v;
	int r;

	*resp = NULL;
	r = agent_client_call(c, req, &o);
	if (r < 0)
		return r;
	if (json_object_object_get_ex(o, "ok", &v) &&
	    json_object_get_boolean(v)) {
		*resp = o;
		return 0;
	}
	err->code = AGENT_ERR_INTERNAL;
	err->field[0] = '\0';
	snprintf(err->message, sizeof(err->message), "agent gave no reason");
	if (json_object_object_get_ex(o, "error", &e)) {
		static const char *const codes[] = {
		    AGENT_ERR_INVALID, AGENT_ERR_NOT_FOUND, AGENT_ERR_EXISTS,
		    AGENT_ERR_STATE,   AGENT_ERR_TOO_LARGE, AGENT_ERR_BAD_JSON,
		};
		const char *code =
		    json_object_get_string(json_object_object_get(e, "code"));
		size_t i;

		for (i = 0; code && i < ARRAY_SIZE(codes); i++)
			if (!strcmp(code, codes[i]))
				err->code = codes[i];
		if (json_object_object_get_ex(e, "message", &v))
			snprintf(err->message, sizeof(err->message), "%s",
			         json_object_get_string(v));
		if (json_object_object_get_ex(e, "field", &v))
			snprintf(err->field, sizeof(err->field), "%s",
			         json_object_get_string(v));
	}
	json_object_put(o);
	return -EREMOTEIO;
}

void agent_client_close(struct agent_client *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}
