#!/usr/bin/env bash
# Builds the pod VM's initramfs: static busybox, scripts/initramfs/init and
# the static podvisor-agent, as a newc cpio (gzip'd when OUT ends in .gz).
#
# Usage: scripts/build-initramfs.sh [--agent PATH] [--build DIR]
#                                   [--modules KVER "mod1 mod2 ..."]
#                                   OUT.cpio.gz|OUT.cpio
#   --agent PATH  the podvisor-agent binary (default: BUILD/src/podvisor-agent/
#                 podvisor-agent, BUILD = --build, $PODVISOR_BUILD or build)
#   --modules     copy these kernel modules of /lib/modules/KVER and their
#                 dependencies, loaded in order at boot (for a distribution
#                 kernel whose virtio drivers are modules)
# Needs busybox-static and cpio.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${PODVISOR_BUILD:-$here/../build}
agent=
kver=
mods=
while [ $# -gt 1 ]; do
	case "$1" in
	--agent) agent=$2; shift ;;
	--build) build=$2; shift ;;
	--modules) kver=$2; mods=$3; shift 2 ;;
	*) echo "build-initramfs.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
if [ $# -ne 1 ] || [ "${1#-}" != "$1" ]; then
	sed -n '2,13p' "$0" >&2
	exit 2
fi
out=$1
agent=${agent:-$build/src/podvisor-agent/podvisor-agent}

die() { echo "build-initramfs.sh: $*" >&2; exit 1; }
[ -x "$agent" ] || die "$agent not found: build it first (ninja -C BUILD) or give --agent"
file -L "$agent" | grep -q 'statically linked' ||
	die "$agent is not statically linked: the initramfs has no libraries"
file -L /bin/busybox | grep -q 'statically linked' ||
	die "/bin/busybox is not static: apt-get install busybox-static"
command -v cpio >/dev/null || die "cpio is missing: apt-get install cpio"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/{bin,sbin,dev,proc,sys,run,tmp,etc,mnt,root,lib/modules}
cp /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list); do
	[ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
install -m 0755 "$here/initramfs/init" "$root/init"
install -m 0755 "$agent" "$root/sbin/podvisor-agent"
echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
echo "root:x:0:" >"$root/etc/group"

if [ -n "$mods" ]; then
	[ -d "/lib/modules/$kver" ] || die "/lib/modules/$kver does not exist"
	: >"$root/lib/modules/load-order"
	for m in $mods; do
		# modprobe lists a module's dependencies first, itself last.
		modprobe -S "$kver" --show-depends "$m" |
			awk '$1 == "insmod" { print $2 }' |
			while read -r ko; do
				base=$(basename "$ko")
				grep -qxF "$base" "$root/lib/modules/load-order" &&
					continue
				case "$ko" in
				*.xz) xz -dc "$ko" >"$root/lib/modules/${base%.xz}"
					base=${base%.xz} ;;
				*.zst) zstd -qdc "$ko" >"$root/lib/modules/${base%.zst}"
					base=${base%.zst} ;;
				*) cp "$ko" "$root/lib/modules/$base" ;;
				esac
				echo "$base" >>"$root/lib/modules/load-order"
			done
	done
fi

# OUT.cpio.gz is gzip'd; any other name is a plain cpio, for kernels built
# without CONFIG_RD_GZIP (tinyconfig leaves it off).
case "$out" in
*.gz) compress=(gzip -n -9) ;;
*) compress=(cat) ;;
esac
(cd "$root" && find . -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc --owner=0:0 --quiet) | "${compress[@]}" >"$out.tmp"
mv "$out.tmp" "$out"
echo "$out: initramfs with podvisor-agent ($(stat -c %s "$out") bytes)"
