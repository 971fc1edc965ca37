/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The control socket on the main lcore: a poll() loop over the listening
 * socket and a few clients, one JSON request per line, one JSON answer per
 * line. The loop also keeps the coarse clock and ages the MAC table, so
 * the workers never need a timer.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "podvisor/log.h"
#include "podvisor/util.h"
#include "sw.h"

#define MAX_CLIENTS 16
#define LINE_MAX_B  (256 * 1024)

struct client {
	int fd;
	size_t len;
	char *buf;
};

static const char *req_name(json_object *req)
{
	json_object *v;

	if (json_object_object_get_ex(req, "name", &v) &&
	    json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return NULL;
}

static int op_segment_add(json_object *req, json_object *resp,
                          struct sw_error *err)
{
	json_object *v;
	enum sw_action dflt = SW_ALLOW;
	const char *name = req_name(req);

	if (json_object_object_get_ex(req, "default", &v)) {
		const char *s = json_object_get_string(v);

		if (!json_object_is_type(v, json_type_string) ||
		    (strcmp(s, "allow") && strcmp(s, "deny")))
			return sw_error_set(err, EINVAL, "default",
			                    "default must be \"allow\" or "
			                    "\"deny\"");
		dflt = strcmp(s, "deny") ? SW_ALLOW : SW_DENY;
	}
	return sw_segment_add(name ? name : "", dflt, err);
}

static int op_segment_del(json_object *req, json_object *resp,
                          struct sw_error *err)
{
	const char *name = req_name(req);

	if (!name)
		return sw_error_set(err, EINVAL, "name", "name is required");
	return sw_segment_del(name, err);
}

static int op_port_add(json_object *req, json_object *resp,
                       struct sw_error *err)
{
	return sw_port_add(req, err);
}

static int op_port_del(json_object *req, json_object *resp,
                       struct sw_error *err)
{
	return sw_port_del(req_name(req), err);
}

static int op_port_rules(json_object *req, json_object *resp,
                         struct sw_error *err)
{
	return sw_port_set_rules(req, err);
}

static int op_port_list(json_object *req, json_object *resp,
                        struct sw_error *err)
{
	json_object_object_add(resp, "ports", sw_ports_to_json());
	return 0;
}

static int op_segment_list(json_object *req, json_object *resp,
                           struct sw_error *err)
{
	json_object_object_add(resp, "segments", sw_segments_to_json());
	return 0;
}

static int op_mac_table(json_object *req, json_object *resp,
                        struct sw_error *err)
{
	json_object_object_add(resp, "entries", sw_fdb_to_json());
	return 0;
}

static const struct {
	const char *op;
	int (*fn)(json_object *req, json_object *resp, struct sw_error *err);
} ops[] = {
    {"segment_add", op_segment_add},   {"segment_del", op_segment_del},
    {"segment_list", op_segment_list}, {"port_add", op_port_add},
    {"port_del", op_port_del},         {"port_rules", op_port_rules},
    {"port_list", op_port_list},       {"mac_table", op_mac_table},
};

static json_object *error_json(const struct sw_error *err)
{
	json_object *resp = json_object_new_object();
	json_object *e = json_object_new_object();

	json_object_object_add(e, "code", json_object_new_string(err->code));
	json_object_object_add(e, "message",
	                       json_object_new_string(err->message));
	json_object_object_add(e, "field", json_object_new_string(err->field));
	json_object_object_add(resp, "ok", json_object_new_boolean(false));
	json_object_object_add(resp, "error", e);
	return resp;
}

json_object *sw_control_handle(json_object *req)
{
	struct sw_error err = {0};
	json_object *resp, *v;
	const char *op;
	int r;

	if (!json_object_is_type(req, json_type_object) ||
	    !json_object_object_get_ex(req, "op", &v) ||
	    !json_object_is_type(v, json_type_string)) {
		sw_error_set(&err, EINVAL, "op",
		             "each request is an object with an \"op\"");
		return error_json(&err);
	}
	op = json_object_get_string(v);
	for (size_t i = 0; i < ARRAY_SIZE(ops); i++) {
		if (strcmp(op, ops[i].op))
			continue;
		resp = json_object_new_object();
		r = ops[i].fn(req, resp, &err);
		if (r) {
			json_object_put(resp);
			log_warn("control: %s refused: %s", op, err.message);
			return error_json(&err);
		}
		json_object_object_add(resp, "ok",
		                       json_object_new_boolean(true));
		return resp;
	}
	sw_error_set(&err, EINVAL, "op",
	             "unknown op \"%s\" (known: segment_add, segment_del, "
	             "segment_list, port_add, port_del, port_rules, port_list, "
	             "mac_table)",
	             op);
	return error_json(&err);
}

static void client_line(struct client *c, const char *line)
{
	enum json_tokener_error jerr;
	json_object *req, *resp;
	struct sw_error err = {0};
	const char *out;

	req = json_tokener_parse_verbose(line, &jerr);
	if (!req) {
		sw_error_set(&err, EINVAL, "", "request is not JSON: %s",
		             json_tokener_error_desc(jerr));
		resp = error_json(&err);
	} else {
		resp = sw_control_handle(req);
		json_object_put(req);
	}
	out = json_object_to_json_string_ext(resp, JSON_C_TO_STRING_PLAIN);
	/* A client that stops reading only hurts itself. */
	if (pv_write_full(c->fd, out, strlen(out)) == 0)
		pv_write_full(c->fd, "\n", 1);
	json_object_put(resp);
}

/* Returns false when the client is gone. */
static bool client_read(struct client *c)
{
	char *nl;
	ssize_t n;

	if (!c->buf)
		c->buf = malloc(LINE_MAX_B);
	if (!c->buf)
		return false;
	n = read(c->fd, c->buf + c->len, LINE_MAX_B - 1 - c->len);
	if (n <= 0)
		return n < 0 && errno == EINTR;
	c->len += (size_t)n;
	c->buf[c->len] = '\0';
	while ((nl = memchr(c->buf, '\n', c->len))) {
		*nl = '\0';
		if (nl > c->buf)
			client_line(c, c->buf);
		c->len -= (size_t)(nl + 1 - c->buf);
		memmove(c->buf, nl + 1, c->len);
		c->buf[c->len] = '\0';
	}
	if (c->len == LINE_MAX_B - 1) {
		log_warn("control: request over %d bytes; closing", LINE_MAX_B);
		return false;
	}
	return true;
}

static int control_listen(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return log_err_errno(ENAMETOOLONG, "control socket %s", path);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return log_err_errno(errno, "socket");
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || chmod(path, 0660) ||
	    listen(fd, 8)) {
		int e = errno;

		close(fd);
		return log_err_errno(e, "cannot listen on control socket %s",
		                     path);
	}
	return fd;
}

