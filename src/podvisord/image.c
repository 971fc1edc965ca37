/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Container image -> disk image: unpack an OCI layout or docker archive
 * (libarchive), apply the layers in order with whiteouts, then build an
 * ext4 (mke2fs -d) or squashfs (mksquashfs) image of the result.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <openssl/evp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "podvisor/image.h"
#include "podvisor/log.h"
#include "podvisor/util.h"

extern char **environ;

struct ctx {
	char *why;
	size_t why_len;
};

static int fail(struct ctx *c, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct ctx *c, int err, const char *fmt, ...)
{
	va_list ap;

	/* Keep the first, most specific reason. */
	if (c->why[0])
		return -err;
	va_start(ap, fmt);
	vsnprintf(c->why, c->why_len, fmt, ap);
	va_end(ap);
	log_err("image: %s", c->why);
	return -err;
}

/* snprintf for paths: -ENAMETOOLONG instead of a silently cut path. */
static int pathf(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int pathf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw)
{
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

static void rm_rf(const char *path)
{
	nftw(path, rm_entry, 32, FTW_DEPTH | FTW_PHYS);
}

static int rm_children(const char *path, const struct stat *st, int flag,
                       struct FTW *ftw)
{
	if (ftw->level == 0)
		return 0;
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

/* A member name is safe when relative and free of ".." components. */
static bool name_safe(const char *name)
{
	const char *p = name;

	if (name[0] == '/')
		return false;
	while (*p) {
		if (p[0] == '.' && p[1] == '.' && (p[2] == '/' || !p[2]))
			return false;
		p = strchr(p, '/');
		if (!p)
			break;
		p++;
	}
	return true;
}

static const char *strip_dot(const char *name)
{
	while (name[0] == '.' && name[1] == '/')
		name += 2;
	while (name[0] == '/' && name[1] == '\0')
		name++;
	return name;
}

/* Handles ".wh." members; returns 1 if the entry was a whiteout. */
static int whiteout(struct ctx *c, const char *root, const char *name)
{
	const char *base = strrchr(name, '/');
	char path[PATH_MAX];
	size_t dirlen;

	base = base ? base + 1 : name;
	if (strncmp(base, ".wh.", 4) != 0)
		return 0;
	dirlen = (size_t)(base - name);
	if (!strcmp(base, ".wh..wh..opq")) {
		/* Opaque dir: hide everything the lower layers put there. */
		pathf(path, sizeof(path), "%s/%.*s", root, (int)dirlen, name);
		nftw(path, rm_children, 32, FTW_DEPTH | FTW_PHYS);
		return 1;
	}
	pathf(path, sizeof(path), "%s/%.*s%s", root, (int)dirlen, name,
	      base + 4);
	rm_rf(path);
	return 1;
}

/* Writes the header of one layer member under root. Returns 1 when its
 * data must follow, 0 when it was handled (whiteout, "."), or -errno. */
static int apply_entry(struct ctx *c, struct archive *out,
                       struct archive_entry *e, const char *root,
                       const char *layer, bool layered)
{
	char name[PATH_MAX], path[PATH_MAX], lpath[PATH_MAX];
	const char *link = archive_entry_hardlink(e);
	int err;

	/* A copy: set_pathname below frees the entry's string. */
	snprintf(name, sizeof(name), "%s",
	         strip_dot(archive_entry_pathname(e)));

	if (!name[0] || !strcmp(name, "."))
		return 0;
	if (!name_safe(name))
		return fail(c, EINVAL,
		            "layer %s: member '%.200s' points outside the "
		            "rootfs: refusing this image",
		            layer, archive_entry_pathname(e));
	if (layered && whiteout(c, root, name))
		return 0;
	/* The outer archive holds only metadata and blobs: a link there
	 * could make us read a host file as a layer. */
	if (!layered && (link || (archive_entry_filetype(e) != AE_IFREG &&
	                          archive_entry_filetype(e) != AE_IFDIR)))
		return fail(c, EINVAL,
		            "image member '%.200s' is a link or special file; "
		            "an image archive holds only files and dirs",
		            name);
	if (pathf(path, sizeof(path), "%s/%s", root, name) < 0)
		return fail(c, EINVAL, "layer %s: member name too long", layer);
	archive_entry_set_pathname(e, path);
	if (link) {
		link = strip_dot(link);
		if (!name_safe(link))
			return fail(c, EINVAL,
			            "layer %s: hard link '%.200s' points "
			            "outside the rootfs",
			            layer, link);
		if (pathf(lpath, sizeof(lpath), "%s/%s", root, link) < 0)
			return fail(c, EINVAL, "layer %s: link too long",
			            layer);
		archive_entry_set_hardlink(e, lpath);
	}
	if (archive_write_header(out, e) >= ARCHIVE_WARN)
		return 1;
	err = archive_errno(out);
	return fail(c, err == ENOSPC ? ENOSPC : EINVAL,
	            "layer %s: extracting '%.200s': %s", layer, name,
	            archive_error_string(out));
}

/* Copies the entry's data blocks to the disk writer. */
static int copy_data(struct archive *in, struct archive *out)
{
	const void *buf;
	size_t size;
	la_int64_t off;
	int r;

	while ((r = archive_read_data_block(in, &buf, &size, &off)) ==
	       ARCHIVE_OK)
		if (archive_write_data_block(out, buf, size, off) < ARCHIVE_OK)
			return -1;
	return r == ARCHIVE_EOF ? 0 : -1;
}

static struct archive *disk_writer(void)
{
	/* No ARCHIVE_EXTRACT_UNLINK: with it libarchive would replace a
	 * symlink in a member's path instead of refusing the member. */
	struct archive *out = archive_write_disk_new();
	int flags = ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM |
	            ARCHIVE_EXTRACT_SECURE_SYMLINKS |
	            ARCHIVE_EXTRACT_SECURE_NODOTDOT;

	/* Only root can keep the image's owners (and must, for setuid). */
	if (geteuid() == 0)
		flags |= ARCHIVE_EXTRACT_OWNER;
	archive_write_disk_set_options(out, flags);
	archive_write_disk_set_standard_lookup(out);
	return out;
}

static int write_err(struct ctx *c, struct archive *in, struct archive *out,
                     const char *label)
{
	int err = archive_errno(out);

	return fail(c, err == ENOSPC ? ENOSPC : EIO, "layer %s: writing: %s",
	            label,
	            archive_error_string(out) ? archive_error_string(out)
	                                      : archive_error_string(in));
}

/* Applies one layer tarball (any compression) on top of root. */
static int apply_layer(struct ctx *c, const char *file, const char *root,
                       const char *label, bool layered)
{
	struct archive *in = archive_read_new(), *out = disk_writer();
	struct archive_entry *e;
	int r = 0, ar;

	archive_read_support_format_tar(in);
	archive_read_support_filter_all(in);
	if (archive_read_open_filename(in, file, 64 * 1024) != ARCHIVE_OK) {
		r = fail(c, EINVAL, "layer %s is not a tar archive: %s", label,
		         archive_error_string(in));
		goto out;
	}
	while ((ar = archive_read_next_header(in, &e)) == ARCHIVE_OK) {
		r = apply_entry(c, out, e, root, label, layered);
		if (r < 0)
			goto out;
		if (r == 1 && archive_entry_size(e) > 0 &&
		    copy_data(in, out) < 0) {
			r = write_err(c, in, out, label);
			goto out;
		}
		if (r == 1 && archive_write_finish_entry(out) < ARCHIVE_WARN) {
			r = write_err(c, in, out, label);
			goto out;
		}
		r = 0;
	}
	if (ar != ARCHIVE_EOF)
		r = fail(c, EINVAL, "layer %s: corrupt tar: %s", label,
		         archive_error_string(in));
out:
	archive_write_close(out);
	archive_write_free(out);
	archive_read_free(in);
	return r;
}

static int sha256_file(const char *path, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE], buf[65536];
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	EVP_MD_CTX *md_ctx;
	unsigned int len = 0, i;
	ssize_t n;

	if (fd < 0)
		return -errno;
	md_ctx = EVP_MD_CTX_new();
	if (!md_ctx || !EVP_DigestInit_ex(md_ctx, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(md_ctx);
		return -ENOMEM;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		EVP_DigestUpdate(md_ctx, buf, (size_t)n);
	EVP_DigestFinal_ex(md_ctx, md, &len);
	EVP_MD_CTX_free(md_ctx);
	if (n < 0)
		return -errno;
	for (i = 0; i < len && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* JSON metadata files are small; a huge one is not an image. */
static json_object *read_json(struct ctx *c, const char *path)
{
	struct stat st;
	json_object *o;

	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > 4 * (off_t)MiB) {
		fail(c, EINVAL, "%s is missing or not a small JSON file", path);
		return NULL;
	}
	o = json_object_from_file(path);
	if (!o)
		fail(c, EINVAL, "%s is not valid JSON", path);
	return o;
}

/* Resolves "sha256:<hex>" to outer/blobs/sha256/<hex> and checks it. */
static int blob(struct ctx *c, const char *outer, json_object *desc, char *path,
                size_t len)
{
	const char *d =
	    json_object_get_string(json_object_object_get(desc, "digest"));
	char hex[65] = "";
	size_t i;

	if (!d || strncmp(d, "sha256:", 7) || strlen(d) != 71)
		return fail(c, EINVAL,
		            "descriptor digest '%.80s' is not "
		            "sha256:<64 hex digits>",
		            d ? d : "(none)");
	for (i = 7; i < 71; i++)
		if (!strchr("0123456789abcdef", d[i]))
			return fail(c, EINVAL, "digest %.80s is not hex", d);
	pathf(path, len, "%s/blobs/sha256/%s", outer, d + 7);
	if (access(path, R_OK) < 0)
		return fail(c, EINVAL, "blob %.80s is missing from the image",
		            d);
	if (sha256_file(path, hex) < 0 || strcmp(hex, d + 7))
		return fail(c, EINVAL,
		            "blob %.80s does not match its digest "
		            "(corrupt or tampered image)",
		            d);
	return 0;
}

static bool is_index(json_object *o)
{
	const char *mt =
	    json_object_get_string(json_object_object_get(o, "mediaType"));

	return mt && (strstr(mt, "image.index") || strstr(mt, "manifest.list"));
}

/* Picks the linux/amd64 manifest of an index (or the only one). */
static json_object *pick_manifest(json_object *index)
{
	json_object *ms = json_object_object_get(index, "manifests"), *m, *p;
	size_t i, n = json_object_array_length(ms);

	for (i = 0; i < n; i++) {
		m = json_object_array_get_idx(ms, i);
		p = json_object_object_get(m, "platform");
		if (!p || !strcmp(json_object_get_string(json_object_object_get(
		                      p, "architecture")),
		                  "amd64"))
			return m;
	}
	return n ? json_object_array_get_idx(ms, 0) : NULL;
}

/* Fills layers (strings: paths of layer tars, bottom first). */
static int oci_layers(struct ctx *c, const char *outer, json_object *layers)
{
	char path[PATH_MAX];
	json_object *idx, *man = NULL, *desc, *ls;
	int r = -EINVAL, depth;
	size_t i;

	pathf(path, sizeof(path), "%s/index.json", outer);
	idx = read_json(c, path);
	for (depth = 0; idx && depth < 4; depth++) {
		desc = pick_manifest(idx);
		if (!desc) {
			fail(c, EINVAL, "index.json lists no manifest");
			break;
		}
		if (blob(c, outer, desc, path, sizeof(path)) < 0)
			break;
		man = read_json(c, path);
		json_object_put(idx);
		idx = NULL;
		if (man && is_index(man)) {
			idx = man;
			man = NULL;
		}
	}
	json_object_put(idx);
	ls = man ? json_object_object_get(man, "layers") : NULL;
	if (man && !json_object_is_type(ls, json_type_array))
		fail(c, EINVAL, "the image manifest has no layers array");
	for (i = 0; ls && i < json_object_array_length(ls); i++) {
		if (blob(c, outer, json_object_array_get_idx(ls, i), path,
		         sizeof(path)) < 0)
			goto out;
		json_object_array_add(layers, json_object_new_string(path));
	}
	r = ls ? 0 : -EINVAL;
out:
	json_object_put(man);
	return r;
}

static int docker_layers(struct ctx *c, const char *outer, json_object *layers)
{
	char path[PATH_MAX];
	json_object *m, *ls, *l;
	size_t i;
	int r = 0;

	pathf(path, sizeof(path), "%s/manifest.json", outer);
	m = read_json(c, path);
	if (!m)
		return -EINVAL;
	ls = json_object_object_get(json_object_array_get_idx(m, 0), "Layers");
	if (!json_object_is_type(m, json_type_array) ||
	    !json_object_is_type(ls, json_type_array))
		r = fail(c, EINVAL,
		         "manifest.json has no Layers list: not a "
		         "docker archive");
	for (i = 0; !r && i < json_object_array_length(ls); i++) {
		l = json_object_array_get_idx(ls, i);
		if (!json_object_is_type(l, json_type_string) ||
		    !name_safe(json_object_get_string(l))) {
			r = fail(c, EINVAL,
			         "manifest.json layer %zu has an "
			         "unsafe path",
			         i);
			break;
		}
		pathf(path, sizeof(path), "%s/%s", outer,
		      json_object_get_string(l));
		json_object_array_add(layers, json_object_new_string(path));
	}
	json_object_put(m);
	return r;
}

static bool has_file(const char *dir, const char *name)
{
	char path[PATH_MAX];

	pathf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

static int make_scratch(struct ctx *c, const char *tmpdir, char *out,
                        size_t len)
{
	char tmpl[PATH_MAX], real[PATH_MAX];

	if (!tmpdir)
		tmpdir = getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp";
	/* No symlink may sit in the path: extraction refuses them. */
	if (!realpath(tmpdir, real))
		return fail(c, errno, "scratch dir %s: %s", tmpdir,
		            strerror(errno));
	pathf(tmpl, sizeof(tmpl), "%s/podvisor-image.XXXXXX", real);
	if (!mkdtemp(tmpl))
		return fail(c, errno, "mkdtemp in %s: %s", real,
		            strerror(errno));
	snprintf(out, len, "%s", tmpl);
	return 0;
}

static int unpack(struct ctx *c, const char *src, const char *root,
                  const char *tmpdir)
{
	char scratch[PATH_MAX] = "", outer[PATH_MAX];
	json_object *layers = json_object_new_array();
	struct stat st;
	size_t i;
	int r;

	if (stat(src, &st) < 0)
		return fail(c, errno, "image %s: %s", src, strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		snprintf(outer, sizeof(outer), "%s", src);
	} else {
		r = make_scratch(c, tmpdir, scratch, sizeof(scratch));
		if (r < 0)
			goto out;
		pathf(outer, sizeof(outer), "%s/outer", scratch);
		mkdir(outer, 0700);
		r = apply_layer(c, src, outer, src, false);
		if (r < 0)
			goto out;
	}
	if (has_file(outer, "index.json"))
		r = oci_layers(c, outer, layers);
	else if (has_file(outer, "manifest.json"))
		r = docker_layers(c, outer, layers);
	else
		r = fail(c, EINVAL,
		         "%s is not a container image: no index.json (OCI "
		         "layout) or manifest.json (docker archive)",
		         src);
	for (i = 0; r == 0 && i < json_object_array_length(layers); i++) {
		const char *l = json_object_get_string(
		    json_object_array_get_idx(layers, i));

		r = apply_layer(c, l, root, strrchr(l, '/') + 1, true);
	}
	if (r == 0)
		log_info("image %s: %zu layer(s) unpacked into %s", src,
		         json_object_array_length(layers), root);
out:
	if (scratch[0])
		rm_rf(scratch);
	json_object_put(layers);
	return r;
}

int image_unpack(const char *src, const char *rootfs_dir, const char *tmpdir,
                 char *why, size_t why_len)
{
	struct ctx c = {why, why_len};

	why[0] = '\0';
	return unpack(&c, src, rootfs_dir, tmpdir);
}

static int sum_entry(const char *path, const struct stat *st, int flag,
                     struct FTW *ftw);
/* Per thread: conversions may run on several worker threads at once. */
static _Thread_local uint64_t sum_bytes, sum_inodes;

static int sum_entry(const char *path, const struct stat *st, int flag,
                     struct FTW *ftw)
{
	/* Round each file up to a 4 KiB block, as ext4 stores it. */
	sum_bytes += ALIGN_UP((uint64_t)st->st_size, 4096);
	sum_inodes++;
	return 0;
}

static const char *find_tool(const char *name, char *buf, size_t len)
{
	const char *env = getenv("PATH");
	char dirs[4096];
	char *d, *save = NULL;

	snprintf(dirs, sizeof(dirs), "%s:/usr/sbin:/sbin:/usr/bin",
	         env ? env : "/usr/bin:/bin");
	for (d = strtok_r(dirs, ":", &save); d;
	     d = strtok_r(NULL, ":", &save)) {
		pathf(buf, len, "%s/%s", d, name);
		if (access(buf, X_OK) == 0)
			return buf;
	}
	return NULL;
}

/* Runs argv, keeping the tail of its output for the error message. */
static int run_tool(struct ctx *c, char *const argv[])
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	char out[4096], *last;
	size_t n = 0;
	ssize_t k;
	int p[2], st, r;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_adddup2(&fa, p[1], 2);
	/* Worker threads block every signal; the tool starts with none
	 * blocked and default actions, as it would from a shell. */
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
	                                    POSIX_SPAWN_SETSIGDEF);
	r = posix_spawn(&pid, argv[0], &fa, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (r != 0) {
		close(p[0]);
		return fail(c, r, "cannot run %s: %s", argv[0], strerror(r));
	}
	while ((k = read(p[0], out + n, sizeof(out) - 1 - n)) > 0 ||
	       (k < 0 && errno == EINTR)) {
		n += k > 0 ? (size_t)k : 0;
		if (n > sizeof(out) / 2) { /* keep the tail */
			memmove(out, out + n - 512, 512);
			n = 512;
		}
	}
	close(p[0]);
	out[n] = '\0';
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	while (n && (out[n - 1] == '\n' || out[n - 1] == ' '))
		out[--n] = '\0';
	last = strrchr(out, '\n');
	return fail(c, strstr(out, "No space left") ? ENOSPC : EIO,
	            "%s failed: %.300s", argv[0], last ? last + 1 : out);
}

static int mkfs(struct ctx *c, const char *root, const char *dst,
                const struct image_opts *o)
{
	char tool[PATH_MAX], size[32], inodes[32], dir[PATH_MAX];
	struct statvfs vfs;
	uint64_t bytes;
	const char *slash;
	_cleanup_close_ int fd = -1;
	int r;

	sum_bytes = sum_inodes = 0;
	if (nftw(root, sum_entry, 32, FTW_PHYS) < 0)
		return fail(c, errno, "reading %s: %s", root, strerror(errno));
	/* ext4 needs room for metadata and the journal on top of data. */
	bytes = ALIGN_UP(sum_bytes + sum_bytes / 4 + sum_inodes * 256 +
	                     16 * MiB + o->extra_mib * MiB,
	                 MiB);
	slash = strrchr(dst, '/');
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - dst) : 1,
	         slash ? dst : ".");
	if (statvfs(dir[0] ? dir : "/", &vfs) == 0 &&
	    (uint64_t)vfs.f_bavail * vfs.f_frsize < bytes)
		return fail(c, ENOSPC,
		            "%s: not enough space: the image needs %llu MiB, "
		            "%llu MiB free",
		            dir, (unsigned long long)(bytes / MiB),
		            (unsigned long long)((uint64_t)vfs.f_bavail *
		                                 vfs.f_frsize / MiB));
	unlink(dst);
	if (o->fs == IMAGE_FS_SQUASHFS) {
		if (!find_tool("mksquashfs", tool, sizeof(tool)))
			return fail(c, ENOENT,
			            "mksquashfs not found: install "
			            "squashfs-tools");
		char *argv[] = {tool,        (char *)root, (char *)dst,
		                "-noappend", "-quiet",     "-no-progress",
		                "-comp",     "gzip",       NULL};
		return run_tool(c, argv);
	}
	if (!find_tool("mke2fs", tool, sizeof(tool)))
		return fail(c, ENOENT, "mke2fs not found: install e2fsprogs");
	/* Allocate up front so a full disk shows now, not in the guest. */
	fd = open(dst, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
	if (fd < 0)
		return fail(c, errno, "%s: %s", dst, strerror(errno));
	r = posix_fallocate(fd, 0, (off_t)bytes);
	if (r)
		return fail(c, r, "%s: allocating %llu MiB: %s", dst,
		            (unsigned long long)(bytes / MiB), strerror(r));
	snprintf(size, sizeof(size), "%lluk",
	         (unsigned long long)(bytes / 1024));
	snprintf(inodes, sizeof(inodes), "%llu",
	         (unsigned long long)(sum_inodes * 2 + 1024));
	char *argv[] = {tool,         "-q",        "-F", "-t",   "ext4",
	                "-L",         "rootfs",    "-N", inodes, "-d",
	                (char *)root, (char *)dst, size, NULL};
	return run_tool(c, argv);
}

int image_to_disk(const char *src, const char *dst,
                  const struct image_opts *opts, char *why, size_t why_len)
{
	struct image_opts def = {.fs = IMAGE_FS_EXT4};
	struct ctx c = {why, why_len};
	char scratch[PATH_MAX] = "", root[PATH_MAX + 8];
	struct stat st;
	int r;

	why[0] = '\0';
	if (!opts)
		opts = &def;
	if (stat(src, &st) < 0)
		return fail(&c, errno, "image %s: %s", src, strerror(errno));
	if (S_ISDIR(st.st_mode) && !has_file(src, "index.json") &&
	    !has_file(src, "manifest.json")) {
		/* A plain rootfs directory goes to disk as it is. */
		r = mkfs(&c, src, dst, opts);
		goto out;
	}
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
		return fail(&c, EINVAL, "image %s is not a file or directory",
		            src);
	r = make_scratch(&c, opts->tmpdir, scratch, sizeof(scratch));
	if (r < 0)
		return r;
	pathf(root, sizeof(root), "%s/rootfs", scratch);
	mkdir(root, 0755);
	r = unpack(&c, src, root, scratch);
	if (r == 0)
		r = mkfs(&c, root, dst, opts);
out:
	if (scratch[0])
		rm_rf(scratch);
	if (r < 0)
		unlink(dst);
	else
		log_info("image %s: wrote %s image %s", src,
		         opts->fs == IMAGE_FS_EXT4 ? "ext4" : "squashfs", dst);
	return r;
}
