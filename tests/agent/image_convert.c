/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pv-image-convert SRC DST [ext4|squashfs]: image_to_disk() from the
 * command line, for the agent tests and the demo.
 */
#include <stdio.h>
#include <string.h>

#include "podvisor/image.h"
#include "podvisor/log.h"

int main(int argc, char **argv)
{
	struct image_opts o = {.fs = IMAGE_FS_EXT4};
	char why[512];
	int r;

	pv_log_init("pv-image-convert", PV_LOG_WARN);
	if (argc < 3 || argc > 4) {
		fprintf(stderr, "Usage: pv-image-convert SRC DST "
		                "[ext4|squashfs]\n");
		return 2;
	}
	if (argc == 4 && !strcmp(argv[3], "squashfs"))
		o.fs = IMAGE_FS_SQUASHFS;
	else if (argc == 4 && strcmp(argv[3], "ext4")) {
		fprintf(stderr,
		        "pv-image-convert: filesystem %s: use ext4 or "
		        "squashfs\n",
		        argv[3]);
		return 2;
	}
	r = image_to_disk(argv[1], argv[2], &o, why, sizeof(why));
	if (r < 0) {
		fprintf(stderr, "pv-image-convert: %s\n", why);
		return 1;
	}
	return 0;
}
