#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A hostile vsock driver: data for unknown connections, spoofed source CID,
# another VM as destination, SEQPACKET, a length beyond the buffer, a cut
# header, a port nobody listens on. None may reach the host listener; the
# VMM keeps running and a normal connection works afterwards.
. "$(dirname "$0")/lib.sh"
need_kvm
need_tool socat socat

UDS=$T/vsock.sock
cat >"$T/listener.sh" <<LISTENER
echo connection >>"$T/conns"
IFS= read -r line
printf '%s\n' "\$line" >"$T/from-guest"
echo host-reply
sleep 2
LISTENER
socat "UNIX-LISTEN:${UDS}_5000,fork" EXEC:"sh $T/listener.sh" 2>"$T/listen.err" &
BG_PIDS+=("$!")
run_vmm 60 --memory 128 --vsock-cid 3 --vsock-uds "$UDS" \
	--cmdline "test=vsock cid=3 hport=5000 hostile=1"
expect_rc 0 "guest powers off after the checks"
expect_pass vsock_hostile_rw_unknown_conn vsock_hostile_spoofed_src_cid \
	vsock_hostile_other_dst_cid vsock_hostile_seqpacket \
	vsock_hostile_len_beyond_buffer vsock_hostile_short_header \
	vsock_hostile_no_listener vsock_guest_connect vsock_guest_send \
	vsock_guest_receive
n=$(wc -l <"$T/conns" 2>/dev/null || echo 0)
[ "$n" = 1 ] ||
	err "the host listener saw $n connections; only the last, legitimate one may reach it"
expect_clean
grep -a 'vsock' "$VMMLOG" | grep -v config: | tail -n 10
finish
