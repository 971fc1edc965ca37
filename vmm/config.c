/* SPDX-License-Identifier: Apache-2.0 */
/*
 * VM configuration from JSON (json-c) and its validation. Every error names
 * the field and the fix in one line, so an operator can act on it.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "podvisor/config.h"
#include "podvisor/util.h"

#include "config_priv.h"

int cfg_fail(struct vm_config_error *err, const char *field, const char *fmt,
             ...)
{
	va_list ap;

	snprintf(err->field, sizeof(err->field), "%s", field);
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

void vm_config_init(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->vcpus = 1;
	cfg->memory_mib = 256;
	cfg->pvm_profile = VM_PVM_AUTO;
	cfg->numa_node = -1;
	for (unsigned int i = 0; i < VM_MAX_VCPUS; i++)
		cfg->vcpu_cpus[i] = -1;
}

void vm_config_free(struct vm_config *cfg)
{
	free(cfg->name);
	free(cfg->kernel);
	free(cfg->initrd);
	free(cfg->cmdline);
	free(cfg->console_log);
	free(cfg->api_socket);
	free(cfg->console_socket);
	free(cfg->housekeeping_cpus);
	free(cfg->vsock.uds_path);
	for (unsigned int i = 0; i < cfg->nr_disks; i++) {
		free(cfg->disks[i].path);
		free(cfg->disks[i].serial);
	}
	for (unsigned int i = 0; i < cfg->nr_nets; i++) {
		free(cfg->nets[i].vhost_user_socket);
		free(cfg->nets[i].tap);
	}
	memset(cfg, 0, sizeof(*cfg));
}

int cfg_set_str(char **dst, const char *v)
{
	char *s = strdup(v);

	if (!s)
		return -ENOMEM;
	free(*dst);
	*dst = s;
	return 0;
}

int vm_config_parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char tail;

	if (strlen(s) != 17 ||
	    sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3],
	           &b[4], &b[5], &tail) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		if (s[i * 3 + 2] != ':' && i < 5)
			return -EINVAL;
		mac[i] = (uint8_t)b[i];
	}
	return 0;
}

/* ---- JSON ---- */

static const char *cfg_type_name(json_object *v)
{
	return json_type_to_name(json_object_get_type(v));
}

int cfg_unknown_key(struct vm_config_error *err, const char *where,
                    const char *key, const char *const *known)
{
	/* Flags whose JSON key is not the flag's name. */
	static const char *const renamed[][2] = {
	    {"memory", "memory_mib"},
	    {"disk", "disks"},
	    {"net", "nets"},
	    {"vsock_cid", "vsock.guest_cid"},
	    {"vsock_uds", "vsock.uds_path"},
	    {"log_level", "the --log-level flag (it has no key)"},
	};
	const char *best = pv_closest_word(key, known, 2);

	for (size_t i = 0; !best && !*where && i < ARRAY_SIZE(renamed); i++)
		if (!strcmp(key, renamed[i][0]))
			best = renamed[i][1];
	if (best)
		return cfg_fail(err, key,
		                "unknown field '%s'%s; did you mean "
		                "'%s'?",
		                key, where, best);
	char list[256] = "";

	for (size_t i = 0; known[i]; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list),
		         "%s%s", i ? " " : "", known[i]);
	return cfg_fail(err, key, "unknown field '%s'%s; the fields are: %s",
	                key, where, list);
}

int cfg_json_str(json_object *v, const char *field, char **dst,
                 struct vm_config_error *err)
{
	if (!json_object_is_type(v, json_type_string))
		return cfg_fail(err, field, "expected a string, got %s",
		                cfg_type_name(v));
	return cfg_set_str(dst, json_object_get_string(v));
}

int cfg_json_bool(json_object *v, const char *field, bool *dst,
                  struct vm_config_error *err)
{
	if (!json_object_is_type(v, json_type_boolean))
		return cfg_fail(err, field, "expected true or false, got %s",
		                cfg_type_name(v));
	*dst = json_object_get_boolean(v);
	return 0;
}

int cfg_json_uint(json_object *v, const char *field, uint64_t max,
                  uint64_t *dst, struct vm_config_error *err)
{
	int64_t n;

	if (!json_object_is_type(v, json_type_int))
		return cfg_fail(err, field, "expected a whole number, got %s",
		                cfg_type_name(v));
	errno = 0;
	n = json_object_get_int64(v);
	if (n < 0 || (uint64_t)n > max || errno)
		return cfg_fail(err, field, "%s is out of range; give 0..%llu",
		                json_object_get_string(v),
		                (unsigned long long)max);
	*dst = (uint64_t)n;
	return 0;
}

