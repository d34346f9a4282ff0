#!/usr/bin/env python3
"""Turn a kernel + initramfs into a bootable SD-card image for the Raspberry Pi 3B/3B+/4B.

    build/mksdimg.py --kernel K --initrd I --kernel-deb D --firmware-deb F --out hushbox.img
                     [--cmdline "..."] [--config hushbox.conf] [--lullaby lullaby.wav]

The image: an MBR with one FAT32 partition (label from build/versions.env) holding
the Raspberry Pi boot firmware (from Debian's raspi-firmware .deb), the Pi 3/4
device trees (from the same Debian kernel .deb the kernel came from), the
kernel and initramfs, config.txt, cmdline.txt and a commented hushbox.conf.
Stdlib only; no root, loop devices or mtools. Nothing is left behind on failure.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tarfile
import tempfile
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
import fat32  # noqa: E402

MIB = 1 << 20
# Boot firmware: bootcode.bin (Pi 3 second stage), start/fixup (Pi 3), start4/fixup4 (Pi 4).
FIRMWARE_FILES = ("bootcode.bin", "start.elf", "fixup.dat", "start4.elf", "fixup4.dat")
# Upstream device-tree names, as Debian's kernel ships them, per supported board.
BOARD_DTBS = {
    "pi3": "bcm2837-rpi-3-b.dtb",
    "pi3+": "bcm2837-rpi-3-b-plus.dtb",
    "pi4": "bcm2711-rpi-4-b.dtb",
}
KERNEL_NAME = "kernel8.img"
INITRD_NAME = "initrd.img"
CONFIG_EXAMPLE = REPO / "appliance" / "data" / "hushbox.conf.example"
PLACEHOLDER_CONFIG = """\
# Hushbox configuration (INI). Edit on any computer: this is the SD card's
# FAT boot partition. Keys not set here keep Hushbox's built-in defaults.
[hushbox]
"""


def load_versions(path: Path = HERE / "versions.env") -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            k, v = line.split("=", 1)
            out[k.strip()] = v.strip()
    return out


def default_cmdline(v: dict[str, str]) -> str:
    # The serial console comes last so it owns /dev/console.
    return f"console=tty1 console={v['SERIAL_CONSOLE']},{v['SERIAL_BAUD']}"


def config_txt(v: dict[str, str]) -> str:
    sections = "\n".join(f"[{board}]\ndevice_tree={dtb}" for board, dtb in BOARD_DTBS.items())
    return f"""\
