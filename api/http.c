// SPDX-License-Identifier: Apache-2.0
/*
 * HTTP server over a UNIX socket: libevent evhttp does the protocol, this
 * file adds the route table, the JSON error model, body checks and the
 * caller's credentials.
 */
#include <errno.h>
#include <sys/queue.h>
#include <fcntl.h>
#include <poll.h>
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

#include "podvisor/api.h"
#include "podvisor/log.h"
#include "podvisor/util.h"

/* How often a deferred request's client is checked once its socket stays
 * readable (it shut only its sending side, or sent more). */
#define HUP_CHECK_MS 500

struct api_server {
	struct event_base *base;
	struct evhttp *http;
	char *path;
	const struct api_route *routes;
	size_t nr;
	void *ctx;
	gid_t admin_gid;
	uid_t self_uid;
};

/*
 * One request. Lives on the heap from on_request() until it is answered:
 * a request the handler answered is freed when the handler returns; a
 * deferred one (api_request_defer) when its reply is sent. ev is NULL once
 * the client has hung up (evhttp owns and frees its request then), so
 * everything a late reply or its log line needs is copied here.
 */
struct api_request {
	struct api_server *srv;
	struct evhttp_request *ev;
	struct evhttp_connection *conn; /* closecb set while deferred */
	struct event *hup_ev;           /* watches conn's fd meanwhile */
	const struct api_route *route;
	struct api_params params;
	const char *method;
	char *path;
	char *uri;
	struct evkeyvalq query;
	bool query_parsed;
	struct json_object *json;
	struct ucred cred;
	bool admin;
	bool replied;
	bool deferred;    /* the handler asked to answer later */
	bool outstanding; /* deferred and its handler has returned */
	char subject[96];
};

static const char *status_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 202:
		return "Accepted";
	case 204:
		return "No Content";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 413:
		return "Payload Too Large";
	case 415:
		return "Unsupported Media Type";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	case 507:
		return "Insufficient Storage";
	default:
		return status < 400 ? "OK" : "Error";
	}
}

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

/* ---- accessors ---- */

const char *api_request_method(const struct api_request *req)
{
	return req->method;
}

const char *api_request_path(const struct api_request *req)
{
	return req->path;
}

const char *api_request_param(const struct api_request *req, const char *name)
{
	size_t len = strlen(name);

	for (unsigned int i = 0; i < req->params.n; i++)
		if (req->params.p[i].name_len == len &&
		    memcmp(req->params.p[i].name, name, len) == 0)
			return req->params.p[i].value;
	return NULL;
}

const char *api_request_query(const struct api_request *req, const char *name)
{
	struct api_request *r = (struct api_request *)req;

	if (!r->query_parsed) {
		const char *q = r->ev
		                    ? evhttp_uri_get_query(
		                          evhttp_request_get_evhttp_uri(r->ev))
		                    : NULL;

		TAILQ_INIT(&r->query);
		if (q && evhttp_parse_query_str(q, &r->query) < 0)
			evhttp_clear_headers(&r->query);
		r->query_parsed = true;
	}
	return evhttp_find_header(&r->query, name);
}

struct json_object *api_request_json(const struct api_request *req)
{
	return req->json;
}

pid_t api_request_peer_pid(const struct api_request *req)
{
	return req->cred.pid;
}

uid_t api_request_peer_uid(const struct api_request *req)
{
	return req->cred.uid;
}

gid_t api_request_peer_gid(const struct api_request *req)
{
	return req->cred.gid;
}

bool api_request_is_admin(const struct api_request *req)
{
	return req->admin;
}

void api_request_set_subject(struct api_request *req, const char *subject)
{
	snprintf(req->subject, sizeof(req->subject), "%s",
	         subject ? subject : "");
}

/* ---- replies ---- */

static void stop_watching(struct api_request *req)
{
	if (req->hup_ev)
		event_free(req->hup_ev);
	req->hup_ev = NULL;
}

static void request_free(struct api_request *req)
{
	stop_watching(req);
	json_object_put(req->json);
	if (req->query_parsed)
		evhttp_clear_headers(&req->query);
	free(req->path);
	free(req->uri);
	free(req);
}

