"""The service scripts of the image: the restart loop and the onboot step, run on stubs."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BUILD = REPO / "build"
SERVICE = BUILD / "hushbox" / "hushbox-service"
ONBOOT = BUILD / "hushbox" / "hushbox-onboot"
SHELL_SCRIPTS = [SERVICE, ONBOOT, BUILD / "hushbox" / "finish-rootfs.sh", BUILD / "fetch-debs.sh",
                 BUILD / "kernel-modules.sh", BUILD / "mkrootfs.sh", BUILD / "mkimage.sh",
                 BUILD / "rehearsal" / "init"]


@pytest.mark.parametrize("script", SHELL_SCRIPTS, ids=lambda p: p.name)
def test_posix_sh_syntax(script):
    assert script.read_text().startswith("#!/bin/sh")
    subprocess.run(["sh", "-n", str(script)], check=True)


def test_bash_syntax():
    subprocess.run(["bash", "-n", str(BUILD / "rehearse.sh")], check=True)


def stub(bin_dir: Path, name: str, body: str) -> None:
    path = bin_dir / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)


@pytest.fixture
def env(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    # The detector stand-in: record its arguments, exit with $FAKE_STATUS.
    stub(bin_dir, "python3", 'echo "ARGS $*" >>"$FAKE_LOG"; echo "T hushbox INFO listening"; '
                             'exit "${FAKE_STATUS:-0}"')
    boot = tmp_path / "boot"
    boot.mkdir()
    e = {k: v for k, v in os.environ.items() if not k.startswith("HUSHBOX_")}
    e.update(PATH=f"{bin_dir}:{e['PATH']}", FAKE_LOG=str(tmp_path / "calls"),
             SERVICE_BOOT_DIR=str(boot), SERVICE_CONSOLE=str(tmp_path / "no-console"),
             SERVICE_RESTART_DELAY_S="0", SERVICE_USER="no-such-user-hushbox")
    return e, tmp_path, boot


def run_service(e, *args, timeout=30):
    return subprocess.run(["sh", str(SERVICE), *args], env=e, capture_output=True, text=True,
                          timeout=timeout)


def test_service_restarts_the_detector(env):
    e, tmp, _ = env
    e.update(SERVICE_MAX_RUNS="3", FAKE_STATUS="7")
    r = run_service(e)
    assert r.returncode == 7
    assert (tmp / "calls").read_text().count("ARGS -m appliance listen") == 3
    assert r.stdout.count("WARNING exited status=7") == 2
    assert "stopped status=7 runs=3" in r.stdout


def test_service_reads_config_and_optional_lullaby(env):
    e, tmp, boot = env
    e["SERVICE_MAX_RUNS"] = "1"
    (boot / "hushbox.conf").write_text("[hushbox]\n")
    run_service(e, "--stop-after-seconds", "5")
    first = (tmp / "calls").read_text().splitlines()[-1]
    assert f"--config {boot}/hushbox.conf" in first
    assert "--lullaby" not in first and first.endswith("--stop-after-seconds 5")
    (boot / "lullaby.wav").write_bytes(b"RIFF")
    run_service(e)
    assert f"--lullaby {boot}/lullaby.wav" in (tmp / "calls").read_text().splitlines()[-1]


def test_service_without_boot_partition_uses_defaults(env):
    e, tmp, boot = env
    e["SERVICE_MAX_RUNS"] = "1"
    shutil.rmtree(boot)
    r = run_service(e)
    assert r.returncode == 0
    assert "--config" not in (tmp / "calls").read_text()


def test_service_output_goes_to_the_console(env):
    e, tmp, _ = env
    console = tmp / "console"
    console.write_text("")
    e.update(SERVICE_MAX_RUNS="1", SERVICE_CONSOLE="/dev/null")
    r = run_service(e)
    assert r.stdout == "", "all output goes to the console device"


def run_onboot(tmp_path, stubs: dict[str, str], modules: str, **env: str):
    """Run the onboot script with stubbed system tools and a module list."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in stubs.items():
        stub(bin_dir, name, body)
    mods = tmp_path / "modules.txt"
    mods.write_text(modules)
    e = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", ONBOOT_MODULES=str(mods),
             **env)
    return subprocess.run(["sh", str(ONBOOT), str(tmp_path / "mnt")], env=e,
                          capture_output=True, text=True, timeout=30)


def test_onboot_loads_listed_modules_and_tolerates_no_boot_partition(tmp_path):
    r = run_onboot(tmp_path, {
        "modprobe": '[ "$1" = missing_mod ] && exit 1; echo "$1" >>"$LOADED"',
        "blkid": "exit 2", "findfs": "exit 1", "sleep": "exit 0"},
        "# comment\nsnd-usb-audio\n\nmissing_mod\nbcm2835_wdt\n",
        LOADED=str(tmp_path / "loaded"), ONBOOT_BOOT_WAIT_S="2")
    assert r.returncode == 0
    assert (tmp_path / "loaded").read_text().split() == ["snd-usb-audio", "bcm2835_wdt"]
    assert "modules_loaded count=2 failed= missing_mod" in r.stdout
    assert "boot_partition_missing" in r.stdout


def test_onboot_mounts_the_labelled_partition_read_only(tmp_path):
    r = run_onboot(tmp_path, {
        "modprobe": "exit 0",
        "blkid": '[ "$1 $2" = "-L HUSHBOOT" ] && echo /dev/mmcblk0p1',
        "mount": 'echo "$*" >"$MOUNTED"'},
        "vfat\n", MOUNTED=str(tmp_path / "m"))
    assert "boot_partition_mounted device=/dev/mmcblk0p1" in r.stdout
    args = (tmp_path / "m").read_text().split()
    assert args[:3] == ["-t", "vfat", "-o"] and args[3].startswith("ro,")
    assert args[4:] == ["/dev/mmcblk0p1", str(tmp_path / "mnt")]
