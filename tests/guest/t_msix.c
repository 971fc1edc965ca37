// SPDX-License-Identifier: Apache-2.0
#include "virtio.h"

void test_msix(void)
{
	fail("msix", "not written yet");
}
