// SPDX-License-Identifier: Apache-2.0
/*
 * Test guest entry: sets up interrupts and time, then runs the test named by
 * "test=<name>" on the kernel command line of the zero page.
 */
#include "rt.h"

static const struct {
	const char *name;
	void (*run)(void);
} tests[] = {
    {"boot", test_boot},         {"pci", test_pci},
    {"blk", test_blk},           {"rng", test_rng},
    {"console", test_console},   {"vsock", test_vsock},
    {"msix", test_msix},         {"hostile", test_hostile},
    {"poweroff", test_poweroff}, {"triple", test_triple},
    {"reboot", test_reboot},     {"smp", test_smp},
    {"serial", test_serial},     {"ticks", test_ticks},
    {"fuzz", test_fuzz},         {"net", test_net},
    {"halt", test_halt},         {"rtc", test_rtc},
    {"ringfuzz", test_ringfuzz}, {"net_switch", test_net_switch},
};

void guest_main(uint8_t *zp);
void guest_main(uint8_t *zp)
{
	char name[32];

	zero_page = zp;
	printf("\npodvisor test guest: zero page %p\n", (void *)zp);
	printf("INFO cmdline: %s\n", cmdline());
	idt_init();
	lapic_init();
	time_init();
	if (!arg_str("test", name, sizeof(name))) {
		fail("guest", "no test=<name> on the command line");
		guest_finish();
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(tests); i++) {
		if (!strcmp(tests[i].name, name)) {
			tests[i].run();
			guest_finish();
		}
	}
	fail("guest", "unknown test '%s'", name);
	guest_finish();
}
