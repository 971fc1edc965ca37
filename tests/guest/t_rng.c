// SPDX-License-Identifier: Apache-2.0
#include "virtio.h"

void test_rng(void)
{
	fail("rng", "not written yet");
}
