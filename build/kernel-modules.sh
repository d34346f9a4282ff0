#!/bin/sh
# Keep only the modules the appliance loads (build/modules.txt) and what they
# depend on, from an unpacked Debian kernel package, then index them.
#   build/kernel-modules.sh UNPACKED_KERNEL_DEB DEST_ROOT [MODULES_TXT]
# Writes DEST_ROOT/lib/modules/<abi>/... (a tree LinuxKit unpacks as kernel.tar).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.env"
src=$1
dest=$2
list=${3:-$here/modules.txt}
kver=$KERNEL_ABI
command -v depmod >/dev/null 2>&1 && command -v modprobe >/dev/null 2>&1 || {
    echo "kernel-modules: needs depmod and modprobe: install kmod" >&2; exit 1; }
# Debian's package ships no modules.dep (depmod runs at install time).
[ -s "$src/lib/modules/$kver/modules.dep" ] || depmod -b "$src" "$kver"
mkdir -p "$dest/lib/modules/$kver"
cp "$src/lib/modules/$kver"/modules.builtin* "$src/lib/modules/$kver/modules.order" \
   "$dest/lib/modules/$kver/"
grep -v '^[[:space:]]*#' "$list" | grep -v '^[[:space:]]*$' | while read -r mod; do
    modprobe -d "$src" -S "$kver" --show-depends "$mod" >"$dest/.deps" 2>&1 || {
        echo "kernel-modules: module $mod not in kernel $kver: $(cat "$dest/.deps")" >&2; exit 1; }
    awk '$1 == "insmod" { print $2 }' "$dest/.deps" | while read -r ko; do
        rel=${ko#"$src"}
        mkdir -p "$dest$(dirname "$rel")"
        cp "$ko" "$dest$rel"
    done
done
rm -f "$dest/.deps"
depmod -b "$dest" "$kver"
