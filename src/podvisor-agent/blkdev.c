/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Disks by serial: the host names a container's disk by the serial it gave
 * the VMM (vm.json disks[].serial), because the guest's vdX letters follow
 * PCI probe order, which the host does not control.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "blkdev.h"

int blkdev_by_serial(const char *sysroot, const char *serial, char *out,
                     size_t len)
{
	char dir[256], path[600], buf[64];
	size_t n = strlen(serial);
	struct dirent *de;
	DIR *d;
	int fd, found = -ENOENT;
	ssize_t k;

	if (n == 0 || n > 20)
		return -EINVAL;
	snprintf(dir, sizeof(dir), "%s/block", sysroot);
	d = opendir(dir);
	if (!d)
		return -ENOENT;
	while (found < 0 && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/serial", dir, de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		k = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (k <= 0)
			continue;
		buf[k] = '\0';
		/* sysfs ends the value with a newline. */
		buf[strcspn(buf, "\n")] = '\0';
		if (!strcmp(buf, serial)) {
			snprintf(out, len, "/dev/%s", de->d_name);
			found = 0;
		}
	}
	closedir(d);
	return found;
}
