#!/bin/sh
# Finish the device root filesystem, the same way for the LinuxKit service image
# (build/hushbox/Dockerfile) and the rehearsal initramfs (build/mkrootfs.sh):
# the hushbox user, Hushbox itself, the service scripts, then strip what a
# read-only appliance never uses.
#   finish-rootfs.sh ROOT SRC
# SRC holds appliance/, models/ and build/ (a repo checkout or the build context).
set -eu
root=$1
src=$2
. "$src/build/versions.env"

# The service user; its own group, plus audio for /dev/snd.
grep -q '^hushbox:' "$root/etc/group" ||
    echo "hushbox:x:$HUSHBOX_GID:" >>"$root/etc/group"
grep -q '^hushbox:' "$root/etc/passwd" ||
    echo "hushbox:x:$HUSHBOX_UID:$HUSHBOX_GID:Hushbox:/nonexistent:/usr/sbin/nologin" >>"$root/etc/passwd"
sed -i "s/^\(audio:x:$AUDIO_GID:\)\$/\1hushbox/" "$root/etc/group"

# Hushbox as a plain source tree: /opt/hushbox/{appliance,models}.
mkdir -p "$root/opt/hushbox"
for d in appliance models; do
    rm -rf "${root:?}/opt/hushbox/$d"
    cp -R "$src/$d" "$root/opt/hushbox/$d"
done
find "$root/opt/hushbox" -name __pycache__ -type d -prune -exec rm -rf {} +
# Compile ahead: the root filesystem is read-only on the device.
chroot_python=${CHROOT_PYTHON:-}
if [ -n "$chroot_python" ]; then
    $chroot_python -m compileall -q /opt/hushbox >/dev/null || true
fi

install -D -m 0755 "$src/build/hushbox/hushbox-service" "$root/usr/local/bin/hushbox-service"
install -D -m 0755 "$src/build/hushbox/hushbox-onboot" "$root/usr/local/sbin/hushbox-onboot"
install -D -m 0644 "$src/build/modules.txt" "$root/etc/hushbox/modules.txt"
mkdir -p "$root/boot" "$root/var/boot"

# Strip: documentation, locales, package caches, Python test suites and headers,
# glibc's iconv modules (Python has its own codecs), perl (only package scripts
# use it; nothing is installed on a read-only appliance), time zones but UTC.
rm -rf "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
       "$root"/usr/share/lintian "$root"/usr/share/locale/* \
       "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* "$root"/var/cache/debconf/*-old \
       "$root"/root/.cache "$root"/usr/lib/*-linux-gnu/gconv \
       "$root"/usr/bin/perl "$root"/usr/bin/perl5.* "$root"/usr/lib/*-linux-gnu/perl-base \
       "$root"/usr/share/perl5
find "$root/usr/share/zoneinfo" -mindepth 1 -maxdepth 1 ! -name UTC ! -name Etc \
    -exec rm -rf {} + 2>/dev/null || true
for site in "$root"/usr/local/lib/python3*/dist-packages; do
    [ -d "$site" ] || continue
    find "$site" -type d -name tests ! -path '*/numpy/_core/tests' -prune -exec rm -rf {} +
    # numpy.testing (imported by scipy) needs numpy._core.tests._natype: keep only that.
    find "$site/numpy/_core/tests" -mindepth 1 -maxdepth 1 ! -name _natype.py ! -name __pycache__ \
        -exec rm -rf {} + 2>/dev/null || true
    rm -rf "$site"/numpy/_core/include "$site"/numpy/_pyinstaller \
           "$site"/scipy/_lib/_uarray/*.cpp "$site"/*.dist-info/RECORD
done
find "$root/usr" -name '*.a' -delete
