// SPDX-License-Identifier: Apache-2.0
#include "virtio.h"

void test_console(void)
{
	fail("console", "not written yet");
}
