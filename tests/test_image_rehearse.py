"""make rehearse's console checker (build/rehearse_boot.py), driven by a stand-in QEMU.

The real emulated boot is `make rehearse` (minutes, root); this checks the
milestone logic, the boot files taken out of the image and the report.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "build"))
import fat32  # noqa: E402
import rehearse_boot  # noqa: E402

GOOD_LOG = """\
[    0.000000] Linux version 6.1.0-50-arm64 (debian-kernel@lists.debian.org)
1970-01-01T00:00:20Z hushbox-onboot INFO modules_loaded count=12 failed=none
1970-01-01T00:00:21Z hushbox-onboot INFO boot_partition_mounted device=/dev/mmcblk0p1 at=/var/boot
1970-01-01T00:00:30Z hushbox INFO listening capture=hushbox_capture playback=hushbox_playback
1970-01-01T00:00:35Z hushbox INFO heartbeat uptime_seconds=5
1970-01-01T00:00:36Z hushbox INFO cry_confirmed score=0.97
1970-01-01T00:00:36Z hushbox INFO lullaby_started path=default
rehearsal-init: shutting down
"""


def make_image(tmp_path: Path) -> Path:
    files = {}
    for name in ("kernel8.img", "initrd.img", "bcm2837-rpi-3-b.dtb"):
        files[name] = tmp_path / name
        files[name].write_bytes(os.urandom(1000))
    files["cmdline.txt"] = tmp_path / "cmdline.txt"
    files["cmdline.txt"].write_text("console=tty1 console=ttyS1,115200\n")
    img = tmp_path / "r.img"
    start, sectors = 2048, 40 * 1024 * 1024 // fat32.SECTOR
    with open(img, "wb") as f:
        f.truncate((start + sectors) * fat32.SECTOR)
        fat32.write_mbr(f, start, sectors, 1)
        fat32.write_fat32(f, start, sectors, "HUSHBOOT", files, volume_id=1, epoch=0)
    return img


def fake_qemu(tmp_path: Path, log: str) -> dict:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (tmp_path / "console.txt").write_text(log)
    qemu = bin_dir / "qemu-system-aarch64"
    qemu.write_text(f'#!/bin/sh\necho "$@" >"{tmp_path}/args"\ncat "{tmp_path}/console.txt"\n')
    qemu.chmod(0o755)
    return {"PATH": f"{bin_dir}:{os.environ['PATH']}"}


def run(tmp_path, monkeypatch, log):
    for k, v in fake_qemu(tmp_path, log).items():
        monkeypatch.setenv(k, v)
    work = tmp_path / "work"
    status = rehearse_boot.main(["--image", str(make_image(tmp_path)), "--workdir", str(work),
                                 "--timeout", "30"])
    return status, json.loads((work / "rehearsal.json").read_text()), work


def test_event_word_is_the_fourth_field():
    assert rehearse_boot.hushbox_event("2026-11-26T21:03:04Z hushbox INFO listening x=1") == \
        "listening"
    assert rehearse_boot.hushbox_event("[ 3.1] hushbox: environment: unknown key") is None
    assert rehearse_boot.hushbox_event("T hushbox-service INFO starting run=1") is None


def test_all_milestones_pass_and_are_reported(tmp_path, monkeypatch):
    status, report, work = run(tmp_path, monkeypatch, GOOD_LOG)
    assert status == 0, report
    assert report["missing"] == []
    assert report["boot_to_listening_s"] is not None
    assert report["hushbox_events"]["heartbeat"] == 1
    assert report["cmdline"] == "console=tty1 console=ttyS1,115200"
    args = (tmp_path / "args").read_text()
    assert "-M raspi3b" in args and "-no-reboot" in args and "if=sd" in args
    assert "-serial null -serial stdio" in args, "ttyS1 is raspi3b's second serial port"
    assert (work / "serial.log").read_text().count("\n") == GOOD_LOG.count("\n")


@pytest.mark.parametrize("drop", ["cry_confirmed", "heartbeat", "modules_loaded"])
def test_a_missing_milestone_fails(tmp_path, monkeypatch, drop):
    log = "".join(line + "\n" for line in GOOD_LOG.splitlines() if drop not in line)
    status, report, _ = run(tmp_path, monkeypatch, log)
    assert status == 1 and drop in report["missing"]
