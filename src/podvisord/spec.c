// SPDX-License-Identifier: Apache-2.0
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "containers.h"
#include "podvisor/numa.h"
#include "podvisor/switch.h"
#include "podvisor/util.h"
#include "spec.h"

static int fail(struct pod_spec_error *e, const char *field, const char *fmt,
                ...) __attribute__((format(printf, 3, 4)));

static int fail(struct pod_spec_error *e, const char *field, const char *fmt,
                ...)
{
	va_list ap;

	snprintf(e->field, sizeof(e->field), "%s", field);
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

bool pod_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > POD_NAME_MAX || !isalnum((unsigned char)s[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
			return false;
	return true;
}

static const char *type_word(json_object *v)
{
	return v ? json_type_to_name(json_object_get_type(v)) : "null";
}

/* Integer field in [lo, hi]; *out untouched when absent. */
static int get_uint(json_object *obj, const char *key, const char *field,
                    uint64_t lo, uint64_t hi, uint64_t *out,
                    struct pod_spec_error *e)
{
	json_object *v;
	int64_t x;

	if (!json_object_object_get_ex(obj, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int))
		return fail(e, field,
		            "%s must be an integer from %llu to %llu (got %s)",
		            field, (unsigned long long)lo,
		            (unsigned long long)hi, type_word(v));
	errno = 0;
	x = json_object_get_int64(v);
	if (x < 0 || (uint64_t)x < lo || (uint64_t)x > hi || errno)
		return fail(e, field,
		            "%s must be an integer from %llu to %llu (got %s)",
		            field, (unsigned long long)lo,
		            (unsigned long long)hi,
		            json_object_to_json_string(v));
	*out = (uint64_t)x;
	return 0;
}

/* String field of 1..max bytes without control characters. */
static int get_str(json_object *obj, const char *key, const char *field,
                   size_t max, char **out, struct pod_spec_error *e)
{
	json_object *v;
	const char *s;

	if (!json_object_object_get_ex(obj, key, &v) ||
	    json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return fail(e, field, "%s must be a string (got %s)", field,
		            type_word(v));
	s = json_object_get_string(v);
	if (strlen(s) == 0 || strlen(s) > max)
		return fail(e, field, "%s must be 1 to %zu bytes long", field,
		            max);
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20)
			return fail(e, field,
			            "%s contains a control character; remove "
			            "it",
			            field);
	free(*out);
	*out = strdup(s);
	return *out ? 0 : -ENOMEM;
}

static int get_bool(json_object *obj, const char *key, const char *field,
                    bool *out, struct pod_spec_error *e)
{
	json_object *v;

	if (!json_object_object_get_ex(obj, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_boolean))
		return fail(e, field, "%s must be true or false (got %s)",
		            field, type_word(v));
	*out = json_object_get_boolean(v);
	return 0;
}

/* What an operator may write for a top-level field, by habit. */
static const char *renamed(const char *key)
{
	static const char *const names[][2] = {
	    {"memory", "memory_mib"}, {"mem", "memory_mib"},
	    {"cpus", "vcpus"},        {"disk", "disks"},
	    {"net", "nets"},          {"label", "labels"},
	};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcmp(key, names[i][0]))
			return names[i][1];
	return NULL;
}

/* Rejects keys outside known[]; names the first unknown one and the field
 * it was probably meant to be. */
static int check_keys(json_object *obj, const char *prefix,
                      const char *const *known, struct pod_spec_error *e)
{
	json_object_object_foreach(obj, key, val)
	{
		bool ok = false;
		const char *best;
		char field[64];

		(void)val;
		for (const char *const *k = known; *k; k++)
			ok = ok || strcmp(*k, key) == 0;
		if (ok)
			continue;
		best = pv_closest_word(key, known, 2);
		snprintf(field, sizeof(field), "%s%s", prefix, key);
		if (!*prefix && !best)
			best = renamed(key);
		if (best)
			return fail(e, field,
			            "unknown field '%s'; did you mean '%s%s'?",
			            field, prefix, best);
		return fail(
		    e, field,
		    "unknown field '%s'; remove it (see the spec fields "
		    "in the API documentation)",
		    field);
	}
	return 0;
}

static int check_file(const char *path, const char *field, bool check,
                      struct pod_spec_error *e)
{
	struct stat st;

	if (path[0] != '/')
		return fail(e, field, "%s must be an absolute path (got '%s')",
		            field, path);
	if (!check)
		return 0;
	if (stat(path, &st) < 0)
		return fail(e, field, "%s '%s': %s; give an existing file",
		            field, path, strerror(errno));
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return fail(e, field, "%s '%s' is not a regular file", field,
		            path);
	if (access(path, R_OK) < 0)
		return fail(e, field, "%s '%s' is not readable: %s", field,
		            path, strerror(errno));
	return 0;
}

static int parse_disk(json_object *v, unsigned int i, bool check,
                      struct pod_disk *d, struct pod_spec_error *e)
{
	static const char *const known[] = {"path", "readonly", "serial", NULL};
	char prefix[24], field[64];
	int r;

	snprintf(prefix, sizeof(prefix), "disks[%u].", i);
	if (!json_object_is_type(v, json_type_object))
		return fail(e, "disks",
		            "disks[%u] must be an object like "
		            "{\"path\": \"/images/a.img\"}",
		            i);
	r = check_keys(v, prefix, known, e);
	snprintf(field, sizeof(field), "%spath", prefix);
	if (r == 0)
		r = get_str(v, "path", field, 4095, &d->path, e);
	if (r == 0 && !d->path)
		return fail(e, field, "%s is required: the image file", field);
	if (r == 0)
		r = check_file(d->path, field, check, e);
	snprintf(field, sizeof(field), "%sreadonly", prefix);
	if (r == 0)
		r = get_bool(v, "readonly", field, &d->readonly, e);
	snprintf(field, sizeof(field), "%sserial", prefix);
	if (r == 0)
		r = get_str(v, "serial", field, 20, &d->serial, e);
	return r;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char tail;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3],
	           &b[4], &b[5], &tail) != 6 ||
	    strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	/* Multicast addresses cannot be a NIC's own address. */
	return (mac[0] & 1) ? -EINVAL : 0;
}

