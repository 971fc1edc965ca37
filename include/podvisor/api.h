/* SPDX-License-Identifier: Apache-2.0 */
/*
 * HTTP/JSON over UNIX sockets, for podvisord's REST API and podvisor-vmm's
 * control socket (server side), and a small client for tests, tools and the
 * daemon talking to a VMM.
 *
 * Server: libevent evhttp on a UNIX socket, a route table matched on method
 * and path ("{name}" segments capture one path segment), JSON bodies through
 * json-c, one error model:
 *   {"error": {"code": "...", "message": "...", "field": "..."}}
 * with the status. Done before any handler runs: 404 unknown path, 405 known
 * path with another method, 413 body over API_MAX_BODY, 415 a body that is
 * not application/json, 400 a body that is not valid JSON, 403 a caller that
 * is not admin on a route that needs admin.
 *
 * Limitation: bodies past 4 x API_MAX_BODY are cut off by evhttp itself,
 * whose 413 carries an HTML body instead of the JSON error.
 *
 * Threading: everything here runs on the event_base's thread, deferred
 * replies included; a handler that has slow work hands it elsewhere (a
 * worker thread, a timer) and answers back on that thread.
 */
#ifndef PODVISOR_API_H
#define PODVISOR_API_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct event_base;
struct json_object;
struct api_server;
struct api_request;

/* Largest request body accepted (413 beyond). */
#define API_MAX_BODY (1024 * 1024)

/* Path parameters captured from "{name}" segments. */
#define API_MAX_PARAMS      4
#define API_PARAM_VALUE_MAX 256

struct api_params {
	unsigned int n;
	struct {
		const char *name; /* points into the route's pattern */
		size_t name_len;
		char value[API_PARAM_VALUE_MAX]; /* percent-decoded */
	} p[API_MAX_PARAMS];
};

/*
 * A handler answers with exactly one api_reply_*(), either before it
 * returns or, after api_request_defer(), later on the loop thread. A
 * request answered in its handler does not outlive the call; a deferred one
 * lives until its reply. ctx is the pointer given to api_server_new().
 */
typedef void (*api_handler_fn)(struct api_request *req, void *ctx);

struct api_route {
	const char *method;  /* "GET", "POST", "PUT", "DELETE" */
	const char *pattern; /* "/v1/vms/{id}/start": literal or {name} */
	api_handler_fn handler;
	bool needs_admin; /* state-changing: root, our uid or admin gid */
};

/*
 * Matches method and path (no query string) against routes[0..nr).
 * Returns 0 and sets *route and *params on a match; -ENOENT when no pattern
 * matches the path (404); -EOPNOTSUPP when a pattern matches the path but
 * not the method (405); -ENAMETOOLONG when a parameter is longer than
 * API_PARAM_VALUE_MAX - 1 bytes. Empty segments ("//") never match; one
 * trailing '/' is ignored. Pure: no I/O, for unit tests.
 */
int api_route_match(const struct api_route *routes, size_t nr,
                    const char *method, const char *path,
                    const struct api_route **route, struct api_params *params);

/*
 * Listens on the UNIX socket at path with the given mode (e.g. 0660). A
 * stale socket file (nobody accepting) is replaced; a socket some process
 * still accepts on gives -EADDRINUSE, any other existing file -EEXIST.
 * routes must stay valid until api_server_free(). Returns 0 or -errno.
 */
int api_server_new(struct event_base *base, const char *path, mode_t mode,
                   const struct api_route *routes, size_t nr, void *ctx,
                   struct api_server **out);

/* Callers whose primary or supplementary group is gid are admin. Root and
 * the server's own uid always are. (gid_t)-1: nobody else. */
void api_server_set_admin_gid(struct api_server *srv, gid_t gid);

/* Stops listening, unlinks the socket file, frees. NULL is fine. */
void api_server_free(struct api_server *srv);

/* ---- inside a handler ---- */

const char *api_request_method(const struct api_request *req);
/* The path, without query string. */
const char *api_request_path(const struct api_request *req);
/* Captured "{name}" value, or NULL. */
const char *api_request_param(const struct api_request *req, const char *name);
/* Query parameter value (decoded), or NULL. */
const char *api_request_query(const struct api_request *req, const char *name);
/* The first query parameter not in known[] (NULL-terminated), or NULL. */
const char *api_request_query_unknown(const struct api_request *req,
                                      const char *const *known);
