/* SPDX-License-Identifier: Apache-2.0 */
/* Agent protocol: framing, request validation, client handshakes. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "podvisor/agent.h"
#include "podvisor/util.h"

struct slow_writer {
	int fd;
	const uint8_t *buf;
	size_t len;
};

/* Writes one byte at a time so that the reader sees every short read. */
static void *slow_write(void *arg)
{
	struct slow_writer *w = arg;
	size_t i;

	for (i = 0; i < w->len; i++) {
		if (write(w->fd, w->buf + i, 1) != 1)
			break;
		usleep(200);
	}
	close(w->fd);
	return NULL;
}

static void raw_frame(int fd, uint32_t len, const char *payload, size_t n)
{
	uint8_t hdr[4] = {len >> 24, len >> 16, len >> 8, len};

	ck_assert_int_eq(write(fd, hdr, 4), 4);
	if (n)
		ck_assert_int_eq(write(fd, payload, n), (ssize_t)n);
}

static int read_after(const char *payload, uint32_t announced, bool close_w,
                      json_object **out)
{
	int sv[2], r;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	raw_frame(sv[1], announced, payload, payload ? strlen(payload) : 0);
	if (close_w)
		close(sv[1]);
	r = agent_frame_read(sv[0], out);
	close(sv[0]);
	if (!close_w)
		close(sv[1]);
	return r;
}

START_TEST(test_roundtrip)
{
	int sv[2];
	json_object *in = json_object_new_object(), *out;

	json_object_object_add(in, "op", json_object_new_string("ping"));
	json_object_object_add(in, "n", json_object_new_int(42));
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(agent_frame_write(sv[1], in), 0);
	ck_assert_int_eq(agent_frame_write(sv[1], in), 0);
	close(sv[1]);
	ck_assert_int_eq(agent_frame_read(sv[0], &out), 1);
	ck_assert_int_eq(json_object_get_int(json_object_object_get(out, "n")),
	                 42);
	json_object_put(out);
	ck_assert_int_eq(agent_frame_read(sv[0], &out), 1);
	json_object_put(out);
	/* A clean close between frames is end of stream, not an error. */
	ck_assert_int_eq(agent_frame_read(sv[0], &out), 0);
	ck_assert_ptr_null(out);
	close(sv[0]);
	json_object_put(in);
}
END_TEST

START_TEST(test_short_reads)
{
	const char *json = "{\"op\":\"state\",\"name\":\"web-1\"}";
	size_t n = strlen(json);
	uint8_t buf[64] = {0, 0, 0, (uint8_t)n};
	struct slow_writer w = {.buf = buf, .len = 4 + n};
	pthread_t t;
	json_object *out;
	int sv[2];

	memcpy(buf + 4, json, n);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	w.fd = sv[1];
	ck_assert_int_eq(pthread_create(&t, NULL, slow_write, &w), 0);
	ck_assert_int_eq(agent_frame_read(sv[0], &out), 1);
	ck_assert_str_eq(
	    json_object_get_string(json_object_object_get(out, "name")),
	    "web-1");
	json_object_put(out);
	pthread_join(t, NULL);
	close(sv[0]);
}
END_TEST

START_TEST(test_oversized_rejected)
{
	json_object *out = (json_object *)1;

	/* The reader must refuse before allocating or reading the body. */
	ck_assert_int_eq(read_after(NULL, AGENT_FRAME_MAX + 1, false, &out),
	                 -EMSGSIZE);
	ck_assert_ptr_null(out);
	ck_assert_int_eq(read_after(NULL, 0xffffffffu, false, &out), -EMSGSIZE);
	ck_assert_int_eq(read_after(NULL, 0, false, &out), -EMSGSIZE);
}
END_TEST

