/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Container images to disk images (src/podvisord/image.c).
 *
 * A pod VM's container rootfs reaches the guest as a virtio-blk disk; the
 * agent mounts it read-only under an overlay. This module builds that disk
 * from what an operator has on the host: a rootfs directory, an OCI image
 * layout (directory or tarball: oci-layout, index.json, blobs/sha256/...) or
 * a docker-archive tarball (`docker save`: manifest.json + layer tars).
 *
 * Layers are applied in order; whiteouts are honoured (".wh.NAME" removes
 * NAME from the lower layers, ".wh..wh..opq" empties its directory).
 * Extraction is safe against hostile archives: a member whose name is
 * absolute or climbs out with "..", or a hard link pointing out, fails the
 * conversion; nothing is written through symlinks from earlier members.
 * Layer blobs are checked against their sha256 digests when the image
 * names them by digest (OCI).
 *
 * Needs mke2fs (e2fsprogs) for ext4 and mksquashfs (squashfs-tools) for
 * squashfs, found in PATH or /usr/sbin, /sbin.
 */
#ifndef PODVISOR_IMAGE_H
#define PODVISOR_IMAGE_H

#include <stddef.h>
#include <stdint.h>

enum image_fs {
	IMAGE_FS_EXT4,     /* mke2fs -t ext4 -d ROOTFS, with free space */
	IMAGE_FS_SQUASHFS, /* mksquashfs, compressed and read-only */
};

struct image_opts {
	enum image_fs fs;
	/* ext4 only: free space added on top of the files (MiB). */
	uint64_t extra_mib;
	/* Scratch space for unpacking; NULL = $TMPDIR or /var/tmp. */
	const char *tmpdir;
};

/*
 * Converts src into a disk image written to dst (created or replaced).
 * Returns 0, or -errno with a one-line reason a person can act on in why:
 *   -ENOENT  src does not exist
 *   -EINVAL  src is not an image (not a directory, OCI layout or docker
 *            archive), or a member is unsafe or a digest does not match
 *   -ENOSPC  the destination's filesystem (or the scratch space) is full
 *   -EIO     the filesystem tool failed (its message is in why)
 * On failure dst is removed and the scratch space cleaned up.
 */
int image_to_disk(const char *src, const char *dst,
                  const struct image_opts *opts, char *why, size_t why_len);

/*
 * Unpacks src's layers, in order, into rootfs_dir (an existing, empty,
 * symlink-free path). A plain directory src is not accepted here. Same
 * return convention as image_to_disk.
 */
int image_unpack(const char *src, const char *rootfs_dir, const char *tmpdir,
                 char *why, size_t why_len);

#endif
