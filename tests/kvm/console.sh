#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# virtio-console both ways through --console-socket: the host reads the
# guest's line from the socket and writes one the guest echoes on serial.
. "$(dirname "$0")/lib.sh"
need_kvm
need_tool socat socat

start_vmm --memory 128 --console-socket "$T/con.sock" --cmdline "test=console"
for ((i = 0; i < 100; i++)); do
	[ -S "$T/con.sock" ] && break
	sleep 0.1
done
if [ -S "$T/con.sock" ]; then
	coproc CON { exec socat - "UNIX-CONNECT:$T/con.sock" 2>"$T/socat.err"; }
	BG_PIDS+=("$CON_PID")
	line=
	IFS= read -r -t 20 line <&"${CON[0]}"
	[ "$line" = hello-from-guest ] ||
		err "host read '$line' from the console socket, expected hello-from-guest"
	echo "hello-from-host" >&"${CON[1]}"
else
	err "console socket $T/con.sock never appeared"
fi
wait_vmm 40
expect_rc 0 "guest powers off after the checks"
expect_pass console_tx_queued console_tx_used console_tx_msix \
	console_host_to_guest console_rx_msix
grep -qa '^CONSOLE-RX hello-from-host$' "$SERIAL" ||
	err "guest did not echo the host's line"
expect_clean
finish
