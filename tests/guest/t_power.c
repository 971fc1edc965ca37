// SPDX-License-Identifier: Apache-2.0
/*
 * Ways a guest ends: power off through BOOT_PM_SLEEP_PORT (podvisor-vmm
 * exits 0), a triple fault (exits 4) and an i8042 reset (exits 3).
 */
#include "rt.h"

/* how=pm1 (default): the 16-bit PM1 control value of boot.h; how=sleepctl:
 * the 8-bit SLEEP_CONTROL_REG value (SLP_TYP 5 << 2 | SLP_EN) that Linux
 * writes on a hardware-reduced ACPI platform. */
void test_poweroff(void)
{
	char how[16];

	if (!arg_str("how", how, sizeof(how)))
		memcpy(how, "pm1", 4);
	pass("poweroff_reached");
	printf("SUMMARY pass=1 fail=%u\n", failures());
	printf("DONE\n");
	if (!strcmp(how, "sleepctl")) {
		outb(PM_SLEEP_PORT, (5u << 2) | (1u << 5));
		delay_us(500000);
		printf("FAIL poweroff: still running 0.5 s after writing 0x34 "
		       "to port 0x%x\n",
		       PM_SLEEP_PORT);
		halt_forever();
	}
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

/* A guest that stays up: "TICK n" every 50 ms for secs= seconds (default
 * 30), then powers off. The control-socket test pauses and resumes it and
 * watches the ticks stop and restart. */
void test_ticks(void)
{
	uint64_t secs = arg_u64("secs", 30), end = now_us() + secs * 1000000;

	for (unsigned int n = 0; now_us() < end; n++) {
		printf("TICK %u\n", n);
		delay_us(50000);
	}
	pass("ticks_done");
}

/* Halts with interrupts off: only the VMM can end this guest (SIGTERM or
 * the control socket), which must kick the vCPU out of its halt. */
void test_halt(void)
{
	printf("READY halt\n");
	halt_forever();
}
