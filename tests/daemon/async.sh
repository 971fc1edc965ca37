#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Slow calls do not hold up the daemon: while a 5 s exec runs in one pod
# (host-side agent, label podvisor.io/agent), GET /v1/vms answers at once
# and another pod's DELETE goes through; the exec still answers with its
# own result. A client that hangs up on a slow exec leaves the daemon
# healthy. A VMM that does not answer its stop (SIGSTOP) is killed after
# the timeout while the loop keeps serving; a second stop or a DELETE of
# the stopping VM gets 409. SIGTERM finishes the stops and DELETEs under
# way, a pod's containers included.
. "$(dirname "$0")/lib.sh"
need_all
start_host_agent
STOPPED_VMM=
trap '[ -n "$STOPPED_VMM" ] && kill -CONT "$STOPPED_VMM" 2>/dev/null
	cleanup' EXIT
start_daemon

# timed METHOD URI [curl args...]: STATUS, TIME (seconds), body in $T/tbody.
timed() {
	local m=$1 u=$2 out
	shift 2
	out=$(curl -s -o "$T/tbody" -w '%{http_code} %{time_total}' \
		--max-time 20 --unix-socket "$SOCK" -X "$m" "$@" \
		"http://localhost$u")
	STATUS=${out% *}
	TIME=${out#* }
}
# under SECONDS: the last timed call took less than that.
under() { awk -v t="$TIME" -v max="$1" 'BEGIN { exit !(t < max) }'; }
exec_body() {
	echo "{\"args\":[\"sh\",\"-c\",\"$1\"],\"timeout_ms\":20000}"
}

post_json /v1/vms "{\"name\":\"pod\",\"labels\":{\"podvisor.io/agent\":\"unix:$T/agent.sock\"}}"
check "pod VM runs" wait_state pod running 10
post_json /v1/vms '{"name":"other"}'
check "a second VM runs" wait_state other running 10
post_json /v1/vms/pod/containers "{\"name\":\"c1\",\"rootfs\":\"$T/bb.tar\",\"args\":[\"sleep\",\"300\"]}"
check "a long-running container starts: 201" [ "$STATUS" = 201 ]

# --- a slow exec and the rest of the API ---
curl -s -o "$T/exec.json" -w '%{http_code} %{time_total}' --max-time 30 \
	--unix-socket "$SOCK" -X POST -H 'Content-Type: application/json' \
	-d "$(exec_body 'sleep 5; echo slow done; exit 7')" \
	http://localhost/v1/vms/pod/containers/c1/exec >"$T/exec.out" &
EPID=$!
sleep 0.5
worst=0
for i in 1 2 3; do
	timed GET /v1/vms
	echo "# GET /v1/vms during the exec: ${TIME}s (status $STATUS)"
	check "GET /v1/vms $i during a slow exec: 200 in < 0.5 s" \
		eval '[ "$STATUS" = 200 ] && under 0.5'
	worst=$(awk -v a="$worst" -v b="$TIME" 'BEGIN { print (b > a) ? b : a }')
	sleep 0.2
done
timed DELETE /v1/vms/other
echo "# DELETE of another VM during the exec: ${TIME}s"
check "DELETE of another VM during the exec: 204 in < 2 s" \
	eval '[ "$STATUS" = 204 ] && under 2'
check "the exec is still running" alive "$EPID"
wait "$EPID"
read -r est etime <"$T/exec.out"
echo "# the exec answered after ${etime}s; slowest GET ${worst}s"
check "the exec answers 200 with its own result" \
	[ "$est" = 200 -a "$(jq -r .exit_code "$T/exec.json")" = 7 -a \
	"$(jq -r .stdout "$T/exec.json")" = "slow done" ]
check "the exec did take its time" \
	awk -v t="$etime" 'BEGIN { exit !(t >= 4.5) }'

# --- a client that hangs up on a deferred call ---
curl -s -o /dev/null --max-time 1 --unix-socket "$SOCK" -X POST \
	-H 'Content-Type: application/json' -d "$(exec_body 'sleep 3')" \
	http://localhost/v1/vms/pod/containers/c1/exec
check "curl gave up after 1 s (exit 28)" [ $? = 28 ]
timed GET /v1/vms
check "the next request is answered at once" \
	eval '[ "$STATUS" = 200 ] && under 0.5'
sleep 3
check "podvisord saw the client go" grep -q "hung up" "$DLOG"
check "podvisord is alive" alive "$DPID"
post_json /v1/vms/pod/containers/c1/exec "$(exec_body 'echo again')"
check "a later exec works: 200" [ "$STATUS" = 200 -a "$(body .stdout)" = again ]

# --- a VMM that does not answer its stop ---
post_json /v1/vms '{"name":"stuck"}'
check "a third VM runs" wait_state stuck running 10
STOPPED_VMM=$(body .pid)
kill -STOP "$STOPPED_VMM"
curl -s -o "$T/stop.json" -w '%{http_code}' --max-time 30 \
	--unix-socket "$SOCK" -X POST http://localhost/v1/vms/stuck/stop \
	>"$T/stop.out" &
SPID=$!
sleep 0.3
timed GET /v1/vms/stuck
check "GET while its stop waits: 200 in < 0.5 s, stopping" \
	eval '[ "$STATUS" = 200 ] && under 0.5 && [ "$(jq -r .state "$T/tbody")" = stopping ]'
timed POST /v1/vms/stuck/stop
check "a second stop: 409" [ "$STATUS" = 409 ]
timed DELETE /v1/vms/stuck
check "DELETE while stopping: 409" [ "$STATUS" = 409 ]
wait "$SPID"
STOPPED_VMM=
check "the stop answers 200 once SIGKILL took the VMM: stopped" \
	[ "$(cat "$T/stop.out")" = 200 -a "$(jq -r .state "$T/stop.json")" = stopped ]
api DELETE /v1/vms/stuck
check "then DELETE: 204" [ "$STATUS" = 204 ]

# --- DELETE of the pod: its agent's containers go (on a worker) first ---
api DELETE /v1/vms/pod
check "deleting the pod VM: 204" [ "$STATUS" = 204 ]
api GET /v1/vms/pod
check "it is gone" [ "$STATUS" = 404 ]
check "its container was deleted with it" \
	grep -q "container c1 deleted with the VM" "$DLOG"
check "podvisord is still alive" alive "$DPID"

# --- SIGTERM while a stop waits: it is finished first ---
post_json /v1/vms '{"name":"late"}'
check "a fourth VM runs" wait_state late running 10
STOPPED_VMM=$(body .pid)
kill -STOP "$STOPPED_VMM"
curl -s -o /dev/null --max-time 30 --unix-socket "$SOCK" -X POST \
	http://localhost/v1/vms/late/stop &
SPID=$!
sleep 0.3
check "SIGTERM during the stop: podvisord exits 0" stop_daemon
wait "$SPID"
check "the VMM is gone" dead "$STOPPED_VMM"
STOPPED_VMM=
start_daemon
api GET /v1/vms/late
check "after a restart the VM is stopped" [ "$(body .state)" = stopped ]

# --- SIGTERM while a DELETE of a pod with a host-side agent waits ---
post_json /v1/vms "{\"name\":\"gone\",\"labels\":{\"podvisor.io/agent\":\"unix:$T/agent.sock\"}}"
check "a pod VM runs again" wait_state gone running 10
STOPPED_VMM=$(body .pid)
post_json /v1/vms/gone/containers "{\"name\":\"c2\",\"rootfs\":\"$T/bb.tar\",\"args\":[\"sleep\",\"300\"]}"
check "its container starts: 201" [ "$STATUS" = 201 ]
kill -STOP "$STOPPED_VMM"
curl -s -o /dev/null --max-time 30 --unix-socket "$SOCK" -X DELETE \
	http://localhost/v1/vms/gone &
SPID=$!
sleep 0.3
check "SIGTERM during the DELETE: podvisord exits 0" stop_daemon
wait "$SPID"
check "the VMM is gone" dead "$STOPPED_VMM"
STOPPED_VMM=
check "the container went with the VM" \
	grep -q "container c2 deleted with the VM" "$DLOG"
start_daemon
api GET /v1/vms/gone
check "after a restart the VM is gone: 404" [ "$STATUS" = 404 ]
finish
