"""A small FAT32 writer and reader for the SD card's boot partition (stdlib only).

Only what a Raspberry Pi boot partition needs: one flat root directory of
files, stored contiguously, with long (VFAT) names. No root, loop devices or
mtools are needed to build the SD image; the reader is used by the tests and
by the rehearsal to take the kernel, device tree and initramfs back out.
"""

from __future__ import annotations

import math
import os
import shutil
import struct
import time
from dataclasses import dataclass
from pathlib import Path

SECTOR = 512
RESERVED_SECTORS = 32
NUM_FATS = 2
FSINFO_SECTOR = 1
BACKUP_BOOT_SECTOR = 6
ROOT_CLUSTER = 2
MIN_FAT32_CLUSTERS = 65525  # fewer clusters than this and it is FAT16 by definition
MEDIA_FIXED = 0xF8
FAT_EOC = 0x0FFFFFFF
ATTR_VOLUME = 0x08
ATTR_ARCHIVE = 0x20
ATTR_LFN = 0x0F
LFN_CHARS = 13
NTRES_LOWER_BASE = 0x08
NTRES_LOWER_EXT = 0x10
SHORT_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789$%'-_@~`!(){}^#&")
MBR_PART_TYPE_FAT32_LBA = 0x0C
MBR_SIGNATURE = b"\x55\xaa"


@dataclass
class Partition:
    start_lba: int
    sectors: int
    ptype: int


