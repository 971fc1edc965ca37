// SPDX-License-Identifier: Apache-2.0
/* api/: route matching, error JSON, and a real server + client round trip
 * over a UNIX socket (server loop on a thread). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "live_server.h"
#include "podvisor/api.h"

static void h_nop(struct api_request *req, void *ctx)
{
	(void)ctx;
	api_reply_json(req, 200, NULL);
}

static const struct api_route routes[] = {
    {"GET", "/v1/vms", h_nop, false},
    {"POST", "/v1/vms", h_nop, true},
    {"GET", "/v1/vms/{id}", h_nop, false},
    {"DELETE", "/v1/vms/{id}", h_nop, true},
    {"POST", "/v1/vms/{id}/start", h_nop, true},
    {"GET", "/v1/vms/{id}/containers/{cid}", h_nop, false},
};

START_TEST(test_route_literal_and_params)
{
	const struct api_route *r;
	struct api_params p;

	ck_assert_int_eq(api_route_match(routes, 6, "GET", "/v1/vms", &r, &p),
	                 0);
	ck_assert_ptr_eq(r, &routes[0]);
	ck_assert_uint_eq(p.n, 0);
	ck_assert_int_eq(api_route_match(routes, 6, "POST", "/v1/vms", &r, &p),
	                 0);
	ck_assert_ptr_eq(r, &routes[1]);
	ck_assert_int_eq(
	    api_route_match(routes, 6, "POST", "/v1/vms/p1/start", &r, &p), 0);
	ck_assert_ptr_eq(r, &routes[4]);
	ck_assert_uint_eq(p.n, 1);
	ck_assert_uint_eq(p.p[0].name_len, 2);
	ck_assert_int_eq(strncmp(p.p[0].name, "id", 2), 0);
	ck_assert_str_eq(p.p[0].value, "p1");
	ck_assert_int_eq(api_route_match(routes, 6, "GET",
	                                 "/v1/vms/a%20b/containers/c1", &r, &p),
	                 0);
	ck_assert_ptr_eq(r, &routes[5]);
	ck_assert_str_eq(p.p[0].value, "a b");
	ck_assert_str_eq(p.p[1].value, "c1");
}
END_TEST

START_TEST(test_route_misses)
{
	const struct api_route *r;
	struct api_params p;
	char longid[400];

	ck_assert_int_eq(api_route_match(routes, 6, "GET", "/v1/vm", &r, &p),
	                 -ENOENT);
	ck_assert_int_eq(
	    api_route_match(routes, 6, "GET", "/v1/vms/p1/x", &r, &p), -ENOENT);
	ck_assert_int_eq(api_route_match(routes, 6, "GET", "/v1//vms", &r, &p),
	                 -ENOENT);
	ck_assert_int_eq(api_route_match(routes, 6, "GET", "/v1/vms//", &r, &p),
	                 -ENOENT);
	ck_assert_int_eq(api_route_match(routes, 6, "GET", "v1/vms", &r, &p),
	                 -ENOENT);
	/* Known path, other method: 405, not 404. */
	ck_assert_int_eq(
	    api_route_match(routes, 6, "PUT", "/v1/vms/p1", &r, &p),
	    -EOPNOTSUPP);
	ck_assert_int_eq(
	    api_route_match(routes, 6, "GET", "/v1/vms/p1/start", &r, &p),
	    -EOPNOTSUPP);
	/* An encoded '/' stays literal: it cannot split a segment. */
	ck_assert_int_eq(
	    api_route_match(routes, 6, "GET", "/v1/vms/a%2Fb", &r, &p), 0);
	ck_assert_str_eq(p.p[0].value, "a%2Fb");
	memset(longid, 'x', sizeof(longid));
	memcpy(longid, "/v1/vms/", 8);
	longid[sizeof(longid) - 1] = '\0';
	ck_assert_int_eq(api_route_match(routes, 6, "GET", longid, &r, &p),
	                 -ENAMETOOLONG);
}
END_TEST

START_TEST(test_route_trailing_slash)
{
	const struct api_route *r;
	struct api_params p;

	ck_assert_int_eq(api_route_match(routes, 6, "GET", "/v1/vms/", &r, &p),
	                 0);
	ck_assert_ptr_eq(r, &routes[0]);
	ck_assert_int_eq(
	    api_route_match(routes, 6, "GET", "/v1/vms/p2/", &r, &p), 0);
	ck_assert_ptr_eq(r, &routes[2]);
	ck_assert_str_eq(p.p[0].value, "p2");
}
END_TEST

START_TEST(test_error_json_shape)
{
	struct json_object *e = api_error_new("conflict", "name", "dup"), *o,
	                   *v;

	ck_assert(json_object_object_get_ex(e, "error", &o));
	ck_assert(json_object_object_get_ex(o, "code", &v));
	ck_assert_str_eq(json_object_get_string(v), "conflict");
	ck_assert(json_object_object_get_ex(o, "message", &v));
	ck_assert_str_eq(json_object_get_string(v), "dup");
	ck_assert(json_object_object_get_ex(o, "field", &v));
	ck_assert_str_eq(json_object_get_string(v), "name");
	json_object_put(e);
	e = api_error_new("not_found", NULL, "x");
	ck_assert(json_object_object_get_ex(e, "error", &o));
	ck_assert(!json_object_object_get_ex(o, "field", &v));
	json_object_put(e);
}
END_TEST

