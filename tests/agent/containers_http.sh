#!/usr/bin/env bash
# podvisord's container routes with curl: POST/GET/DELETE
# /v1/vms/{id}/containers... served by src/podvisord/containers.c (in a
# harness with fake pods, no VM) against the real podvisor-agent on a UNIX
# socket, as on a PVM host. The rootfs is an OCI tarball the route turns
# into an ext4 disk. Checks statuses, bodies and cleanup.
set -uo pipefail

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (the agent makes namespaces and mounts)"
grep -qw overlay /proc/filesystems || skip "overlayfs is not available"
[ -e /dev/loop-control ] || skip "no loop devices"
command -v curl >/dev/null || skip "curl is missing"
command -v jq >/dev/null || skip "jq is missing"
unshare -m -p -f -u -i true 2>/dev/null || skip "cannot create namespaces"

build=${PODVISOR_BUILD:?run through meson test}
src=${PODVISOR_SOURCE:?run through meson test}
tmp=$(mktemp -d /tmp/pv-ctr-http.XXXXXX)
pids=()
fails=0
cleanup() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null && wait "$p"; done
	rm -rf "$tmp"
}
trap cleanup EXIT
check() {
	local what=$1
	shift
	if "$@"; then echo "ok   - $what"; else echo "FAIL - $what"; fails=$((fails + 1)); fi
}
# api METHOD PATH [BODY]: prints "<status> <body>".
api() {
	local args=(-s -o "$tmp/body" -w '%{http_code}' --unix-socket "$tmp/api.sock"
		-X "$1" "http://podvisor$2")
	[ $# -ge 3 ] && args+=(-H 'Content-Type: application/json' -d "$3")
	local st
	st=$(curl "${args[@]}")
	echo "$st $(cat "$tmp/body")"
}
is() { # is "<status> <body>" STATUS JQ EXPECTED
	local st=${1%% *} body=${1#* } got
	got=$(jq -r "$3" <<<"$body" 2>/dev/null)
	[ "$st" = "$2" ] && [ "$got" = "$4" ] ||
		{ echo "     want $2 and $3 = '$4'; got $st, '$got': $body"; return 1; }
}
wait_exited() {
	local r
	for _ in $(seq 100); do
		r=$(api GET "/v1/vms/p1/containers/$1")
		[ "$(jq -r .state <<<"${r#* }")" = exited ] && break
		sleep 0.1
	done
	echo "$r"
}

bash "$src/scripts/build-container-image.sh" "$tmp/bb.tar" >/dev/null ||
	{ echo "FAIL - build-container-image.sh"; exit 1; }
mkdir "$tmp/run"
"$build/src/podvisor-agent/podvisor-agent" --listen "unix:$tmp/agent.sock" \
	--state-dir "$tmp/state" 2>"$tmp/agent.log" &
pids+=("$!")
"$build/tests/agent/pv-containers-http" "$tmp/api.sock" "unix:$tmp/agent.sock" \
	"$tmp/run" 2>"$tmp/http.log" &
pids+=("$!")
for _ in $(seq 50); do [ -S "$tmp/api.sock" ] && [ -S "$tmp/agent.sock" ] && break; sleep 0.1; done

r=$(api POST /v1/vms/p1/containers "{\"name\":\"web\",\"rootfs\":\"$tmp/bb.tar\",\"args\":[\"sh\",\"-c\",\"echo served by \$(hostname); expr 6 \\\\* 7\"]}")
check "POST containers creates and starts: 201" is "$r" 201 .name web
check "  the OCI tarball became an ext4 disk in the VM's run dir" test -f "$tmp/run/containers/web.ext4"
check "GET container shows exit code 0" is "$(wait_exited web)" 200 '[.exit_code, .signal]|@csv' '0,'
r=$(api GET /v1/vms/p1/containers/web/logs)
check "GET logs has the workload's output" is "$r" 200 .stdout $'served by web\n42'

r=$(api POST /v1/vms/p1/containers "{\"name\":\"three\",\"rootfs\":\"$tmp/bb.tar\",\"args\":[\"sh\",\"-c\",\"exit 3\"]}")
check "a second container starts" is "$r" 201 .state running
check "exit code 3 comes back as 3" is "$(wait_exited three)" 200 .exit_code 3

r=$(api POST /v1/vms/p1/containers "{\"name\":\"svc\",\"rootfs\":\"$tmp/bb.tar\",\"args\":[\"sleep\",\"300\"],\"limits\":{\"memory_mib\":32}}")
check "a long-running container starts with a memory limit" is "$r" 201 .memory_mib 32
r=$(api POST /v1/vms/p1/containers/svc/exec '{"args":["sh","-c","cat /proc/1/cmdline; exit 5"]}')
check "exec answers with its output and exit code" is "$r" 200 '[(.stdout|gsub("\u0000";" ")), .exit_code]|@csv' '"sleep 300 ",5'
r=$(api POST /v1/vms/p1/containers/svc/kill '{"signal":9}')
check "kill with signal 9: 200" is "$r" 200 '.ok' null
check "  and the state says signal 9" is "$(wait_exited svc)" 200 '[.exit_code, .signal]|@csv' ',9'

r=$(api GET /v1/vms/p1/containers)
check "GET containers lists all three" is "$r" 200 'map(.name)|sort|join(",")' 'svc,three,web'

# -- errors --
r=$(api POST /v1/vms/p1/containers "{\"name\":\"bad\",\"rootfs\":\"$tmp/bb.tar\"}")
check "missing args: 400 naming the field" is "$r" 400 .error.field args
r=$(api POST /v1/vms/p1/containers "{\"name\":\"web\",\"rootfs\":\"$tmp/bb.tar\",\"args\":[\"true\"]}")
check "duplicate name: 409" is "$r" 409 .error.code conflict
echo "not an image" >"$tmp/junk.tar"
r=$(api POST /v1/vms/p1/containers "{\"name\":\"junk\",\"rootfs\":\"$tmp/junk.tar\",\"args\":[\"true\"]}")
check "a rootfs that is not an image: 400 on rootfs" is "$r" 400 .error.field rootfs
r=$(api POST /v1/vms/p1/containers '{"name":"x","rootfs":"/nonexistent","args":["true"]}')
check "a rootfs that does not exist: 400 on rootfs" is "$r" 400 .error.field rootfs
r=$(api GET /v1/vms/p1/containers/ghost)
check "unknown container: 404" is "$r" 404 .error.code not_found
r=$(api POST /v1/vms/off/containers '{"name":"x","rootfs":"/r","args":["true"]}')
check "a stopped VM: 409 on state" is "$r" 409 .error.field state
r=$(api GET /v1/vms/nope/containers)
check "unknown VM: 404" is "$r" 404 .error.field id

# -- delete --
for c in web three svc; do
	r=$(api DELETE "/v1/vms/p1/containers/$c")
	check "DELETE $c: 200" is "$r" 200 .ok null
done
check "GET after DELETE: 404" is "$(api GET /v1/vms/p1/containers/web)" 404 .error.code not_found
check "the converted disks are removed" test -z "$(ls -A "$tmp/run/containers")"
check "the agent has no container left" is "$(api GET /v1/vms/p1/containers)" 200 length 0

api POST /v1/vms/p1/containers "{\"name\":\"left\",\"rootfs\":\"$tmp/bb.tar\",\"args\":[\"sleep\",\"300\"]}" >/dev/null
r=$(api DELETE /v1/vms/p1)
check "deleting the VM empties its host-side agent" is "$(api GET /v1/vms/p1/containers)" 200 length 0
kill -TERM "${pids[0]}"
wait "${pids[0]}"
r=$(api GET /v1/vms/p1/containers)
check "an agent that is gone: 503" is "$r" 503 .error.code insufficient_resources

if [ "$fails" -ne 0 ]; then
	echo "$fails check(s) failed"
	echo "--- agent"; cat "$tmp/agent.log"
	echo "--- http"; cat "$tmp/http.log"
	exit 1
fi
echo "all checks passed"
