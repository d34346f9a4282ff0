#!/bin/sh
# Download the pinned Debian kernel and raspi-firmware packages (arm64) into a
# cache directory, using a private apt configuration: the host's apt sources,
# architectures and state are left alone.
#   build/fetch-debs.sh [CACHE_DIR]     prints the two .deb paths
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.env"
cache=${1:-${IMAGE_CACHE:-/var/cache/hushbox}}
apt_dir="$cache/apt"
deb_dir="$cache/debs"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial" "$deb_dir"

command -v apt-get >/dev/null 2>&1 || {
    echo "fetch-debs: needs apt-get (a Debian/Ubuntu host); install Debian's apt or run inside a debian container" >&2
    exit 1
}

kernel_deb="$deb_dir/linux-image-${KERNEL_ABI}_${KERNEL_DEB_VERSION}_arm64.deb"
fw_deb="$deb_dir/raspi-firmware_${RASPI_FIRMWARE_VERSION}_all.deb"

if [ ! -s "$kernel_deb" ] || [ ! -s "$fw_deb" ]; then
    cat > "$apt_dir/sources.list" <<SRC
deb [arch=arm64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $DEBIAN_MIRROR $DEBIAN_SUITE main non-free-firmware
deb [arch=arm64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${DEBIAN_MIRROR%/debian}/debian-security $DEBIAN_SUITE-security main
SRC
    : > "$apt_dir/status"
    apt_opts="-o Dir::Etc::SourceList=$apt_dir/sources.list -o Dir::Etc::SourceParts=/nonexistent
 -o Dir::State::Lists=$apt_dir/lists -o Dir::State::Status=$apt_dir/status
 -o Dir::Cache=$apt_dir -o Dir::Cache::archives=$apt_dir/archives
 -o APT::Architecture=arm64 -o APT::Architectures=arm64 -o Debug::NoLocking=1 -q"
    # shellcheck disable=SC2086
    apt-get $apt_opts update >"$apt_dir/update.log" 2>&1 || {
        echo "fetch-debs: apt-get update failed (see $apt_dir/update.log)" >&2; exit 1; }
    cd "$deb_dir"
    # shellcheck disable=SC2086
    apt-get $apt_opts download \
        "linux-image-${KERNEL_ABI}=${KERNEL_DEB_VERSION}" \
        "raspi-firmware=${RASPI_FIRMWARE_VERSION}" >"$apt_dir/download.log" 2>&1 || {
        echo "fetch-debs: pinned packages not on the mirror: linux-image-${KERNEL_ABI}=${KERNEL_DEB_VERSION}, raspi-firmware=${RASPI_FIRMWARE_VERSION} (see $apt_dir/download.log; update build/versions.env)" >&2
        exit 1; }
fi
[ -s "$kernel_deb" ] && [ -s "$fw_deb" ] || { echo "fetch-debs: download produced no .deb files in $deb_dir" >&2; exit 1; }
echo "$kernel_deb"
echo "$fw_deb"
