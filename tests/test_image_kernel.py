"""The pinned Debian kernel has what the appliance needs (its own shipped config).

Reads /boot/config-<abi>, the Pi device trees and the module tree straight out
of the pinned .deb (fetched once into /var/cache/hushbox, or skipped with the
reason). Also checks build/modules.txt against it and build/kernel-modules.sh.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BUILD = REPO / "build"
sys.path.insert(0, str(BUILD))
import mksdimg  # noqa: E402
from test_image_sdimg import fetch_debs  # noqa: E402

V = mksdimg.load_versions()
ABI = V["KERNEL_ABI"]

# What the appliance needs, and how: y = built in, m = module, either = y or m.
NEEDED = {
    "CONFIG_ARCH_BCM2835": "y",           # Pi SoC support (BCM2837 / BCM2711)
    "CONFIG_SOUND": "either",
    "CONFIG_SND": "either",                # ALSA
    "CONFIG_SND_PCM": "either",
    "CONFIG_SND_USB_AUDIO": "either",      # USB microphones
    "CONFIG_SND_BCM2835": "either",        # the Pi's own audio out (VCHIQ)
    "CONFIG_BCM2835_VCHIQ": "either",
    "CONFIG_BCM2835_WDT": "either",        # /dev/watchdog
    "CONFIG_WATCHDOG": "y",
    "CONFIG_SERIAL_8250_BCM2835AUX": "y",  # mini UART: ttyS1, the serial console
    "CONFIG_SERIAL_8250_CONSOLE": "y",
    "CONFIG_SERIAL_AMBA_PL011": "y",       # PL011: ttyAMA0
    "CONFIG_SERIAL_AMBA_PL011_CONSOLE": "y",
    "CONFIG_MMC_BCM2835": "either",        # SD card (Pi 3 sdhost)
    "CONFIG_MMC_SDHCI_IPROC": "either",    # SD card (Pi 3 sdhci / Pi 4 emmc2)
    "CONFIG_VFAT_FS": "either",            # the FAT boot partition
    "CONFIG_USB_DWC2": "either",           # Pi 3 USB
    "CONFIG_USB_XHCI_PCI": "either",       # Pi 4 USB (VL805)
    "CONFIG_PCIE_BRCMSTB": "either",
    "CONFIG_BLK_DEV_INITRD": "y",
    "CONFIG_RD_GZIP": "y",                 # LinuxKit's initrd
    "CONFIG_RD_ZSTD": "y",                 # the rehearsal's initramfs
    "CONFIG_DEVTMPFS": "y",
}


@pytest.fixture(scope="module")
def kernel_pkg(tmp_path_factory):
    kernel_deb, _ = fetch_debs()
    dest = tmp_path_factory.mktemp("kernel-deb")
    if not shutil.which("dpkg-deb"):
        pytest.skip("dpkg-deb not installed")
    subprocess.run(["dpkg-deb", "-x", str(kernel_deb), str(dest)], check=True, timeout=300)
    return dest


@pytest.fixture(scope="module")
def config(kernel_pkg):
    out = {}
    for line in (kernel_pkg / "boot" / f"config-{ABI}").read_text().splitlines():
        if line.startswith("CONFIG_") and "=" in line:
            k, v = line.split("=", 1)
            out[k] = v
        elif line.startswith("# CONFIG_") and line.endswith(" is not set"):
            out[line[2:].split()[0]] = "n"
    return out


@pytest.mark.parametrize("option", sorted(NEEDED))
def test_kernel_config_has(config, option):
    want = NEEDED[option]
    got = config.get(option, "n")
    assert got in (("y", "m") if want == "either" else (want,)), f"{option}={got}, need {want}"


def test_pi_device_trees_ship_with_the_kernel(kernel_pkg):
    dtbs = kernel_pkg / "usr" / "lib" / f"linux-image-{ABI}" / "broadcom"
    for dtb in list(mksdimg.BOARD_DTBS.values()) + [V["QEMU_DTB"]]:
        assert (dtbs / dtb).is_file(), dtb


def test_kernel_is_an_arm64_image(kernel_pkg):
    head = (kernel_pkg / "boot" / f"vmlinuz-{ABI}").read_bytes()[:64]
    assert head[56:60] == b"ARMd", "arm64 Image magic (uncompressed, bootable as kernel8.img)"


def listed_modules() -> list[str]:
    lines = (BUILD / "modules.txt").read_text().splitlines()
    return [x.strip() for x in lines if x.strip() and not x.lstrip().startswith("#")]


def test_modules_list_exists_in_the_kernel(kernel_pkg):
    tree = kernel_pkg / "lib" / "modules" / ABI / "kernel"
    present = {p.name.removesuffix(".ko").replace("-", "_") for p in tree.rglob("*.ko")}
    for mod in listed_modules():
        assert mod.replace("-", "_") in present, f"{mod} is not a module of {ABI}"


def test_trimmed_module_tree(kernel_pkg, tmp_path):
    if not (shutil.which("depmod") and shutil.which("modprobe")):
        pytest.skip("kmod (depmod/modprobe) not installed")
    src = tmp_path / "src"
    shutil.copytree(kernel_pkg / "lib", src / "lib", symlinks=True)
    r = subprocess.run(["sh", str(BUILD / "kernel-modules.sh"), str(src), str(tmp_path / "out")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    mods = tmp_path / "out" / "lib" / "modules" / ABI
    assert (mods / "modules.dep").is_file()
    kept = {p.name for p in mods.rglob("*.ko")}
    for mod in ("snd-usb-audio.ko", "snd-bcm2835.ko", "bcm2835_wdt.ko", "vfat.ko", "snd.ko"):
        assert mod in kept
    assert len(kept) < 100, "only the appliance's modules and their dependencies"
    dep = (mods / "modules.dep").read_text()
    assert "snd-usb-audio.ko:" in dep