/* "segment" and "allow": the port podvisord adds to podvisor-switch. */
static int parse_net_switch(json_object *v, const char *prefix,
                            struct pod_net *n, struct pod_spec_error *e)
{
	struct sw_policy *pol = NULL;
	struct sw_error serr = {0};
	char field[64];
	json_object *allow;
	int r;

	snprintf(field, sizeof(field), "%ssegment", prefix);
	r = get_str(v, "segment", field, SW_NAME_MAX - 1, &n->segment, e);
	if (r < 0)
		return r;
	if (n->segment && !pod_name_valid(n->segment))
		return fail(e, field,
		            "%s '%s' must hold only letters, digits, "
		            "'_', '.' and '-'",
		            field, n->segment);
	if (n->segment && n->tap)
		return fail(e, field,
		            "%s needs a vhost-user NIC; remove "
		            "%stap",
		            field, prefix);
	snprintf(field, sizeof(field), "%sallow", prefix);
	if (!json_object_object_get_ex(v, "allow", &allow) ||
	    json_object_is_type(allow, json_type_null))
		return 0;
	if (!n->segment)
		return fail(e, field,
		            "%s applies to a switch port: give "
		            "%ssegment too",
		            field, prefix);
	if (!json_object_is_type(allow, json_type_array))
		return fail(e, field, "%s must be an array of rules", field);
	if (sw_policy_from_json(allow, &pol, &serr) < 0) {
		/* The switch names "rules[N].x"; ours is "nets[i].allow[N].x".
		 */
		const char *sub =
		    strncmp(serr.field, "rules", 5) == 0 ? serr.field + 5 : "";
		char f[64 + 24];

		snprintf(f, sizeof(f), "%.23sallow%.40s", prefix, sub);
		return fail(e, f, "%s: %s", f, serr.message);
	}
	free(pol);
	n->allow = json_object_get(allow);
	return 0;
}

static int parse_net(json_object *v, unsigned int i, struct pod_net *n,
                     struct pod_spec_error *e)
{
	static const char *const known[] = {
	    "tap", "vhost_user_socket", "mac", "mtu", "segment", "allow", NULL};
	char prefix[24], field[64];
	char *mac = NULL;
	uint64_t mtu = 1500;
	int r;