START_TEST(test_oversized_write)
{
	size_t n = AGENT_FRAME_MAX + 10;
	char *big = malloc(n + 1);
	json_object *o = json_object_new_object();
	int sv[2];

	memset(big, 'a', n);
	big[n] = '\0';
	json_object_object_add(o, "blob", json_object_new_string(big));
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(agent_frame_write(sv[1], o), -EMSGSIZE);
	close(sv[1]);
	/* Nothing was written: the reader sees a clean end of stream. */
	json_object *out;
	ck_assert_int_eq(agent_frame_read(sv[0], &out), 0);
	close(sv[0]);
	json_object_put(o);
	free(big);
}
END_TEST

START_TEST(test_bad_json)
{
	json_object *out;

	ck_assert_int_eq(read_after("{\"op\":", 6, true, &out), -EBADMSG);
	ck_assert_int_eq(read_after("[1,2,3]", 7, true, &out), -EBADMSG);
	ck_assert_int_eq(read_after("{}garbage", 9, true, &out), -EBADMSG);
	ck_assert_int_eq(read_after("nope", 4, true, &out), -EBADMSG);
	/* Announced 100 bytes, sent 2, then closed: torn frame. */
	ck_assert_int_eq(read_after("{}", 100, true, &out), -EPIPE);
	ck_assert_ptr_null(out);
}
END_TEST

/* Random headers and bodies (fixed seed): the reader answers with one of
 * its documented results and never crashes or over-reads. */
START_TEST(test_random_frames)
{
	static const char *const pieces[] = {
	    "{", "}", "\"op\"", ":",  ",",   "\"x\"", "1",
	    "[", "]", "\\",     "\"", "nul", " ",     "\xff"};
	unsigned int seed = 12345;
	int i, sv[2], r;

	for (i = 0; i < 3000; i++) {
		char body[64] = "";
		uint32_t len;
		json_object *out = NULL;
		int k, n = rand_r(&seed) % 8;

		for (k = 0; k < n; k++)
			strcat(body,
			       pieces[rand_r(&seed) % ARRAY_SIZE(pieces)]);
		len = (uint32_t)strlen(body);
		if (rand_r(&seed) % 4 == 0)
			len = (uint32_t)rand_r(&seed); /* lie about the size */
		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		raw_frame(sv[1], len, body, strlen(body));
		close(sv[1]);
		r = agent_frame_read(sv[0], &out);
		close(sv[0]);
		ck_assert_msg(r == 1 || r == -EBADMSG || r == -EMSGSIZE ||
		                  r == -EPIPE,
		              "frame '%s' (len %u) gave %d", body, len, r);
		ck_assert(r == 1 ? out != NULL : out == NULL);
		json_object_put(out);
	}
}
END_TEST

static int validate(const char *json, struct agent_error *err)
{
	json_object *o = json_tokener_parse(json);
	int r;

	ck_assert_ptr_nonnull(o);
	memset(err, 0, sizeof(*err));
	r = agent_request_validate(o, err);
	json_object_put(o);
	return r;
}

#define ASSERT_BAD(json, fld)                                                  \
	do {                                                                   \
		struct agent_error e_;                                         \
		ck_assert_int_eq(validate(json, &e_), -EINVAL);                \
		ck_assert_str_eq(e_.code, AGENT_ERR_INVALID);                  \
		ck_assert_str_eq(e_.field, fld);                               \
		ck_assert_int_gt((int)strlen(e_.message), 10);                 \
	} while (0)

