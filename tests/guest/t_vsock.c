// SPDX-License-Identifier: Apache-2.0
#include "virtio.h"

void test_vsock(void)
{
	fail("vsock", "not written yet");
}