# Hushbox: Raspberry Pi boot configuration (read by the GPU firmware).
# Supported boards: Pi 3 Model B, Pi 3 Model B+, Pi 4 Model B.
[all]
# 64-bit kernel, with the whole appliance in the initramfs.
arm_64bit=1
kernel={KERNEL_NAME}
initramfs {INITRD_NAME} followkernel
# Serial console on GPIO14 (TX, pin 8) / GPIO15 (RX, pin 10), {v['SERIAL_BAUD']} 8N1.
enable_uart=1
# On-board audio (3.5 mm jack / HDMI) for the lullaby.
dtparam=audio=on
# Upstream device trees, as shipped with Debian's kernel ({v['KERNEL_ABI']}).
{sections}
[all]
"""


# ------------------------------------------------------------ Debian packages

def deb_data(deb: Path) -> tarfile.TarFile:
    """The data.tar of a .deb (an `ar` archive), opened for streaming."""
    f = open(deb, "rb")  # noqa: SIM115 - handed to the streaming TarFile, closed by the caller
    if f.read(8) != b"!<arch>\n":
        raise ValueError(f"{deb}: not a Debian package")
    while True:
        header = f.read(60)
        if len(header) < 60:
            raise ValueError(f"{deb}: no data.tar member")
        name = header[0:16].decode().strip().rstrip("/")
        size = int(header[48:58].decode().strip())
        if name.startswith("data.tar"):
            comp = name[len("data.tar"):].lstrip(".")
            modes = {"xz": "r|xz", "gz": "r|gz", "": "r|"}
            if comp not in modes:
                raise ValueError(f"{deb}: {name} compression is not supported (stdlib only)")
            return tarfile.open(fileobj=f, mode=modes[comp])
        f.seek(size + (size & 1), io.SEEK_CUR)


def extract_named(deb: Path, wanted: dict[str, str], dest: Path) -> dict[str, Path]:
    """Extract files whose archive path ends with a key of `wanted` to dest/<value>."""
    found: dict[str, Path] = {}
    with deb_data(deb) as tar:
        for member in tar:
            if member.isfile():
                for suffix, out_name in wanted.items():
                    if member.name.endswith("/" + suffix) and out_name not in found:
                        target = dest / out_name
                        with tar.extractfile(member) as src, open(target, "wb") as dst:
                            dst.write(src.read())
                        found[out_name] = target
            if len(found) == len(wanted):
                break
        tar.fileobj.close()
    missing = sorted(set(wanted.values()) - set(found))
    if missing:
        raise ValueError(f"{deb.name}: missing {', '.join(missing)}")
    return found


# ------------------------------------------------------------------- compose

def compose(*, kernel: Path, initrd: Path, kernel_deb: Path, firmware_deb: Path, out: Path,
            cmdline: str | None = None, config: Path | None = None,
            lullaby: Path | None = None, versions: dict[str, str] | None = None) -> Path:
    v = versions or load_versions()
    size = int(v["SDIMG_SIZE_MIB"]) * MIB
    start_lba = int(v["BOOT_PART_START_MIB"]) * MIB // fat32.SECTOR
    part_sectors = size // fat32.SECTOR - start_lba
    cmdline = cmdline or default_cmdline(v)
    if config is None:
        config = CONFIG_EXAMPLE if CONFIG_EXAMPLE.exists() else None

    with tempfile.TemporaryDirectory(prefix="mksdimg-") as tmp_name:
        tmp = Path(tmp_name)
        files: dict[str, Path] = {}
        files.update(extract_named(firmware_deb, {f: f for f in FIRMWARE_FILES}, tmp))
        files.update(extract_named(
            firmware_deb, {"raspi-firmware/copyright": "LICENCE.raspi-firmware.txt"}, tmp))
        dtb_dir = f"linux-image-{v['KERNEL_ABI']}/broadcom/"
        files.update(extract_named(kernel_deb, {dtb_dir + d: d for d in BOARD_DTBS.values()}, tmp))
        (tmp / "config.txt").write_text(config_txt(v))
        (tmp / "cmdline.txt").write_text(cmdline.strip() + "\n")
        conf = tmp / "hushbox.conf"
        conf.write_text(config.read_text() if config else PLACEHOLDER_CONFIG)
        files.update({"config.txt": tmp / "config.txt", "cmdline.txt": tmp / "cmdline.txt",
                      "hushbox.conf": conf, KERNEL_NAME: kernel, INITRD_NAME: initrd})
        if lullaby:
            files["lullaby.wav"] = lullaby

        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(out.name + ".partial")
        disk_id = zlib.crc32(v["BOOT_LABEL"].encode())
        try:
            with open(partial, "wb") as image:
                image.truncate(size)
                fat32.write_mbr(image, start_lba, part_sectors, disk_id)
                fat32.write_fat32(image, start_lba, part_sectors, v["BOOT_LABEL"], files,
                                  volume_id=disk_id, epoch=fat32.source_date_epoch())
            os.replace(partial, out)
        finally:
            partial.unlink(missing_ok=True)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kernel", type=Path, required=True, help="arm64 kernel Image")
    p.add_argument("--initrd", type=Path, required=True, help="initramfs (cpio, gzip/zstd)")
    p.add_argument("--kernel-deb", type=Path, required=True,
                   help="Debian kernel .deb (device trees)")
    p.add_argument("--firmware-deb", type=Path, required=True, help="Debian raspi-firmware .deb")
    p.add_argument("--out", type=Path, required=True, help="SD image to write")
    p.add_argument("--cmdline", help="kernel command line (default: tty1, then the serial console)")
    p.add_argument("--cmdline-file", type=Path, help="read the kernel command line from a file")
    p.add_argument("--config", type=Path, help="hushbox.conf to ship (default: the example)")
    p.add_argument("--lullaby", type=Path, help="optional lullaby.wav for the boot partition")
    a = p.parse_args(argv)
    cmdline = a.cmdline
    if a.cmdline_file:
        cmdline = a.cmdline_file.read_text().strip()
    for f in (a.kernel, a.initrd, a.kernel_deb, a.firmware_deb, a.config, a.lullaby):
        if f is not None and not f.is_file():
            print(f"mksdimg: missing input {f}", file=sys.stderr)
            return 1
    try:
        out = compose(kernel=a.kernel, initrd=a.initrd, kernel_deb=a.kernel_deb,
                      firmware_deb=a.firmware_deb, out=a.out, cmdline=cmdline,
                      config=a.config, lullaby=a.lullaby)
    except (ValueError, OSError) as e:
        print(f"mksdimg: {e}", file=sys.stderr)
        return 1
    print(f"mksdimg: wrote {out} ({out.stat().st_size // MIB} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