/* Forgets the connection's close callback: after the reply evhttp may
 * close or reuse the connection for the next request. */
static void forget_connection(struct api_request *req)
{
	stop_watching(req);
	if (req->conn)
		evhttp_connection_set_closecb(req->conn, NULL, NULL);
	req->conn = NULL;
}

static void send_reply(struct api_request *req, int status,
                       const char *content_type, const void *body, size_t len)
{
	struct evbuffer *buf;

	if (!req->ev) {
		log_info("%s %s: the client hung up; reply %d dropped",
		         req->method, req->path, status);
		return;
	}
	buf = evbuffer_new();
	if (buf && len)
		evbuffer_add(buf, body, len);
	if (content_type && len)
		evhttp_add_header(evhttp_request_get_output_headers(req->ev),
		                  "Content-Type", content_type);
	evhttp_send_reply(req->ev, status, status_reason(status), buf);
	if (buf)
		evbuffer_free(buf);
}

void api_reply_text(struct api_request *req, int status,
                    const char *content_type, const void *body, size_t len)
{
	if (req->replied) {
		log_err("%s %s: second reply (%d) dropped", req->method,
		        req->path, status);
		return;
	}
	req->replied = true;
	forget_connection(req);
	send_reply(req, status, content_type, body, len);
	/* A deferred request is done with its reply; one answered inside
	 * its handler is freed by on_request(). */
	if (req->outstanding)
		request_free(req);
}

void api_reply_json(struct api_request *req, int status,
                    struct json_object *obj)
{
	size_t len = 0;
	const char *s = NULL;
	char *text = NULL;

