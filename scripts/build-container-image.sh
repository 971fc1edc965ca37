#!/usr/bin/env bash
# Builds a small busybox-based container image as a tarball, locally (no
# registry is needed): an OCI image layout (oci-layout, index.json, blobs/
# sha256/: manifest, config, one gzip layer), or with --docker a
# docker-archive (manifest.json + layer tar), as `docker save` writes.
#
# Usage: scripts/build-container-image.sh [--docker] [--name NAME[:TAG]]
#                                         [--add DIR] OUT.tar
#   --add DIR   copy DIR's contents into the image (over the busybox files)
# Needs busybox-static (Debian), tar, gzip, sha256sum.
# Import into containerd: ctr images import --base-name NAME OUT.tar
set -euo pipefail

format=oci
name=podvisor/busybox:latest
add=
while [ $# -gt 1 ]; do
	case "$1" in
	--docker) format=docker ;;
	--name) name=$2; shift ;;
	--add) add=$2; shift ;;
	*) echo "build-container-image.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
if [ $# -ne 1 ] || [ "${1#-}" != "$1" ]; then
	sed -n '2,11p' "$0" >&2
	exit 2
fi
out=$1
busybox=/bin/busybox
if ! file -L "$busybox" 2>/dev/null | grep -q 'statically linked'; then
	echo "build-container-image.sh: $busybox is not a static busybox:" \
		"apt-get install busybox-static" >&2
	exit 1
fi
case "$name" in *:*) ;; *) name=$name:latest ;; esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
mkdir -p "$root"/{bin,sbin,etc,tmp,proc,sys,dev,root,usr/bin,usr/sbin,var}
chmod 1777 "$root/tmp"
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
	[ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' \
	>"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
echo "podvisor busybox image" >"$root/etc/podvisor-image"
if [ -n "$add" ]; then
	cp -a "$add/." "$root/"
fi

# Reproducible layer: fixed owners, order and times.
layer_tar=$work/layer.tar
tar --sort=name --numeric-owner --owner=0 --group=0 \
	--mtime='2024-01-01 00:00:00' -C "$root" -cf "$layer_tar" .
diff_id=$(sha256sum "$layer_tar" | cut -d' ' -f1)

config='{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["/bin/sh"],"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:'$diff_id'"]},"history":[{"created_by":"podvisor build-container-image.sh"}]}'

img=$work/image
mkdir -p "$img"
if [ "$format" = docker ]; then
	mkdir -p "$img/$diff_id"
	mv "$layer_tar" "$img/$diff_id/layer.tar"
	printf '%s' "$config" >"$img/$diff_id.json"
	printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]' \
		"$diff_id" "$name" "$diff_id" >"$img/manifest.json"
else
	blobs=$img/blobs/sha256
	mkdir -p "$blobs"
	gzip -n -9 <"$layer_tar" >"$work/layer.tar.gz"
	layer_digest=$(sha256sum "$work/layer.tar.gz" | cut -d' ' -f1)
	layer_size=$(stat -c %s "$work/layer.tar.gz")
	mv "$work/layer.tar.gz" "$blobs/$layer_digest"
	printf '%s' "$config" >"$work/config.json"
	config_digest=$(sha256sum "$work/config.json" | cut -d' ' -f1)
	config_size=$(stat -c %s "$work/config.json")
	mv "$work/config.json" "$blobs/$config_digest"
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
		"$config_digest" "$config_size" "$layer_digest" "$layer_size" \
		>"$work/manifest.json"
	manifest_digest=$(sha256sum "$work/manifest.json" | cut -d' ' -f1)
	manifest_size=$(stat -c %s "$work/manifest.json")
	mv "$work/manifest.json" "$blobs/$manifest_digest"
	printf '{"imageLayoutVersion":"1.0.0"}' >"$img/oci-layout"
	printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"amd64","os":"linux"},"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
		"$manifest_digest" "$manifest_size" "$name" "${name##*:}" \
		>"$img/index.json"
fi
tar --sort=name --numeric-owner --owner=0 --group=0 \
	--mtime='2024-01-01 00:00:00' -C "$img" -cf "$out.tmp" .
mv "$out.tmp" "$out"
echo "$out: $format image $name ($(stat -c %s "$out") bytes)"