START_TEST(test_validate)
{
	struct agent_error e;
	const char *good = "{\"op\":\"create\",\"name\":\"c1\","
	                   "\"rootfs\":\"/dev/vdb\",\"args\":[\"/bin/sh\"],"
	                   "\"env\":[\"A=1\"],\"cwd\":\"/\","
	                   "\"limits\":{\"memory_mib\":64,\"pids\":16}}";

	ck_assert_int_eq(validate(good, &e), 0);
	ck_assert_int_eq(validate("{\"op\":\"ping\"}", &e), 0);
	ck_assert_int_eq(validate("{\"op\":\"kill\",\"name\":\"a\","
	                          "\"signal\":9}",
	                          &e),
	                 0);
	ck_assert_int_eq(validate("{\"op\":\"create\",\"name\":\"c\","
	                          "\"rootfs\":\"serial:web\",\"args\":[\"x\"]}",
	                          &e),
	                 0);
	ASSERT_BAD("{\"op\":\"create\",\"name\":\"c\",\"rootfs\":\"serial:\","
	           "\"args\":[\"x\"]}",
	           "rootfs");
	ck_assert_int_eq(
	    validate("{\"op\":\"wait\",\"name\":\"c\",\"timeout_ms\":5}", &e),
	    0);
	ASSERT_BAD("{\"op\":\"wait\",\"name\":\"c\",\"timeout_ms\":-5}",
	           "timeout_ms");
	ASSERT_BAD("{\"op\":\"wait\"}", "name");
	ASSERT_BAD("{}", "op");
	ASSERT_BAD("{\"op\":7}", "op");
	ASSERT_BAD("{\"op\":\"reboot\"}", "op");
	ASSERT_BAD("{\"op\":\"state\"}", "name");
	ASSERT_BAD("{\"op\":\"state\",\"name\":\"../x\"}", "name");
	ASSERT_BAD("{\"op\":\"state\",\"name\":\"\"}", "name");
	ASSERT_BAD("{\"op\":\"create\",\"name\":\"c\",\"args\":[\"x\"]}",
	           "rootfs");
	ASSERT_BAD("{\"op\":\"create\",\"name\":\"c\",\"rootfs\":\"rel\","
	           "\"args\":[\"x\"]}",
	           "rootfs");
	ASSERT_BAD("{\"op\":\"create\",\"name\":\"c\",\"rootfs\":\"/r\","
	           "\"args\":[]}",
	           "args");
	ASSERT_BAD("{\"op\":\"create\",\"name\":\"c\",\"rootfs\":\"/r\","
	           "\"args\":[1]}",
	           "args");
	ASSERT_BAD("{\"op\":\"create\",\"name\":\"c\",\"rootfs\":\"/r\","
	           "\"args\":[\"x\"],\"env\":[\"NOEQUALS\"]}",
	           "env");
	ASSERT_BAD("{\"op\":\"create\",\"name\":\"c\",\"rootfs\":\"/r\","
	           "\"args\":[\"x\"],\"cwd\":\"tmp\"}",
	           "cwd");
	ASSERT_BAD("{\"op\":\"create\",\"name\":\"c\",\"rootfs\":\"/r\","
	           "\"args\":[\"x\"],\"limits\":{\"memory_mib\":-1}}",
	           "limits.memory_mib");
	ASSERT_BAD("{\"op\":\"create\",\"name\":\"c\",\"rootfs\":\"/r\","
	           "\"args\":[\"x\"],\"limits\":{\"pids\":\"many\"}}",
	           "limits.pids");
	ASSERT_BAD("{\"op\":\"kill\",\"name\":\"a\",\"signal\":99}", "signal");
	/* Typos are refused by name, never dropped. */
	ASSERT_BAD("{\"op\":\"create\",\"name\":\"c\",\"rootfs\":\"/r\","
	           "\"args\":[\"x\"],\"argv\":[\"y\"]}",
	           "argv");
	ASSERT_BAD("{\"op\":\"create\",\"name\":\"c\",\"rootfs\":\"/r\","
	           "\"args\":[\"x\"],\"limits\":{\"memory\":64}}",
	           "limits");
	ASSERT_BAD("{\"op\":\"ping\",\"name\":\"a\"}", "name");
	ASSERT_BAD("{\"op\":\"kill\",\"name\":\"a\",\"sig\":9}", "sig");
	ASSERT_BAD("{\"op\":\"exec\",\"name\":\"a\",\"args\":[\"ls\"],"
	           "\"timeout_ms\":0}",
	           "timeout_ms");
}
END_TEST

