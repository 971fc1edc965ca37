/* SPDX-License-Identifier: Apache-2.0 */
/* Finding a guest disk by its virtio-blk serial (podvisor-agent). */
#ifndef PODVISOR_AGENT_BLKDEV_H
#define PODVISOR_AGENT_BLKDEV_H

#include <stddef.h>

/* Prefix of a rootfs that names a disk by serial: "serial:web". */
#define BLKDEV_SERIAL_PREFIX "serial:"

/*
 * Finds the block device whose serial (<sysroot>/block/<dev>/serial, as
 * virtio_blk exposes the VMM's GET_ID answer) equals serial, and writes
 * "/dev/<dev>" to out. sysroot is "/sys" except in tests. Returns 0,
 * -ENOENT when no disk has that serial, -EINVAL for an empty or
 * over-long serial (virtio-blk serials are at most 20 bytes).
 */
int blkdev_by_serial(const char *sysroot, const char *serial, char *out,
                     size_t len);

#endif
