#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The full chain: curl asks a real podvisord for a pod VM booting the guest
# kernel with the initramfs (podvisor-agent inside, listening on vsock
# 1024); the agent answers through the VMM's hybrid vsock socket; a busybox
# container (image built here, attached as a read-only virtio-blk disk)
# prints its output, and its exit code 3 comes back as 3. Then the VM is
# deleted and nothing is left behind.
#
# Skips (77) without root, /dev/kvm, hardware virtualization (PVM hosts
# cannot run guest userspace), the cached guest kernel or the built tools.
# Env: PODVISOR_GUEST_KERNEL  bzImage to boot instead of the cached build
#      E2E_BOOT_SECS  time allowed for the guest to reach its agent (120)
#      E2E_FORCE_PVM=1  run on a PVM host anyway (it will fail: for
#                       debugging the test itself)
set -u

BUILD=${PODVISOR_BUILD:?run through meson test, or set PODVISOR_BUILD}
SRC=${PODVISOR_SOURCE:?run through meson test, or set PODVISOR_SOURCE}
PVD=$BUILD/src/podvisord/podvisord
VMM=$BUILD/src/podvisor-vmm/podvisor-vmm
AGENT=$BUILD/src/podvisor-agent/podvisor-agent
BOOT_SECS=${E2E_BOOT_SECS:-120}

skip() {
	echo "SKIP: $*"
	exit 77
}

[ "$(id -u)" = 0 ] || skip "needs root (pod VM disks, the daemon's run dir)"
[ -e /dev/kvm ] || skip "needs /dev/kvm (missing on this host)"
if [ -d /sys/module/kvm_pvm ] && [ "${E2E_FORCE_PVM:-0}" != 1 ]; then
	skip "the full chain needs hardware virtualization: this host's KVM is PVM, where guest userspace (init, agent) cannot run"
fi
for t in curl jq cpio mke2fs file; do
	command -v "$t" >/dev/null || skip "needs $t"
done
[ -x "$PVD" ] || skip "needs podvisord ($PVD not built)"
[ -x "$VMM" ] || skip "needs podvisor-vmm ($VMM not built)"
[ -x "$AGENT" ] || skip "needs podvisor-agent ($AGENT not built)"
file -L "$AGENT" | grep -q 'statically linked' ||
	skip "needs a static podvisor-agent for the initramfs (sanitizer builds link it dynamically)"
KERNEL=${PODVISOR_GUEST_KERNEL:-}
if [ -z "$KERNEL" ]; then
	KERNEL=$("$SRC/scripts/build-guest-kernel.sh" --cached-only 2>/dev/null) ||
		skip "needs the guest kernel, not built yet: run scripts/build-guest-kernel.sh first"
fi
[ -f "$KERNEL" ] || skip "guest kernel $KERNEL missing"

T=$(mktemp -d /tmp/pv-e2e.XXXXXX)
SOCK=$T/api.sock
DPID=
STATUS=
ERRORS=0

cleanup() {
	local f pid
	# A reader that went away (| head) must not stop the cleanup.
	trap '' PIPE
	if [ -n "$DPID" ]; then
		curl -s -o /dev/null --max-time 10 --unix-socket "$SOCK" \
			-X DELETE http://localhost/v1/vms/pod
		kill "$DPID" 2>/dev/null
		wait "$DPID" 2>/dev/null
	fi
	for f in "$T"/run/vms/*/vmm.pid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		grep -qs "$T/run" "/proc/$pid/cmdline" && kill -9 "$pid" 2>/dev/null
	done
	if [ "$ERRORS" -ne 0 ]; then
		echo "--- podvisord log ---"
		tail -n 40 "$T/daemon.log" 2>/dev/null
		echo "--- guest console (last 40 lines) ---"
		tail -n 40 "$T"/run/vms/*/console.log 2>/dev/null
	fi
	rm -rf "$T"
}
trap cleanup EXIT

ok() { echo "ok - $*"; }
bad() {
	echo "FAIL - $*"
	ERRORS=$((ERRORS + 1))
}
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else bad "$what"; fi
}
# Stop here: what follows depends on this step.
fatal() {
	bad "$*"
	echo "$ERRORS check(s) failed"
	exit 1
}
api() {
	local m=$1 u=$2
	shift 2
	STATUS=$(curl -s -o "$T/body" -w '%{http_code}' --max-time 30 \
		--unix-socket "$SOCK" -X "$m" "$@" "http://localhost$u")
}
post_json() { api POST "$1" -H 'Content-Type: application/json' -d "$2"; }
body() { jq -r "$1" "$T/body"; }

# --- the guest image and the container image ---------------------------
bash "$SRC/scripts/build-initramfs.sh" --build "$BUILD" "$T/initrd.cpio.gz" \
	>"$T/initrd.log" 2>&1 || fatal "build-initramfs.sh: $(tail -n 3 "$T/initrd.log")"
