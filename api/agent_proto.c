/* SPDX-License-Identifier: Apache-2.0 */
/* Agent protocol: length-prefixed JSON frames and request validation. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "podvisor/agent.h"
#include "podvisor/util.h"

int agent_frame_read(int fd, json_object **out)
{
	uint8_t hdr[4];
	size_t got = 0;
	uint32_t len;
	char *buf;
	json_tokener *tok;
	json_object *obj;
	int r;

	*out = NULL;
	/* The first read distinguishes a clean close from a torn header. */
	while (got < sizeof(hdr)) {
		ssize_t n = read(fd, hdr + got, sizeof(hdr) - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return got == 0 ? 0 : -EPIPE;
		got += (size_t)n;
	}
	len = ((uint32_t)hdr[0] << 24) | ((uint32_t)hdr[1] << 16) |
	      ((uint32_t)hdr[2] << 8) | hdr[3];
	if (len == 0 || len > AGENT_FRAME_MAX)
		return -EMSGSIZE;
	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	r = pv_read_full(fd, buf, len);
	if (r < 0) {
		free(buf);
		return r;
	}
	tok = json_tokener_new();
	if (!tok) {
		free(buf);
		return -ENOMEM;
	}
	obj = json_tokener_parse_ex(tok, buf, (int)len);
	/* Trailing bytes after the object, or an incomplete one, are bad. */
	if (!obj || json_tokener_get_error(tok) != json_tokener_success ||
	    tok->char_offset != (int)len ||
	    !json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		obj = NULL;
	}
	json_tokener_free(tok);
	free(buf);
	if (!obj)
		return -EBADMSG;
	*out = obj;
	return 1;
}

int agent_frame_write(int fd, json_object *obj)
{
	size_t len;
	const char *s;
	uint8_t hdr[4];
	int r;

	s = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN,
	                                      &len);
	if (!s)
		return -ENOMEM;
	if (len == 0 || len > AGENT_FRAME_MAX)
		return -EMSGSIZE;
	hdr[0] = (uint8_t)(len >> 24);
	hdr[1] = (uint8_t)(len >> 16);
	hdr[2] = (uint8_t)(len >> 8);
	hdr[3] = (uint8_t)len;
	r = pv_write_full(fd, hdr, sizeof(hdr));
	if (r < 0)
		return r;
	return pv_write_full(fd, s, len);
}

int agent_err_set(struct agent_error *err, const char *code, const char *field,
                  const char *fmt, ...)
{
	va_list ap;

	err->code = code;
	snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

json_object *agent_reply_ok(void)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "ok", json_object_new_boolean(1));
	return o;
}

json_object *agent_reply_error(const struct agent_error *err)
{
	json_object *o = json_object_new_object();
	json_object *e = json_object_new_object();

	json_object_object_add(
	    e, "code",
	    json_object_new_string(err->code ? err->code : AGENT_ERR_INTERNAL));
	json_object_object_add(e, "message",
	                       json_object_new_string(err->message));
	json_object_object_add(e, "field", json_object_new_string(err->field));
	json_object_object_add(o, "ok", json_object_new_boolean(0));
	json_object_object_add(o, "error", e);
	return o;
}

bool agent_name_valid(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > AGENT_NAME_MAX)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		             (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-')))
			return false;
	}
	return true;
}

/* A non-empty array of strings, each shorter than 4 KiB. */
static int check_str_array(json_object *req, const char *key, bool required,
                           bool nonempty, struct agent_error *err)
{
	json_object *a, *v;
	size_t i, n;

	if (!json_object_object_get_ex(req, key, &a))
		return required ? agent_err_set(err, AGENT_ERR_INVALID, key,
		                                "%s is required: give an "
		                                "array of strings",
		                                key)
		                : 0;
	if (!json_object_is_type(a, json_type_array))
		return agent_err_set(err, AGENT_ERR_INVALID, key,
		                     "%s must be an array of strings", key);
	n = json_object_array_length(a);
	if (nonempty && n == 0)
		return agent_err_set(err, AGENT_ERR_INVALID, key,
		                     "%s must not be empty: give the program "
		                     "to run first",
		                     key);
	if (n > 1024)
		return agent_err_set(err, AGENT_ERR_INVALID, key,
		                     "%s has %zu entries, at most 1024", key,
		                     n);
	for (i = 0; i < n; i++) {
		v = json_object_array_get_idx(a, i);
		if (!json_object_is_type(v, json_type_string) ||
		    json_object_get_string_len(v) >= 4096)
			return agent_err_set(err, AGENT_ERR_INVALID, key,
			                     "%s[%zu] must be a string "
			                     "shorter than 4096 bytes",
			                     key, i);
	}
	return 0;
}