	snprintf(prefix, sizeof(prefix), "nets[%u].", i);
	if (!json_object_is_type(v, json_type_object))
		return fail(e, "nets",
		            "nets[%u] must be an object like "
		            "{\"mac\": \"02:00:00:00:00:01\"}",
		            i);
	r = check_keys(v, prefix, known, e);
	snprintf(field, sizeof(field), "%stap", prefix);
	if (r == 0)
		r = get_str(v, "tap", field, 15, &n->tap, e);
	snprintf(field, sizeof(field), "%svhost_user_socket", prefix);
	if (r == 0)
		r = get_str(v, "vhost_user_socket", field, 107,
		            &n->vhost_user_socket, e);
	if (r == 0 && n->tap && n->vhost_user_socket)
		return fail(e, field,
		            "give either %stap or %svhost_user_socket, "
		            "not both",
		            prefix, prefix);
	if (r == 0 && n->vhost_user_socket && n->vhost_user_socket[0] != '/')
		return fail(e, field, "%s must be an absolute path", field);
	snprintf(field, sizeof(field), "%smac", prefix);
	if (r == 0)
		r = get_str(v, "mac", field, 17, &mac, e);
	if (r == 0 && mac) {
		if (parse_mac(mac, n->mac) < 0)
			r = fail(e, field,
			         "%s must be a unicast MAC like "
			         "02:00:00:00:00:01 (got '%s')",
			         field, mac);
		n->has_mac = true;
	}
	free(mac);
	snprintf(field, sizeof(field), "%smtu", prefix);
	if (r == 0)
		r = get_uint(v, "mtu", field, 68, 65535, &mtu, e);
	n->mtu = (unsigned int)mtu;
	if (r == 0)
		r = parse_net_switch(v, prefix, n, e);
	return r;
}

static int parse_array(json_object *in, const char *key, unsigned int max,
                       json_object **arr, struct pod_spec_error *e)
{
	json_object *v;

	*arr = NULL;
	if (!json_object_object_get_ex(in, key, &v) ||
	    json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_array))
		return fail(e, key, "%s must be an array (got %s)", key,
		            type_word(v));
	if (json_object_array_length(v) > max)
		return fail(e, key,
		            "%s has %zu entries; at most %u are "
		            "supported",
		            key, json_object_array_length(v), max);
	*arr = v;
	return 0;
}

static int parse_devices(json_object *in, struct pod_spec *s, bool check,
                         struct pod_spec_error *e)
{
	json_object *arr;
	int r = parse_array(in, "disks", VM_MAX_DISKS, &arr, e);

	for (size_t i = 0; r == 0 && arr && i < json_object_array_length(arr);
	     i++) {
		s->nr_disks++;
		r = parse_disk(json_object_array_get_idx(arr, i), (unsigned)i,
		               check, &s->disks[i], e);
	}
	if (r == 0)
		r = parse_array(in, "nets", VM_MAX_NETS, &arr, e);
	for (size_t i = 0; r == 0 && arr && i < json_object_array_length(arr);
	     i++) {
		s->nr_nets++;
		r = parse_net(json_object_array_get_idx(arr, i), (unsigned)i,
		              &s->nets[i], e);
	}
	return r;
}

static int parse_vsock(json_object *in, struct pod_spec *s,
                       struct pod_spec_error *e)
{
	static const char *const known[] = {"guest_cid", NULL};
	json_object *v;
	int r;

	s->guest_cid = 3;
	if (!json_object_object_get_ex(in, "vsock", &v) ||
	    json_object_is_type(v, json_type_null))
		return 0;
	if (json_object_is_type(v, json_type_boolean)) {
		s->vsock = json_object_get_boolean(v);
		return 0;
	}
	if (!json_object_is_type(v, json_type_object))
		return fail(e, "vsock",
		            "vsock must be true, false or "
		            "{\"guest_cid\": N} (got %s)",
		            type_word(v));
	s->vsock = true;
	r = check_keys(v, "vsock.", known, e);
	if (r == 0)
		r = get_uint(v, "guest_cid", "vsock.guest_cid", 3,
		             0xfffffffeULL, &s->guest_cid, e);
	return r;
}

static int parse_labels(json_object *in, struct pod_spec *s,
                        struct pod_spec_error *e)
{
	json_object *v;
	int n = 0;

