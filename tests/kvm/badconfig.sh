#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The exit-status contract for bad configuration: podvisor-vmm exits 2 with
# one line that names the field, and never starts a guest.
. "$(dirname "$0")/lib.sh"
need_kvm

truncate -s 1M "$T/disk.img"
# bad ARGS... FIELD: runs the VMM with ARGS; expects exit 2 and an error line
# that mentions FIELD.
bad() {
	local field=${*: -1} out rc
	out=$(timeout 20 "$VMM" "${@:1:$#-1}" 2>&1 >/dev/null)
	rc=$?
	echo "podvisor-vmm ${*:1:$#-1} -> exit $rc: $out"
	[ "$rc" = 2 ] || err "exit $rc for '${*:1:$#-1}', expected 2"
	[ "$(grep -c 'error' <<<"$out")" = 1 ] ||
		err "expected one error line for '${*:1:$#-1}'"
	grep -q -- "$field" <<<"$out" || err "error line does not name $field"
}

bad --memory 64 kernel
bad --kernel /nonexistent kernel
bad --kernel "$GUEST" --memory 0 memory
bad --kernel "$GUEST" --memory 1 memory
bad --kernel "$GUEST" --memory 12x memory
bad --kernel "$GUEST" --memory 100000000 memory
bad --kernel "$GUEST" --vcpus 0 vcpus
bad --kernel "$GUEST" --vcpus 9999 vcpus
bad --kernel "$GUEST" --disk /nonexistent disks
bad --kernel "$GUEST" --vsock-cid 2 --vsock-uds "$T/v.sock" guest_cid
bad --kernel "$GUEST" --no-such-flag no-such-flag
echo '{"kernel": "'"$GUEST"'", "memory_mib": 64, "bogus_key": 1}' >"$T/vm.json"
bad --config "$T/vm.json" bogus_key
echo '{"kernel": ' >"$T/broken.json"
bad --config "$T/broken.json" config
[ "$ERRORS" -eq 0 ] || { echo "FAILED: $ERRORS error(s)"; exit 1; }
echo OK
