#!/usr/bin/env bash
# podvisor-agent on the host, over a UNIX socket (how PVM hosts and tests
# run it): containers from a real busybox OCI image built here, converted to
# ext4 and loop-mounted read-only under an overlay. Checks what a user would:
# output, exit codes 0 and 3, death by signal, the memory limit (OOM),
# exec, isolation between two containers, and that nothing is left behind.
set -uo pipefail

. "$(dirname "$0")/lib.sh" test
if ! grep -qw memory /sys/fs/cgroup/cgroup.controllers 2>/dev/null &&
	! grep -qw memory /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null &&
	[ ! -e /sys/fs/cgroup/memory/tasks ]; then
	skip "no memory cgroup controller (v2 or v1)"
fi

contains() {
	grep -qF -- "$2" <<<"$1" || { echo "     '$2' not in: $1"; return 1; }
}
# wait_exited NAME: polls state until the container exited (10 s at most).
wait_exited() {
	local i s
	for i in $(seq 100); do
		s=$(call "{\"op\":\"state\",\"name\":\"$1\"}")
		[ "$(jq -r .container.state <<<"$s")" = exited ] && {
			echo "$s"
			return
		}
		sleep 0.1
	done
	echo "$s"
}
# run NAME ROOTFS ARGS_JSON [LIMITS_JSON]: create + start.
run() {
	local limits=${4:-\{\}} r
	r=$(call "{\"op\":\"create\",\"name\":\"$1\",\"rootfs\":\"$2\",\"args\":$3,\"limits\":$limits}")
	jq -e .ok <<<"$r" >/dev/null || { echo "     create $1: $r"; return 1; }
	r=$(call "{\"op\":\"start\",\"name\":\"$1\"}")
	jq -e .ok <<<"$r" >/dev/null || { echo "     start $1: $r"; return 1; }
}

# -- image: OCI tarball -> ext4 disk image, and the agent --
start_agent
check "agent answers ping" jq_is "$(call '{"op":"ping"}')" .ok true

# -- output and exit code 0 --
run hello "$img" '["sh","-c","echo hello from $(hostname); cat /etc/podvisor-image; echo oops >&2"]'
s=$(wait_exited hello)
check "exit code 0 reported" jq_is "$s" '[.container.exit_code, .container.signal, .container.oom_killed]|@csv' '0,,false'
l=$(call '{"op":"logs","name":"hello"}')
check "stdout captured, hostname is the container name" contains "$(jq -r .stdout <<<"$l")" "hello from hello"
check "the rootfs is the image's" contains "$(jq -r .stdout <<<"$l")" "podvisor busybox image"
check "stderr captured separately" jq_is "$l" .stderr "oops"

# -- exit code 3 --
run three "$img" '["sh","-c","exit 3"]'
check "exit code 3 reported as 3" jq_is "$(wait_exited three)" '[.container.exit_code, .container.signal]|@csv' '3,'

# -- wait answers when the container exits; others are served meanwhile --
run slow "$img" '["sh","-c","sleep 1; exit 4"]'
call '{"op":"wait","name":"slow"}' >"$tmp/wait.out" &
wpid=$!
t0=$(date +%s%N)
p=$(call '{"op":"ping"}')
t1=$(date +%s%N)
check "a pending wait does not hold up another client" test $(((t1 - t0) / 1000000)) -lt 500
wait "$wpid"
check "wait answers with the exit code" jq_is "$(cat "$tmp/wait.out")" '[.container.exit_code, .timed_out]|@csv' '4,false'
run sleeper "$img" '["sleep","300"]'
check "wait past its timeout says timed_out" jq_is "$(call '{"op":"wait","name":"sleeper","timeout_ms":200}')" '[.container.state, .timed_out]|@csv' '"running",true'

# -- a missing program is an error at start, not a success --
r=$(call "{\"op\":\"create\",\"name\":\"nosuch\",\"rootfs\":\"$img\",\"args\":[\"/bin/does-not-exist\"]}")
r=$(call '{"op":"start","name":"nosuch"}')
check "start of a missing program fails naming args" jq_is "$r" '[.ok, .error.field]|@csv' 'false,"args"'
check "  and the container is reported exited 127" jq_is "$(wait_exited nosuch)" .container.exit_code 127

# -- killed by a signal --
run victim "$img" '["sleep","300"]'
check "kill with SIGKILL accepted" jq_is "$(call '{"op":"kill","name":"victim","signal":9}')" .ok true
check "killed by signal 9 reported, no exit code" jq_is "$(wait_exited victim)" '[.container.exit_code, .container.signal, .container.state]|@csv' ',9,"exited"'

# -- memory limit: pid 1 holds 64 MiB under a 16 MiB limit --
run hog "$img" '["sh","-c","x=$(head -c 67108864 /dev/zero | tr \"\\\\000\" a); echo survived ${#x}"]' '{"memory_mib":16,"pids":32}'
s=$(wait_exited hog)
check "memory hog reported OOM-killed by SIGKILL" jq_is "$s" '[.container.oom_killed, .container.signal, .container.exit_code]|@csv' 'true,9,'
check "  and it did not get to finish" jq_is "$(call '{"op":"logs","name":"hog"}')" '.stdout|test("survived")' false

