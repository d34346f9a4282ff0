#!/bin/bash
# make rehearse: prove the appliance image without a Pi.
#   1. the service's arm64 root filesystem from the pinned inputs (mkrootfs.sh),
#   2. + the kernel's modules, a stand-in init, a cry recording -> initramfs,
#   3. the SD image from it with the same composer as `make image` (mksdimg.py),
#   4. boot kernel + device tree + initramfs taken out of that image's boot
#      partition on QEMU's emulated Pi 3 (raspi3b), the image as its SD card,
#      and assert on the serial console (rehearse_boot.py).
# Runs as root (apt-get, mmdebstrap, binfmt). Every failure ends with one line
# starting "rehearse: FAILED".
#   build/rehearse.sh --base-only   only steps 1 and the root filesystem base (the
#                                   slow, cached part: make rehearse runs it first,
#                                   under its own time limit)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
# shellcheck source=versions.env
. "$here/versions.env"
out=${REHEARSAL_OUT:-$repo/build/out/rehearsal}
cache=${IMAGE_CACHE:-/var/cache/hushbox}
started=$(date +%s)
mode=${1:-}

say() { echo "rehearse: [$(($(date +%s) - started))s] $*"; }
fail() { echo "rehearse: FAILED: $*" >&2; exit 1; }
trap 'fail "step exited with status $? (line $LINENO); see output above"' ERR

[ "$(id -u)" = 0 ] || fail "needs root (apt-get, mmdebstrap and binfmt_misc)"

# --- 1. host tools -----------------------------------------------------------
need_pkgs="mmdebstrap qemu-user-static binfmt-support arch-test qemu-system-arm cpio zstd sox libsox-fmt-all kmod"
missing=$(for p in $need_pkgs; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
if [ -n "$missing" ]; then
    say "installing host tools: $(echo $missing)"
    apt-get update -q >/dev/null || fail "apt-get update failed"
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing >/dev/null ||
        fail "apt-get install $(echo $missing) failed"
fi
if ! python3 -m pip --version >/dev/null 2>&1; then
    say "installing python3-pip (downloads the pinned wheels on the host)"
    { apt-get update -q >/dev/null &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-pip >/dev/null; } ||
        fail "apt-get install python3-pip failed"
fi
mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
update-binfmts --enable qemu-aarch64 2>/dev/null || true
arch-test arm64 >/dev/null || fail "this host cannot run arm64 binaries (qemu-user-static/binfmt_misc)"

# --- 2. pinned Debian packages: kernel + boot firmware ---------------------------
say "fetching pinned kernel ${KERNEL_ABI} ${KERNEL_DEB_VERSION} and raspi-firmware ${RASPI_FIRMWARE_VERSION}"
debs=$("$here/fetch-debs.sh" "$cache") || fail "could not fetch the pinned Debian packages"
kernel_deb=$(echo "$debs" | sed -n 1p)
firmware_deb=$(echo "$debs" | sed -n 2p)
# --- 3. root filesystem (base cached by its inputs) ------------------------------
key=$( (cat "$here/packages-device.txt" "$here/packages-build.txt" "$here/requirements-device.txt" \
           "$here/mkrootfs.sh"; grep '^DEBIAN_' "$here/versions.env") | sha256sum | cut -c1-16)
base_tar="$cache/rootfs-base-$key.tar"
root="$out/rootfs"
if [ ! -s "$base_tar" ]; then
    say "building the arm64 root filesystem base (mmdebstrap + pip under qemu-user; minutes)"
    rm -rf "$out"
    mkdir -p "$out" "$cache"
    "$here/mkrootfs.sh" "$root" --base >"$out/mkrootfs.log" 2>&1 ||
        { tail -20 "$out/mkrootfs.log" >&2; fail "root filesystem build failed (log: $out/mkrootfs.log)"; }
    tar -C "$root" -cf "$base_tar.partial" . && mv "$base_tar.partial" "$base_tar"
    say "root filesystem base cached as $base_tar"
fi
if [ "$mode" = --base-only ]; then
    say "root filesystem base ready"
    exit 0
fi
say "root filesystem base from cache ($base_tar)"
rm -rf "$out"
mkdir -p "$root"
tar -C "$root" -xf "$base_tar"
dpkg-deb -x "$kernel_deb" "$out/kernel-deb"
say "adding Hushbox, the service scripts and the kernel modules"
CHROOT_PYTHON="chroot $root python3" "$here/hushbox/finish-rootfs.sh" "$root" "$repo"
"$here/kernel-modules.sh" "$out/kernel-deb" "$root"
chroot "$root" python3 -c 'import numpy.testing, scipy.signal, scipy.fft, scipy.io.wavfile, alsaaudio' ||
    fail "numpy/scipy/alsaaudio do not import in the arm64 root filesystem"
chroot "$root" env PYTHONPATH=/opt/hushbox python3 -m appliance listen --help >/dev/null ||
    fail "hushbox does not start in the arm64 root filesystem (python3 -m appliance listen --help)"

# --- 4. rehearsal pieces: init, ALSA file plugin, the cry recording --------------
install -m 0755 "$here/rehearsal/init" "$root/init"
install -D -m 0644 "$here/rehearsal/asound.conf" "$root/etc/asound.conf"
printf 'REHEARSAL_LISTEN_S=%s\n' "$REHEARSAL_LISTEN_S" >"$root/etc/hushbox/rehearsal.env"
cry_src="$repo/tests/data/cry_in_room.wav"
[ -f "$cry_src" ] || cry_src="$repo/../shared/data/audio/esc50/1-187207-A-20.flac"
[ -f "$cry_src" ] || fail "no cry recording: tests/data/cry_in_room.wav (or shared ESC-50 clip) missing"
mkdir -p "$root/opt/rehearsal"
sox "$cry_src" -r "$REHEARSAL_RATE_HZ" -c 1 -b 16 -e signed-integer -t raw \
    "$root/opt/rehearsal/cry.raw" pad "$REHEARSAL_LEAD_SILENCE_S" "$REHEARSAL_TAIL_SILENCE_S"
say "cry recording: $(basename "$cry_src") -> cry.raw ($(stat -c %s "$root/opt/rehearsal/cry.raw") bytes)"
rm -f "$root/dev/console"
mknod -m 0600 "$root/dev/console" c 5 1

# --- 5. initramfs ----------------------------------------------------------------
say "packing the initramfs (cpio + zstd -${INITRAMFS_ZSTD_LEVEL})"
rootfs_kib=$(du -sk "$root" | cut -f1)
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet) |
    zstd -q -"$INITRAMFS_ZSTD_LEVEL" -T0 -o "$out/initrd.img"
