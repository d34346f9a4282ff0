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
wheels=${IMAGE_CACHE:-/var/cache/hushbox}/wheels

list() { grep -hv '^[[:space:]]*#' "$@" | grep -v '^[[:space:]]*$'; }
device_pkgs=$(list "$here/packages-device.txt" | paste -sd, -)
build_pkgs=$(list "$here/packages-build.txt" | paste -sd' ' -)

# Fetch the pinned wheels/sdist on the host (hash-checked): the chroot then
# installs offline, and nothing in it needs the host's network settings.
mkdir -p "$wheels"
python3 -m pip download -q --no-deps --dest "$wheels" --platform manylinux2014_aarch64 \
    --python-version 3.11 --implementation cp --abi cp311 --only-binary=numpy,scipy \
    -r "$here/requirements-device.txt"

rm -rf "$out"
mmdebstrap --mode=root --variant=minbase --architectures=arm64 \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --hook-dir=/usr/share/mmdebstrap/hooks/eatmydata \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --include="$device_pkgs,$(echo "$build_pkgs" | tr ' ' ,)" \
    --customize-hook="copy-in $here/requirements-device.txt $wheels /tmp" \
    --customize-hook='chroot "$1" pip install --no-cache-dir --no-compile --no-index --find-links /tmp/wheels --require-hashes --no-build-isolation --break-system-packages --root-user-action=ignore -r /tmp/requirements-device.txt' \
    --customize-hook="chroot \"\$1\" apt-get purge -y -q --autoremove -o APT::AutoRemove::RecommendsImportant=false -o APT::AutoRemove::SuggestsImportant=false $build_pkgs" \
    --customize-hook='rm -rf "$1"/tmp/requirements-device.txt "$1"/tmp/wheels' \
    "$DEBIAN_SUITE" "$out" \
    "deb $DEBIAN_MIRROR $DEBIAN_SUITE main" \
    "deb $DEBIAN_MIRROR $DEBIAN_SUITE-updates main" \
    "deb ${DEBIAN_MIRROR%/debian}/debian-security $DEBIAN_SUITE-security main"
# Byte-compile numpy/scipy natively when the host's Python is also 3.11 (same
# bytecode); under qemu-user it takes minutes. Some files in wheels never
# compile (templates, Python 2 leftovers): compileall's status is not an error.
site=/usr/local/lib/python3.11/dist-packages
if python3 -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    python3 -m compileall -q -j0 -s "$out" -p / "$out$site" >/dev/null || true
else
    chroot "$out" python3 -m compileall -q "$site" >/dev/null || true
fi
[ "$base_only" = --base ] && exit 0
CHROOT_PYTHON="chroot $out python3" "$here/hushbox/finish-rootfs.sh" "$out" "$repo"
