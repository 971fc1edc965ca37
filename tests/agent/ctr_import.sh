#!/usr/bin/env bash
# The images scripts/build-container-image.sh makes are real images: a
# private containerd (its own root, state and socket, stopped afterwards)
# imports both the OCI layout and the docker-archive with `ctr images
# import` and lists them for linux/amd64.
set -uo pipefail

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (containerd)"
command -v containerd >/dev/null || skip "containerd is missing"
command -v ctr >/dev/null || skip "ctr is missing"
src=${PODVISOR_SOURCE:?run through meson test}

tmp=$(mktemp -d /tmp/pv-ctr-import.XXXXXX)
ctd_pid=
fails=0
cleanup() {
	if [ -n "$ctd_pid" ]; then
		kill -TERM "$ctd_pid" 2>/dev/null
		wait "$ctd_pid" 2>/dev/null
	fi
	umount -R "$tmp/root" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
check() {
	local what=$1
	shift
	if "$@"; then echo "ok   - $what"; else echo "FAIL - $what"; fails=$((fails + 1)); fi
}

cat >"$tmp/config.toml" <<CONF
version = 2
root = "$tmp/root"
state = "$tmp/state"
[grpc]
  address = "$tmp/containerd.sock"
[ttrpc]
  address = "$tmp/containerd-ttrpc.sock"
CONF
containerd --config "$tmp/config.toml" >"$tmp/containerd.log" 2>&1 &
ctd_pid=$!
for _ in $(seq 100); do [ -S "$tmp/containerd.sock" ] && break; sleep 0.1; done
ctl() { timeout 30 ctr --address "$tmp/containerd.sock" "$@"; }

bash "$src/scripts/build-container-image.sh" --name podvisor/oci:1 "$tmp/oci.tar" >/dev/null
bash "$src/scripts/build-container-image.sh" --docker --name podvisor/docker:1 "$tmp/docker.tar" >/dev/null
check "ctr imports the OCI layout" ctl images import "$tmp/oci.tar"
check "ctr imports the docker-archive" ctl images import "$tmp/docker.tar"
list=$(ctl images ls)
check "both are listed for linux/amd64" bash -c 'grep -q "^podvisor/oci:1 .*linux/amd64" <<<"$1" && grep -q "podvisor/docker:1 .*linux/amd64" <<<"$1"' _ "$list"
# Same inputs, same bytes: the OCI image is reproducible.
bash "$src/scripts/build-container-image.sh" --name podvisor/oci:1 "$tmp/oci2.tar" >/dev/null
check "the OCI image is reproducible" cmp -s "$tmp/oci.tar" "$tmp/oci2.tar"

if [ "$fails" -ne 0 ]; then
	echo "$fails check(s) failed"
	echo "$list"
	tail -20 "$tmp/containerd.log"
	exit 1
fi
echo "all checks passed"