int cfg_json_int(json_object *v, const char *field, int min, int max, int *dst,
                 struct vm_config_error *err)
{
	int64_t n;

	if (!json_object_is_type(v, json_type_int))
		return cfg_fail(err, field, "expected a whole number, got %s",
		                cfg_type_name(v));
	n = json_object_get_int64(v);
	if (n < min || n > max)
		return cfg_fail(err, field, "%s is out of range; give %d..%d",
		                json_object_get_string(v), min, max);
	*dst = (int)n;
	return 0;
}

static int cfg_json_disk(json_object *o, unsigned int idx,
                         struct vm_disk_config *d, struct vm_config_error *err)
{
	static const char *const keys[] = {"path", "readonly", "serial", NULL};
	char f[64];
	int r = 0;

	if (!json_object_is_type(o, json_type_object))
		return cfg_fail(err, "disks",
		                "disks[%u]: expected an object "
		                "{path, readonly, serial}",
		                idx);
	json_object_object_foreach(o, k, v)
	{
		snprintf(f, sizeof(f), "disks[%u].%s", idx, k);
		if (!strcmp(k, "path"))
			r = cfg_json_str(v, f, &d->path, err);
		else if (!strcmp(k, "readonly"))
			r = cfg_json_bool(v, f, &d->readonly, err);
		else if (!strcmp(k, "serial"))
			r = cfg_json_str(v, f, &d->serial, err);
		else
			r = cfg_unknown_key(err, " in disks[]", k, keys);
		if (r < 0)
			return r;
	}
	return 0;
}

static int cfg_json_net(json_object *o, unsigned int idx,
                        struct vm_net_config *n, struct vm_config_error *err)
{
	static const char *const keys[] = {"vhost_user_socket", "tap", "mac",
	                                   "mtu", NULL};
	char f[64];
	uint64_t mtu;
	int r = 0;

