// SPDX-License-Identifier: Apache-2.0
/*
 * Ways a guest ends: power off through BOOT_PM_SLEEP_PORT (podvisor-vmm
 * exits 0), a triple fault (exits 4) and an i8042 reset (exits 3).
 */
#include "rt.h"

void test_poweroff(void)
{
	pass("poweroff_reached");
	printf("SUMMARY pass=1 fail=%u\n", failures());
	printf("DONE\n");
	poweroff();
}

/* With a zero-limit IDT the #UD cannot be delivered (#GP), nor can the #GP
 * (#DF), nor the #DF: the CPU shuts down, which KVM reports as
 * KVM_EXIT_SHUTDOWN. */
void test_triple(void)
{
	printf("INFO triple: loading a null IDT and executing ud2\n");
	load_idt(0, 0);
	__asm__ volatile("ud2");
	fail("triple_fault", "ud2 with a null IDT returned");
}

void test_reboot(void)
{
	uint64_t end = now_us() + 1000000;

	printf("INFO reboot: i8042 command 0xfe (pulse reset)\n");
	while ((inb(0x64) & 2) && now_us() < end)
		cpu_relax();
	outb(0x64, 0xfe);
	delay_us(500000);
	fail("reboot", "still running 0.5 s after the i8042 reset command");
}