initrd_bytes=$(stat -c %s "$out/initrd.img")
say "initramfs: $((initrd_bytes / 1048576)) MiB compressed, $((rootfs_kib / 1024)) MiB unpacked"
[ "$initrd_bytes" -le $((INITRAMFS_MAX_MIB * 1048576)) ] ||
    fail "initramfs is $((initrd_bytes / 1048576)) MiB, over the ${INITRAMFS_MAX_MIB} MiB budget"

# --- 6. SD image, with the same composer as `make image` -------------------------
cat >"$out/hushbox.conf" <<EOF
# Rehearsal configuration, read from the SD image's boot partition like on a Pi.
# Devices are the file-plugin PCMs of the rehearsal's /etc/asound.conf.
[hushbox]
capture_device = hushbox_capture
playback_device = hushbox_playback
heartbeat_seconds = ${REHEARSAL_HEARTBEAT_S}
watchdog_device =
EOF
python3 "$here/mksdimg.py" --kernel "$out/kernel-deb/boot/vmlinuz-${KERNEL_ABI}" \
    --initrd "$out/initrd.img" --kernel-deb "$kernel_deb" --firmware-deb "$firmware_deb" \
    --config "$out/hushbox.conf" --out "$out/hushbox-rehearsal.img" || fail "SD image composition failed"

# --- 7. boot it on the emulated Pi 3 -----------------------------------------------
rm -rf "$root" "$out/kernel-deb"
say "booting on qemu-system-aarch64 -M ${QEMU_MACHINE} (timeout ${REHEARSAL_TIMEOUT_S}s)"
python3 "$here/rehearse_boot.py" --image "$out/hushbox-rehearsal.img" --workdir "$out" \
    --rootfs-kib "$rootfs_kib" || fail "emulated boot did not reach every milestone (serial log: $out/serial.log)"
say "passed in $(($(date +%s) - started))s; report: $out/rehearsal.json"
