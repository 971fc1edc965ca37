#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A guest floods virtio-console with 32 MiB while the host client never
# reads: the VMM's resident memory must not grow by more than 16 MiB (its
# buffers are bounded), and the VMM keeps running.
. "$(dirname "$0")/lib.sh"
need_kvm
need_tool socat socat

rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$VMM_PID/status" 2>/dev/null; }

start_vmm --memory 128 --console-socket "$T/con.sock" --cmdline "test=console flood=32"
for ((i = 0; i < 100; i++)); do
	[ -S "$T/con.sock" ] && break
	sleep 0.1
done
# A client that connects and never reads (sleep never reads its stdin).
socat "UNIX-CONNECT:$T/con.sock" SYSTEM:"sleep 60" 2>/dev/null &
BG_PIDS+=("$!")
wait_serial '^READY console-flood' 20 || err "guest never started the flood"
base=$(rss)
max=$base
n=0
while kill -0 "$VMM_PID" 2>/dev/null; do
	r=$(rss)
	[ -n "$r" ] && [ "$r" -gt "$max" ] && max=$r
	sleep 0.1
	((++n > 600)) && break
done
wait_vmm 5
echo "VMM VmRSS: ${base} KiB at the start of the flood, ${max} KiB at most"
expect_rc 0 "guest powers off after the flood"
expect_pass console_flood_survived
grep -a 'console flood' "$SERIAL"
[ -n "$base" ] && [ $((max - base)) -le 16384 ] ||
	err "VmRSS grew by $((max - ${base:-0})) KiB during the flood (bound: 16 MiB)"
expect_clean
finish