static void tick(void)
{
	static uint32_t last_age;
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	__atomic_store_n(&sw.now_s, (uint32_t)ts.tv_sec, __ATOMIC_RELAXED);
	if (sw.now_s != last_age) {
		last_age = sw.now_s;
		sw_fdb_expire(-1, -1);
	}
}

static void client_close(struct client *c)
{
	close(c->fd);
	free(c->buf);
	*c = (struct client){.fd = -1};
}

int sw_control_run(const char *path)
{
	struct client cl[MAX_CLIENTS];
	struct pollfd pfd[MAX_CLIENTS + 1];
	int lfd = control_listen(path);

	if (lfd < 0)
		return lfd;
	for (int i = 0; i < MAX_CLIENTS; i++)
		cl[i] = (struct client){.fd = -1};
	log_info("control socket %s ready", path);
	while (!sw.stop) {
		pfd[0] = (struct pollfd){.fd = lfd, .events = POLLIN};
		for (int i = 0; i < MAX_CLIENTS; i++)
			pfd[i + 1] =
			    (struct pollfd){.fd = cl[i].fd, .events = POLLIN};
		tick();
		if (poll(pfd, MAX_CLIENTS + 1, 200) <= 0)
			continue;
		for (int i = 0; i < MAX_CLIENTS; i++)
			if (pfd[i + 1].revents && !client_read(&cl[i]))
				client_close(&cl[i]);
		if (!(pfd[0].revents & POLLIN))
			continue;
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		/* A client that stops reading must not stall the main
		 * lcore: its answers are dropped after a second. */
		struct timeval tv = {.tv_sec = 1};

		if (fd >= 0)
			setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv,
			           sizeof(tv));

		for (int i = 0; fd >= 0 && i < MAX_CLIENTS; i++) {
			if (cl[i].fd < 0) {
				cl[i].fd = fd;
				fd = -1;
			}
		}
		if (fd >= 0) {
			log_warn("control: more than %d clients; refusing one",
			         MAX_CLIENTS);
			close(fd);
		}
	}
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (cl[i].fd >= 0)
			client_close(&cl[i]);
	close(lfd);
	unlink(path);
	return 0;
}
