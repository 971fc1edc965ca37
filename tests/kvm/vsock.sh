#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Hybrid vsock both ways: the guest connects to host port 5000 (the VMM
# dials <uds>_5000, where a listener answers), then the host writes
# "CONNECT 1234" to <uds> and talks to the guest's listener; last, 1001
# bytes to a guest that granted 100 bytes of credit: at most 100 may arrive
# until its CREDIT_UPDATE, then the rest.
. "$(dirname "$0")/lib.sh"
need_kvm
need_tool socat socat

UDS=$T/vsock.sock
# The host service on port 5000: keeps the guest's line, answers one.
cat >"$T/listener.sh" <<LISTENER
IFS= read -r line
printf '%s\n' "\$line" >"$T/from-guest"
echo host-reply
sleep 2
LISTENER
socat "UNIX-LISTEN:${UDS}_5000" EXEC:"sh $T/listener.sh" 2>"$T/listen.err" &
BG_PIDS+=("$!")
start_vmm --memory 128 --vsock-cid 3 --vsock-uds "$UDS" \
	--cmdline "test=vsock cid=3 hport=5000 gport=1234 credit=1235"
if wait_serial "^READY vsock-listen 1234" 30; then
	coproc VS { exec socat - "UNIX-CONNECT:$UDS" 2>"$T/socat.err"; }
	BG_PIDS+=("$VS_PID")
	echo "CONNECT 1234" >&"${VS[1]}"
	ok=
	IFS= read -r -t 10 ok <&"${VS[0]}"
	[[ "$ok" =~ ^OK\ [0-9]+$ ]] || err "host got '$ok' after CONNECT 1234, expected OK <port>"
	echo "host-to-guest-data" >&"${VS[1]}"
	reply=
	IFS= read -r -t 10 reply <&"${VS[0]}"
	[ "$reply" = "guest-echo:host-to-guest-data" ] ||
		err "host read '$reply' from the guest, expected guest-echo:host-to-guest-data"
	exec {VS[1]}>&-
	kill "$VS_PID" 2>/dev/null
else
	err "guest never got to READY vsock-listen"
fi
# Credit: the guest accepts with buf_alloc 100 and reads nothing at first.
if wait_serial "^READY vsock-credit 1235" 30; then
	# (bash keeps one coproc at a time: a plain pipeline here)
	(
		echo "CONNECT 1235"
		sleep 0.5
		head -c 1000 /dev/zero | tr '\0' C
		echo
		sleep 10
	) | socat - "UNIX-CONNECT:$UDS" >"$T/credit.out" 2>"$T/socat2.err" &
	BG_PIDS+=("$!")
else
	err "guest never got to READY vsock-credit"
fi
wait_vmm 40
grep -q '^OK [0-9]\+$' "$T/credit.out" 2>/dev/null ||
	err "host got '$(head -c 40 "$T/credit.out" 2>/dev/null)' after CONNECT 1235"
expect_rc 0 "guest powers off after the checks"
[ "$(cat "$T/from-guest" 2>/dev/null)" = guest-to-host-data ] ||
	err "listener at ${UDS}_5000 got '$(cat "$T/from-guest" 2>/dev/null)', expected guest-to-host-data"
expect_pass vsock_guest_cid vsock_guest_connect vsock_host_credit \
	vsock_guest_send vsock_guest_receive vsock_host_connect \
	vsock_host_data vsock_guest_echo vsock_rx_msix vsock_credit_connect \
	vsock_credit_respected vsock_credit_update_resumes
expect_clean
finish
