#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# virtio-net end to end through vhost-user: DPDK testpmd (vhost PMD, client
# mode, macswap forwarding) is the back-end on the VMM's socket; the guest's
# frames come back with the MACs swapped. Exercises feature negotiation, the
# memory table, ring addresses, kick and call eventfds with a real back-end.
# Then the guest resets the device and sets it up again, and the back-end is
# killed and restarted: each time the guest's frames must be reflected again
# (the VMM takes the rings back and replays the vhost-user setup).
. "$(dirname "$0")/lib.sh"
need_kvm
need_tool dpdk-testpmd dpdk

SOCK=$T/net.sock
MAC=52:54:00:12:34:56

# testpmd needs two lcores (main + forwarding); --no-huge keeps it to plain
# memory. It maps the guest's RAM from the fds the VMM sends. --stats-period
# keeps it from exiting at once on the end of its (empty) stdin.
start_testpmd() {
	dpdk-testpmd --no-huge -m 256 --no-pci --file-prefix "pvkvm$$-$1" \
		-l 0-1 --vdev "net_vhost0,iface=$SOCK,client=1,queues=1" -- \
		--forward-mode=macswap --total-num-mbufs=2048 -a --stats-period 1 \
		>"$T/testpmd-$1.log" 2>&1 &
	TESTPMD=$!
	BG_PIDS+=("$TESTPMD")
	CLEAN_PATHS+=("/var/run/dpdk/pvkvm$$-$1")
}

start_vmm --memory 128 --net "vhost-user=$SOCK,mac=$MAC" \
	--cmdline "test=net mac=${MAC//:/} reinit=1 reconnect=1"
for ((i = 0; i < 100; i++)); do
	[ -S "$SOCK" ] && break
	sleep 0.1
done
[ -S "$SOCK" ] || err "vhost-user socket $SOCK never appeared"
start_testpmd 1
if wait_serial '^READY net-reconnect' 40; then
	kill -9 "$TESTPMD"
	wait "$TESTPMD" 2>/dev/null
	echo "killed testpmd; restarting it in 2 s"
	sleep 2
	start_testpmd 2
else
	err "guest never saw its first frame reflected"
fi
wait_vmm 60
kill -INT "$TESTPMD" 2>/dev/null
expect_rc 0 "guest powers off after the checks"
expect_pass net_mac net_frame_reflected net_rx_msix net_reset_and_reinit \
	net_reconnect net_link_change_irq
expect_clean
grep -a 'INFO net' "$SERIAL"
grep -a 'vhost\|net' "$VMMLOG" | grep -v config: | tail -n 8
if [ "$ERRORS" -ne 0 ]; then
	echo "---- testpmd ----"
	tail -n 20 "$T"/testpmd-*.log
fi
finish
