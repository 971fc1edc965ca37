/* SPDX-License-Identifier: Apache-2.0 */
/* Image conversion: real tarballs made here -> ext4/squashfs, read back
 * with debugfs/unsquashfs; hostile archives refused. */
#include <archive.h>
#include <archive_entry.h>
#include <check.h>
#include <stdarg.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "podvisor/image.h"

struct ent {
	const char *name;
	char type; /* f file, d dir, s symlink, h hard link */
	const char *data;
	size_t len; /* 0 = strlen(data) */
};

static char tmp[256];

/* Also run at exit: Check skips teardown when an assertion fails, and a
 * failed test must not leave its files behind either. */
static void remove_tmp(void)
{
	char cmd[300];

	if (!tmp[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd) == 0)
		tmp[0] = '\0';
}

static void setup(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/pv-test-image.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	atexit(remove_tmp);
}

static void teardown(void)
{
	remove_tmp();
	ck_assert_int_eq(tmp[0], '\0');
}

/* Writes entries as a tar (gzip when gz) to a memory buffer. */
static size_t tar_mem(const struct ent *es, bool gz, char *buf, size_t cap)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e;
	size_t used = 0, n;

	archive_write_set_format_pax_restricted(a);
	if (gz)
		archive_write_add_filter_gzip(a);
	ck_assert_int_eq(archive_write_open_memory(a, buf, cap, &used),
	                 ARCHIVE_OK);
	for (; es->name; es++) {
		e = archive_entry_new();
		archive_entry_set_pathname(e, es->name);
		archive_entry_set_mtime(e, 1700000000, 0);
		n = es->len ? es->len : (es->data ? strlen(es->data) : 0);
		switch (es->type) {
		case 'd':
			archive_entry_set_filetype(e, AE_IFDIR);
			archive_entry_set_perm(e, 0755);
			n = 0;
			break;
		case 's':
			archive_entry_set_filetype(e, AE_IFLNK);
			archive_entry_set_symlink(e, es->data);
			n = 0;
			break;
		case 'h':
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_hardlink(e, es->data);
			n = 0;
			break;
		default:
			archive_entry_set_filetype(e, AE_IFREG);
			archive_entry_set_perm(e, 0644);
		}
		archive_entry_set_size(e, (la_int64_t)n);
		ck_assert_int_eq(archive_write_header(a, e), ARCHIVE_OK);
		if (n)
			ck_assert_int_eq(archive_write_data(a, es->data, n),
			                 (la_ssize_t)n);
		archive_entry_free(e);
	}
	ck_assert_int_eq(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	return used;
}

static void tar_file(const char *path, const struct ent *es, bool gz)
{
	static char buf[1 << 20];
	size_t n = tar_mem(es, gz, buf, sizeof(buf));
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(buf, 1, n, f), n);
	fclose(f);
}

/* A docker archive (manifest.json + one tar per layer). */
static void docker_archive(const char *path, const struct ent *l1,
                           const struct ent *l2)
{
	static char b1[1 << 18], b2[1 << 18];
	size_t n1 = tar_mem(l1, false, b1, sizeof(b1));
	size_t n2 = tar_mem(l2, true, b2, sizeof(b2));
	const char *man = "[{\"Config\":\"config.json\",\"RepoTags\":"
	                  "[\"t:1\"],\"Layers\":[\"l1/layer.tar\","
	                  "\"l2/layer.tar\"]}]";
	struct ent outer[] = {
	    {"manifest.json", 'f', man, 0},
	    {"config.json", 'f', "{}", 0},
	    {"l1", 'd', NULL, 0},
	    {"l1/layer.tar", 'f', b1, n1},
	    {"l2", 'd', NULL, 0},
	    {"l2/layer.tar", 'f', b2, n2},
	    {NULL, 0, NULL, 0},
	};

	tar_file(path, outer, false);
}

