#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Supervision: kill -9 of one VMM marks that VM failed while a second keeps
# running; a restarted podvisord lists both again and re-attaches to the VMM
# still running (same pid, still controllable, its death still noticed).
. "$(dirname "$0")/lib.sh"
need_all
start_daemon

post_json /v1/vms '{"name":"a"}'
post_json /v1/vms '{"name":"b"}'
check "a running" wait_state a running 10
PA=$(body .pid)
check "b running" wait_state b running 10
PB=$(body .pid)

kill -9 "$PA"
check "a is failed after kill -9 of its VMM" wait_state a failed 10
check "a's reason names the signal" grep -q "killed by signal 9" <(body .reason)
check "a has no pid" [ "$(body .pid)" = null ]
api GET /v1/vms/b
check "b is still running" [ "$(body .state)" = running ]
check "b's VMM is alive" alive "$PB"
check "no zombie left under podvisord" \
	[ -z "$(ps -o stat= --ppid "$DPID" | grep Z)" ]

"$PVD" --socket "$SOCK" --state-dir "$T/state2" --run-dir "$T/run2" \
	--kernel "$IDLE" >"$T/second.log" 2>&1
check "a second podvisord on the same socket refuses to start" [ $? -ne 0 ]
check "saying another process listens there" grep -q "another process is listening" "$T/second.log"
check "and the first still answers" api GET /v1/vms

stop_daemon
check "b's VMM outlives podvisord" alive "$PB"
start_daemon
api GET /v1/vms
check "the restarted daemon lists both VMs" \
	[ "$(body '[.vms[].name] | sort | join(",")')" = a,b ]
api GET /v1/vms/a
check "a is still failed with its reason" \
	[ "$(body .state)" = failed ] && grep -q "signal 9" <(body .reason)
api GET /v1/vms/b
check "b is re-attached: running with the same pid" \
	[ "$(body .state)" = running -a "$(body .pid)" = "$PB" ]
check "the log says so" grep -q "re-attached to VMM pid $PB" "$DLOG"
api POST /v1/vms/b/pause
check "the re-attached VMM obeys pause" [ "$STATUS" = 200 -a "$(body .state)" = paused ]
api POST /v1/vms/b/resume
check "and resume" [ "$(body .state)" = running ]
api GET /v1/vms/b/console
check "its console still has the guest's output" grep -q Z "$T/body"

kill -9 "$PB"
check "the death of a re-attached VMM is noticed" wait_state b failed 10

# A VMM that dies while podvisord is down is failed at the next start.
post_json /v1/vms '{"name":"c"}'
check "c running" wait_state c running 10
PC=$(body .pid)
stop_daemon
kill -9 "$PC"
start_daemon
api GET /v1/vms/c
check "c, whose VMM died while podvisord was down, is failed" \
	[ "$(body .state)" = failed ]
check "with that reason" grep -q "not running when podvisord started" <(body .reason)
api DELETE /v1/vms/c

api POST /v1/vms/a/start
check "a failed VM can be started again" wait_state a running 10
PA2=$(body .pid)
for n in a b; do
	api DELETE "/v1/vms/$n"
	check "DELETE $n" [ "$STATUS" = 204 ]
done
check "a's new VMM is gone" dead "$PA2"
check "nothing left in the run dir" [ -z "$(ls -A "$T/run/vms")" ]
finish
