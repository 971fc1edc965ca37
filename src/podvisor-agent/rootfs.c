/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Container rootfs, run in the container's first process after clone:
 * the image read-only, a tmpfs-backed overlay on top, pivot_root into it.
 * Every mount lives in the container's private mount namespace, so they
 * all vanish with it; nothing is left to unmount on the host side.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "container.h"
#include "podvisor/util.h"

static int fail(char *msg, size_t len, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *msg, size_t len, int err, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(msg, len, fmt, ap);
	va_end(ap);
	n = strlen(msg);
	if (err)
		snprintf(msg + n, len - n, ": %s", strerror(err));
	return err ? -err : -EINVAL;
}

/* Attaches an image file to a free loop device, read-only, cleared
 * automatically at the last unmount. Returns the loop device's fd (its
 * path in dev) or -errno. */
static int loop_attach(const char *file, char *dev, size_t dev_len)
{
	struct loop_config cfg = {0};
	_cleanup_close_ int ctl = -1, ffd = -1;
	int i, nr, lfd;

	ffd = open(file, O_RDONLY | O_CLOEXEC);
	if (ffd < 0)
		return -errno;
	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return -errno;
	cfg.fd = (uint32_t)ffd;
	cfg.info.lo_flags = LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR;
	/* Another process may grab the device between the two calls. */
	for (i = 0; i < 16; i++) {
		nr = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (nr < 0)
			return -errno;
		snprintf(dev, dev_len, "/dev/loop%d", nr);
		lfd = open(dev, O_RDONLY | O_CLOEXEC);
		if (lfd < 0)
			return -errno;
		/* AUTOCLEAR detaches at the last close unless mounted: the
		 * caller keeps lfd open until the mount holds the device. */
		if (ioctl(lfd, LOOP_CONFIGURE, &cfg) == 0)
			return lfd;
		close(lfd);
		if (errno != EBUSY)
			return -errno;
	}
	return -EBUSY;
}

static int mount_image(const char *src, const char *dst, char *msg, size_t len)
{
	static const char *const types[] = {"ext4", "squashfs", "erofs",
	                                    "ext2"};
	struct stat st;
	char dev[64];
	const char *blk = src;
	size_t i;
	int loop_fd = -1, last = ENODEV;

	if (stat(src, &st) < 0)
		return fail(msg, len, errno, "rootfs %s", src);
	if (S_ISDIR(st.st_mode)) {
		if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) < 0 ||
		    mount(NULL, dst, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY,
		          NULL) < 0)
			return fail(msg, len, errno, "rootfs %s: bind", src);
		return 0;
	}
	if (S_ISREG(st.st_mode)) {
		loop_fd = loop_attach(src, dev, sizeof(dev));
		if (loop_fd < 0)
			return fail(msg, len, -loop_fd,
			            "rootfs %s: attaching a loop device", src);
		blk = dev;
	} else if (!S_ISBLK(st.st_mode)) {
		return fail(msg, len, 0,
		            "rootfs %s is neither a directory, an image file "
		            "nor a block device",
		            src);
	}
	for (i = 0; i < ARRAY_SIZE(types); i++) {
		if (mount(blk, dst, types[i], MS_RDONLY | MS_NODEV, NULL) ==
		    0) {
			if (loop_fd >= 0)
				close(loop_fd);
			return 0;
		}
		if (errno != EINVAL && errno != ENODEV)
			last = errno;
	}
	if (loop_fd >= 0)
		close(loop_fd);
	return fail(msg, len, last,
	            "rootfs %s: not an ext4, squashfs or erofs image "
	            "(make one with scripts/build-container-image.sh and the "
	            "image converter)",
	            src);
}

