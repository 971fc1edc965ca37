#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# 20 create/delete cycles leave no process, fd or file behind.
. "$(dirname "$0")/lib.sh"
need_all
start_daemon

# Warm up once so lazily opened fds (e.g. /dev/urandom) are counted.
post_json /v1/vms '{"name":"warm"}'
wait_state warm running 10 >/dev/null
api DELETE /v1/vms/warm
FDS0=$(ls /proc/"$DPID"/fd | wc -l)
PIDS=()
for i in $(seq 20); do
	post_json /v1/vms "{\"name\":\"c$i\",\"vsock\":true}"
	[ "$STATUS" = 201 ] || bad "create c$i: $STATUS $(cat "$T/body")"
	wait_state "c$i" running 10 || bad "c$i never ran"
	PIDS+=("$(body .pid)")
	api GET "/v1/vms/c$i/console" >/dev/null
	api DELETE "/v1/vms/c$i"
	[ "$STATUS" = 204 ] || bad "delete c$i: $STATUS $(cat "$T/body")"
done
FDS1=$(ls /proc/"$DPID"/fd | wc -l)
check "podvisord holds as many fds as before ($FDS0 -> $FDS1)" [ "$FDS0" = "$FDS1" ]
left=0
for p in "${PIDS[@]}"; do
	alive "$p" && left=$((left + 1))
done
check "none of the 20 VMM processes is left ($left)" [ "$left" = 0 ]
check "no zombie under podvisord" [ -z "$(ps -o pid= --ppid "$DPID")" ]
check "no run dir left" [ -z "$(ls -A "$T/run/vms")" ]
check "no state file left" [ -z "$(ls -A "$T/state/vms")" ]
api GET /v1/vms
check "the list is empty" [ "$(body '.vms | length')" = 0 ]
finish
