#!/bin/sh
# Build the service's arm64 root filesystem from the same pinned inputs as the
# LinuxKit service image (build/packages-*.txt, build/requirements-device.txt,
# build/hushbox/finish-rootfs.sh), without Docker: mmdebstrap + qemu-user.
#   build/mkrootfs.sh OUT_DIR [--base]   (as root; arm64 binfmt must be enabled)
# --base stops before Hushbox itself is added (the part worth caching).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
. "$here/versions.env"
out=$1
base_only=${2:-}

list() { grep -hv '^[[:space:]]*#' "$@" | grep -v '^[[:space:]]*$'; }
device_pkgs=$(list "$here/packages-device.txt" | paste -sd, -)
build_pkgs=$(list "$here/packages-build.txt" | paste -sd' ' -)

rm -rf "$out"
mmdebstrap --mode=root --variant=minbase --architectures=arm64 \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --include="$device_pkgs,$(echo "$build_pkgs" | tr ' ' ,)" \
    --customize-hook="copy-in $here/requirements-device.txt /tmp" \
    --customize-hook='chroot "$1" pip install --no-cache-dir --require-hashes --no-build-isolation --break-system-packages --root-user-action=ignore --prefix=/usr/local -r /tmp/requirements-device.txt' \
    --customize-hook="chroot \"\$1\" apt-get purge -y -q --autoremove $build_pkgs" \
    --customize-hook='rm -f "$1"/tmp/requirements-device.txt' \
    "$DEBIAN_SUITE" "$out" \
    "deb $DEBIAN_MIRROR $DEBIAN_SUITE main" \
    "deb $DEBIAN_MIRROR $DEBIAN_SUITE-updates main" \
    "deb ${DEBIAN_MIRROR%/debian}/debian-security $DEBIAN_SUITE-security main"
[ "$base_only" = --base ] && exit 0
CHROOT_PYTHON="chroot $out python3" "$here/hushbox/finish-rootfs.sh" "$out" "$repo"
