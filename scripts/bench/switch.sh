#!/usr/bin/env bash
# Packets per second through podvisor-switch vs dpdk-testpmd io forwarding
# (the ceiling) vs OVS-DPDK, 64- and 1518-byte frames, testpmd virtio-user
# generator and sink. Prints figures and ratios; not a test.
#
# Usage: scripts/bench/switch.sh [BUILD_DIR]     (root; BENCH_SECONDS=5)
# OVS-DPDK needs openvswitch-switch-dpdk and reserves 1024 2 MiB hugepages
# for the duration of its run, releasing them afterwards.
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
export PODVISOR_BUILD="${1:-${PODVISOR_BUILD:-$here/build}}"
exec python3 "$here/tests/switch/bench_switch.py"