static int check_string(json_object *req, const char *key, bool required,
                        size_t max, struct agent_error *err)
{
	json_object *v;

	if (!json_object_object_get_ex(req, key, &v))
		return required ? agent_err_set(err, AGENT_ERR_INVALID, key,
		                                "%s is required", key)
		                : 0;
	if (!json_object_is_type(v, json_type_string))
		return agent_err_set(err, AGENT_ERR_INVALID, key,
		                     "%s must be a string", key);
	if ((size_t)json_object_get_string_len(v) > max)
		return agent_err_set(err, AGENT_ERR_INVALID, key,
		                     "%s is longer than %zu bytes", key, max);
	return 0;
}

/* An optional integer in [lo, hi]; field is the name shown in errors. */
static int check_int(json_object *obj, const char *key, const char *field,
                     int64_t lo, int64_t hi, struct agent_error *err)
{
	json_object *v;
	int64_t x;

	if (!json_object_object_get_ex(obj, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return agent_err_set(err, AGENT_ERR_INVALID, field,
		                     "%s must be an integer", field);
	x = json_object_get_int64(v);
	if (x < lo || x > hi)
		return agent_err_set(err, AGENT_ERR_INVALID, field,
		                     "%s is %lld, must be between %lld and "
		                     "%lld",
		                     field, (long long)x, (long long)lo,
		                     (long long)hi);
	return 0;
}

static int check_name(json_object *req, struct agent_error *err)
{
	json_object *v;
	int r = check_string(req, "name", true, 4096, err);

	if (r < 0)
		return r;
	json_object_object_get_ex(req, "name", &v);
	if (!agent_name_valid(json_object_get_string(v)))
		return agent_err_set(err, AGENT_ERR_INVALID, "name",
		                     "name must be 1-63 characters of "
		                     "letters, digits, '_', '.', '-', "
		                     "starting with a letter or digit");
	return 0;
}

static int check_env_cwd(json_object *req, struct agent_error *err)
{
	json_object *a, *v;
	size_t i;
	int r;

	r = check_str_array(req, "env", false, false, err);
	if (r < 0)
		return r;
	if (json_object_object_get_ex(req, "env", &a))
		for (i = 0; i < json_object_array_length(a); i++) {
			v = json_object_array_get_idx(a, i);
			if (!strchr(json_object_get_string(v), '=') ||
			    json_object_get_string(v)[0] == '=')
				return agent_err_set(
				    err, AGENT_ERR_INVALID, "env",
				    "env[%zu] must look like KEY=VALUE", i);
		}
	r = check_string(req, "cwd", false, 4095, err);
	if (r < 0)
		return r;
	if (json_object_object_get_ex(req, "cwd", &v) &&
	    json_object_get_string(v)[0] != '/')
		return agent_err_set(err, AGENT_ERR_INVALID, "cwd",
		                     "cwd must be an absolute path inside "
		                     "the container");
	return 0;
}

static int check_create(json_object *req, struct agent_error *err)
{
	json_object *lim;
	const char *rootfs;
	int r;

	if ((r = check_string(req, "rootfs", true, 4095, err)) < 0 ||
	    (r = check_str_array(req, "args", true, true, err)) < 0 ||
	    (r = check_env_cwd(req, err)) < 0)
		return r;
	rootfs = json_object_get_string(json_object_object_get(req, "rootfs"));
	if (!strncmp(rootfs, "serial:", 7)) {
		if (strlen(rootfs + 7) == 0 || strlen(rootfs + 7) > 20)
			return agent_err_set(err, AGENT_ERR_INVALID, "rootfs",
			                     "rootfs serial:<s> needs a disk "
			                     "serial of 1 to 20 bytes");
	} else if (rootfs[0] != '/') {
		return agent_err_set(err, AGENT_ERR_INVALID, "rootfs",
		                     "rootfs must be an absolute path to a "
		                     "block device, image file or directory, "
		                     "or serial:<disk serial>");
	}
	if (!json_object_object_get_ex(req, "limits", &lim))
		return 0;
	if (!json_object_is_type(lim, json_type_object))
		return agent_err_set(err, AGENT_ERR_INVALID, "limits",
		                     "limits must be an object with "
		                     "memory_mib and/or pids");
	r = check_int(lim, "memory_mib", "limits.memory_mib", 4, 1 << 24, err);
	if (r < 0)
		return r;
	return check_int(lim, "pids", "limits.pids", 1, 1 << 22, err);
}

/* The fields each op takes besides "op", space-separated. */
static const struct {
	const char *op, *keys;
} op_keys[] = {
    {"ping", ""},
    {"list", ""},
    {"create", "name rootfs args env cwd limits"},
    {"start", "name"},
    {"state", "name"},
    {"wait", "name timeout_ms"},
    {"logs", "name"},
    {"kill", "name signal"},
    {"exec", "name args env cwd timeout_ms"},
    {"delete", "name"},
};

static bool word_in(const char *list, const char *w)
{
	size_t n = strlen(w);

	for (const char *p = list; (p = strstr(p, w)); p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || !p[n]))
			return true;
	return false;
}

/* A field the op does not take is refused by name, with those it takes
 * (a typo must not be dropped silently). Unknown ops pass: the caller
 * names them. */
static int check_keys(json_object *req, const char *op, struct agent_error *err)
{
	const char *keys = NULL;
	json_object *lim;

	for (size_t i = 0; i < ARRAY_SIZE(op_keys); i++)
		if (!strcmp(op, op_keys[i].op))
			keys = op_keys[i].keys;
	if (!keys)
		return 0;
	json_object_object_foreach(req, k, v)
	{
		(void)v;
		if (strcmp(k, "op") && !word_in(keys, k))
			return agent_err_set(
			    err, AGENT_ERR_INVALID, k,
			    "unknown field '%.64s' for %s; it takes %s", k, op,
			    keys[0] ? keys : "no other field");
	}
	if (!json_object_object_get_ex(req, "limits", &lim) ||
	    !json_object_is_type(lim, json_type_object))
		return 0;
	json_object_object_foreach(lim, lk, lv)
	{
		(void)lv;
		if (strcmp(lk, "memory_mib") && strcmp(lk, "pids"))
			return agent_err_set(err, AGENT_ERR_INVALID, "limits",
			                     "unknown field 'limits.%.64s'; "
			                     "limits take memory_mib and pids",
			                     lk);
	}
	return 0;
}

int agent_request_validate(json_object *req, struct agent_error *err)
{
	static const char *const named[] = {"start", "state", "logs", "delete"};
	json_object *v;
	const char *op;
	size_t i;
	int r;

	if (!json_object_is_type(req, json_type_object))
		return agent_err_set(err, AGENT_ERR_INVALID, "",
		                     "request must be a JSON object");
	if ((r = check_string(req, "op", true, 32, err)) < 0)
		return r;
	json_object_object_get_ex(req, "op", &v);
	op = json_object_get_string(v);
	if ((r = check_keys(req, op, err)) < 0)
		return r;
	if (!strcmp(op, "ping") || !strcmp(op, "list"))
		return 0;
	for (i = 0; i < ARRAY_SIZE(named); i++)
		if (!strcmp(op, named[i]))
			return check_name(req, err);
	if (!strcmp(op, "create")) {
		r = check_name(req, err);
		return r < 0 ? r : check_create(req, err);
	}
	if (!strcmp(op, "kill")) {
		r = check_name(req, err);
		return r < 0 ? r
		             : check_int(req, "signal", "signal", 1, 64, err);
	}
	if (!strcmp(op, "wait")) {
		r = check_name(req, err);
		return r < 0 ? r
		             : check_int(req, "timeout_ms", "timeout_ms", 1,
		                         AGENT_WAIT_TIMEOUT_MAX_MS, err);
	}
	if (!strcmp(op, "exec")) {
		if ((r = check_name(req, err)) < 0 ||
		    (r = check_str_array(req, "args", true, true, err)) < 0 ||
		    (r = check_env_cwd(req, err)) < 0)
			return r;
		return check_int(req, "timeout_ms", "timeout_ms", 1,
		                 AGENT_EXEC_TIMEOUT_MAX_MS, err);
	}
	return agent_err_set(err, AGENT_ERR_INVALID, "op",
	                     "unknown op '%.32s': use ping, list, create, "
	                     "start, state, wait, logs, kill, exec or delete",
	                     op);
}