START_TEST(test_names)
{
	ck_assert(agent_name_valid("web-1.a_b"));
	ck_assert(!agent_name_valid("-x"));
	ck_assert(!agent_name_valid("a/b"));
	ck_assert(!agent_name_valid(".."));
	ck_assert(!agent_name_valid("012345678901234567890123456789012345678901"
	                            "2345678901234567890123"));
}
END_TEST

/* A fake VMM hybrid-vsock listener: answers CONNECT, then echoes one
 * request back inside {"ok":true,"echo":...}. */
struct fake_vmm {
	int lfd;
	bool refuse;
	char got[64];
};

static void *fake_vmm_run(void *arg)
{
	struct fake_vmm *f = arg;
	int fd = accept(f->lfd, NULL, NULL);
	size_t n = 0;
	json_object *req, *resp;

	while (n < sizeof(f->got) - 1 && read(fd, f->got + n, 1) == 1 &&
	       f->got[n] != '\n')
		n++;
	f->got[n] = '\0';
	if (f->refuse) {
		close(fd);
		return NULL;
	}
	/* The answer and the first frame may share a segment. */
	if (write(fd, "OK 1073741824\n", 14) == 14 &&
	    agent_frame_read(fd, &req) == 1) {
		resp = agent_reply_ok();
		json_object_object_add(resp, "echo", req);
		agent_frame_write(fd, resp);
		json_object_put(resp);
	}
	close(fd);
	return NULL;
}

static void fake_vmm_start(struct fake_vmm *f, char *path, pthread_t *t)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	snprintf(path, 100, "/tmp/pv-test-agent-%d.sock", getpid());
	unlink(path);
	strcpy(sa.sun_path, path);
	f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(f->lfd, 1), 0);
	ck_assert_int_eq(pthread_create(t, NULL, fake_vmm_run, f), 0);
}

START_TEST(test_client_hvsock)
{
	struct fake_vmm f = {0};
	struct agent_client *c;
	char path[100], addr[120];
	json_object *req = json_object_new_object(), *resp;
	pthread_t t;

	fake_vmm_start(&f, path, &t);
	snprintf(addr, sizeof(addr), "hvsock:%s", path);
	ck_assert_int_eq(agent_client_connect(addr, 2000, &c), 0);
	json_object_object_add(req, "op", json_object_new_string("ping"));
	ck_assert_int_eq(agent_client_call(c, req, &resp), 0);
	ck_assert_str_eq(f.got, "CONNECT 1024");
	ck_assert(json_object_get_boolean(json_object_object_get(resp, "ok")));
	json_object_put(resp);
	agent_client_close(c);
	pthread_join(t, NULL);
	close(f.lfd);
	unlink(path);
	json_object_put(req);
}
END_TEST

START_TEST(test_client_refused)
{
	struct fake_vmm f = {.refuse = true};
	struct agent_client *c = NULL;
	char path[100], addr[120];
	pthread_t t;

	fake_vmm_start(&f, path, &t);
	snprintf(addr, sizeof(addr), "hvsock:%s:2000", path);
	ck_assert_int_eq(agent_client_connect(addr, 2000, &c), -ECONNREFUSED);
	ck_assert_ptr_null(c);
	pthread_join(t, NULL);
	ck_assert_str_eq(f.got, "CONNECT 2000");
	close(f.lfd);
	unlink(path);
	ck_assert_int_eq(agent_client_connect("tcp:1.2.3.4", 100, &c), -EINVAL);
	ck_assert_int_eq(agent_client_connect("hvsock:", 100, &c), -EINVAL);
	ck_assert_int_eq(
	    agent_client_connect("unix:/nonexistent/x.sock", 100, &c), -ENOENT);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("agent_proto");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_short_reads);
	tcase_add_test(tc, test_oversized_rejected);
	tcase_add_test(tc, test_oversized_write);
	tcase_add_test(tc, test_bad_json);
	tcase_add_test(tc, test_random_frames);
	tcase_add_test(tc, test_validate);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_client_hvsock);
	tcase_add_test(tc, test_client_refused);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
