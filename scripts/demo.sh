#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# podvisor demo: on a Debian 12 machine, as root. Installs the packages
# (scripts/setup.sh), builds podvisor, the guest kernel, the initramfs (with
# podvisor-agent inside) and a small busybox container image (locally, no
# registry), starts podvisord on a private socket, then with curl creates a
# pod VM, shows it booting and runs a container in it. Every curl command is
# printed before it runs, with its answer. Everything is cleaned up at the
# end, also on failure or Ctrl-C.
#
# On a host with hardware virtualisation (VT-x/AMD-V) the container runs
# inside the pod VM, through the agent over vsock. On a PVM host
# (/sys/module/kvm_pvm) guest userspace cannot start, so the same container
# request goes to the same podvisor-agent running on the host instead.
#
# Usage: sudo scripts/demo.sh
# Env:   PODVISOR_BUILD   build directory (default: <source>/build)
#        DEMO_BOOT_SECS   PVM host: seconds of boot to show (default 20)
#        DEMO_SKIP_SETUP=1  do not run scripts/setup.sh
#        PODVISOR_GUEST_KERNEL  a bzImage to use instead of building the
#                         guest kernel (vmlinux next to it is used on PVM)
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${PODVISOR_BUILD:-$SRC/build}
BOOT_SECS=${DEMO_BOOT_SECS:-20}
VM=demo
T=
DPID=
APID=
PVM=0

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
die() {
	echo "demo.sh: $*" >&2
	exit 1
}

