#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# MSI-X: a vector per queue on three devices, per-vector and function masking
# with the PBA.
. "$(dirname "$0")/lib.sh"
need_kvm
need_tool socat socat

truncate -s 1M "$T/disk.img"
start_vmm --memory 128 --disk "$T/disk.img" --rng \
	--console-socket "$T/con.sock" --cmdline "test=msix"
# Drain the console so its transmit queue is consumed.
for ((i = 0; i < 100; i++)); do
	[ -S "$T/con.sock" ] && break
	sleep 0.1
done
socat -u "UNIX-CONNECT:$T/con.sock" OPEN:/dev/null 2>/dev/null &
BG_PIDS+=("$!")
wait_vmm 60
expect_rc 0 "guest powers off after the checks"
expect_pass msix_one_vector_per_queue msix_mask msix_function_mask
expect_clean
finish
