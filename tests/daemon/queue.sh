#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Container calls waiting behind others of their VM when the VM is
# deleted: the pod's agent accepts connections and never answers, 16
# execs fill the pool (one asking the agent, 15 waiting their turn), and
# DELETE removes the pod. The waiting calls then answer 404 at once
# instead of asking the agent one after another, each until its timeout.
. "$(dirname "$0")/lib.sh"
need_all
command -v python3 >/dev/null || skip "needs python3 (the mute agent)"

# Accepts every connection and keeps it open without a word.
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(64)
keep = []
while True:
    keep.append(s.accept()[0])
' "$T/mute.sock" </dev/null >/dev/null 2>&1 &
MPID=$!
trap 'kill "$MPID" 2>/dev/null; wait "$MPID" 2>/dev/null; cleanup' EXIT
start_daemon
for _ in $(seq 50); do [ -S "$T/mute.sock" ] && break; sleep 0.1; done

post_json /v1/vms "{\"name\":\"pod\",\"labels\":{\"podvisor.io/agent\":\"unix:$T/mute.sock\"}}"
check "pod VM runs" wait_state pod running 10

# timeout_ms 4000: each call waits 9 s for the agent, so 15 in a row
# would take more than two minutes.
CPIDS=
for i in $(seq 16); do
	curl -s -o /dev/null -w '%{http_code}\n' --max-time 15 \
		--unix-socket "$SOCK" -X POST \
		-H 'Content-Type: application/json' \
		-d '{"args":["true"],"timeout_ms":4000}' \
		http://localhost/v1/vms/pod/containers/q1/exec >"$T/x$i" &
	CPIDS="$CPIDS $!"
done
sleep 0.5
api DELETE /v1/vms/pod
check "DELETE of the pod with 16 calls in its queue: 204" [ "$STATUS" = 204 ]
wait $CPIDS
echo "# exec answers: $(sort "$T"/x* | uniq -c | tr '\n' ' ')"
check "every exec answered 404 within 15 s" \
	[ "$(cat "$T"/x* | grep -c 404)" = 16 ]
check "podvisord is alive" alive "$DPID"
finish
