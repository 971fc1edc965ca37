// SPDX-License-Identifier: Apache-2.0
/*
 * HTTP server over a UNIX socket: libevent evhttp does the protocol, this
 * file adds the route table, body checks and the caller's credentials;
 * http_request.c has the replies (the JSON error model) and deferral.
 */
#include <errno.h>
#include <sys/queue.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <json-c/json.h>

#include "http_internal.h"
#include "podvisor/api.h"
#include "podvisor/log.h"
#include "podvisor/util.h"
#include "podvisor/util.h"

static const char *method_name(enum evhttp_cmd_type cmd)
{
	switch (cmd) {
	case EVHTTP_REQ_GET:
		return "GET";
	case EVHTTP_REQ_POST:
		return "POST";
	case EVHTTP_REQ_HEAD:
		return "HEAD";
	case EVHTTP_REQ_PUT:
		return "PUT";
	case EVHTTP_REQ_DELETE:
		return "DELETE";
	case EVHTTP_REQ_OPTIONS:
		return "OPTIONS";
	case EVHTTP_REQ_TRACE:
		return "TRACE";
	case EVHTTP_REQ_CONNECT:
		return "CONNECT";
	case EVHTTP_REQ_PATCH:
		return "PATCH";
	}
	return "UNKNOWN";
}
/* ---- dispatch ---- */

/* True when gid appears in the "Groups:" line of /proc/<pid>/status: the
 * supplementary groups SO_PEERCRED does not carry. */
static bool pid_in_group(pid_t pid, gid_t gid)
{
	char path[64], line[1024];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char *p, *end;

		if (strncmp(line, "Groups:", 7) != 0)
			continue;
		for (p = line + 7;; p = end) {
			unsigned long g = strtoul(p, &end, 10);

			if (end == p)
				break;
			if ((gid_t)g == gid)
				found = true;
		}
		break;
	}
	fclose(f);
	return found;
}

static void request_credentials(struct api_request *req)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req->ev);
	struct bufferevent *bev =
	    conn ? evhttp_connection_get_bufferevent(conn) : NULL;
	int fd = bev ? bufferevent_getfd(bev) : -1;
	socklen_t len = sizeof(req->cred);
	gid_t agid = req->srv->admin_gid;

	req->cred.pid = 0;
	req->cred.uid = (uid_t)-1;
	req->cred.gid = (gid_t)-1;
	if (fd < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &req->cred, &len) < 0) {
		log_warn("%s %s: no peer credentials: %s", req->method,
		         req->path, strerror(errno));
		req->admin = false;
		return;
	}
	req->admin = req->cred.uid == 0 || req->cred.uid == req->srv->self_uid;
	if (!req->admin && agid != (gid_t)-1)
		req->admin =
		    req->cred.gid == agid || pid_in_group(req->cred.pid, agid);
}

/* "application/json", optionally followed by parameters. */
static bool is_json_type(const char *ct)
{
	size_t n = strlen("application/json");

	if (!ct || strncasecmp(ct, "application/json", n) != 0)
		return false;
	return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

/* Parses the body; replies and returns false on any problem. */
static bool request_body(struct api_request *req)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req->ev);
	size_t len = evbuffer_get_length(in);
	const char *ct;
	struct json_tokener *tok;
	size_t end;
	char *data;

	if (len == 0)
		return true;
	if (len > API_MAX_BODY) {
		api_reply_error(req, 413, API_E_TOO_LARGE, NULL,
		                "request body is %zu bytes; the limit is %d "
		                "bytes",
		                len, API_MAX_BODY);
		return false;
	}
	ct = evhttp_find_header(evhttp_request_get_input_headers(req->ev),
	                        "Content-Type");
	if (!is_json_type(ct)) {
		api_reply_error(req, 415, API_E_MEDIA_TYPE, NULL,
		                "Content-Type is '%s'; send the body as JSON "
		                "with 'Content-Type: application/json'",
		                ct ? ct : "(none)");
		return false;
	}
	data = (char *)evbuffer_pullup(in, -1);
	tok = json_tokener_new();
	req->json = tok ? json_tokener_parse_ex(tok, data, (int)len) : NULL;
	end = tok ? json_tokener_get_parse_end(tok) : 0;
	/* The buffer is not NUL-terminated: check the tail by length. */
	while (end < len && strchr(" \t\r\n", data[end]) && data[end])
		end++;
	if (!req->json || json_tokener_get_error(tok) != json_tokener_success ||
	    end != len) {
		api_reply_error(req, 400, API_E_INVALID, NULL,
		                "body is not valid JSON (%s near byte %zu)",
		                !tok        ? "out of memory"
		                : req->json ? "trailing data"
		                            : json_tokener_error_desc(
		                                  json_tokener_get_error(tok)),
		                tok ? json_tokener_get_parse_end(tok) : 0);
		json_object_put(req->json);
		req->json = NULL;
		json_tokener_free(tok);
		return false;
	}
	json_tokener_free(tok);
	return true;
}

/* The methods path takes, e.g. "GET or DELETE", for a 405. */
static void allowed_methods(const struct api_server *srv, const char *path,
                            char *buf, size_t size)
{
	static const char *const methods[] = {"GET", "POST", "PUT", "DELETE"};
	const struct api_route *route;
	struct api_params params;

	buf[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(methods); i++)
		if (api_route_match(srv->routes, srv->nr, methods[i], path,
		                    &route, &params) == 0)
			snprintf(buf + strlen(buf), size - strlen(buf), "%s%s",
			         buf[0] ? " or " : "", methods[i]);
}

