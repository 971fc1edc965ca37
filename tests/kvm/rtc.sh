#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The CMOS RTC as Linux reads the wall clock at boot: valid BCD, 24-hour
# mode, battery good, writable CMOS RAM, and a time within 2 minutes of the
# host's UTC clock.
. "$(dirname "$0")/lib.sh"
need_kvm

run_vmm 30 --memory 64 --cmdline "test=rtc"
expect_rc 0 "guest powers off after the checks"
expect_pass rtc_registers rtc_cmos_ram
guest=$(sed -n 's/^RTC //p' "$SERIAL" | tr -d '\r')
echo "guest RTC: $guest, host: $(date -u '+%Y-%m-%d %H:%M:%S')"
g=$(date -u -d "$guest" +%s 2>/dev/null || echo 0)
d=$(($(date -u +%s) - g))
[ "${d#-}" -le 120 ] || err "guest RTC '$guest' is ${d} s away from the host's UTC time"
expect_clean
finish