	s->labels = json_object_new_object();
	if (!json_object_object_get_ex(in, "labels", &v) ||
	    json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_object))
		return fail(e, "labels",
		            "labels must be an object of strings "
		            "like {\"app\": \"fw\"} (got %s)",
		            type_word(v));
	json_object_object_foreach(v, key, val)
	{
		char field[96];

		snprintf(field, sizeof(field), "labels.%.60s", key);
		if (++n > POD_LABELS_MAX)
			return fail(e, "labels", "at most %d labels",
			            POD_LABELS_MAX);
		if (strlen(key) == 0 || strlen(key) > 63)
			return fail(e, field, "%s: keys must be 1 to 63 bytes",
			            field);
		if (!json_object_is_type(val, json_type_string) ||
		    json_object_get_string_len(val) > 255)
			return fail(e, field,
			            "%s must be a string of at most 255 bytes",
			            field);
		if (!strcmp(key, POD_LABEL_AGENT) &&
		    strncmp(json_object_get_string(val), "unix:/", 6) &&
		    strncmp(json_object_get_string(val), "hvsock:/", 8))
			return fail(e, field,
			            "%s names the agent's address: "
			            "unix:/path/to/agent.sock (or "
			            "hvsock:/path:port), not '%.64s'",
			            field, json_object_get_string(val));
		json_object_object_add(
		    s->labels, key,
		    json_object_new_string(json_object_get_string(val)));
	}
	return 0;
}

/* The placement object is numa/'s to define: it validates it here so a
 * bad one is refused at POST time, and places the VM at boot. */
static int parse_placement(json_object *in, struct pod_spec *s,
                           struct pod_spec_error *e)
{
	struct numa_place_err nerr = {0};
	struct numa_spec ns;
	json_object *v;

	if (!json_object_object_get_ex(in, "placement", &v) ||
	    json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_object))
		return fail(e, "placement",
		            "placement must be an object like "
		            "{\"cpus\": \"dedicated\", \"numa_node\": 0}");
	if (numa_spec_from_json(v, s->vcpus, s->memory_mib, &ns, &nerr) < 0)
		return fail(e, nerr.field ? nerr.field : "placement", "%s",
		            nerr.message);
	s->placement = json_object_get(v);
	return 0;
}

static int parse_basics(json_object *in, const struct pod_spec_defaults *d,
                        struct pod_spec *s, struct pod_spec_error *e)
{
	uint64_t vcpus = d->vcpus ? d->vcpus : 1;
	uint64_t mem = d->memory_mib ? d->memory_mib : 128;
	int r;

	r = get_str(in, "name", "name", POD_NAME_MAX, &s->name, e);
	if (r < 0)
		return r;
	if (!s->name)
		return fail(e, "name",
		            "name is required, e.g. "
		            "{\"name\": \"p1\"}");
	if (!pod_name_valid(s->name))
		return fail(e, "name",
		            "name '%s' must start with a letter or "
		            "digit and hold only letters, digits, '_', '.' "
		            "and '-' (at most %d)",
		            s->name, POD_NAME_MAX);
	r = get_uint(in, "vcpus", "vcpus", 1, VM_MAX_VCPUS, &vcpus, e);
	if (r == 0)
		r = get_uint(in, "memory_mib", "memory_mib", POD_MEMORY_MIN,
		             POD_MEMORY_MAX, &mem, e);
	s->vcpus = (unsigned int)vcpus;
	s->memory_mib = mem;
	if (r == 0)
		r = get_str(in, "kernel", "kernel", 4095, &s->kernel, e);
	if (r == 0 && !s->kernel && d->kernel)
		s->kernel = strdup(d->kernel);
	if (r == 0 && !s->kernel)
		return fail(e, "kernel",
		            "kernel is required: give the path of "
		            "a bzImage or vmlinux, or start podvisord with "
		            "--kernel");
	if (r == 0)
		r = check_file(s->kernel, "kernel", d->check_files, e);
	if (r == 0)
		r = get_str(in, "initrd", "initrd", 4095, &s->initrd, e);
	if (r == 0 && !s->initrd && d->initrd &&
	    !json_object_object_get_ex(in, "initrd", NULL))
		s->initrd = strdup(d->initrd);
	if (r == 0 && s->initrd)
		r = check_file(s->initrd, "initrd", d->check_files, e);
	if (r == 0)
		r = get_str(in, "cmdline", "cmdline", POD_CMDLINE_MAX,
		            &s->cmdline, e);
	if (r == 0 && !s->cmdline && d->cmdline &&
	    !json_object_object_get_ex(in, "cmdline", NULL))
		s->cmdline = strdup(d->cmdline);
	return r;
}

