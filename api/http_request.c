// SPDX-License-Identifier: Apache-2.0
/*
 * One API request: its accessors, its replies (JSON, text, the error
 * model) and a deferred reply's life, with the watch for a client that
 * hangs up before it.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <json-c/json.h>

#include "http_internal.h"
#include "podvisor/api.h"
#include "podvisor/log.h"

/* How often a deferred request's client is checked once its socket stays
 * readable (it shut only its sending side, or sent more). */
#define HUP_CHECK_MS 500

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

const char *api_request_query_unknown(const struct api_request *req,
                                      const char *const *known)
{
	const struct evkeyval *kv;

	api_request_query(req, ""); /* parses the query once */
	TAILQ_FOREACH(kv, &req->query, next)
	{
		const char *const *k = known;

		while (*k && strcmp(*k, kv->key))
			k++;
		if (!*k)
			return kv->key;
	}
	return NULL;
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

void http_request_free(struct api_request *req)
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
		http_request_free(req);
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
/*
 * The connection of a deferred request closes: the client hung up (see
 * on_peer_event) or the server is being freed. When evhttp dropped the
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

void http_request_handler_returned(struct api_request *req)
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
	http_request_free(req);
}
