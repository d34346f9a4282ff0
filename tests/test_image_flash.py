"""make flash: build/flash.py refuses the wrong disks and verifies what it wrote.

Runs against a fake /sys and /proc/mounts; the write/verify path against files.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "build"))
import flash  # noqa: E402

GB_SECTORS = 16 * 10**9 // 512


def fake_disk(sysfs: Path, name: str, *, removable: bool, usb: bool = True,
              sectors: int = GB_SECTORS, parts: int = 1, model: str = "SD Reader") -> None:
    dev_target = sysfs / "devices" / ("usb1/1-1/host0" if usb else "pci0000:00/ata1") / name
    dev_target.mkdir(parents=True)
    (dev_target / "model").write_text(model + "\n")
    block = sysfs / "block" / name
    block.mkdir(parents=True)
    (block / "device").symlink_to(dev_target)
    (block / "removable").write_text("1\n" if removable else "0\n")
    (block / "size").write_text(f"{sectors}\n")
    for i in range(1, parts + 1):
        p = block / f"{name}{i}"
        p.mkdir()
        (p / "partition").write_text(f"{i}\n")


@pytest.fixture
def world(tmp_path):
    sysfs = tmp_path / "sys"
    proc = tmp_path / "proc"
    proc.mkdir()
    (proc / "mounts").write_text("/dev/sda2 / ext4 rw 0 0\n/dev/sdc1 /media/card vfat rw 0 0\n")
    (proc / "swaps").write_text("Filename Type Size Used Priority\n/dev/sda3 partition 1 0 -2\n")
    fake_disk(sysfs, "sda", removable=False, usb=False, model="Samsung SSD")
    fake_disk(sysfs, "sdb", removable=True)
    fake_disk(sysfs, "sdc", removable=True)
    fake_disk(sysfs, "sdd", removable=False, usb=True)            # USB reader saying "fixed"
    fake_disk(sysfs, "sde", removable=True, sectors=0)            # reader without a card
    fake_disk(sysfs, "mmcblk0", removable=False, usb=False)       # laptop SD slot
    fake_disk(sysfs, "sdf", removable=True)
    (proc / "mounts").write_text((proc / "mounts").read_text() + "/dev/sdf1 / ext4 rw 0 0\n")
    return {"sysfs": sysfs, "mounts_file": proc / "mounts"}


def test_accepts_an_unmounted_removable_card(world):
    disk = flash.check("sdb", **world)
    assert disk.removable and disk.size_bytes == GB_SECTORS * 512 and "SD Reader" in disk.model


@pytest.mark.parametrize("name", ["sdd", "mmcblk0"])
def test_accepts_usb_readers_and_sd_slots(world, name):
    assert flash.check(name, **world).transport in ("usb", "mmc")


@pytest.mark.parametrize("name, why", [
    ("sda", "not removable"),
    ("sdc", "mounted on /media/card"),
    ("sde", "no medium"),
    ("sdf", "running system"),
])
def test_refuses(world, name, why):
    with pytest.raises(flash.Refused, match=why):
        flash.check(name, **world)


def test_refuses_partitions_and_missing_paths(tmp_path):
    with pytest.raises(flash.Refused, match="does not exist"):
        flash.disk_name(str(tmp_path / "nope"))
    part = tmp_path / "dev" / "sdb1"
    part.parent.mkdir()
    part.write_text("")
    with pytest.raises(flash.Refused, match="partition"):
        flash.disk_name(str(part), dev_root=tmp_path / "dev", sysfs=tmp_path / "sys")


def test_write_and_verify(tmp_path):
    image = tmp_path / "hushbox.img"
    image.write_bytes(bytes(range(256)) * 40000)
    card = tmp_path / "card"
    card.write_bytes(b"\xff" * (image.stat().st_size + 4096))
    flash.write_and_verify(image, str(card))
    assert card.read_bytes()[: image.stat().st_size] == image.read_bytes()


def test_make_flash_without_confirmation_refuses(tmp_path):
    image = tmp_path / "x.img"
    image.write_bytes(b"x")
    r = subprocess.run([sys.executable, str(REPO / "build" / "flash.py"), str(image),
                        str(tmp_path / "nodev")], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 1 and "refused" in r.stderr and r.stderr.count("\n") == 1