def _fat_datetime(epoch: float) -> tuple[int, int]:
    t = time.gmtime(epoch)
    year = max(t.tm_year, 1980)
    date = ((year - 1980) << 9) | (t.tm_mon << 5) | t.tm_mday
    tm = (t.tm_hour << 11) | (t.tm_min << 5) | (t.tm_sec // 2)
    return date, tm


def _short_name(name: str, taken: set[bytes]) -> tuple[bytes, int, bool]:
    """8.3 name for `name`: (11 bytes, NTRes case flags, needs a long-name entry)."""
    base, dot, ext = name.rpartition(".")
    if not dot:
        base, ext = name, ""
    plain = (
        0 < len(base) <= 8
        and len(ext) <= 3
        and all(c.upper() in SHORT_CHARS for c in base + ext)
        and (base.islower() or base.isupper() or not any(c.isalpha() for c in base))
        and (ext.islower() or ext.isupper() or not any(c.isalpha() for c in ext))
    )
    if plain:
        short = base.upper().ljust(8).encode() + ext.upper().ljust(3).encode()
        flags = (NTRES_LOWER_BASE if base.islower() else 0) | (
            NTRES_LOWER_EXT if ext.islower() else 0
        )
        if short not in taken:
            return short, flags, False
    clean = "".join(c if c in SHORT_CHARS else "_" for c in base.upper().replace(".", ""))
    clean_ext = "".join(c if c in SHORT_CHARS else "_" for c in ext.upper())[:3]
    for n in range(1, 1000):
        tail = f"~{n}"
        short = (clean[: 8 - len(tail)] + tail).ljust(8).encode() + clean_ext.ljust(3).encode()
        if short not in taken:
            return short, 0, True
    raise ValueError(f"no free short name for {name}")


def _lfn_checksum(short: bytes) -> int:
    s = 0
    for b in short:
        s = (((s & 1) << 7) + (s >> 1) + b) & 0xFF
    return s


def _lfn_entries(name: str, short: bytes) -> list[bytes]:
    units = list(name.encode("utf-16-le"))
    chars = [bytes(units[i : i + 2]) for i in range(0, len(units), 2)]
    if len(chars) % LFN_CHARS:
        chars.append(b"\x00\x00")
    while len(chars) % LFN_CHARS:
        chars.append(b"\xff\xff")
    csum = _lfn_checksum(short)
    count = len(chars) // LFN_CHARS
    entries = []
    for seq in range(count, 0, -1):  # stored last part first
        part = chars[(seq - 1) * LFN_CHARS : seq * LFN_CHARS]
        order = seq | (0x40 if seq == count else 0)
        entries.append(
            struct.pack("<B", order)
            + b"".join(part[0:5])
            + struct.pack("<BBB", ATTR_LFN, 0, csum)
            + b"".join(part[5:11])
            + b"\x00\x00"
            + b"".join(part[11:13])
        )
    return entries


def _dir_entry(short: bytes, attr: int, ntres: int, cluster: int, size: int, stamp) -> bytes:
    date, tm = stamp
    return struct.pack(
        "<11sBBBHHHHHHHI",
        short, attr, ntres, 0, tm, date, date, cluster >> 16, tm, date, cluster & 0xFFFF, size,
    )


def _geometry(sectors: int) -> tuple[int, int, int]:
    """(sectors per cluster, sectors per FAT, cluster count) for a partition size."""
    for spc in (8, 4, 2, 1):
        fat_sectors = 1
        for _ in range(32):  # converges in a few rounds
            clusters = (sectors - RESERVED_SECTORS - NUM_FATS * fat_sectors) // spc
            needed = math.ceil((clusters + 2) * 4 / SECTOR)
            if needed == fat_sectors:
                break
            fat_sectors = needed
        if clusters >= MIN_FAT32_CLUSTERS:
            return spc, fat_sectors, clusters
    raise ValueError(f"partition of {sectors} sectors is too small for FAT32")


def write_mbr(image, start_lba: int, sectors: int, disk_id: int) -> None:
    entry = struct.pack(
        "<B3sB3sII", 0x00, b"\xfe\xff\xff", MBR_PART_TYPE_FAT32_LBA, b"\xfe\xff\xff",
        start_lba, sectors,
    )
    image.seek(0)
    unused_entries = b"\x00" * 48
    image.write(b"\x00" * 440 + struct.pack("<IH", disk_id, 0) + entry + unused_entries
                + MBR_SIGNATURE)


def write_fat32(image, start_lba: int, sectors: int, label: str, files: dict[str, Path],
                volume_id: int, epoch: float) -> None:
    """Format the partition at start_lba and store `files` (name -> source) in its root."""
    spc, fat_sectors, clusters = _geometry(sectors)
    cluster_bytes = spc * SECTOR
    data_lba = start_lba + RESERVED_SECTORS + NUM_FATS * fat_sectors
    stamp = _fat_datetime(epoch)

    # Directory entries first (they decide how many clusters the root needs).
    taken: set[bytes] = set()
    entries = [_dir_entry(label.upper().ljust(11)[:11].encode(), ATTR_VOLUME, 0, 0, 0, stamp)]
    plan = []
    for name in sorted(files):
        short, ntres, long_name = _short_name(name, taken)
        taken.add(short)
        plan.append((name, short, ntres, long_name, files[name].stat().st_size))
    n_entries = 1 + sum(
        1 + (math.ceil((len(n) + 1) / LFN_CHARS) if lfn else 0) for n, _, _, lfn, _ in plan
    )
    root_clusters = max(1, math.ceil((n_entries + 1) * 32 / cluster_bytes))

    fat = [MEDIA_FIXED | 0x0FFFFF00, FAT_EOC]
    def chain(count: int) -> int:
        first = len(fat)
        for i in range(count):
            fat.append(first + i + 1 if i < count - 1 else FAT_EOC)
        return first

    assert chain(root_clusters) == ROOT_CLUSTER
    placed = []
    for name, short, ntres, long_name, size in plan:
        first = chain(math.ceil(size / cluster_bytes)) if size else 0
        if long_name:
            entries.extend(_lfn_entries(name, short))
        entries.append(_dir_entry(short, ATTR_ARCHIVE, ntres, first, size, stamp))
        placed.append((files[name], first))
    used = len(fat) - 2
    if used > clusters:
        raise ValueError(f"boot files need {used} clusters, the partition has {clusters}")

    def at(lba: int) -> None:
        image.seek(lba * SECTOR)

    boot = bytearray(SECTOR)
    boot[0:3] = b"\xeb\x58\x90"
    boot[3:11] = b"HUSHBOX "
    struct.pack_into("<HBHBHHBHHHII", boot, 11, SECTOR, spc, RESERVED_SECTORS, NUM_FATS, 0, 0,
                     MEDIA_FIXED, 0, 63, 255, start_lba, sectors)
    struct.pack_into("<IHHIHH", boot, 36, fat_sectors, 0, 0, ROOT_CLUSTER, FSINFO_SECTOR,
                     BACKUP_BOOT_SECTOR)
    struct.pack_into("<BBBI11s8s", boot, 64, 0x80, 0, 0x29, volume_id,
                     label.upper().ljust(11)[:11].encode(), b"FAT32   ")
    boot[510:512] = MBR_SIGNATURE
    fsinfo = bytearray(SECTOR)
    struct.pack_into("<I", fsinfo, 0, 0x41615252)
    struct.pack_into("<III", fsinfo, 484, 0x61417272, clusters - used, len(fat))
    struct.pack_into("<I", fsinfo, 508, 0xAA550000)
    for base in (0, BACKUP_BOOT_SECTOR):
        at(start_lba + base)
        image.write(bytes(boot))
        image.write(bytes(fsinfo))
    # Sector 2 of the reserved area also carries the boot signature.
    for base in (2, BACKUP_BOOT_SECTOR + 2):
        at(start_lba + base)
        image.write(b"\x00" * 510 + MBR_SIGNATURE)

    fat_bytes = struct.pack(f"<{len(fat)}I", *fat)
    for n in range(NUM_FATS):
        at(start_lba + RESERVED_SECTORS + n * fat_sectors)
        image.write(fat_bytes)
        image.write(b"\x00" * (fat_sectors * SECTOR - len(fat_bytes)))

    root = b"".join(entries)
    at(data_lba)
    image.write(root + b"\x00" * (root_clusters * cluster_bytes - len(root)))
    for src, first in placed:
        if not first:
            continue
        at(data_lba + (first - 2) * spc)
        with open(src, "rb") as f:
            shutil.copyfileobj(f, image, 1 << 20)


# ---------------------------------------------------------------- reading back

def read_mbr(image_path: Path) -> list[Partition]:
    with open(image_path, "rb") as f:
        mbr = f.read(SECTOR)
    if mbr[510:512] != MBR_SIGNATURE:
        raise ValueError(f"{image_path}: no MBR signature")
    parts = []
    for i in range(4):
        _, _, ptype, _, start, count = struct.unpack_from("<B3sB3sII", mbr, 446 + 16 * i)
        if ptype:
            parts.append(Partition(start, count, ptype))
    return parts


class FatReader:
    """Read the root directory and files of a FAT32 partition inside an image."""

    def __init__(self, image_path: Path, start_lba: int):
        self.path = image_path
        self.base = start_lba * SECTOR
        with open(image_path, "rb") as f:
            f.seek(self.base)
            bs = f.read(SECTOR)
        if bs[510:512] != MBR_SIGNATURE or bs[82:90] != b"FAT32   ":
            raise ValueError("not a FAT32 boot sector")
        (self.bps, self.spc, self.reserved, self.nfats) = struct.unpack_from("<HBHB", bs, 11)
        (self.total,) = struct.unpack_from("<I", bs, 32)
        (self.fat_sectors,) = struct.unpack_from("<I", bs, 36)
        (self.root_cluster,) = struct.unpack_from("<I", bs, 44)
        self.label = bs[71:82].decode().rstrip()
        self.data = self.base + (self.reserved + self.nfats * self.fat_sectors) * self.bps
        with open(image_path, "rb") as f:
            f.seek(self.base + self.reserved * self.bps)
            raw = f.read(self.fat_sectors * self.bps)
        self.fat = struct.unpack(f"<{len(raw) // 4}I", raw)

    def _chain(self, first: int) -> list[int]:
        out = []
        c = first
        while 2 <= c < 0x0FFFFFF8:
            out.append(c)
            c = self.fat[c] & 0x0FFFFFFF
        return out

    def _read_chain(self, first: int, size: int | None = None) -> bytes:
        cb = self.spc * self.bps
        parts = []
        with open(self.path, "rb") as f:
            for c in self._chain(first):
                f.seek(self.data + (c - 2) * cb)
                parts.append(f.read(cb))
        blob = b"".join(parts)
        return blob if size is None else blob[:size]

    def entries(self) -> dict[str, tuple[int, int]]:
        """Root directory: name -> (first cluster, size)."""
        raw = self._read_chain(self.root_cluster)
        out: dict[str, tuple[int, int]] = {}
        lfn: list[bytes] = []
        for i in range(0, len(raw), 32):
            e = raw[i : i + 32]
            if e[0] == 0:
                break
            if e[0] == 0xE5:
                lfn = []
                continue
            if e[11] == ATTR_LFN:
                lfn.insert(0, e[1:11] + e[14:26] + e[28:32])
                continue
            if e[11] & ATTR_VOLUME:
                lfn = []
                continue
            if lfn:
                name = b"".join(lfn).decode("utf-16-le").split("\x00")[0]
            else:
                base, ext = e[0:8].decode().rstrip(), e[8:11].decode().rstrip()
                if e[12] & NTRES_LOWER_BASE:
                    base = base.lower()
                if e[12] & NTRES_LOWER_EXT:
                    ext = ext.lower()
                name = base + ("." + ext if ext else "")
            hi, lo, size = struct.unpack_from("<H", e, 20)[0], *struct.unpack_from("<HI", e, 26)
            out[name] = ((hi << 16) | lo, size)
            lfn = []
        return out

    def read(self, name: str) -> bytes:
        first, size = self.entries()[name]
        return self._read_chain(first, size) if size else b""


def boot_partition(image_path: Path) -> FatReader:
    parts = read_mbr(image_path)
    if not parts:
        raise ValueError(f"{image_path}: no partitions")
    return FatReader(image_path, parts[0].start_lba)


def source_date_epoch() -> float:
    return float(os.environ.get("SOURCE_DATE_EPOCH", time.time()))