/* Runs a shell command and returns its stdout (static buffer). */
static const char *sh(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static const char *sh(const char *fmt, ...)
{
	static char out[65536];
	char cmd[1024];
	va_list ap;
	size_t n;
	FILE *p;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	pclose(p);
	return out;
}

static int convert(const char *src, const char *dst, enum image_fs fs,
                   char *why)
{
	struct image_opts o = {.fs = fs, .tmpdir = tmp};

	return image_to_disk(src, dst, &o, why, 256);
}

START_TEST(test_docker_layers_whiteouts)
{
	const struct ent l1[] = {
	    {"etc", 'd', NULL, 0},          {"etc/greeting", 'f', "hello", 0},
	    {"etc/gone", 'f', "x", 0},      {"app/", 'd', NULL, 0},
	    {"app/a", 'f', "a", 0},         {"app/b", 'f', "b", 0},
	    {"bin", 'd', NULL, 0},          {"bin/tool", 'f', "tool", 0},
	    {"bin/t2", 'h', "bin/tool", 0}, {NULL, 0, NULL, 0},
	};
	const struct ent l2[] = {
	    {"./etc/greeting", 'f', "bye!", 0}, {"./etc/.wh.gone", 'f', "", 0},
	    {"./app/.wh..wh..opq", 'f', "", 0}, {"./app/c", 'f', "c", 0},
	    {"./bin/sh", 's', "/bin/tool", 0},  {NULL, 0, NULL, 0},
	};
	char src[300], dst[300], why[256];
	const char *o;

	snprintf(src, sizeof(src), "%s/img.tar", tmp);
	snprintf(dst, sizeof(dst), "%s/disk.ext4", tmp);
	docker_archive(src, l1, l2);
	ck_assert_msg(convert(src, dst, IMAGE_FS_EXT4, why) == 0, "%s", why);
	/* The upper layer's file wins. */
	o = sh("debugfs -R 'cat /etc/greeting' %s 2>/dev/null", dst);
	ck_assert_str_eq(o, "bye!");
	/* .wh.gone removed etc/gone; the opaque marker emptied app/. */
	o = sh("debugfs -R 'ls -p /etc' %s 2>/dev/null", dst);
	ck_assert_ptr_nonnull(strstr(o, "/greeting/"));
	ck_assert_ptr_null(strstr(o, "/gone/"));
	ck_assert_ptr_null(strstr(o, ".wh."));
	o = sh("debugfs -R 'ls -p /app' %s 2>/dev/null", dst);
	ck_assert_ptr_nonnull(strstr(o, "/c/"));
	ck_assert_ptr_null(strstr(o, "/a/"));
	ck_assert_ptr_null(strstr(o, "/b/"));
	o = sh("debugfs -R 'stat /bin/sh' %s 2>/dev/null | grep -c "
	       "'Fast link dest: \"/bin/tool\"'",
	       dst);
	ck_assert_str_eq(o, "1\n");
	o = sh("debugfs -R 'cat /bin/t2' %s 2>/dev/null", dst);
	ck_assert_str_eq(o, "tool");
}
END_TEST

START_TEST(test_script_images_oci_docker_squashfs)
{
	const char *srcdir = getenv("PODVISOR_SOURCE");
	char tar[300], dst[300], sq[300], why[256], cmd[700];
	const char *o;

	ck_assert_msg(srcdir, "PODVISOR_SOURCE is not set (run via meson)");
	snprintf(tar, sizeof(tar), "%s/busybox-oci.tar", tmp);
	snprintf(dst, sizeof(dst), "%s/bb.ext4", tmp);
	snprintf(sq, sizeof(sq), "%s/bb.squashfs", tmp);
	snprintf(cmd, sizeof(cmd),
	         "bash %s/scripts/build-container-image.sh %s >/dev/null",
	         srcdir, tar);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_msg(convert(tar, dst, IMAGE_FS_EXT4, why) == 0, "%s", why);
	o = sh("debugfs -R 'ls -p /bin' %s 2>/dev/null", dst);
	ck_assert_ptr_nonnull(strstr(o, "/busybox/"));
	ck_assert_ptr_nonnull(strstr(o, "/sh/"));
	ck_assert_msg(convert(tar, sq, IMAGE_FS_SQUASHFS, why) == 0, "%s", why);
	o = sh("unsquashfs -l %s 2>/dev/null | grep -c '/bin/busybox$'", sq);
	ck_assert_str_eq(o, "1\n");
	/* The same image as a docker-archive. */
	snprintf(cmd, sizeof(cmd),
	         "bash %s/scripts/build-container-image.sh --docker %s "
	         ">/dev/null",
	         srcdir, tar);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_msg(convert(tar, dst, IMAGE_FS_EXT4, why) == 0, "%s", why);
	o = sh("debugfs -R 'cat /etc/podvisor-image' %s 2>/dev/null", dst);
	ck_assert_str_eq(o, "podvisor busybox image\n");
}
END_TEST

START_TEST(test_plain_directory)
{
	char dir[300], dst[300], why[256];
	const char *o;

	snprintf(dir, sizeof(dir), "%s/root", tmp);
	snprintf(dst, sizeof(dst), "%s/dir.ext4", tmp);
	sh("mkdir -p %s/etc && echo plain > %s/etc/marker", dir, dir);
	ck_assert_msg(convert(dir, dst, IMAGE_FS_EXT4, why) == 0, "%s", why);
	o = sh("debugfs -R 'cat /etc/marker' %s 2>/dev/null", dst);
	ck_assert_str_eq(o, "plain\n");
}
END_TEST

/* Converts a docker archive whose second layer is l2; expects -EINVAL. */
static void expect_refused(const struct ent *l2, const char *needle)
{
	const struct ent l1[] = {{"etc", 'd', NULL, 0}, {NULL, 0, NULL, 0}};
	char src[300], dst[300], why[256];

	snprintf(src, sizeof(src), "%s/evil.tar", tmp);
	snprintf(dst, sizeof(dst), "%s/evil.ext4", tmp);
	int r;

	docker_archive(src, l1, l2);
	r = convert(src, dst, IMAGE_FS_EXT4, why);
	ck_assert_msg(r == -EINVAL, "case %s: got %d (%s)", needle, r, why);
	ck_assert_msg(strstr(why, needle), "why: %s", why);
	ck_assert_int_eq(access(dst, F_OK), -1);
}

START_TEST(test_hostile_members)
{
	char target[300], abs[300];
	struct ent dotdot[] = {{"etc/../../escape", 'f', "x", 0},
	                       {NULL, 0, NULL, 0}};
	struct ent absolute[] = {{abs, 'f', "x", 0}, {NULL, 0, NULL, 0}};
	struct ent hard[] = {{"etc/pw", 'h', "../../../etc/passwd", 0},
	                     {NULL, 0, NULL, 0}};
	struct ent through[] = {{"evil", 's', target, 0},
	                        {"evil/planted", 'f', "x", 0},
	                        {NULL, 0, NULL, 0}};
	char path[400];

	snprintf(abs, sizeof(abs), "%s/abs-planted", tmp);
	snprintf(target, sizeof(target), "%s/target", tmp);
	mkdir(target, 0755);
	expect_refused(dotdot, "escape");
	expect_refused(absolute, "outside the rootfs");
	ck_assert_int_eq(access(abs, F_OK), -1);
	expect_refused(hard, "hard link");
	/* A symlink from one member must not carry a later one out. */
	expect_refused(through, "planted");
	snprintf(path, sizeof(path), "%s/planted", target);
	ck_assert_int_eq(access(path, F_OK), -1);
}
END_TEST

START_TEST(test_not_an_image)
{
	const struct ent junk[] = {{"hello.txt", 'f', "hi", 0},
	                           {NULL, 0, NULL, 0}};
	char src[300], dst[300], why[256];
	FILE *f;

	snprintf(dst, sizeof(dst), "%s/x.ext4", tmp);
	snprintf(src, sizeof(src), "%s/nope.tar", tmp);
	ck_assert_int_eq(convert(src, dst, IMAGE_FS_EXT4, why), -ENOENT);
	ck_assert_ptr_nonnull(strstr(why, "nope.tar"));
	tar_file(src, junk, false);
	ck_assert_int_eq(convert(src, dst, IMAGE_FS_EXT4, why), -EINVAL);
	ck_assert_msg(strstr(why, "not a container image"), "%s", why);
	f = fopen(src, "w");
	fputs("this is plain text, not a tarball\n", f);
	fclose(f);
	ck_assert_int_eq(convert(src, dst, IMAGE_FS_EXT4, why), -EINVAL);
	ck_assert_int_eq(access(dst, F_OK), -1);
}
END_TEST

START_TEST(test_oci_bad_digest)
{
	const char *idx = "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":"
	                  "\"application/vnd.oci.image.manifest.v1+json\","
	                  "\"digest\":\"sha256:"
	                  "0000000000000000000000000000000000000000000000000"
	                  "000000000000000\",\"size\":2}]}";
	const struct ent oci[] = {
	    {"oci-layout", 'f', "{\"imageLayoutVersion\":\"1.0.0\"}", 0},
	    {"index.json", 'f', idx, 0},
	    {"blobs/sha256/"
	     "0000000000000000000000000000000000000000000000000000000000"
	     "000000",
	     'f', "{}", 0},
	    {NULL, 0, NULL, 0},
	};
	char src[300], dst[300], why[256];

	snprintf(src, sizeof(src), "%s/oci.tar", tmp);
	snprintf(dst, sizeof(dst), "%s/oci.ext4", tmp);
	tar_file(src, oci, false);
	ck_assert_int_eq(convert(src, dst, IMAGE_FS_EXT4, why), -EINVAL);
	ck_assert_msg(strstr(why, "does not match its digest"), "%s", why);
}
END_TEST

START_TEST(test_full_disk)
{
	const struct ent l2[] = {{"etc", 'd', NULL, 0}, {NULL, 0, NULL, 0}};
	char src[300], small[300], dst[400], why[256];

	if (geteuid() != 0) {
		fprintf(stderr, "test_full_disk: needs root to mount a small "
		                "tmpfs; not run\n");
		return;
	}
	/* A private mount namespace: the tmpfs vanishes with this test. */
	ck_assert_int_eq(unshare(CLONE_NEWNS), 0);
	ck_assert_int_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	snprintf(src, sizeof(src), "%s/img.tar", tmp);
	snprintf(small, sizeof(small), "%s/small", tmp);
	snprintf(dst, sizeof(dst), "%s/disk.ext4", small);
	docker_archive(src, l2, l2);
	mkdir(small, 0755);
	ck_assert_int_eq(mount("tmpfs", small, "tmpfs", 0, "size=1m"), 0);
	ck_assert_int_eq(convert(src, dst, IMAGE_FS_EXT4, why), -ENOSPC);
	ck_assert_msg(strstr(why, "space"), "%s", why);
	ck_assert_int_eq(access(dst, F_OK), -1);
	umount(small);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("image");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	if (access("/sbin/debugfs", X_OK) &&
	    access("/usr/sbin/debugfs", X_OK)) {
		printf("debugfs (e2fsprogs) is missing: cannot read images "
		       "back\n");
		return 77;
	}
	setenv("PATH",
	       "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:"
	       "/sbin:/bin",
	       1);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_docker_layers_whiteouts);
	tcase_add_test(tc, test_script_images_oci_docker_squashfs);
	tcase_add_test(tc, test_plain_directory);
	tcase_add_test(tc, test_hostile_members);
	tcase_add_test(tc, test_not_an_image);
	tcase_add_test(tc, test_oci_bad_digest);
	tcase_add_test(tc, test_full_disk);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