	if (!json_object_is_type(o, json_type_object))
		return cfg_fail(err, "nets",
		                "nets[%u]: expected an object "
		                "{vhost_user_socket or tap, mac, mtu}",
		                idx);
	json_object_object_foreach(o, k, v)
	{
		snprintf(f, sizeof(f), "nets[%u].%s", idx, k);
		if (!strcmp(k, "vhost_user_socket")) {
			r = cfg_json_str(v, f, &n->vhost_user_socket, err);
		} else if (!strcmp(k, "tap")) {
			r = cfg_json_str(v, f, &n->tap, err);
		} else if (!strcmp(k, "mac")) {
			if (!json_object_is_type(v, json_type_string) ||
			    vm_config_parse_mac(json_object_get_string(v),
			                        n->mac) < 0)
				return cfg_fail(err, f,
				                "'%s' is not a MAC "
				                "address; give "
				                "\"52:54:00:12:34:56\"",
				                json_object_get_string(v));
		} else if (!strcmp(k, "mtu")) {
			r = cfg_json_uint(v, f, 65535, &mtu, err);
			n->mtu = (uint16_t)mtu;
		} else {
			r = cfg_unknown_key(err, " in nets[]", k, keys);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

static int cfg_json_vsock(json_object *o, struct vm_vsock_config *vs,
                          struct vm_config_error *err)
{
	static const char *const keys[] = {"guest_cid", "uds_path", NULL};
	int r = 0;

	if (!json_object_is_type(o, json_type_object))
		return cfg_fail(err, "vsock",
		                "expected an object {guest_cid, "
		                "uds_path}, got %s",
		                cfg_type_name(o));
	vs->enabled = true;
	json_object_object_foreach(o, k, v)
	{
		if (!strcmp(k, "guest_cid"))
			r = cfg_json_uint(v, "vsock.guest_cid", UINT32_MAX,
			                  &vs->guest_cid, err);
		else if (!strcmp(k, "uds_path"))
			r = cfg_json_str(v, "vsock.uds_path", &vs->uds_path,
			                 err);
		else
			r = cfg_unknown_key(err, " in vsock", k, keys);
		if (r < 0)
			return r;
	}
	return 0;
}

static int cfg_json_array(json_object *v, const char *field, unsigned int max,
                          struct vm_config_error *err)
{
	if (!json_object_is_type(v, json_type_array))
		return cfg_fail(err, field, "expected an array, got %s",
		                cfg_type_name(v));
	if (json_object_array_length(v) > max)
		return cfg_fail(err, field,
		                "%zu entries; at most %u are "
		                "supported",
		                json_object_array_length(v), max);
	return 0;
}

static int cfg_json_disks(struct vm_config *cfg, json_object *v,
                          struct vm_config_error *err)
{
	int r = cfg_json_array(v, "disks", VM_MAX_DISKS, err);

	for (size_t i = 0; r == 0 && i < json_object_array_length(v); i++) {
		/* Counted first: vm_config_free() then frees a half-parsed
		 * entry too. */
		cfg->nr_disks = (unsigned int)i + 1;
		r = cfg_json_disk(json_object_array_get_idx(v, i),
		                  (unsigned int)i, &cfg->disks[i], err);
	}
	return r;
}

static int cfg_json_nets(struct vm_config *cfg, json_object *v,
                         struct vm_config_error *err)
{
	int r = cfg_json_array(v, "nets", VM_MAX_NETS, err);

	for (size_t i = 0; r == 0 && i < json_object_array_length(v); i++) {
		/* Counted first: vm_config_free() then frees a half-parsed
		 * entry too. */
		cfg->nr_nets = (unsigned int)i + 1;
		r = cfg_json_net(json_object_array_get_idx(v, i),
		                 (unsigned int)i, &cfg->nets[i], err);
	}
	return r;
}

static int cfg_json_vcpu_cpus(struct vm_config *cfg, json_object *v,
                              struct vm_config_error *err)
{
	int r = cfg_json_array(v, "vcpu_cpus", VM_MAX_VCPUS, err);
	char f[32];

	/* -1: not pinned, as the logged config writes it. */
	for (size_t i = 0; r == 0 && i < json_object_array_length(v); i++) {
		snprintf(f, sizeof(f), "vcpu_cpus[%zu]", i);
		r = cfg_json_int(json_object_array_get_idx(v, i), f, -1, 1023,
		                 &cfg->vcpu_cpus[i], err);
	}
	return r;
}

int cfg_parse_pvm(const char *s, enum vm_pvm_profile *out)
{
	if (!strcmp(s, "auto"))
		*out = VM_PVM_AUTO;
	else if (!strcmp(s, "on"))
		*out = VM_PVM_ON;
	else if (!strcmp(s, "off"))
		*out = VM_PVM_OFF;
	else
		return -EINVAL;
	return 0;
}

int cfg_parse_seccomp(const char *s, enum vm_seccomp *out)
{
	if (!strcmp(s, "kill"))
		*out = VM_SECCOMP_KILL;
	else if (!strcmp(s, "log"))
		*out = VM_SECCOMP_LOG;
	else if (!strcmp(s, "off"))
		*out = VM_SECCOMP_OFF;
	else
		return -EINVAL;
	return 0;
}

static const char *const cfg_top_keys[] = {
    "name",      "kernel",         "initrd",
    "cmdline",   "vcpus",          "memory_mib",
    "hugepages", "console_log",    "api_socket",
    "rng",       "console_socket", "disks",
    "nets",      "vsock",          "pvm_profile",
    "seccomp",   "vcpu_cpus",      "housekeeping_cpus",
    "numa_node", "numa_preferred", NULL,
};

/* String fields, by key. */
static char **cfg_str_field(struct vm_config *cfg, const char *k)
{
	static const struct {
		const char *key;
		size_t off;
	} strs[] = {
	    {"name", offsetof(struct vm_config, name)},
	    {"kernel", offsetof(struct vm_config, kernel)},
	    {"initrd", offsetof(struct vm_config, initrd)},
	    {"cmdline", offsetof(struct vm_config, cmdline)},
	    {"console_log", offsetof(struct vm_config, console_log)},
	    {"api_socket", offsetof(struct vm_config, api_socket)},
	    {"console_socket", offsetof(struct vm_config, console_socket)},
	    {"housekeeping_cpus",
	     offsetof(struct vm_config, housekeeping_cpus)},
	};

	for (size_t i = 0; i < ARRAY_SIZE(strs); i++)
		if (!strcmp(k, strs[i].key))
			return (char **)((char *)cfg + strs[i].off);
	return NULL;
}

static int cfg_json_scalar(struct vm_config *cfg, const char *k, json_object *v,
                           struct vm_config_error *err)
{
	uint64_t n;
	int r;

	if (!strcmp(k, "vcpus")) {
		r = cfg_json_uint(v, k, 4096, &n, err);
		cfg->vcpus = (unsigned int)n;
	} else if (!strcmp(k, "memory_mib")) {
		r = cfg_json_uint(v, k, UINT64_MAX / MiB, &cfg->memory_mib,
		                  err);
	} else if (!strcmp(k, "numa_node")) {
		r = cfg_json_int(v, k, -1, 1023, &cfg->numa_node, err);
	} else if (!strcmp(k, "hugepages")) {
		r = cfg_json_bool(v, k, &cfg->hugepages, err);
	} else if (!strcmp(k, "rng")) {
		r = cfg_json_bool(v, k, &cfg->rng, err);
	} else if (!strcmp(k, "numa_preferred")) {
		r = cfg_json_bool(v, k, &cfg->numa_preferred, err);
	} else if (!strcmp(k, "pvm_profile")) {
		if (!json_object_is_type(v, json_type_string) ||
		    cfg_parse_pvm(json_object_get_string(v),
		                  &cfg->pvm_profile) < 0)
			return cfg_fail(err, k,
			                "'%s' is not a profile; give "
			                "\"auto\", \"on\" or \"off\"",
			                json_object_get_string(v));
		r = 0;
	} else if (!strcmp(k, "seccomp")) {
		if (!json_object_is_type(v, json_type_string) ||
		    cfg_parse_seccomp(json_object_get_string(v),
		                      &cfg->seccomp) < 0)
			return cfg_fail(err, k,
			                "'%s' is not a seccomp mode; give "
			                "\"kill\", \"log\" or \"off\"",
			                json_object_get_string(v));
		r = 0;
	} else {
		r = cfg_unknown_key(err, "", k, cfg_top_keys);
	}
	return r;
}

static int cfg_json_key(struct vm_config *cfg, const char *k, json_object *v,
                        struct vm_config_error *err)
{
	char **s = cfg_str_field(cfg, k);

	if (s)
		return cfg_json_str(v, k, s, err);
	if (!strcmp(k, "disks"))
		return cfg_json_disks(cfg, v, err);
	if (!strcmp(k, "nets"))
		return cfg_json_nets(cfg, v, err);
	if (!strcmp(k, "vsock"))
		return cfg_json_vsock(v, &cfg->vsock, err);
	if (!strcmp(k, "vcpu_cpus"))
		return cfg_json_vcpu_cpus(cfg, v, err);
	return cfg_json_scalar(cfg, k, v, err);
}

int vm_config_from_json(struct vm_config *cfg, const char *text,
                        struct vm_config_error *err)
{
	enum json_tokener_error jerr;
	json_object *root = json_tokener_parse_verbose(text, &jerr);
	int r = 0;

	if (!root)
		return cfg_fail(err, "config",
		                "not valid JSON (%s); check "
		                "the file with jq .",
		                json_tokener_error_desc(jerr));
	if (!json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		return cfg_fail(err, "config",
		                "expected a JSON object "
		                "{\"kernel\": ..., \"vcpus\": ...}");
	}
	json_object_object_foreach(root, k, v)
	{
		r = cfg_json_key(cfg, k, v, err);
		if (r < 0)
			break;
	}
	json_object_put(root);
	return r;
}

int vm_config_load_file(struct vm_config *cfg, const char *path,
                        struct vm_config_error *err)
{
	FILE *f = fopen(path, "re");
	char *buf;
	long n;
	int r;

	if (!f)
		return cfg_fail(err, "--config",
		                "%s: %s; give the path of a "
		                "JSON VM config",
		                path, strerror(errno));
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	if (n < 0 || n > 1024 * 1024) {
		fclose(f);
		return cfg_fail(err, "--config",
		                "%s: not a regular file of at "
		                "most 1 MiB",
		                path);
	}
	buf = calloc(1, (size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		free(buf);
		return cfg_fail(err, "--config", "%s: cannot read it", path);
	}
	fclose(f);
	r = vm_config_from_json(cfg, buf, err);
	free(buf);
	return r;
}