int pod_spec_parse(json_object *in, const struct pod_spec_defaults *d,
                   struct pod_spec *out, struct pod_spec_error *err)
{
	static const char *const known[] = {
	    "name",  "vcpus", "memory_mib", "kernel", "initrd",    "cmdline",
	    "disks", "vsock", "labels",     "nets",   "placement", NULL};
	int r;

	memset(out, 0, sizeof(*out));
	memset(err, 0, sizeof(*err));
	if (!in || !json_object_is_type(in, json_type_object)) {
		r = fail(err, "",
		         "the body must be a JSON object like "
		         "{\"name\": \"p1\"}");
		goto out;
	}
	r = check_keys(in, "", known, err);
	if (r == 0)
		r = parse_basics(in, d, out, err);
	if (r == 0)
		r = parse_devices(in, out, d->check_files, err);
	if (r == 0)
		r = parse_vsock(in, out, err);
	if (r == 0)
		r = parse_labels(in, out, err);
	if (r == 0)
		r = parse_placement(in, out, err);
out:
	if (r < 0)
		pod_spec_free(out);
	return r;
}

void pod_spec_free(struct pod_spec *s)
{
	free(s->name);
	free(s->kernel);
	free(s->initrd);
	free(s->cmdline);
	for (unsigned int i = 0; i < s->nr_disks; i++) {
		free(s->disks[i].path);
		free(s->disks[i].serial);
	}
	for (unsigned int i = 0; i < s->nr_nets; i++) {
		free(s->nets[i].tap);
		free(s->nets[i].vhost_user_socket);
		free(s->nets[i].segment);
		json_object_put(s->nets[i].allow);
	}
	json_object_put(s->labels);
	json_object_put(s->placement);
	memset(s, 0, sizeof(*s));
}

static void add_str(json_object *o, const char *k, const char *v)
{
	if (v)
		json_object_object_add(o, k, json_object_new_string(v));
}

static void format_mac(const uint8_t m[6], char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2],
	         m[3], m[4], m[5]);
}

static json_object *disks_json(const struct pod_spec *s)
{
	json_object *arr = json_object_new_array();

	for (unsigned int i = 0; i < s->nr_disks; i++) {
		json_object *d = json_object_new_object();

		add_str(d, "path", s->disks[i].path);
		json_object_object_add(
		    d, "readonly",
		    json_object_new_boolean(s->disks[i].readonly));
		add_str(d, "serial", s->disks[i].serial);
		json_object_array_add(arr, d);
	}
	return arr;
}

static json_object *nets_json(const struct pod_spec *s, const char *run_dir)
{
	json_object *arr = json_object_new_array();

	for (unsigned int i = 0; i < s->nr_nets; i++) {
		const struct pod_net *n = &s->nets[i];
		json_object *o = json_object_new_object();
		char mac[18], sock[4200];

		add_str(o, "tap", n->tap);
		if (n->vhost_user_socket) {
			add_str(o, "vhost_user_socket", n->vhost_user_socket);
		} else if (!n->tap && run_dir) {
			snprintf(sock, sizeof(sock), "%s/net%u.sock", run_dir,
			         i);
			add_str(o, "vhost_user_socket", sock);
		}
		if (n->has_mac) {
			format_mac(n->mac, mac);
			add_str(o, "mac", mac);
		}
		json_object_object_add(o, "mtu", json_object_new_int(n->mtu));
		/* Switch wiring is podvisord's business, not the VMM's. */
		if (!run_dir)
			add_str(o, "segment", n->segment);
		if (!run_dir && n->allow)
			json_object_object_add(o, "allow",
			                       json_object_get(n->allow));
		json_object_array_add(arr, o);
	}
	return arr;
}

