// SPDX-License-Identifier: Apache-2.0
/* Specs on disk: one JSON file per VM, written atomically, read back at
 * start-up so a restarted podvisord lists its VMs again. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "podvisor/log.h"
#include "podvisor/util.h"
#include "pod.h"

int pod_mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);

	if (n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	for (char *s = buf + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int fsync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	char *slash;
	int fd, r = 0;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		return 0;
	*slash = '\0';
	fd = open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

int pod_write_atomic(const char *path, const char *data, size_t len,
                     bool durable)
{
	char tmp[PATH_MAX];
	_cleanup_close_ int fd = -1;
	int r;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		return log_err_errno(errno, "create %s", tmp);
	r = pv_write_full(fd, data, len);
	if (r == 0 && durable && fsync(fd) < 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return log_err_errno(r, "write %s", path);
	}
	return durable ? fsync_dir_of(path) : 0;
}

static void record_path(const struct daemon *d, const char *id, char *buf,
                        size_t size)
{
	snprintf(buf, size, "%s/vms/%s.json", d->state_dir, id);
}

int pod_store_save(const struct pod *p)
{
	json_object *o = json_object_new_object();
	char path[PATH_MAX];
	const char *text;
	int r;

	json_object_object_add(o, "id", json_object_new_string(p->id));
	json_object_object_add(o, "created_at",
	                       json_object_new_int64((int64_t)p->created_at));
	json_object_object_add(
	    o, "state", json_object_new_string(pod_state_name(p->state)));
	json_object_object_add(o, "reason", json_object_new_string(p->reason));
	json_object_object_add(o, "spec", pod_spec_to_json(&p->spec));
	if (p->placed)
		json_object_object_add(o, "placement",
		                       numa_alloc_to_json(&p->alloc));
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY);
	record_path(p->d, p->id, path, sizeof(path));
	r = pod_write_atomic(path, text, strlen(text), true);
	json_object_put(o);
	return r;
}

int pod_store_remove(const struct pod *p)
{
	char path[PATH_MAX];

	record_path(p->d, p->id, path, sizeof(path));
	if (unlink(path) < 0 && errno != ENOENT)
		return log_err_errno(errno, "vm %s: remove %s", p->id, path);
	return 0;
}

static bool id_valid(const char *s)
{
	if (strlen(s) != POD_ID_LEN)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* A VMM still running keeps the CPUs and memory it was given. */
static void restore_placement(struct pod *p, json_object *prev)
{
	struct numa_place_err err = {0};
	int r = numa_alloc_from_json(prev, &p->alloc, &err);

	if (r == 0)
		r = numa_place_restore(p->d->placer, &p->alloc, &err);
	if (r < 0) {
		log_warn(
		    "vm %s (%s): its placement could not be restored (%s); "
		    "its CPUs are not reserved",
		    p->id, p->spec.name, err.message);
		return;
	}
	p->placed = true;
	pod_store_save(p);
}

static int load_one(struct daemon *d, const char *path, const char *id)
{
	struct pod_spec_defaults defs = {.check_files = false};
	json_object *o = json_object_from_file(path), *v, *prev = NULL;
	struct pod_spec_error err;
	struct pod_spec spec;
	const char *st, *reason;
	struct pod *p;
	int r;

	if (!o)
		return log_err_errno(EBADMSG,
		                     "%s: not a JSON record; move it "
		                     "away to continue",
		                     path);
	if (!json_object_object_get_ex(o, "spec", &v) ||
	    pod_spec_parse(v, &defs, &spec, &err) < 0) {
		json_object_put(o);
		return log_err_errno(EBADMSG, "%s: bad spec field %s: %s", path,
		                     err.field, err.message);
	}
	r = pod_create(d, &spec, &p);
	if (r < 0) {
		pod_spec_free(&spec);
		json_object_put(o);
		return r;
	}
	snprintf(p->id, sizeof(p->id), "%s", id);
	snprintf(p->dir, sizeof(p->dir), "%s/vms/%s", d->run_dir, p->id);
	if (json_object_object_get_ex(o, "created_at", &v))
		p->created_at = (time_t)json_object_get_int64(v);
	st = jstr(o, "state");
	reason = jstr(o, "reason");
	p->state =
	    st && pod_state_parse(st) >= 0 ? pod_state_parse(st) : POD_FAILED;
	snprintf(p->reason, sizeof(p->reason), "%s", reason ? reason : "");
	json_object_object_get_ex(o, "placement", &prev);
	if (pod_vmm_reattach(p) == 0 && prev)
		restore_placement(p, prev);
	json_object_put(o);
	return 0;
}

int pod_store_load_all(struct daemon *d)
{
	char dir[PATH_MAX], path[PATH_MAX + 300];
	struct dirent *de;
	DIR *dh;
	int n = 0;

	snprintf(dir, sizeof(dir), "%s/vms", d->state_dir);
	dh = opendir(dir);
	if (!dh)
		return errno == ENOENT ? 0
		                       : log_err_errno(errno, "open %s", dir);
	while ((de = readdir(dh))) {
		char id[POD_ID_LEN + 1];
		size_t len = strlen(de->d_name);

		if (len != POD_ID_LEN + 5 ||
		    strcmp(de->d_name + POD_ID_LEN, ".json") != 0)
			continue;
		memcpy(id, de->d_name, POD_ID_LEN);
		id[POD_ID_LEN] = '\0';
		if (!id_valid(id) || pod_find(d, id))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (load_one(d, path, id) == 0)
			n++;
	}
	closedir(dh);
	if (n)
		log_info("loaded %d VM record%s from %s", n, n == 1 ? "" : "s",
		         dir);
	return n;
}
