// SPDX-License-Identifier: Apache-2.0
#include "virtio.h"

void test_pci(void)
{
	fail("pci", "not written yet");
}
