"""The SD card image made by build/mksdimg.py: partition table, FAT contents, boot files.

The FAT32 writer/reader round trip runs everywhere. The full image needs the
pinned Debian kernel and raspi-firmware packages: they are fetched once into
/var/cache/hushbox (apt-get download, no root needed for the files themselves)
or the tests say why they skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BUILD = REPO / "build"
sys.path.insert(0, str(BUILD))
import fat32  # noqa: E402
import mksdimg  # noqa: E402

V = mksdimg.load_versions()
MIB = 1 << 20
DTB_MAGIC = bytes.fromhex("d00dfeed")


def fetch_debs() -> tuple[Path, Path]:
    if not shutil.which("apt-get"):
        pytest.skip("no apt-get here to fetch the pinned kernel/raspi-firmware packages")
    cache = os.environ.get("IMAGE_CACHE", "/var/cache/hushbox")
    try:
        r = subprocess.run(["sh", str(BUILD / "fetch-debs.sh"), cache], capture_output=True,
                           text=True, timeout=300)
    except subprocess.TimeoutExpired:
        pytest.skip("fetching the pinned Debian packages timed out")
    if r.returncode != 0:
        pytest.skip(f"pinned Debian packages unavailable: {r.stderr.strip()}")
    kernel_deb, firmware_deb = (Path(p) for p in r.stdout.split())
    return kernel_deb, firmware_deb


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    kernel_deb, firmware_deb = fetch_debs()
    tmp = tmp_path_factory.mktemp("sdimg")
    kernel = tmp / "Image"
    kernel.write_bytes(b"ARMd" + os.urandom(3 * MIB))
    initrd = tmp / "initrd"
    initrd.write_bytes(os.urandom(5 * MIB + 123))
    out = mksdimg.compose(kernel=kernel, initrd=initrd, kernel_deb=kernel_deb,
                          firmware_deb=firmware_deb, out=tmp / "hushbox.img")
    return out, kernel, initrd


# ------------------------------------------------------------------ FAT32 alone

def test_fat32_round_trip_with_long_names(tmp_path):
    files = {}
    for name, size in [("config.txt", 10), ("bcm2837-rpi-3-b-plus.dtb", 5000),
                       ("bcm2837-rpi-3-b.dtb", 0), ("kernel8.img", 70000),
                       ("LICENCE.raspi-firmware.txt", 1), ("hushbox.conf", 2049)]:
        p = tmp_path / name
        p.write_bytes(os.urandom(size))
        files[name] = p
    img = tmp_path / "t.img"
    sectors = 70 * MIB // fat32.SECTOR
    start = 2048
    with open(img, "wb") as f:
        f.truncate((start + sectors) * fat32.SECTOR)
        fat32.write_mbr(f, start, sectors, 0x1234)
        fat32.write_fat32(f, start, sectors, "TESTVOL", files, volume_id=1, epoch=1.7e9)
    (part,) = fat32.read_mbr(img)
    assert (part.start_lba, part.sectors, part.ptype) == (start, sectors, 0x0C)
    fat = fat32.FatReader(img, start)
    assert fat.label == "TESTVOL"
    assert set(fat.entries()) == set(files)
    for name, src in files.items():
        assert fat.read(name) == src.read_bytes(), name


def test_fat32_refuses_a_partition_too_small(tmp_path):
    with pytest.raises(ValueError):
        fat32._geometry(1000)


def test_compose_leaves_nothing_behind_on_failure(tmp_path):
    bogus = tmp_path / "not-a.deb"
    bogus.write_bytes(b"nope")
    k = tmp_path / "k"
    k.write_bytes(b"k")
    out = tmp_path / "x.img"
    with pytest.raises(ValueError):
        mksdimg.compose(kernel=k, initrd=k, kernel_deb=bogus, firmware_deb=bogus, out=out)
    assert list(tmp_path.glob("x.img*")) == []


def test_cli_missing_input_one_line(tmp_path):
    r = subprocess.run([sys.executable, str(BUILD / "mksdimg.py"), "--kernel", str(tmp_path / "no"),
                        "--initrd", "x", "--kernel-deb", "x", "--firmware-deb", "x",
                        "--out", str(tmp_path / "o.img")], capture_output=True, text=True)
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "missing input" in r.stderr
    assert not (tmp_path / "o.img").exists()


# ----------------------------------------------------------------- whole image

def test_partition_table(image):
    img, _, _ = image
    assert img.stat().st_size == int(V["SDIMG_SIZE_MIB"]) * MIB
    size = img.stat().st_size
    assert size & (size - 1) == 0, "QEMU's SD card model needs a power-of-two size"
    (part,) = fat32.read_mbr(img)
    assert part.ptype == 0x0C  # FAT32, LBA
    assert part.start_lba * fat32.SECTOR == int(V["BOOT_PART_START_MIB"]) * MIB
    assert (part.start_lba + part.sectors) * fat32.SECTOR == size


def test_boot_partition_contents(image):
    img, kernel, initrd = image
    fat = fat32.boot_partition(img)
    assert fat.label == V["BOOT_LABEL"]
    names = set(fat.entries())
    for f in mksdimg.FIRMWARE_FILES:
        assert f in names and fat.entries()[f][1] > 0, f
    for dtb in mksdimg.BOARD_DTBS.values():
        assert fat.read(dtb)[:4] == DTB_MAGIC, dtb
    assert fat.read("kernel8.img") == kernel.read_bytes()
    assert fat.read("initrd.img") == initrd.read_bytes()
    assert "LICENCE.raspi-firmware.txt" in names


def test_config_txt(image):
    text = fat32.boot_partition(image[0]).read("config.txt").decode()
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    for want in ("arm_64bit=1", "kernel=kernel8.img", "initramfs initrd.img followkernel",
                 "enable_uart=1", "dtparam=audio=on"):
        assert want in lines, want
    for board in ("pi3", "pi3+", "pi4"):
        i = lines.index(f"[{board}]")
        assert lines[i + 1] == f"device_tree={mksdimg.BOARD_DTBS[board]}"
    # [pi3] also matches the 3B+, so [pi3+] must come after it to win.
    assert lines.index("[pi3]") < lines.index("[pi3+]")


def test_cmdline_txt_serial_console_last(image):
    text = fat32.boot_partition(image[0]).read("cmdline.txt").decode()
    assert text.endswith("\n") and text.count("\n") == 1, "one line"
    consoles = [w for w in text.split() if w.startswith("console=")]
    assert consoles[-1] == f"console={V['SERIAL_CONSOLE']},{V['SERIAL_BAUD']}"
    assert "console=tty1" in consoles


def test_hushbox_conf_is_the_commented_default(image):
    text = fat32.boot_partition(image[0]).read("hushbox.conf").decode()
    assert "[hushbox]" in text and text.lstrip().startswith("#")
    example = REPO / "appliance" / "data" / "hushbox.conf.example"
    if example.exists():
        assert text == example.read_text()


def test_other_fat_implementations_agree(image):
    img = image[0]
    mdir, fsck = shutil.which("mdir"), shutil.which("fsck.fat")
    if not (mdir or fsck):
        pytest.skip("neither mtools nor dosfstools installed: no second opinion on the FAT")
    offset = fat32.read_mbr(img)[0].start_lba * fat32.SECTOR
    if mdir:
        r = subprocess.run([mdir, "-b", "-i", f"{img}@@{offset}", "::"], capture_output=True,
                           text=True, check=True)
        assert {Path(p).name for p in r.stdout.split()} == set(fat32.boot_partition(img).entries())
    if fsck:
        part = img.with_suffix(".part")
        with open(img, "rb") as src, open(part, "wb") as dst:
            src.seek(offset)
            shutil.copyfileobj(src, dst)
        r = subprocess.run([fsck, "-n", str(part)], capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
