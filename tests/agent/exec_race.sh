#!/usr/bin/env bash
# podvisor-agent on the host: a container that goes away while an exec runs
# in it, through another client's kill or delete, by itself, or with the
# agent's own shutdown. Every client must get its answer, the exec must be
# reported killed (never a success), the agent must go on serving and stop
# on SIGTERM, and no defunct child may stay behind. Every call is bounded
# by a timeout so that a wedged agent fails the test instead of hanging it.
set -uo pipefail

. "$(dirname "$0")/lib.sh" race
CALL_TIMEOUT=10

children() { cat "/proc/$agent_pid/task/"*/children 2>/dev/null; }
# exec_child ARGS: pid of the agent's child whose command line is ARGS
# (words separated by spaces), waiting up to 5 s for it to appear.
exec_child() {
	local p
	for _ in $(seq 50); do
		for p in $(children); do
			[ "$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)" = "$1 " ] &&
				{ echo "$p"; return; }
		done
		sleep 0.1
	done
}
no_zombie_child() {
	local p z=
	for p in $(children); do
		[ "$(proc_state "$p")" = Z ] && z="$z $p"
	done
	[ -z "$z" ] || { echo "     defunct children of the agent:$z"; return 1; }
}
run() {
	local r
	r=$(call "{\"op\":\"create\",\"name\":\"$1\",\"rootfs\":\"$img\",\"args\":$2}")
	jq -e .ok <<<"$r" >/dev/null || { echo "     create $1: $r"; return 1; }
	r=$(call "{\"op\":\"start\",\"name\":\"$1\"}")
	jq -e .ok <<<"$r" >/dev/null || { echo "     start $1: $r"; return 1; }
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# exec_bg NAME OUT: client A runs "sleep 5" in NAME; its answer goes to OUT.
exec_bg() {
	call "{\"op\":\"exec\",\"name\":\"$1\",\"args\":[\"sleep\",\"5\"],\"timeout_ms\":30000}" 15 >"$2" &
	a_pid=$!
	e_pid=$(exec_child "sleep 5")
	[ -n "$e_pid" ] || echo "     the exec in $1 did not start"
}
# a_answer OUT: waits for client A; sets a_ms (ms since $t0) and a_out.
a_answer() {
	wait "$a_pid"
	a_ms=$(($(now_ms) - t0))
	a_out=$(cat "$1")
}
killed_exec() { jq_is "$1" '[.ok, .exit_code, .signal, .timed_out]|@csv' 'true,,9,false'; }
serves() { jq_is "$(call '{"op":"ping"}' 5)" .ok true; }

start_agent
# cgroups are named after containers: avoid other agents' names on the host
n=race$$

check "agent answers ping" serves

# -- client B deletes the container while client A's exec runs in it --
run $n-c1 '["sleep","300"]'
exec_bg $n-c1 "$tmp/a1"
t0=$(now_ms)
b=$(call '{"op":"delete","name":"'$n-c1'"}')
b_ms=$(($(now_ms) - t0))
check "delete during an exec answers ok" jq_is "$b" .ok true
check "  within 3 s (took ${b_ms} ms)" test "$b_ms" -lt 3000
a_answer "$tmp/a1"
check "the exec is answered: killed by SIGKILL" killed_exec "$a_out"
check "  within 3 s of the delete (took ${a_ms} ms)" test "$a_ms" -lt 3000
check "the agent serves a third request" serves
check "the container is gone" jq_is "$(call '{"op":"list"}' 5)" '.containers|length' 0
check "the exec'd process is reaped, not defunct" test -z "$(proc_state "${e_pid:-0}")"
check "no defunct child of the agent" no_zombie_child

# -- client B kills the container (SIGKILL) while A's exec runs --
run $n-c2 '["sleep","300"]'
exec_bg $n-c2 "$tmp/a2"
t0=$(now_ms)
b=$(call '{"op":"kill","name":"'$n-c2'","signal":9}')
b_ms=$(($(now_ms) - t0))
check "kill during an exec answers ok" jq_is "$b" .ok true
check "  within 3 s (took ${b_ms} ms)" test "$b_ms" -lt 3000
a_answer "$tmp/a2"
check "the exec is answered: killed by SIGKILL" killed_exec "$a_out"
check "  within 3 s of the kill (took ${a_ms} ms)" test "$a_ms" -lt 3000
check "the container is reported killed by signal 9" \
	jq_is "$(call '{"op":"wait","name":"'$n-c2'","timeout_ms":5000}')" '[.container.state, .container.signal]|@csv' '"exited",9'
check "the exec'd process is reaped, not defunct" test -z "$(proc_state "${e_pid:-0}")"
check "no defunct child of the agent" no_zombie_child
check "delete after the kill answers ok" jq_is "$(call '{"op":"delete","name":"'$n-c2'"}')" .ok true

# -- the container's main process exits by itself while A's exec runs --
run $n-c3 '["sleep","3"]'
exec_bg $n-c3 "$tmp/a3"
t0=$(now_ms)
a_answer "$tmp/a3"
check "the exec is answered: killed by SIGKILL with its container" killed_exec "$a_out"
check "the container is reported exited with code 0" \
	jq_is "$(call '{"op":"wait","name":"'$n-c3'","timeout_ms":5000}')" '[.container.state, .container.exit_code]|@csv' '"exited",0'
check "the agent serves a third request" serves
check "the exec'd process is reaped, not defunct" test -z "$(proc_state "${e_pid:-0}")"
check "no defunct child of the agent" no_zombie_child
check "delete answers ok" jq_is "$(call '{"op":"delete","name":"'$n-c3'"}')" .ok true

# -- SIGTERM to the agent while an exec runs --
run $n-c4 '["sleep","300"]'
c4_pid=$(call '{"op":"state","name":"'$n-c4'"}' | jq -r .container.pid)
exec_bg $n-c4 "$tmp/a4"
t0=$(now_ms)
kill -TERM "$agent_pid"
for _ in $(seq 50); do
	exited "$agent_pid" && break
	sleep 0.1
done
t_ms=$(($(now_ms) - t0))
check "SIGTERM during an exec ends the agent within 5 s (took ${t_ms} ms)" \
	exited "$agent_pid"
a_answer "$tmp/a4"
check "the exec is answered before the agent exits: killed" killed_exec "$a_out"
kill -KILL "$agent_pid" 2>/dev/null
wait "$agent_pid"
check "agent exits 0 on SIGTERM" test $? -eq 0
agent_pid=
check "no container or exec'd process is left" \
	test -z "$(proc_state "${c4_pid:-0}")$(proc_state "${e_pid:-0}")"
check "state dir is empty" test -z "$(ls -A "$tmp/state")"
check "no loop device left on the image" test -z "$(losetup -j "$img")"

if [ "$fails" -ne 0 ]; then
	echo "$fails check(s) failed; agent log:"
	cat "$tmp/agent.log"
	exit 1
fi
echo "all checks passed"