/* ---- live server ---- */

static void h_echo(struct api_request *req, void *ctx)
{
	struct json_object *o = json_object_new_object();
	struct json_object *body = api_request_json(req);
	const char *id = api_request_param(req, "id");
	const char *q = api_request_query(req, "wait");

	(void)ctx;
	json_object_object_add(o, "id", id ? json_object_new_string(id) : NULL);
	json_object_object_add(
	    o, "uid", json_object_new_int64(api_request_peer_uid(req)));
	json_object_object_add(
	    o, "pid", json_object_new_int64(api_request_peer_pid(req)));
	json_object_object_add(
	    o, "admin", json_object_new_boolean(api_request_is_admin(req)));
	json_object_object_add(o, "wait", q ? json_object_new_string(q) : NULL);
	json_object_object_add(o, "body", json_object_get(body));
	api_reply_json(req, 200, o);
}

static void h_conflict(struct api_request *req, void *ctx)
{
	(void)ctx;
	api_reply_error(req, 409, API_E_CONFLICT, "name", "vm %s exists",
	                api_request_param(req, "id"));
}

static void h_silent(struct api_request *req, void *ctx)
{
	(void)req;
	(void)ctx;
}

static const struct api_route live_routes[] = {
    {"GET", "/v1/vms/{id}", h_echo, false},
    {"POST", "/v1/vms/{id}", h_echo, true},
    {"POST", "/v1/vms/{id}/dup", h_conflict, true},
    {"GET", "/v1/silent", h_silent, false},
};

static struct live_server ls;

static void live_setup(void)
{
	live_server_start(&ls, "api", live_routes, 4);
}

static void live_teardown(void)
{
	live_server_free(&ls);
	ck_assert_int_eq(access(ls.sock_path, F_OK), -1);
}

static const char *err_code(struct json_object *j)
{
	struct json_object *e, *c;

	if (!json_object_object_get_ex(j, "error", &e) ||
	    !json_object_object_get_ex(e, "code", &c))
		return "(none)";
	return json_object_get_string(c);
}