/* Parsed body, or NULL when the body was empty. Owned by the request. */
struct json_object *api_request_json(const struct api_request *req);
/* Peer credentials taken with SO_PEERCRED when the request came in. */
pid_t api_request_peer_pid(const struct api_request *req);
uid_t api_request_peer_uid(const struct api_request *req);
gid_t api_request_peer_gid(const struct api_request *req);
bool api_request_is_admin(const struct api_request *req);
/* "vm 3f2a" or similar: added to the error log line of this request. */
void api_request_set_subject(struct api_request *req, const char *subject);

/*
 * Keeps req after the handler returns: the handler (or whoever it hands req
 * to) must answer it later, exactly once, with api_reply_*() on the loop
 * thread; the reply frees req, so the pointer is dead after it. Until then
 * the accessors above keep working. When the client hangs up first, the
 * request stays valid (api_request_peer_gone() turns true) and the late
 * reply only frees it. Returns req. After api_server_free() every deferred
 * request counts as hung up; its reply must still come, to free it.
 */
struct api_request *api_request_defer(struct api_request *req);
/* True once the client of a deferred request has gone away. */
bool api_request_peer_gone(const struct api_request *req);

/* Replies with JSON; takes ownership of obj (may be NULL: empty body). */
void api_reply_json(struct api_request *req, int status,
                    struct json_object *obj);
/* Replies with raw bytes and the given Content-Type. */
void api_reply_text(struct api_request *req, int status,
                    const char *content_type, const void *body, size_t len);
/*
 * Replies {"error":{"code","message","field"}} (field omitted when NULL)
 * and logs one line with the request line, the caller's uid, the subject
 * and the message. code is a short snake_case word (API_E_*).
 */
void api_reply_error(struct api_request *req, int status, const char *code,
                     const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Same, with a detail object added as "error.detail" (ownership taken). */
void api_reply_error_detail(struct api_request *req, int status,
                            const char *code, const char *field,
                            struct json_object *detail, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

#define API_E_INVALID     "invalid_argument"       /* 400 */
#define API_E_FORBIDDEN   "forbidden"              /* 403 */
#define API_E_NOT_FOUND   "not_found"              /* 404 */
#define API_E_METHOD      "method_not_allowed"     /* 405 */
#define API_E_CONFLICT    "conflict"               /* 409 */
#define API_E_TOO_LARGE   "body_too_large"         /* 413 */
#define API_E_MEDIA_TYPE  "unsupported_media_type" /* 415 */
#define API_E_INTERNAL    "internal"               /* 500 */
#define API_E_UNAVAILABLE "insufficient_resources" /* 503 */

/* Builds the error object alone (for unit tests and clients). */
struct json_object *api_error_new(const char *code, const char *field,
                                  const char *message);

/* ---- client ---- */

/*
 * One blocking HTTP/1.1 request over the UNIX socket at sock_path:
 * method ("GET"...), uri ("/v1/vm"), body (JSON text or NULL). Waits at
 * most API_CLIENT_TIMEOUT_MS. On success returns 0, sets *status and
 * *json (the parsed body; NULL when the body is empty; caller puts it).
 * Returns -ENOENT/-ECONNREFUSED when nobody listens, -ETIMEDOUT,
 * -EBADMSG for a reply that is not HTTP or whose body is not JSON.
 * json may be NULL when the caller only needs the status.
 * One request per connection ("Connection: close"); replies of at most
 * 8 MiB. Limitation: chunked replies are refused (-EBADMSG); evhttp
 * servers reply with Content-Length.
 */
#define API_CLIENT_TIMEOUT_MS 5000
int api_client_request(const char *sock_path, const char *method,
                       const char *uri, const char *body, int *status,
                       struct json_object **json);

/* Same with a timeout and the raw body (NUL-terminated, caller frees). */
int api_client_request_raw(const char *sock_path, const char *method,
                           const char *uri, const char *body, int timeout_ms,
                           int *status, char **resp_body, size_t *resp_len);

#endif
