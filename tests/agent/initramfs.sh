#!/usr/bin/env bash
# The initramfs as a guest would run it, minus the kernel (these PVM hosts
# cannot run guest userspace): build it, unpack it, run its /init as PID 1
# of fresh mount/pid/uts/ipc namespaces chrooted into it, with the agent
# told (through the environment, as the kernel command line would) to
# listen on a UNIX socket. Checks the ready marker, that the static agent
# answers and runs a container from a disk image inside that world, and
# that init powers off when the agent stops.
set -uo pipefail

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (namespaces, chroot, mounts)"
command -v cpio >/dev/null || skip "cpio is missing"
grep -qw overlay /proc/filesystems || skip "overlayfs is not available"
[ -e /dev/loop-control ] || skip "no loop devices"
unshare -m -p -f -u -i true 2>/dev/null || skip "cannot create namespaces"

build=${PODVISOR_BUILD:?run through meson test}
file "$build/src/podvisor-agent/podvisor-agent" | grep -q 'statically linked' ||
	skip "this build's podvisor-agent is not static (a sanitizer build?)"
src=${PODVISOR_SOURCE:?run through meson test}
ctl=$build/src/podvisor-agent/podvisor-agentctl
tmp=$(mktemp -d /tmp/pv-initramfs-test.XXXXXX)
ns_pid=
fails=0
cleanup() {
	[ -n "$ns_pid" ] && kill -KILL "$ns_pid" 2>/dev/null && wait "$ns_pid"
	rm -rf "$tmp"
}
trap cleanup EXIT
check() {
	local what=$1
	shift
	if "$@"; then echo "ok   - $what"; else echo "FAIL - $what"; fails=$((fails + 1)); fi
}

bash "$src/scripts/build-initramfs.sh" --build "$build" "$tmp/initrd.cpio.gz" >/dev/null ||
	{ echo "FAIL - build-initramfs.sh"; exit 1; }
list=$(zcat "$tmp/initrd.cpio.gz" | cpio -it --quiet)
bash "$src/scripts/build-initramfs.sh" --build "$build" "$tmp/initrd.cpio" >/dev/null
check "a .cpio name gives an uncompressed newc archive" bash -c 'head -c 6 "$1" | grep -q 070701' _ "$tmp/initrd.cpio"
check "  with the same files" bash -c '[ "$(cpio -it --quiet <"$1")" = "$2" ]' _ "$tmp/initrd.cpio" "$list"
for f in init bin/busybox bin/sh sbin/podvisor-agent; do
	check "initramfs has /$f" grep -qx "$f" <<<"$list"
done

root=$tmp/root
mkdir "$root"
(cd "$root" && zcat "$tmp/initrd.cpio.gz" | cpio -id --quiet)
check "the agent inside is static" bash -c 'file "$1" | grep -q "statically linked"' _ "$root/sbin/podvisor-agent"
mkdir "$root/images"
bash "$src/scripts/build-container-image.sh" "$tmp/bb.tar" >/dev/null &&
	"$build/tests/agent/pv-image-convert" "$tmp/bb.tar" "$root/images/bb.ext4" ||
	{ echo "FAIL - container image"; exit 1; }

env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin podvisor_agent_listen=unix:/agent.sock \
	unshare -m -p -f -u -i --propagation private chroot "$root" /init \
	>"$tmp/console.log" 2>&1 &
ns_pid=$!
for _ in $(seq 100); do [ -S "$root/agent.sock" ] && break; sleep 0.1; done
check "init prints the ready marker" grep -qx "podvisor-init: ready" "$tmp/console.log"
sock=unix:$root/agent.sock
check "the agent answers from inside" bash -c '"$1" "$2" "{\"op\":\"ping\"}" | grep -q "\"ok\":true"' _ "$ctl" "$sock"
"$ctl" "$sock" '{"op":"create","name":"c1","rootfs":"/images/bb.ext4","args":["sh","-c","echo in-guest $(hostname); exit 3"]}' >/dev/null
"$ctl" "$sock" '{"op":"start","name":"c1"}' >/dev/null
for _ in $(seq 50); do
	s=$("$ctl" "$sock" '{"op":"state","name":"c1"}')
	grep -q '"state":"exited"' <<<"$s" && break
	sleep 0.1
done
check "a container runs there and exits 3" grep -q '"exit_code":3' <<<"$s"
check "its output is captured" bash -c '"$1" "$2" "{\"op\":\"logs\",\"name\":\"c1\"}" | grep -q "in-guest c1"' _ "$ctl" "$sock"

init_pid=$(pgrep -P "$ns_pid" | head -1)
agent_pid=$(pgrep -P "$init_pid" -x podvisor-agent)
check "init (pid 1) runs podvisor-agent" test -n "$agent_pid"
[ -n "$agent_pid" ] && kill -TERM "$agent_pid"
for _ in $(seq 50); do kill -0 "$ns_pid" 2>/dev/null || break; sleep 0.1; done
check "init powers off after the agent exits" bash -c '! kill -0 "$1" 2>/dev/null' _ "$ns_pid"
check "init says why it powers off" grep -q "podvisor-agent exited with status 0; powering off" "$tmp/console.log"
wait "$ns_pid" 2>/dev/null
ns_pid=

if [ "$fails" -ne 0 ]; then
	echo "$fails check(s) failed; console:"
	cat "$tmp/console.log"
	exit 1
fi
echo "all checks passed"