START_TEST(test_live_get_with_creds)
{
	struct json_object *j = NULL, *v;
	struct stat st;
	int status = 0;

	ck_assert_int_eq(stat(ls.sock_path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0660);
	ck_assert_int_eq(api_client_request(ls.sock_path, "GET",
	                                    "/v1/vms/p%201?wait=yes", NULL,
	                                    &status, &j),
	                 0);
	ck_assert_int_eq(status, 200);
	ck_assert(json_object_object_get_ex(j, "id", &v));
	ck_assert_str_eq(json_object_get_string(v), "p 1");
	ck_assert(json_object_object_get_ex(j, "uid", &v));
	ck_assert_int_eq(json_object_get_int64(v), getuid());
	ck_assert(json_object_object_get_ex(j, "pid", &v));
	ck_assert_int_eq(json_object_get_int64(v), getpid());
	ck_assert(json_object_object_get_ex(j, "admin", &v));
	ck_assert(json_object_get_boolean(v));
	ck_assert(json_object_object_get_ex(j, "wait", &v));
	ck_assert_str_eq(json_object_get_string(v), "yes");
	json_object_put(j);
}
END_TEST

START_TEST(test_live_post_body)
{
	struct json_object *j = NULL, *b, *v;
	int status = 0;

	ck_assert_int_eq(api_client_request(ls.sock_path, "POST", "/v1/vms/x",
	                                    "{\"vcpus\": 2}", &status, &j),
	                 0);
	ck_assert_int_eq(status, 200);
	ck_assert(json_object_object_get_ex(j, "body", &b));
	ck_assert(json_object_object_get_ex(b, "vcpus", &v));
	ck_assert_int_eq(json_object_get_int(v), 2);
	json_object_put(j);
}
END_TEST

START_TEST(test_live_errors)
{
	struct json_object *j = NULL;
	int status = 0;

	ck_assert_int_eq(
	    api_client_request(ls.sock_path, "GET", "/nope", NULL, &status, &j),
	    0);
	ck_assert_int_eq(status, 404);
	ck_assert_str_eq(err_code(j), "not_found");
	json_object_put(j);

	ck_assert_int_eq(api_client_request(ls.sock_path, "DELETE", "/v1/vms/a",
	                                    NULL, &status, &j),
	                 0);
	ck_assert_int_eq(status, 405);
	ck_assert_str_eq(err_code(j), "method_not_allowed");
	ck_assert_msg(strstr(json_object_to_json_string(j), "use GET or POST"),
	              "405 does not name the methods: %s",
	              json_object_to_json_string(j));
	json_object_put(j);

	ck_assert_int_eq(api_client_request(ls.sock_path, "POST", "/v1/vms/a",
	                                    "{\"vcpus\": ", &status, &j),
	                 0);
	ck_assert_int_eq(status, 400);
	ck_assert_str_eq(err_code(j), "invalid_argument");
	json_object_put(j);

	ck_assert_int_eq(api_client_request(ls.sock_path, "POST", "/v1/vms/a",
	                                    "{} trailing", &status, &j),
	                 0);
	ck_assert_int_eq(status, 400);
	json_object_put(j);

	ck_assert_int_eq(api_client_request(ls.sock_path, "POST",
	                                    "/v1/vms/a/dup", NULL, &status, &j),
	                 0);
	ck_assert_int_eq(status, 409);
	ck_assert_str_eq(err_code(j), "conflict");
	json_object_put(j);

	/* A handler that forgets to answer still yields one reply. */
	ck_assert_int_eq(api_client_request(ls.sock_path, "GET", "/v1/silent",
	                                    NULL, &status, &j),
	                 0);
	ck_assert_int_eq(status, 500);
	json_object_put(j);
}
END_TEST

START_TEST(test_live_body_too_large)
{
	size_t n = API_MAX_BODY + 100;
	char *big = malloc(n + 1);
	struct json_object *j = NULL;
	int status = 0;

	memset(big, ' ', n);
	big[0] = '"';
	big[n - 1] = '"';
	big[n] = '\0';
	ck_assert_int_eq(api_client_request(ls.sock_path, "POST", "/v1/vms/a",
	                                    big, &status, &j),
	                 0);
	ck_assert_int_eq(status, 413);
	ck_assert_str_eq(err_code(j), "body_too_large");
	json_object_put(j);
	free(big);
}
END_TEST

#include <sys/socket.h>
#include <sys/un.h>

static int raw_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	strcpy(sa.sun_path, path);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

START_TEST(test_live_wrong_content_type)
{
	static const char req[] =
	    "POST /v1/vms/a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	    "Content-Type: application/x-www-form-urlencoded\r\n"
	    "Content-Length: 2\r\n\r\n{}";
	char buf[4096];
	size_t got = 0;
	ssize_t n;
	int fd = raw_connect(ls.sock_path);

	ck_assert_int_eq(write(fd, req, sizeof(req) - 1), sizeof(req) - 1);
	while ((n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	close(fd);
	ck_assert_msg(strncmp(buf, "HTTP/1.1 415 ", 13) == 0, "got: %s", buf);
	ck_assert_ptr_nonnull(strstr(buf, "unsupported_media_type"));
	ck_assert_ptr_nonnull(strstr(buf, "application/json"));
}
END_TEST

START_TEST(test_socket_in_use_is_refused)
{
	struct event_base *b2 = event_base_new();
	struct api_server *s2 = NULL;

	/* The live server from the fixture is still accepting. */
	ck_assert_int_eq(
	    api_server_new(b2, ls.sock_path, 0600, live_routes, 4, NULL, &s2),
	    -EADDRINUSE);
	ck_assert_int_eq(access(ls.sock_path, F_OK), 0);
	event_base_free(b2);
}
END_TEST

START_TEST(test_socket_stale_and_not_socket)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct event_base *b = event_base_new();
	struct api_server *s = NULL;
	char path[64];
	int fd, status = 0;

	snprintf(path, sizeof(path), "/tmp/pv-test-stale-%d.sock",
	         (int)getpid());
	unlink(path);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd); /* leaves a stale socket file behind */
	ck_assert_int_eq(
	    api_server_new(b, path, 0600, live_routes, 4, NULL, &s), 0);
	api_server_free(s);
	ck_assert_int_eq(access(path, F_OK), -1);
	/* Nobody listens now: the client says so. */
	ck_assert_int_lt(
	    api_client_request(path, "GET", "/", NULL, &status, NULL), 0);

	fd = open(path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	ck_assert_int_eq(
	    api_server_new(b, path, 0600, live_routes, 4, NULL, &s), -EEXIST);
	ck_assert_int_eq(access(path, F_OK), 0);
	unlink(path);
	event_base_free(b);
}
END_TEST

static Suite *api_suite(void)
{
	Suite *s = suite_create("api");
	TCase *tc = tcase_create("route");
	TCase *live = tcase_create("live");

	tcase_add_test(tc, test_route_literal_and_params);
	tcase_add_test(tc, test_route_misses);
	tcase_add_test(tc, test_route_trailing_slash);
	tcase_add_test(tc, test_error_json_shape);
	tcase_add_test(tc, test_socket_stale_and_not_socket);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(live, live_setup, live_teardown);
	tcase_add_test(live, test_live_get_with_creds);
	tcase_add_test(live, test_live_post_body);
	tcase_add_test(live, test_live_errors);
	tcase_add_test(live, test_live_body_too_large);
	tcase_add_test(live, test_live_wrong_content_type);
	tcase_add_test(live, test_socket_in_use_is_refused);
	tcase_set_timeout(live, 20);
	suite_add_tcase(s, live);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(api_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
