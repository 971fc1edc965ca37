#!/usr/bin/env bash
# Installs what podvisor needs to build, test and run on Debian 12.
# Usage: sudo scripts/setup.sh
set -euo pipefail

packages=(
	# build
	build-essential meson ninja-build pkg-config clang lld
	libclang-rt-14-dev clang-format
	# libraries
	libevent-dev libjson-c-dev check libhwloc-dev hwloc libnuma-dev
	libseccomp-dev
	libprotobuf-c-dev protobuf-c-compiler
	libdpdk-dev dpdk dpdk-dev
	# guest kernel and initramfs
	linux-source-6.1 flex bison libelf-dev libssl-dev bc cpio xz-utils
	busybox-static kmod
	# ACPI table cross-check (tests/unit/test_acpi.c iasl)
	acpica-tools
	# images, containers and peers for tests and benchmarks
	libarchive-dev
	e2fsprogs squashfs-tools qemu-system-x86 containerd runc socat curl jq
	openvswitch-switch-dpdk
	iproute2 util-linux procps
)

if [ "$(id -u)" -ne 0 ]; then
	echo "setup.sh: run as root (apt-get installs packages)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
echo "setup.sh: all ${#packages[@]} packages present"
