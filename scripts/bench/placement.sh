#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Placement benchmark (issue 5): on a synthetic 4-node, 256-PU host
# (hwloc "pack:2 numa:2(memory=256GB) core:32 pu:2") with 500 VMs placed:
#  1. placement decisions per second under create/delete churn (each step
#     releases a random VM and places a new one, 507 refusals included);
#  2. time to rebuild the placer after a daemon restart from the 500
#     persisted decisions (JSON text -> numa_alloc_from_json ->
#     numa_place_restore), and whether the host view came back identical;
#  3. the peer in the same run: one hwloc topology load of that host.
# Prints figures; it is not a test.
#
# Usage: scripts/bench/placement.sh [--build DIR] [--vms N] [--steps N]
#        [--topology DESC] [--seed S]
set -euo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd)
build=${PODVISOR_BUILD:-$src/build}
args=()
while [ $# -gt 0 ]; do
	case "$1" in
	--build) build=$(cd "$2" && pwd); shift 2 ;;
	--vms | --steps | --topology | --seed) args+=("$1" "$2"); shift 2 ;;
	-h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "placement.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
done

bench=$build/numa/numa-placement-bench
[ -x "$bench" ] || {
	echo "placement.sh: $bench missing; build with:" \
		"meson setup $build && ninja -C $build numa/numa-placement-bench" >&2
	exit 1
}
echo "placement benchmark: $(nproc) host CPUs, $(date -u +%FT%TZ)"
exec "$bench" "${args[@]}"