/* Device nodes a program expects, bind-mounted from the agent's /dev. */
static int populate_dev(const char *root, char *msg, size_t len)
{
	static const char *const nodes[] = {"null",   "zero",    "full",
	                                    "random", "urandom", "tty"};
	char path[4200];
	size_t i;
	int fd;

	snprintf(path, sizeof(path), "%s/dev", root);
	mkdir(path, 0755);
	if (mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NOEXEC,
	          "mode=755,size=64k") < 0)
		return fail(msg, len, errno, "mount /dev tmpfs");
	for (i = 0; i < ARRAY_SIZE(nodes); i++) {
		char src[32];

		snprintf(src, sizeof(src), "/dev/%s", nodes[i]);
		snprintf(path, sizeof(path), "%s/dev/%s", root, nodes[i]);
		fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0666);
		if (fd >= 0)
			close(fd);
		if (mount(src, path, NULL, MS_BIND, NULL) < 0)
			return fail(msg, len, errno, "bind %s", src);
	}
	snprintf(path, sizeof(path), "%s/dev/shm", root);
	mkdir(path, 01777);
	return 0;
}

static int pivot(const char *root, char *msg, size_t len)
{
	if (chdir(root) < 0)
		return fail(msg, len, errno, "chdir %s", root);
	/* pivot_root(".", ".") stacks the old root under the new one;
	 * detaching "." then drops it without needing a put_old dir. */
	if (syscall(SYS_pivot_root, ".", ".") == 0) {
		if (umount2(".", MNT_DETACH) < 0)
			return fail(msg, len, errno, "detach the old root");
	} else if (errno == EINVAL) {
		/* The initramfs root cannot be pivoted away (nor can a
		 * chroot's): move the new root over it instead, as runc's
		 * no-pivot mode does.
		 * Limitation: the old root stays underneath, so a workload
		 * holding CAP_SYS_CHROOT could climb out of the chroot. */
		if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
			return fail(msg, len, errno, "move the rootfs over /");
		if (chroot(".") < 0)
			return fail(msg, len, errno, "chroot");
	} else {
		return fail(msg, len, errno, "pivot_root");
	}
	if (chdir("/") < 0)
		return fail(msg, len, errno, "chdir /");
	mkdir("/proc", 0555);
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
	          NULL) < 0)
		return fail(msg, len, errno, "mount /proc");
	mkdir("/tmp", 01777);
	return 0;
}

int rootfs_enter(const struct ctr_spec *spec, const char *dir, char *msg,
                 size_t msg_len)
{
	char mnt[300], lower[320], upper[320], work[320], root[320];
	char opts[1100];
	int r;

	/* EINVAL: "/" is not a mount point (we run chrooted); the mounts
	 * below still stay in this namespace when the parent is private. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 &&
	    errno != EINVAL)
		return fail(msg, msg_len, errno, "make mounts private");
	snprintf(mnt, sizeof(mnt), "%s/mnt", dir);
	if (mount("tmpfs", mnt, "tmpfs", MS_NOSUID, "mode=700") < 0)
		return fail(msg, msg_len, errno, "mount tmpfs on %s", mnt);
	snprintf(lower, sizeof(lower), "%s/lower", mnt);
	snprintf(upper, sizeof(upper), "%s/upper", mnt);
	snprintf(work, sizeof(work), "%s/work", mnt);
	snprintf(root, sizeof(root), "%s/root", mnt);
	if (mkdir(lower, 0755) < 0 || mkdir(upper, 0755) < 0 ||
	    mkdir(work, 0755) < 0 || mkdir(root, 0755) < 0)
		return fail(msg, msg_len, errno, "mkdir under %s", mnt);
	r = mount_image(spec->rootfs, lower, msg, msg_len);
	if (r < 0)
		return r;
	snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s,workdir=%s",
	         lower, upper, work);
	if (mount("overlay", root, "overlay", 0, opts) < 0)
		return fail(msg, msg_len, errno,
		            "mount overlay (is overlayfs available?)");
	r = populate_dev(root, msg, msg_len);
	if (r < 0)
		return r;
	if (sethostname(spec->name, strlen(spec->name)) < 0)
		return fail(msg, msg_len, errno, "sethostname");
	r = pivot(root, msg, msg_len);
	if (r < 0)
		return r;
	if (chdir(spec->cwd[0] ? spec->cwd : "/") < 0)
		return fail(msg, msg_len, errno, "cwd %s", spec->cwd);
	return 0;
}