# --- cleanup, whatever happens -------------------------------------------
cleanup() {
	local rc=$? f pid
	set +e
	# A reader that went away (| head) must not stop the cleanup.
	trap '' PIPE
	trap - EXIT INT TERM
	if [ -n "$T" ] && [ -S "$T/api.sock" ] && [ -n "$DPID" ]; then
		curl -s -o /dev/null --max-time 10 --unix-socket "$T/api.sock" \
			-X DELETE "http://localhost/v1/vms/$VM"
	fi
	if [ -n "$DPID" ]; then
		kill "$DPID" 2>/dev/null
		wait "$DPID" 2>/dev/null
	fi
	if [ -n "$APID" ]; then
		kill "$APID" 2>/dev/null
		wait "$APID" 2>/dev/null
	fi
	# A VMM the DELETE did not stop (podvisord leaves VMMs running when it
	# is stopped): only ours, checked by its command line.
	if [ -n "$T" ]; then
		for f in "$T"/run/vms/*/vmm.pid; do
			[ -f "$f" ] || continue
			pid=$(cat "$f")
			grep -qs "$T/run" "/proc/$pid/cmdline" &&
				kill -9 "$pid" 2>/dev/null
		done
		# The host agent's containers may still hold overlay/loop mounts.
		grep -o " $T/[^ ]*" /proc/mounts | sort -r |
			while read -r m; do umount -l "$m"; done
		rm -rf "$T"
	fi
	if [ "$rc" -ne 0 ]; then
		echo "demo.sh: failed (exit $rc); everything it started is cleaned up" >&2
	else
		say "cleaned up: VM deleted, podvisord${APID:+ and the agent} stopped, $T removed"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- curl, shown ----------------------------------------------------------
# show METHOD PATH [JSON [JQ-FILTER]]: prints the curl command, runs it,
# prints the answer (through jq when it is JSON; the filter, when given, is
# shown as part of the command). STATUS and $T/body keep the whole answer.
STATUS=
show() {
	local m=$1 u=$2 d=${3:-} f=${4:-.} shown
	local args=(-s --unix-socket "$T/api.sock" -X "$m")
	[ -n "$d" ] && args+=(-H 'Content-Type: application/json' -d "$d")
	shown="curl -s --unix-socket \$SOCK -X $m"
	[ -n "$d" ] && shown+=" -H 'Content-Type: application/json' -d '$d'"
	shown+=" http://localhost$u"
	[ "$f" != . ] && shown+=" | jq '$f'"
	printf '\n\033[36m$ %s\033[0m\n' "$shown"
	STATUS=$(curl "${args[@]}" -o "$T/body" -w '%{http_code}' --max-time 30 \
		"http://localhost$u") || STATUS=000
	echo "HTTP $STATUS"
	if jq -e . "$T/body" >/dev/null 2>&1; then
		jq "$f" "$T/body"
	else
		cat "$T/body"
	fi
}
# quiet GET for polling
get() {
	curl -s --max-time 30 --unix-socket "$T/api.sock" "http://localhost$1"
}

# --- 1. packages and build -------------------------------------------------
[ "$(id -u)" = 0 ] || die "run as root (it installs packages and runs VMs): sudo $0"
start=$(date +%s)
if [ "${DEMO_SKIP_SETUP:-0}" != 1 ]; then
	say "installing packages (scripts/setup.sh)"
	"$SRC/scripts/setup.sh"
fi
say "building podvisor in $BUILD"
[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" "$SRC"
if ! out=$(ninja -C "$BUILD" -j"$(nproc)" 2>&1); then
	echo "$out" | tail -n 40
	die "the build failed (ninja -C $BUILD)"
fi
echo "$out" | tail -n 1

say "guest kernel (scripts/build-guest-kernel.sh: the first build takes tens of minutes on 2 cores, then it is cached)"
bzimage=${PODVISOR_GUEST_KERNEL:-}
[ -n "$bzimage" ] || bzimage=$("$SRC/scripts/build-guest-kernel.sh")
[ -f "$bzimage" ] || die "guest kernel $bzimage not found"
echo "$bzimage"

[ -e /dev/kvm ] || die "/dev/kvm is missing: this host has no KVM"
[ -d /sys/module/kvm_pvm ] && PVM=1
T=$(mktemp -d /tmp/podvisor-demo.XXXXXX)
SOCK=$T/api.sock

say "initramfs: busybox + init + podvisor-agent (scripts/build-initramfs.sh)"
"$SRC/scripts/build-initramfs.sh" --build "$BUILD" "$T/initramfs.cpio.gz"
ls -l "$T/initramfs.cpio.gz"

say "container image: busybox, built locally (scripts/build-container-image.sh)"
"$SRC/scripts/build-container-image.sh" "$T/busybox.tar"
# The pod VM gets the image as a read-only virtio-blk disk: unpack the OCI
# layers and make an ext4 image of them (mke2fs -d).
mkdir -p "$T/oci" "$T/rootfs"
tar -xf "$T/busybox.tar" -C "$T/oci"
manifest=$(jq -r '.manifests[0].digest | sub("sha256:"; "")' "$T/oci/index.json")
for layer in $(jq -r '.layers[].digest | sub("sha256:"; "")' \
	"$T/oci/blobs/sha256/$manifest"); do
	tar -xzf "$T/oci/blobs/sha256/$layer" -C "$T/rootfs"
done
mke2fs -q -t ext4 -L rootfs -d "$T/rootfs" "$T/busybox.ext4" 32M
rm -rf "$T/oci" "$T/rootfs"
ls -l "$T/busybox.tar" "$T/busybox.ext4"

# --- 2. podvisord ------------------------------------------------------------
# The ELF vmlinux is entered directly (PVH): on a PVM host every
# instruction of the bzImage decompressor would be emulated too.
kernel=$bzimage
[ "$PVM" = 1 ] && [ -f "$(dirname "$bzimage")/vmlinux" ] &&
	kernel=$(dirname "$bzimage")/vmlinux
say "starting podvisord on $SOCK"
echo "$BUILD/src/podvisord/podvisord --socket $SOCK --state-dir $T/state" \
	"--run-dir $T/run --kernel $kernel --initrd $T/initramfs.cpio.gz" \
	"--cmdline 'console=ttyS0 earlyprintk=ttyS0 panic=-1'"
"$BUILD/src/podvisord/podvisord" --socket "$SOCK" --state-dir "$T/state" \
	--run-dir "$T/run" --kernel "$kernel" --initrd "$T/initramfs.cpio.gz" \
	--cmdline "console=ttyS0 earlyprintk=ttyS0 panic=-1" \
	2>"$T/podvisord.log" &
DPID=$!
for _ in $(seq 100); do
	[ -S "$SOCK" ] && break
	kill -0 "$DPID" 2>/dev/null || break
	sleep 0.1
done
[ -S "$SOCK" ] || {
	cat "$T/podvisord.log"
	die "podvisord did not start"
}
echo "(below, \$SOCK is $SOCK)"

labels='{"app":"demo"}'
if [ "$PVM" = 1 ]; then
	say "this is a PVM host: the container runs through the agent on the host"
	cat <<EOF
This host's /dev/kvm is PVM (/sys/module/kvm_pvm): software nested
virtualisation. A Linux guest kernel boots here, slowly, but guest userspace
cannot run (the first syscall of /init faults under PVM's emulator; see
/work/shared/guest/NOTES.md), so podvisor-agent cannot start inside the pod
VM. The demo still creates the pod VM through the API and shows its kernel
booting. For the container it starts the same podvisor-agent binary on the
host, on a UNIX socket, and points the pod at it with the label
"podvisor.io/agent": the container request below is the same one, and goes
through the same daemon routes and agent code (image mounted read-only under
an overlay, namespaces, cgroup, output capture). What needs a host with
hardware virtualisation (VT-x/AMD-V) is the last hop: the agent running
inside the VM and answering over vsock, and so 'uname -r' printing the guest
kernel's release instead of the host's.
EOF
	echo
	echo "$BUILD/src/podvisor-agent/podvisor-agent --listen unix:$T/agent.sock --state-dir $T/agent"
	"$BUILD/src/podvisor-agent/podvisor-agent" --listen "unix:$T/agent.sock" \
		--state-dir "$T/agent" 2>"$T/agent.log" &
	APID=$!
	for _ in $(seq 50); do [ -S "$T/agent.sock" ] && break; sleep 0.1; done
	[ -S "$T/agent.sock" ] || die "podvisor-agent did not start: $(cat "$T/agent.log")"
	labels="{\"app\":\"demo\",\"podvisor.io/agent\":\"unix:$T/agent.sock\"}"
fi

# --- 3. the pod VM -------------------------------------------------------------
say "the host"
show GET /v1/host "" '{version, kvm, cpus, memory_mib, vms: .vms.total, numa: (.numa.nodes | map({node, cpus, housekeeping_cpus, free_cpus}))}'

say "create the pod VM: created and booted in one call; its vCPU gets a dedicated host core"
spec="\"name\":\"$VM\",\"vcpus\":1,\"memory_mib\":256,\"vsock\":true,\"disks\":[{\"path\":\"$T/busybox.ext4\",\"readonly\":true,\"serial\":\"rootfs\"}],\"labels\":$labels"
show POST /v1/vms "{$spec,\"placement\":{\"cpus\":\"dedicated\"}}"
if [ "$STATUS" = 507 ] || [ "$STATUS" = 503 ]; then
	say "no free core for a dedicated vCPU here: the pod VM shares the host's CPU pool instead"
	show POST /v1/vms "{$spec}"
fi
[ "$STATUS" = 201 ] || die "POST /v1/vms answered $STATUS"

state=
for _ in $(seq 100); do
	state=$(get "/v1/vms/$VM" | jq -r .state)
	[ "$state" = creating ] || break
	sleep 0.1
done
[ "$state" = running ] || die "the VM is '$state', not running: $(get "/v1/vms/$VM")"

say "the VM resource: running, its VMM's pid, boot_ms, where it was placed"
show GET "/v1/vms/$VM" "" '{id, name, state, pid, vcpus, memory_mib, boot_ms, placement: (.placement | {host_cpus, vcpus, housekeeping_cpus, cpu_node, memory})}'
vmm_pid=$(jq -r .pid "$T/body")
echo
echo "the same seen from the host: CPU affinity of the VMM's threads (pid $vmm_pid)"
for task in /proc/"$vmm_pid"/task/*; do
	printf '  %-16s %s\n' "$(cat "$task/comm")" \
		"$(grep Cpus_allowed_list "$task/status" | cut -f2)"
done

if [ "$PVM" = 1 ]; then
	say "letting the kernel boot for $BOOT_SECS s (PVM emulates it: slow)"
	sleep "$BOOT_SECS"
else
	say "waiting for the guest's podvisor-agent to answer over vsock"
	deadline=$(($(date +%s) + 120))
	until [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 \
		--unix-socket "$SOCK" "http://localhost/v1/vms/$VM/containers")" = 200 ]; do
		[ "$(date +%s)" -lt "$deadline" ] ||
			die "the agent inside the VM did not answer within 120 s"
		[ "$(get "/v1/vms/$VM" | jq -r .state)" = running ] ||
			die "the VM stopped: $(get "/v1/vms/$VM" | jq -c '{state, reason}')"
		sleep 1
	done
fi
say "the guest's serial console (its kernel log)"
show GET "/v1/vms/$VM/console"
echo "(the console has $(wc -l <"$T/body") lines so far)"
show GET "/v1/vms/$VM" "" '{state, boot_ms}'

# --- 4. the container ------------------------------------------------------------
if [ "$PVM" = 1 ]; then
	say "run a container in the pod (here: through podvisor-agent on the host, see above)"
else
	say "run a container in the pod VM (through podvisor-agent inside it, over vsock)"
fi
args='["sh","-c","echo \"hostname: $(hostname)\"; echo \"kernel: $(uname -r)\"; echo \"6*7 = $((6*7))\""]'
show POST "/v1/vms/$VM/containers" \
	"{\"name\":\"hello\",\"rootfs\":\"$T/busybox.ext4\",\"args\":$args}"
[ "$STATUS" = 201 ] || die "POST containers answered $STATUS"
for _ in $(seq 100); do
	[ "$(get "/v1/vms/$VM/containers/hello" | jq -r .state)" = exited ] && break
	sleep 0.1
done
show GET "/v1/vms/$VM/containers/hello"
code=$(jq -r .exit_code "$T/body")
show GET "/v1/vms/$VM/containers/hello/logs"
say "the container's output"
jq -r .stdout "$T/body"
echo "exit code: $code"

# --- 5. delete -----------------------------------------------------------------
say "delete the pod VM"
show DELETE "/v1/vms/$VM"
show GET /v1/vms
if [ "$PVM" = 1 ]; then
	say "summary"
	echo "Pod VM created, booted and deleted through the API; the container ran"
	echo "through podvisor-agent on the host (PVM host). Running it inside the VM"
	echo "over vsock needs a hardware-virtualisation host."
fi
echo "demo took $(($(date +%s) - start)) s"