	if (obj) {
		s = json_object_to_json_string_ext(
		    obj,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
		len = strlen(s);
		text = malloc(len + 2);
		if (text) {
			memcpy(text, s, len);
			text[len++] = '\n';
		} else {
			len = 0;
		}
	}
	api_reply_text(req, status, "application/json", text, len);
	free(text);
	json_object_put(obj);
}

struct json_object *api_error_new(const char *code, const char *field,
                                  const char *message)
{
	struct json_object *root = json_object_new_object();
	struct json_object *err = json_object_new_object();

	json_object_object_add(err, "code", json_object_new_string(code));
	json_object_object_add(err, "message", json_object_new_string(message));
	if (field)
		json_object_object_add(err, "field",
		                       json_object_new_string(field));
	json_object_object_add(root, "error", err);
	return root;
}

static void reply_error_v(struct api_request *req, int status, const char *code,
                          const char *field, struct json_object *detail,
                          const char *fmt, va_list ap)
    __attribute__((format(printf, 6, 0)));

static void reply_error_v(struct api_request *req, int status, const char *code,
                          const char *field, struct json_object *detail,
                          const char *fmt, va_list ap)
{
	struct json_object *e, *inner;
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	pv_log(status >= 500 ? PV_LOG_ERR : PV_LOG_WARN,
	       "%s %s (uid %u pid %d)%s%s: %d %s: %s", req->method,
	       req->uri ? req->uri : req->path, (unsigned)req->cred.uid,
	       (int)req->cred.pid, req->subject[0] ? ": " : "", req->subject,
	       status, code, msg);
	e = api_error_new(code, field, msg);
	if (detail && json_object_object_get_ex(e, "error", &inner))
		json_object_object_add(inner, "detail", detail);
	else
		json_object_put(detail);
	api_reply_json(req, status, e);
}

void api_reply_error(struct api_request *req, int status, const char *code,
                     const char *field, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	reply_error_v(req, status, code, field, NULL, fmt, ap);
	va_end(ap);
}

void api_reply_error_detail(struct api_request *req, int status,
                            const char *code, const char *field,
                            struct json_object *detail, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	reply_error_v(req, status, code, field, detail, fmt, ap);
	va_end(ap);
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

static bool request_route(struct api_request *req)
{
	struct api_server *srv = req->srv;
	int r = api_route_match(srv->routes, srv->nr, req->method, req->path,
	                        &req->route, &req->params);

	if (r == -EOPNOTSUPP) {
		api_reply_error(req, 405, API_E_METHOD, NULL,
		                "%s is not allowed on %s", req->method,
		                req->path);
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

/*
 * The connection of a deferred request closes: the client hung up (see
 * on_peer_readable) or the server is being freed. When evhttp dropped the
 * request from its connection, the request is ours to free (libevent 2.1
 * keeps a request the user has not answered); when it is still on the
 * connection, evhttp frees it with the connection.
 */
static void on_close(struct evhttp_connection *conn, void *arg)
{
	struct api_request *req = arg;

	log_info("%s %s (uid %u): the connection closed before the reply",
	         req->method, req->path, (unsigned)req->cred.uid);
	stop_watching(req);
	if (req->ev && evhttp_request_get_connection(req->ev) != conn)
		evhttp_request_free(req->ev);
	req->ev = NULL;
	req->conn = NULL;
}

/* Both directions of the UNIX socket are shut: the client closed it. A
 * client that only shut its sending side (api_client_request() does)
 * still waits for the answer. */
static bool peer_hung_up(evutil_socket_t fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR));
}

static void on_peer_event(evutil_socket_t fd, short what, void *arg);

/* Watches fd: readable (EV_READ) at first, then every HUP_CHECK_MS once
 * it stays readable without being closed (half-close, pipelined bytes). */
static int watch_fd(struct api_request *req, evutil_socket_t fd, bool slow)
{
	struct timeval tv = {HUP_CHECK_MS / 1000, (HUP_CHECK_MS % 1000) * 1000};

	stop_watching(req);
	req->hup_ev =
	    event_new(req->srv->base, fd, EV_PERSIST | (slow ? 0 : EV_READ),
	              on_peer_event, req);
	if (!req->hup_ev || event_add(req->hup_ev, slow ? &tv : NULL) < 0) {
		stop_watching(req);
		return -ENOMEM;
	}
	return 0;
}

/*
 * evhttp stops reading a connection once it has a request to answer, so
 * it would only notice a client that hung up when the reply fails. We
 * watch the socket ourselves meanwhile; when the client is gone, freeing
 * the connection drops the request and marks it gone.
 */
static void on_peer_event(evutil_socket_t fd, short what, void *arg)
{
	struct api_request *req = arg;
	struct evhttp_connection *conn;

	if (!peer_hung_up(fd)) {
		if (what & EV_READ)
			watch_fd(req, fd, true);
		return;
	}
	log_info("%s %s (uid %u): the client hung up before the reply",
	         req->method, req->path, (unsigned)req->cred.uid);
	/* The request is still on the connection (evhttp did not fail it:
	 * on_close would have run): it goes with the connection. */
	conn = req->conn;
	forget_connection(req);
	req->ev = NULL;
	evhttp_connection_free(conn);
}

/* From the handler's return to the reply: closecb and our own watch. */
static void watch_connection(struct api_request *req)
{
	struct bufferevent *bev;
	evutil_socket_t fd;

	req->conn = evhttp_request_get_connection(req->ev);
	if (!req->conn)
		return;
	evhttp_connection_set_closecb(req->conn, on_close, req);
	bev = evhttp_connection_get_bufferevent(req->conn);
	fd = bev ? bufferevent_getfd(bev) : -1;
	if (fd < 0)
		return;
	watch_fd(req, fd, false);
}

struct api_request *api_request_defer(struct api_request *req)
{
	req->deferred = true;
	return req;
}

bool api_request_peer_gone(const struct api_request *req)
{
	return req->ev == NULL;
}

/* After the handler: a deferred request without its reply yet learns when
 * its client goes away; anything else is finished here. */
static void handler_returned(struct api_request *req)
{
	if (req->deferred && !req->replied) {
		req->outstanding = true;
		watch_connection(req);
		return;
	}
	if (!req->replied)
		api_reply_error(req, 500, API_E_INTERNAL, NULL,
		                "handler for %s %s gave no answer", req->method,
		                req->route->pattern);
	request_free(req);
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
			request_free(req);
		evhttp_send_error(ev, 500, "out of memory");
		return;
	}
	req->srv = arg;
	req->ev = ev;
	req->method = method_name(evhttp_request_get_command(ev));
	request_credentials(req);

	if (request_route(req) && request_body(req)) {
		req->route->handler(req, req->srv->ctx);
		handler_returned(req);
		return;
	}
	request_free(req);
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
