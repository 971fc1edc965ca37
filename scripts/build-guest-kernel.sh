#!/usr/bin/env bash
# Builds podvisor's minimal guest kernel from Debian's linux-source-6.1 and
# prints the path of the bzImage (vmlinux sits next to it).
#
# The result is cached in ${PODVISOR_CACHE:-/var/cache/podvisor}/kernel/<hash>/
# where <hash> covers the config fragment, the patches and the kernel source
# tarball's name and size, so a second run is instant.
#
# Usage: scripts/build-guest-kernel.sh [--jobs N] [--cached-only]
#   --cached-only  print the cached bzImage path, or exit 1 if not built
# Env:   PODVISOR_CACHE    cache root (default /var/cache/podvisor)
#        LINUX_SOURCE_TAR  source tarball (default /usr/src/linux-source-6.1.tar.xz)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
frag="$here/guest-kernel/podvisor.config"
src_tar=${LINUX_SOURCE_TAR:-/usr/src/linux-source-6.1.tar.xz}
cache=${PODVISOR_CACHE:-/var/cache/podvisor}
jobs=2
cached_only=0

while [ $# -gt 0 ]; do
	case "$1" in
	--jobs) jobs=$2; shift 2 ;;
	--cached-only) cached_only=1; shift ;;
	-h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "build-guest-kernel.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
done

if [ ! -r "$src_tar" ]; then
	echo "build-guest-kernel.sh: $src_tar not found; install linux-source-6.1 (scripts/setup.sh)" >&2
	exit 1
fi

patches=("$here"/guest-kernel/*.patch)
hash=$( {
	cat "$frag" "${patches[@]}"
	basename "$src_tar"
	stat -c %s "$src_tar"
} | sha256sum | cut -c1-16)
out="$cache/kernel/$hash"

if [ -s "$out/bzImage" ] && [ -s "$out/vmlinux" ]; then
	echo "$out/bzImage"
	exit 0
fi
if [ "$cached_only" -eq 1 ]; then
	echo "build-guest-kernel.sh: no cached kernel in $out" >&2
	exit 1
fi

mkdir -p "$cache/kernel"
work=$(mktemp -d "$cache/kernel/build-$hash.XXXXXX")
trap 'rm -rf "$work"' EXIT
log="$work/build.log"
start=$(date +%s)

echo "build-guest-kernel.sh: building in $work (log: $log)" >&2
tar -xJf "$src_tar" -C "$work"
ksrc=$(find "$work" -mindepth 1 -maxdepth 1 -type d | head -n1)
for p in "${patches[@]}"; do
	patch -p1 -d "$ksrc" --quiet < "$p"
done

kmake() { make -C "$ksrc" ARCH=x86_64 "$@" >>"$log" 2>&1; }
if ! {
	kmake tinyconfig &&
	(cd "$ksrc" && ARCH=x86_64 scripts/kconfig/merge_config.sh -m .config "$frag" >>"$log" 2>&1) &&
	kmake olddefconfig
}; then
	tail -n 30 "$log" >&2
	echo "build-guest-kernel.sh: configuration failed, see above" >&2
	exit 1
fi

# Every option of the fragment must have survived olddefconfig: a silently
# dropped dependency would give a kernel without, say, virtio-vsock.
bad=0
while IFS= read -r line; do
	case "$line" in CONFIG_*=*) ;; *) continue ;; esac
	opt=${line%%=*}
	want=${line#*=}
	if [ "$want" = n ]; then
		grep -q "^$opt=" "$ksrc/.config" && { echo "  $opt is set, wanted off" >&2; bad=1; }
	else
		grep -qx "$opt=$want" "$ksrc/.config" || {
			echo "  $opt: wanted $want, got '$(grep "^$opt=\|# $opt is" "$ksrc/.config" || echo unset)'" >&2
			bad=1
		}
	fi
done < "$frag"
if [ "$bad" -ne 0 ]; then
	echo "build-guest-kernel.sh: options above did not apply; fix their dependencies in $frag" >&2
	exit 1
fi

if ! kmake -j"$jobs" bzImage; then
	tail -n 40 "$log" >&2
	echo "build-guest-kernel.sh: kernel build failed, see above" >&2
	exit 1
fi

mkdir -p "$out.tmp"
cp "$ksrc/arch/x86/boot/bzImage" "$ksrc/vmlinux" "$ksrc/.config" "$out.tmp/"
mv "$out.tmp/.config" "$out.tmp/config"
rm -rf "$out"
mv "$out.tmp" "$out"
echo "build-guest-kernel.sh: built in $(( $(date +%s) - start )) s" >&2
echo "$out/bzImage"