# -- exec into a running container --
run box "$img" '["sleep","301"]'
e=$(call '{"op":"exec","name":"box","args":["sh","-c","hostname; cat /proc/1/cmdline | tr \"\\\\000\" \" \"; echo; exit 7"]}')
check "exec runs in the container's uts namespace" contains "$(jq -r .stdout <<<"$e")" "box"
check "exec sees the container's pid 1" contains "$(jq -r .stdout <<<"$e")" "sleep 301"
check "exec exit code 7 reported" jq_is "$e" '[.exit_code, .signal, .timed_out]|@csv' '7,,false'
e=$(call '{"op":"exec","name":"box","args":["sleep","5"],"timeout_ms":300}')
check "exec past its timeout is killed and says so" jq_is "$e" '[.timed_out, .signal]|@csv' 'true,9'

e=$(call '{"op":"exec","name":"box","args":["sh","-c","yes | head -c 1000000"]}')
check "exec output is capped at 256 KiB and says so" jq_is "$e" '[(.stdout|length), .truncated, .exit_code]|@csv' '262144,true,0'
e=$(call '{"op":"exec","name":"box","args":["head","-c","300000","/dev/zero"]}')
check "an answer too big for a frame is a too_large error" jq_is "$e" .error.code too_large

e=$(call '{"op":"exec","name":"box","args":["sh","-c","echo $PWD $GREETING"],"cwd":"/etc","env":["GREETING=hi"]}')
check "exec honours cwd and env" jq_is "$e" .stdout "/etc hi"

# -- pids limit: at most 4 tasks, the fifth fork fails --
run forky "$img" '["sh","-c","for i in 1 2 3 4 5 6; do sleep 2 & done; wait; echo done"]' '{"pids":4}'
s=$(wait_exited forky)
l=$(call '{"op":"logs","name":"forky"}')
check "pids limit stops the fork" contains "$(jq -r .stderr <<<"$l")" "can't fork"

# -- two containers are isolated --
run other "$img" '["sleep","302"]'
call '{"op":"exec","name":"box","args":["sh","-c","echo secret > /tmp/only-in-box"]}' >/dev/null
e=$(call '{"op":"exec","name":"other","args":["sh","-c","ls /tmp; ps -o pid,args; cat /proc/1/cmdline | tr \"\\\\000\" \" \""]}')
out=$(jq -r .stdout <<<"$e")
check "other does not see box's files" bash -c '! grep -q only-in-box <<<"$1"' _ "$out"
check "other's pid 1 is its own" contains "$out" "sleep 302"
check "other does not see box's processes" bash -c '! grep -q "sleep 301" <<<"$1"' _ "$out"
e=$(call '{"op":"exec","name":"box","args":["cat","/tmp/only-in-box"]}')
check "box still has its file" jq_is "$e" .stdout secret
check "the image itself was not written" bash -c '! debugfs -R "ls -p /tmp" "$1" 2>/dev/null | grep -q only-in-box' _ "$img"

# -- errors name the field and the fix --
check "unknown container is not_found" jq_is "$(call '{"op":"state","name":"ghost"}')" '.error.code' not_found
check "duplicate name is already_exists" jq_is "$(call "{\"op\":\"create\",\"name\":\"box\",\"rootfs\":\"$img\",\"args\":[\"true\"]}")" '.error.code' already_exists
check "a disk serial that no disk has names rootfs" jq_is "$(call '{"op":"create","name":"x","rootfs":"serial:nope","args":["true"]}')" '.error.field' rootfs
check "missing rootfs names the field" jq_is "$(call '{"op":"create","name":"x","rootfs":"/nonexistent.img","args":["true"]}')" '.error.field' rootfs
check "start twice is wrong_state" jq_is "$(call '{"op":"start","name":"box"}')" '.error.code' wrong_state

# -- delete everything; nothing may remain --
pids=$(call '{"op":"list"}' | jq -r '.containers[].pid')
for n in $(call '{"op":"list"}' | jq -r '.containers[].name'); do
	call "{\"op\":\"delete\",\"name\":\"$n\"}" >/dev/null
done
check "list is empty after delete" jq_is "$(call '{"op":"list"}')" '.containers|length' 0
left=
for p in $pids; do kill -0 "$p" 2>/dev/null && left="$left $p"; done
check "no container process left" test -z "$left"
check "no per-container cgroup left" bash -c '! find /sys/fs/cgroup -path "*/podvisor/*" -maxdepth 6 -type d 2>/dev/null | grep -qE "/podvisor/(hello|three|nosuch|victim|hog|box|other|forky|slow|sleeper)\.[0-9]+$"'
check "state dir is empty" test -z "$(ls -A "$tmp/state")"
check "no loop device left on the image" test -z "$(losetup -j "$img")"
check "no mount left under the test dir" bash -c '! grep -q "$1" /proc/self/mountinfo' _ "$tmp"

kill -TERM "$agent_pid"
wait "$agent_pid"
check "agent exits 0 on SIGTERM" test $? -eq 0

# The guest's listener: vsock binds here too, though nothing can reach it
# without a vsock transport between host and guest.
if python3 -c 'import socket; socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)' 2>/dev/null; then
	timeout --preserve-status -s TERM 1 "$agent" --listen vsock:10240 --state-dir "$tmp/vstate" 2>"$tmp/vsock.log"
	check "agent listens on vsock:10240 (exit 0 on SIGTERM)" test $? -eq 0
	check "  and logs it" grep -q "listening on vsock:10240" "$tmp/vsock.log"
else
	echo "# AF_VSOCK unavailable here: vsock listener not checked"
fi
check "a bad --listen is refused with exit 2" bash -c '"$1" --listen tcp:1 2>/dev/null; test $? -eq 2' _ "$agent"
agent_pid=
check "agent removed its socket" test ! -e "$sock"

if [ "$fails" -ne 0 ]; then
	echo "$fails check(s) failed; agent log:"
	cat "$tmp/agent.log"
	exit 1
fi
echo "all checks passed"