static bool request_route(struct api_request *req)
{
	struct api_server *srv = req->srv;
	int r = api_route_match(srv->routes, srv->nr, req->method, req->path,
	                        &req->route, &req->params);

	if (r == -EOPNOTSUPP) {
		char allowed[64];

		allowed_methods(srv, req->path, allowed, sizeof(allowed));
		api_reply_error(req, 405, API_E_METHOD, NULL,
		                "%s is not allowed on %s; use %s", req->method,
		                req->path, allowed);
		return false;
	}
	if (r < 0) {
		api_reply_error(req, 404, API_E_NOT_FOUND, NULL,
		                "no such resource: %s", req->path);
		return false;
	}
	if (req->route->needs_admin && !req->admin) {
		api_reply_error(req, 403, API_E_FORBIDDEN, NULL,
		                "uid %u may read but not change state; run as "
		                "root or a member of the admin group",
		                (unsigned)req->cred.uid);
		return false;
	}
	return true;
}
static void on_request(struct evhttp_request *ev, void *arg)
{
	struct api_request *req = calloc(1, sizeof(*req));
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(ev);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;

	if (req) {
		const char *u = evhttp_request_get_uri(ev);

		req->path = strdup(path && *path ? path : "/");
		req->uri = strdup(u ? u : req->path);
	}
	if (!req || !req->path || !req->uri) {
		if (req)
			http_request_free(req);
		evhttp_send_error(ev, 500, "out of memory");
		return;
	}
	req->srv = arg;
	req->ev = ev;
	req->method = method_name(evhttp_request_get_command(ev));
	request_credentials(req);

	if (request_route(req) && request_body(req)) {
		req->route->handler(req, req->srv->ctx);
		http_request_handler_returned(req);
		return;
	}
	http_request_free(req);
}

/* ---- listening socket ---- */

/* Removes a socket file nobody accepts on; refuses a live one. */
static int clear_stale_socket(const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, r;

	if (lstat(sa->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return log_err_errno(EEXIST,
		                     "%s exists and is not a socket; remove "
		                     "it or choose another --socket",
		                     sa->sun_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	close(fd);
	if (r == 0) {
		log_err("%s: another process is listening on it; stop it or "
		        "choose another socket path",
		        sa->sun_path);
		return -EADDRINUSE;
	}
	log_info("%s: replacing stale socket", sa->sun_path);
	if (unlink(sa->sun_path) < 0 && errno != ENOENT)
		return log_err_errno(errno, "unlink stale %s", sa->sun_path);
	return 0;
}

static int listen_unix(const char *path, mode_t mode)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	_cleanup_close_ int fd = -1;
	int r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return log_err_errno(ENAMETOOLONG,
		                     "socket path %s is longer than %zu bytes",
		                     path, sizeof(sa.sun_path) - 1);
	strcpy(sa.sun_path, path);
	r = clear_stale_socket(&sa);
	if (r < 0)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return log_err_errno(errno, "socket for %s", sa.sun_path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return log_err_errno(errno, "bind %s", sa.sun_path);
	/* Nobody can connect before listen(), so the mode is right before
	 * the first caller arrives. */
	if (chmod(sa.sun_path, mode) < 0 || listen(fd, 128) < 0) {
		r = log_err_errno(errno, "chmod/listen %s", sa.sun_path);
		unlink(sa.sun_path);
		return r;
	}
	return pv_take_fd(&fd);
}

int api_server_new(struct event_base *base, const char *path, mode_t mode,
                   const struct api_route *routes, size_t nr, void *ctx,
                   struct api_server **out)
{
	struct api_server *srv = calloc(1, sizeof(*srv));
	int fd;

	if (!srv)
		return -ENOMEM;
	srv->base = base;
	srv->routes = routes;
	srv->nr = nr;
	srv->ctx = ctx;
	srv->admin_gid = (gid_t)-1;
	srv->self_uid = geteuid();
	srv->path = strdup(path);
	srv->http = evhttp_new(base);
	if (!srv->path || !srv->http) {
		api_server_free(srv);
		return -ENOMEM;
	}
	fd = listen_unix(path, mode);
	if (fd < 0) {
		free(srv->path);
		srv->path = NULL; /* not ours: do not unlink */
		api_server_free(srv);
		return fd;
	}
	if (!evhttp_accept_socket_with_handle(srv->http, fd)) {
		close(fd);
		api_server_free(srv);
		return log_err_errno(ENOMEM, "evhttp accept on %s", path);
	}
	/* Over the limit we answer JSON 413 ourselves; far over it evhttp
	 * stops reading (and answers 413 itself) so memory stays bounded. */
	evhttp_set_max_body_size(srv->http, 4 * API_MAX_BODY);
	evhttp_set_max_headers_size(srv->http, 64 * 1024);
	evhttp_set_timeout(srv->http, 60);
	evhttp_set_allowed_methods(srv->http,
	                           EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	                               EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	                               EVHTTP_REQ_PATCH | EVHTTP_REQ_HEAD);
	evhttp_set_flags(srv->http, EVHTTP_SERVER_LINGERING_CLOSE);
	evhttp_set_gencb(srv->http, on_request, srv);
	*out = srv;
	return 0;
}

void api_server_set_admin_gid(struct api_server *srv, gid_t gid)
{
	srv->admin_gid = gid;
}

void api_server_free(struct api_server *srv)
{
	if (!srv)
		return;
	if (srv->http)
		evhttp_free(srv->http);
	if (srv->path)
		unlink(srv->path);
	free(srv->path);
	free(srv);
}
