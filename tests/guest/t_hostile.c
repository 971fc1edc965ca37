// SPDX-License-Identifier: Apache-2.0
#include "virtio.h"

void test_hostile(void)
{
	fail("hostile", "not written yet");
}
