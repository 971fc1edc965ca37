// SPDX-License-Identifier: Apache-2.0
#include "virtio.h"

void test_blk(void)
{
	fail("blk", "not written yet");
}
