#!/usr/bin/env python3
"""Write the Hushbox SD image to a card, carefully.

    build/flash.py IMAGE DEVICE [--yes]          (make flash DEVICE=/dev/sdX [YES=1])

Refuses a device that is not a whole disk, not removable (USB or SD-slot),
mounted, or holding the running system; shows model and size and asks for
confirmation (unless --yes); writes, flushes, then reads the card back and
compares it with the image. Linux only (reads /sys and /proc); stdlib only.
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

CHUNK = 4 << 20
SECTOR = 512
SYSTEM_MOUNTS = ("/", "/boot", "/boot/efi", "/usr", "/var", "/home")


class Refused(Exception):
    """The device must not be written."""


@dataclass
class Disk:
    name: str
    model: str
    size_bytes: int
    removable: bool
    transport: str


def _read(path: Path, default: str = "") -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return default


def disk_name(device: str, dev_root: Path = Path("/dev"), sysfs: Path = Path("/sys")) -> str:
    """The kernel name (sdb, mmcblk0) of a whole-disk device path; refuses partitions."""
    path = Path(device)
    if not path.exists():
        raise Refused(f"{device} does not exist")
    real = path.resolve()
    if dev_root == Path("/dev") and not stat.S_ISBLK(real.stat().st_mode):
        raise Refused(f"{device} is not a block device")
    name = real.name
    if not (sysfs / "block" / name).is_dir():
        raise Refused(f"{device} is a partition or not a disk: give the whole disk (e.g. /dev/sdb)")
    return name


def describe(name: str, sysfs: Path = Path("/sys")) -> Disk:
    block = sysfs / "block" / name
    model = " ".join(
        x for x in (_read(block / "device" / "vendor"), _read(block / "device" / "model"),
                    _read(block / "device" / "name")) if x
    ) or "unknown model"
    size = int(_read(block / "size", "0")) * SECTOR
    removable = _read(block / "removable", "0") == "1"
    # USB card readers and SD slots; the transport is in the device's sysfs path.
    dev_path = str((block / "device").resolve()) if (block / "device").exists() else ""
    transport = "usb" if "/usb" in dev_path else ("mmc" if name.startswith("mmcblk") else "")
    return Disk(name, model, size, removable, transport)


def mounted_sources(mounts_file: Path = Path("/proc/mounts")) -> dict[str, str]:
    """Mounted device's kernel name -> mount point (swap areas as 'swap')."""
    out = {}
    for line in _read(mounts_file).splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0].startswith("/dev/"):
            out[Path(os.path.realpath(fields[0])).name] = fields[1]
    swaps = mounts_file.parent / "swaps"
    for line in _read(swaps).splitlines()[1:]:
        if line.split():
            out[Path(os.path.realpath(line.split()[0])).name] = "swap"
    return out


def partitions_of(name: str, sysfs: Path = Path("/sys")) -> list[str]:
    block = sysfs / "block" / name
    if not block.is_dir():
        return []
    return [p.name for p in block.iterdir()
            if p.name.startswith(name) and (p / "partition").exists()]


def check(name: str, sysfs: Path = Path("/sys"),
          mounts_file: Path = Path("/proc/mounts")) -> Disk:
    """Raise Refused unless `name` is a removable, unmounted, non-system whole disk."""
    disk = describe(name, sysfs)
    if not (disk.removable or disk.transport in ("usb", "mmc")):
        raise Refused(f"/dev/{name} ({disk.model}) is not removable: "
                      "refusing to write a fixed disk")
    mounts = mounted_sources(mounts_file)
    for n in [name, *partitions_of(name, sysfs)]:
        where = mounts.get(n)
        if where in SYSTEM_MOUNTS or where == "swap":
            raise Refused(f"/dev/{name} holds the running system ({n} on {where})")
        if where:
            raise Refused(f"/dev/{n} is mounted on {where}: unmount it first (umount /dev/{n})")
    if disk.size_bytes == 0:
        raise Refused(f"/dev/{name} has no medium (size 0): insert the SD card")
    return disk


def write_and_verify(image: Path, device: str) -> None:
    size = image.stat().st_size
    done = 0
    with open(image, "rb") as src, open(device, "r+b", buffering=0) as dst:
        while chunk := src.read(CHUNK):
            dst.write(chunk)
            done += len(chunk)
            print(f"\rflash: wrote {done >> 20}/{size >> 20} MiB", end="", flush=True)
        os.fsync(dst.fileno())
    print()
    # Read back from the card, not the page cache.
    fd = os.open(device, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    checked = 0
    with open(image, "rb") as src, open(device, "rb") as dev:
        while chunk := src.read(CHUNK):
            if dev.read(len(chunk)) != chunk:
                raise OSError(f"verify failed near byte {checked}: "
                              "the card does not match the image")
            checked += len(chunk)
            print(f"\rflash: verified {checked >> 20}/{size >> 20} MiB", end="", flush=True)
    print()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("image", type=Path)
    p.add_argument("device")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    a = p.parse_args(argv)
    if not a.image.is_file():
        print(f"flash: no image {a.image}: run make image first", file=sys.stderr)
        return 1
    try:
        name = disk_name(a.device)
        disk = check(name)
    except Refused as e:
        print(f"flash: refused: {e}", file=sys.stderr)
        return 1
    if disk.size_bytes < a.image.stat().st_size:
        print(f"flash: refused: /dev/{name} is smaller than the image", file=sys.stderr)
        return 1
    print(f"flash: /dev/{name}: {disk.model}, {disk.size_bytes / 1e9:.1f} GB"
          f" ({'removable' if disk.removable else disk.transport})")
    print(f"flash: everything on /dev/{name} will be replaced by {a.image}")
    if not a.yes:
        if not sys.stdin.isatty():
            print("flash: refused: no terminal to confirm on; pass YES=1", file=sys.stderr)
            return 1
        if input(f"Type 'yes' to write /dev/{name}: ").strip() != "yes":
            print("flash: cancelled")
            return 1
    try:
        write_and_verify(a.image, f"/dev/{name}")
    except OSError as e:
        print(f"\nflash: {e}", file=sys.stderr)
        return 1
    print(f"flash: done; /dev/{name} can be removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