json_object *pod_spec_to_json(const struct pod_spec *s)
{
	json_object *o = json_object_new_object(), *vs;

	add_str(o, "name", s->name);
	json_object_object_add(o, "vcpus", json_object_new_int(s->vcpus));
	json_object_object_add(o, "memory_mib",
	                       json_object_new_int64((int64_t)s->memory_mib));
	add_str(o, "kernel", s->kernel);
	add_str(o, "initrd", s->initrd);
	add_str(o, "cmdline", s->cmdline);
	json_object_object_add(o, "disks", disks_json(s));
	json_object_object_add(o, "nets", nets_json(s, NULL));
	if (s->vsock) {
		vs = json_object_new_object();
		json_object_object_add(
		    vs, "guest_cid",
		    json_object_new_int64((int64_t)s->guest_cid));
		json_object_object_add(o, "vsock", vs);
	} else {
		json_object_object_add(o, "vsock", json_object_new_boolean(0));
	}
	json_object_object_add(o, "labels", json_object_get(s->labels));
	if (s->placement)
		json_object_object_add(o, "placement",
		                       json_object_get(s->placement));
	return o;
}

void pod_spec_fill_macs(struct pod_spec *s, const char *id)
{
	unsigned long h = 5381;

	for (const char *p = id; *p; p++)
		h = h * 33 + (unsigned char)*p;
	for (unsigned int i = 0; i < s->nr_nets; i++) {
		if (s->nets[i].has_mac)
			continue;
		/* 02: locally administered, unicast. */
		s->nets[i].mac[0] = 0x02;
		s->nets[i].mac[1] = 0x50;
		s->nets[i].mac[2] = (uint8_t)(h >> 24);
		s->nets[i].mac[3] = (uint8_t)(h >> 16);
		s->nets[i].mac[4] = (uint8_t)(h >> 8);
		s->nets[i].mac[5] = (uint8_t)(h + i);
		s->nets[i].has_mac = true;
	}
}

static void placement_config(json_object *o, const struct numa_alloc *a)
{
	struct vm_config c = {.housekeeping_cpus = NULL};
	unsigned int n = MIN(a->spec.vcpus, VM_MAX_VCPUS), pinned = 0;

	if (numa_alloc_to_vm_config(a, &c) < 0)
		return;
	for (unsigned int i = 0; i < n; i++)
		pinned += c.vcpu_cpus[i] >= 0;
	/* Shared VMs float (every entry -1): the key is left out, because
	 * podvisor-vmm's parser takes only CPU numbers there. */
	if (pinned == n) {
		json_object *cpus = json_object_new_array();

		for (unsigned int i = 0; i < n; i++)
			json_object_array_add(
			    cpus, json_object_new_int(c.vcpu_cpus[i]));
		json_object_object_add(o, "vcpu_cpus", cpus);
	}
	add_str(o, "housekeeping_cpus", c.housekeeping_cpus);
	json_object_object_add(o, "numa_node",
	                       json_object_new_int(c.numa_node));
	json_object_object_add(o, "numa_preferred",
	                       json_object_new_boolean(c.numa_preferred));
	json_object_object_add(o, "hugepages",
	                       json_object_new_boolean(a->spec.hugepages));
	free(c.housekeeping_cpus);
}

json_object *pod_vmm_config(const struct pod_spec *s,
                            const struct pod_vmm_paths *p,
                            const struct numa_alloc *alloc)
{
	json_object *o = json_object_new_object(), *vs;

	add_str(o, "name", s->name);
	add_str(o, "kernel", s->kernel);
	add_str(o, "initrd", s->initrd);
	add_str(o, "cmdline", s->cmdline);
	json_object_object_add(o, "vcpus", json_object_new_int(s->vcpus));
	json_object_object_add(o, "memory_mib",
	                       json_object_new_int64((int64_t)s->memory_mib));
	add_str(o, "console_log", p->console_log);
	add_str(o, "api_socket", p->control_socket);
	if (s->nr_disks)
		json_object_object_add(o, "disks", disks_json(s));
	if (s->nr_nets)
		json_object_object_add(o, "nets", nets_json(s, p->run_dir));
	if (s->vsock) {
		vs = json_object_new_object();
		json_object_object_add(
		    vs, "guest_cid",
		    json_object_new_int64((int64_t)s->guest_cid));
		add_str(vs, "uds_path", p->vsock_uds);
		json_object_object_add(o, "vsock", vs);
	}
	if (alloc)
		placement_config(o, alloc);
	return o;
}
