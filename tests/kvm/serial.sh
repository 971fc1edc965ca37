#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The 8250 UART as Linux's driver probes it (scratch, divisor latch,
# loopback MSR mirror, FIFOs) and its THR-empty interrupt on IRQ 4.
. "$(dirname "$0")/lib.sh"
need_kvm

run_vmm 60 --memory 64 --cmdline "test=serial"
expect_rc 0 "guest powers off after the checks"
expect_pass serial_scratch serial_divisor_latch serial_loopback_msr \
	serial_loopback_data serial_fifo_16550a serial_thre_irq4
expect_clean
finish
