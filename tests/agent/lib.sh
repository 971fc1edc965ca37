# SPDX-License-Identifier: Apache-2.0
# Shared part of the agent tests that run podvisor-agent on the host over a
# UNIX socket: the checks that skip where containers cannot run, the paths,
# a busybox image converted to ext4, the agent itself, and the helpers.
# Sourced with the temp dir's name: . lib.sh NAME

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (namespaces, cgroups, mounts)"
grep -qw overlay /proc/filesystems || skip "overlayfs is not available"
[ -e /dev/loop-control ] || skip "no loop devices (/dev/loop-control)"
command -v jq >/dev/null || skip "jq is missing"
unshare -m -p -f -u -i true 2>/dev/null || skip "cannot create namespaces"

build=${PODVISOR_BUILD:?run through meson test}
src=${PODVISOR_SOURCE:?run through meson test}
agent=$build/src/podvisor-agent/podvisor-agent
ctl=$build/src/podvisor-agent/podvisor-agentctl
convert=$build/tests/agent/pv-image-convert

tmp=$(mktemp -d "/tmp/pv-agent-$1.XXXXXX")
sock=$tmp/agent.sock
agent_pid=
fails=0

# proc_state PID: the one-letter state of a process, empty when gone.
proc_state() {
	sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1
}
# exited PID: the process is a zombie or, reaped by this shell, gone.
exited() { case "$(proc_state "$1")" in "" | Z) return 0 ;; esac; return 1; }

# stop_agent: SIGTERM, 3 s to go, then SIGKILL.
stop_agent() {
	[ -n "$agent_pid" ] && kill -0 "$agent_pid" 2>/dev/null || return 0
	kill -TERM "$agent_pid"
	for _ in $(seq 30); do
		exited "$agent_pid" && break
		sleep 0.1
	done
	kill -KILL "$agent_pid" 2>/dev/null
	wait "$agent_pid" 2>/dev/null
}
cleanup() {
	stop_agent
	rm -rf "$tmp"
}
trap cleanup EXIT

# call JSON [SECONDS]: one request, answered within SECONDS (default
# CALL_TIMEOUT, 30).
call() { timeout "${2:-${CALL_TIMEOUT:-30}}" "$ctl" "unix:$sock" "$1"; }
check() {
	local what=$1
	shift
	if "$@"; then
		echo "ok   - $what"
	else
		echo "FAIL - $what"
		fails=$((fails + 1))
	fi
}
# jq_is JSON FILTER EXPECTED: the filter's raw output equals EXPECTED.
jq_is() {
	local got
	got=$(jq -r "$2" <<<"$1" 2>/dev/null)
	[ "$got" = "$3" ] || { echo "     $2 = '$got', want '$3' in: '$1'"; return 1; }
}

# start_agent: the busybox OCI image as ext4 ($img), then the agent on
# $sock (agent_pid).
start_agent() {
	bash "$src/scripts/build-container-image.sh" "$tmp/busybox.tar" >/dev/null ||
		{ echo "FAIL - build-container-image.sh"; exit 1; }
	"$convert" "$tmp/busybox.tar" "$tmp/busybox.ext4" ||
		{ echo "FAIL - image conversion"; exit 1; }
	img=$tmp/busybox.ext4
	"$agent" --listen "unix:$sock" --state-dir "$tmp/state" 2>"$tmp/agent.log" &
	agent_pid=$!
	for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
}
