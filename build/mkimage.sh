#!/bin/sh
# make image: LinuxKit build -> kernel + initrd -> SD card image.
#   build/mkimage.sh [OUT_DIR]      (DEBUG=1 adds the serial getty variant)
# Needs Docker with buildx (a running engine) and the linuxkit CLI. Output only
# appears when every step worked: OUT_DIR/hushbox.img (or hushbox-debug.img).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
. "$here/versions.env"
out=${1:-$repo/build/out}
cache=${IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hushbox}
linuxkit=${LINUXKIT:-linuxkit}

die() { echo "make image: $*" >&2; exit 1; }

command -v docker >/dev/null 2>&1 || die "needs Docker: install Docker Engine (docker-ce) with the buildx plugin"
docker buildx version >/dev/null 2>&1 || die "needs docker buildx: install the docker-buildx-plugin package"
docker info >/dev/null 2>&1 || die "the Docker engine is not running or not reachable (docker info failed)"
command -v "$linuxkit" >/dev/null 2>&1 || die "needs the linuxkit CLI: install a release binary from github.com/linuxkit/linuxkit as 'linuxkit' on PATH"
command -v python3 >/dev/null 2>&1 || die "needs python3 (3.8+) for build/mksdimg.py"

name=hushbox
ymls="$repo/linuxkit.yml"
if [ "${DEBUG:-}" = 1 ]; then
    name=hushbox-debug
    ymls="$ymls $here/linuxkit-debug.yml"
    echo "make image: DEBUG=1: this image has a passwordless root shell on the serial console"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/hushbox-image.XXXXXX")
trap 'rm -rf "$work"' EXIT

echo "make image: building packages build/kernel and build/hushbox (arm64)"
"$linuxkit" pkg build --platforms linux/arm64 "$here/kernel" "$here/hushbox" ||
    die "linuxkit pkg build failed"

echo "make image: linuxkit build (kernel+initrd)"
# shellcheck disable=SC2086
(cd "$repo" && "$linuxkit" build --arch arm64 --format kernel+initrd --name "$name" \
    --dir "$work" $ymls) || die "linuxkit build failed"
for f in "$name-kernel" "$name-initrd.img" "$name-cmdline"; do
    [ -s "$work/$f" ] || die "linuxkit build produced no $f"
done

echo "make image: fetching the pinned kernel and raspi-firmware packages (device trees, boot firmware)"
if command -v apt-get >/dev/null 2>&1; then
    debs=$("$here/fetch-debs.sh" "$cache") || die "could not fetch the pinned Debian packages"
else
    mkdir -p "$cache"
    debs=$(docker run --rm -v "$here:/src/build:ro" -v "$cache:/cache" "$DEBIAN_IMAGE" \
        /src/build/fetch-debs.sh /cache | sed "s|^/cache|$cache|") ||
        die "could not fetch the pinned Debian packages (in a $DEBIAN_IMAGE container)"
fi
kernel_deb=$(echo "$debs" | sed -n 1p)
firmware_deb=$(echo "$debs" | sed -n 2p)

python3 "$here/mksdimg.py" --kernel "$work/$name-kernel" --initrd "$work/$name-initrd.img" \
    --kernel-deb "$kernel_deb" --firmware-deb "$firmware_deb" \
    --cmdline-file "$work/$name-cmdline" --out "$work/$name.img" || die "SD image composition failed"
mkdir -p "$out"
mv "$work/$name.img" "$out/$name.img"
echo "make image: $out/$name.img ready ($(($(wc -c <"$out/$name.img") / 1048576)) MiB; initrd $(($(wc -c <"$work/$name-initrd.img") / 1048576)) MiB)"
echo "make image: flash it with: make flash DEVICE=/dev/sdX"
