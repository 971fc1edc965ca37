// SPDX-License-Identifier: Apache-2.0
/*
 * Deferred replies of the API server (api/http.c): a handler that answers
 * later from a timer on the loop, a client that hangs up before that
 * answer, and a server freed while a reply is still deferred.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "live_server.h"
#include "podvisor/api.h"

static struct live_server ls;

/* Loop thread only, but read by the test once later_done is set. */
static struct api_request *later_req;
static volatile int later_done;
static volatile int later_gone;

static void on_later(evutil_socket_t fd, short what, void *arg)
{
	struct json_object *o = json_object_new_object();

	(void)fd;
	(void)what;
	(void)arg;
	later_gone = api_request_peer_gone(later_req);
	json_object_object_add(
	    o, "path", json_object_new_string(api_request_path(later_req)));
	json_object_object_add(
	    o, "param",
	    json_object_new_string(api_request_param(later_req, "n")));
	api_reply_json(later_req, 200, o);
	later_req = NULL;
	later_done = 1;
}

/* GET /v1/later/{n}: answers n ms later. */
static void h_later(struct api_request *req, void *ctx)
{
	struct timeval tv = {0, atoi(api_request_param(req, "n")) * 1000};

	(void)ctx;
	later_req = api_request_defer(req);
	event_base_once(ls.base, -1, EV_TIMEOUT, on_later, NULL, &tv);
}

static void h_now(struct api_request *req, void *ctx)
{
	(void)ctx;
	api_reply_json(req, 200, json_object_new_object());
}

static const struct api_route routes[] = {
    {"GET", "/v1/later/{n}", h_later, false},
    {"GET", "/v1/now", h_now, false},
};

static void setup(void)
{
	later_done = 0;
	later_gone = -1;
	live_server_start(&ls, "defer", routes, 2);
}

static void teardown(void)
{
	live_server_free(&ls);
}

static void wait_later(void)
{
	for (int i = 0; i < 400 && !later_done; i++)
		usleep(5000);
	ck_assert(later_done);
}

/* Sends a request on a raw connection and returns the fd. */
static int send_raw(const char *uri)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char req[128];
	int fd = socket(AF_UNIX, SOCK_STREAM, 0), n;

	strcpy(sa.sun_path, ls.sock_path);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n",
	             uri);
	ck_assert_int_eq(write(fd, req, (size_t)n), n);
	return fd;
}

START_TEST(test_deferred_reply_arrives)
{
	struct json_object *j = NULL, *v;
	int status = 0;

	ck_assert_int_eq(api_client_request(ls.sock_path, "GET", "/v1/later/50",
	                                    NULL, &status, &j),
	                 0);
	ck_assert_int_eq(status, 200);
	ck_assert(json_object_object_get_ex(j, "path", &v));
	ck_assert_str_eq(json_object_get_string(v), "/v1/later/50");
	ck_assert(json_object_object_get_ex(j, "param", &v));
	ck_assert_str_eq(json_object_get_string(v), "50");
	ck_assert_int_eq(later_gone, 0);
	json_object_put(j);
}
END_TEST

START_TEST(test_loop_serves_while_deferred)
{
	int fd = send_raw("/v1/later/300"), status = 0;
	char buf[256];
	ssize_t n;

	/* The deferred request does not hold up another client. */
	ck_assert_int_eq(api_client_request(ls.sock_path, "GET", "/v1/now",
	                                    NULL, &status, NULL),
	                 0);
	ck_assert_int_eq(status, 200);
	ck_assert(!later_done);
	n = read(fd, buf, sizeof(buf) - 1);
	ck_assert_int_gt(n, 12);
	buf[n] = '\0';
	ck_assert_ptr_nonnull(strstr(buf, "HTTP/1.1 200"));
	close(fd);
}
END_TEST

START_TEST(test_client_hangs_up)
{
	int fd = send_raw("/v1/later/200"), status = 0;

	usleep(50000);
	close(fd);
	wait_later();
	ck_assert_int_eq(later_gone, 1);
	ck_assert_int_eq(api_client_request(ls.sock_path, "GET", "/v1/now",
	                                    NULL, &status, NULL),
	                 0);
	ck_assert_int_eq(status, 200);
}
END_TEST

START_TEST(test_server_freed_while_deferred)
{
	int fd = send_raw("/v1/later/100000");

	for (int i = 0; i < 400 && !later_req; i++)
		usleep(5000);
	ck_assert_ptr_nonnull(later_req);
	live_server_stop_loop(&ls);
	api_server_free(ls.srv);
	ls.srv = NULL;
	/* Every deferred request counts as hung up; the reply frees it. */
	on_later(-1, 0, NULL);
	ck_assert_int_eq(later_gone, 1);
	close(fd);
}
END_TEST

static Suite *defer_suite(void)
{
	Suite *s = suite_create("api_defer");
	TCase *tc = tcase_create("defer");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_deferred_reply_arrives);
	tcase_add_test(tc, test_loop_serves_while_deferred);
	tcase_add_test(tc, test_client_hangs_up);
	tcase_add_test(tc, test_server_freed_while_deferred);
	tcase_set_timeout(tc, 20);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(defer_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