bash "$SRC/scripts/build-container-image.sh" "$T/bb.tar" >"$T/img.log" 2>&1 ||
	fatal "build-container-image.sh: $(tail -n 3 "$T/img.log")"
# The OCI layers unpacked into an ext4 image: the pod's read-only disk.
mkdir -p "$T/oci" "$T/rootfs"
tar -xf "$T/bb.tar" -C "$T/oci" || fatal "cannot unpack the image tarball"
manifest=$(jq -r '.manifests[0].digest | sub("sha256:"; "")' "$T/oci/index.json")
for layer in $(jq -r '.layers[].digest | sub("sha256:"; "")' \
	"$T/oci/blobs/sha256/$manifest"); do
	tar -xzf "$T/oci/blobs/sha256/$layer" -C "$T/rootfs" ||
		fatal "cannot unpack layer $layer"
done
mke2fs -q -t ext4 -d "$T/rootfs" "$T/bb.ext4" 32M || fatal "mke2fs -d failed"
rm -rf "$T/oci" "$T/rootfs"

# --- podvisord and the pod VM -------------------------------------------
"$PVD" --socket "$SOCK" --state-dir "$T/state" --run-dir "$T/run" \
	--kernel "$KERNEL" --initrd "$T/initrd.cpio.gz" \
	--cmdline "console=ttyS0 panic=-1" >"$T/daemon.log" 2>&1 &
DPID=$!
for _ in $(seq 100); do
	[ -S "$SOCK" ] && break
	kill -0 "$DPID" 2>/dev/null || break
	sleep 0.05
done
[ -S "$SOCK" ] || fatal "podvisord did not start: $(tail -n 3 "$T/daemon.log")"

post_json /v1/vms "{\"name\":\"pod\",\"memory_mib\":256,\"vsock\":true,\"disks\":[{\"path\":\"$T/bb.ext4\",\"readonly\":true,\"serial\":\"rootfs\"}]}"
[ "$STATUS" = 201 ] || fatal "POST /v1/vms: 201 (got $STATUS: $(cat "$T/body"))"
ok "POST /v1/vms: 201"
ID=$(body .id)
state=
for _ in $(seq 200); do
	api GET /v1/vms/pod
	state=$(body .state)
	[ "$state" = creating ] || break
	sleep 0.05
done
[ "$state" = running ] || fatal "the pod VM runs (it is '$state': $(cat "$T/body"))"
ok "the pod VM runs"

# The agent inside answers once init has started it: GET containers is a
# round trip to it over vsock (503 while nothing listens on port 1024).
answered=0
last=
deadline=$(($(date +%s) + BOOT_SECS))
while [ "$(date +%s)" -lt "$deadline" ]; do
	api GET /v1/vms/pod/containers
	last=$STATUS
	if [ "$STATUS" = 200 ]; then
		answered=1
		break
	fi
	api GET /v1/vms/pod
	[ "$(body .state)" = running ] || break
	sleep 1
done
[ "$answered" = 1 ] ||
	fatal "the agent inside the VM answers over vsock within $BOOT_SECS s (last answer: HTTP $last; VM $(body .state))"
ok "the agent inside the VM answers over vsock"
api GET /v1/vms/pod/console
check "the console shows the guest's init" grep -q 'podvisor-init: ready' "$T/body"

# --- the container -------------------------------------------------------
post_json /v1/vms/pod/containers "{\"name\":\"c1\",\"rootfs\":\"$T/bb.ext4\",\"args\":[\"sh\",\"-c\",\"echo out \$((6*7)) \$(uname -r); echo err >&2; exit 3\"]}"
[ "$STATUS" = 201 ] || fatal "POST containers: 201 (got $STATUS: $(cat "$T/body"))"
ok "POST containers: 201"
for _ in $(seq 300); do
	api GET /v1/vms/pod/containers/c1
	[ "$(body .state)" = exited ] && break
	sleep 0.1
done
check "the container exited" [ "$(body .state)" = exited ]
check "its exit code 3 came back as 3" [ "$(body .exit_code)" = 3 ]
api GET /v1/vms/pod/containers/c1/logs
out=$(body .stdout)
check "its stdout came back ('$out')" [ "${out%% *}" = out ]
check "computed inside: 6*7 = 42" [ "$(echo "$out" | cut -d' ' -f2)" = 42 ]
check "uname -r is the guest kernel's, not the host's ($(uname -r))" \
	[ -n "$(echo "$out" | cut -d' ' -f3)" ] -a \
	"$(echo "$out" | cut -d' ' -f3)" != "$(uname -r)"
check "its stderr came back" [ "$(body .stderr)" = err ]

api DELETE /v1/vms/pod
check "DELETE the pod VM: 204" [ "$STATUS" = 204 ]
check "its run dir is gone" [ ! -e "$T/run/vms/$ID" ]
api GET /v1/vms/pod
check "the pod VM is gone: 404" [ "$STATUS" = 404 ]

if [ "$ERRORS" -ne 0 ]; then
	echo "$ERRORS check(s) failed"
	exit 1
fi
echo "all checks passed"
