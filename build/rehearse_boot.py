#!/usr/bin/env python3
"""Boot an SD image on QEMU's emulated Raspberry Pi 3 and assert on its serial console.

    build/rehearse_boot.py --image hushbox-rehearsal.img --workdir DIR

Takes kernel8.img, the Pi 3 device tree, initrd.img and cmdline.txt out of the
image's FAT boot partition (as the Pi firmware would), boots them with the image
attached as the SD card, timestamps every console line, and checks the
milestones in order. Writes DIR/serial.log and DIR/rehearsal.json. Stdlib only.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import selectors
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import fat32  # noqa: E402
from mksdimg import INITRD_NAME, KERNEL_NAME, load_versions  # noqa: E402

# (milestone, predicate on a console line, order group). Every milestone must
# appear; groups come in order, milestones within a group in any order (the
# detector's heartbeat is on a wall-clock timer, the cry on the audio's time).
MILESTONES = [
    ("kernel_up", lambda line: "Linux version" in line, 0),
    ("modules_loaded", lambda line: "hushbox-onboot INFO modules_loaded" in line, 1),
    ("boot_partition_mounted",
     lambda line: "hushbox-onboot INFO boot_partition_mounted" in line, 2),
    ("listening", lambda line: hushbox_event(line) == "listening", 3),
    ("cry_confirmed", lambda line: hushbox_event(line) == "cry_confirmed", 4),
    ("lullaby_started", lambda line: hushbox_event(line) == "lullaby_started", 4),
    ("heartbeat", lambda line: hushbox_event(line) == "heartbeat", 4),
    ("shutdown", lambda line: "rehearsal-init: shutting down" in line, 5),
]


def hushbox_event(line: str) -> str | None:
    """The event word of a Hushbox log line: `<time> hushbox <LEVEL> <event> ...`."""
    fields = line.split()
    for i, f in enumerate(fields[:-2]):
        if f == "hushbox" and fields[i + 1].isupper():
            return fields[i + 2]
    return None


def extract_boot_files(image: Path, dest: Path, dtb: str) -> dict[str, Path]:
    fat = fat32.boot_partition(image)
    out = {}
    for name in (KERNEL_NAME, INITRD_NAME, dtb, "cmdline.txt"):
        path = dest / f"boot-{name}"
        path.write_bytes(fat.read(name))
        out[name] = path
    return out


def main(argv: list[str] | None = None) -> int:
    v = load_versions()
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--image", type=Path, required=True)
    p.add_argument("--workdir", type=Path, required=True)
    p.add_argument("--timeout", type=float, default=float(v["REHEARSAL_TIMEOUT_S"]))
    p.add_argument("--rootfs-kib", type=int, default=0, help="unpacked root size, for the report")
    a = p.parse_args(argv)
    qemu = shutil.which("qemu-system-aarch64")
    if not qemu:
        print("rehearse_boot: qemu-system-aarch64 missing: apt-get install qemu-system-arm",
              file=sys.stderr)
        return 1
    a.workdir.mkdir(parents=True, exist_ok=True)
    files = extract_boot_files(a.image, a.workdir, v["QEMU_DTB"])
    cmdline = files["cmdline.txt"].read_text().strip()
    # raspi3b: the first -serial is the PL011 (Bluetooth on a real Pi 3), the
    # second the mini UART on GPIO14/15 -- ttyS1, the console cmdline.txt names.
    cmd = [
        qemu, "-M", v["QEMU_MACHINE"], "-kernel", str(files[KERNEL_NAME]),
        "-dtb", str(files[v["QEMU_DTB"]]), "-initrd", str(files[INITRD_NAME]),
        "-append", cmdline,
        "-drive", f"file={a.image},if=sd,format=raw,snapshot=on",
        "-serial", "null", "-serial", "stdio", "-monitor", "none", "-display", "none",
        "-no-reboot",
    ]
    log_path = a.workdir / "serial.log"
    seen: dict[str, float] = {}
    kernel_ts: dict[str, float] = {}
    events: dict[str, int] = {}
    group = 0
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    buf = b""
    timed_out = False
    with open(log_path, "w") as log:
        while True:
            remaining = a.timeout - (time.monotonic() - t0)
            if remaining <= 0:
                timed_out = True
                break
            if not sel.select(timeout=min(remaining, 1.0)):
                if proc.poll() is not None:
                    break
                continue
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            buf += chunk
            *lines, buf = buf.split(b"\n")
            for raw in lines:
                line = raw.decode("utf-8", "replace").rstrip("\r")
                now = time.monotonic() - t0
                log.write(f"[{now:8.2f}] {line}\n")
                ev = hushbox_event(line)
                if ev:
                    events[ev] = events.get(ev, 0) + 1
                for name, matches, g in MILESTONES:
                    if g == group and name not in seen and matches(line):
                        seen[name] = round(now, 2)
                        if line.startswith("[") and "]" in line:
                            with contextlib.suppress(ValueError):
                                kernel_ts[name] = float(line[1 : line.index("]")])
                        print(f"rehearse_boot: {now:7.1f}s {name}", flush=True)
                if all(n in seen for n, _, g in MILESTONES if g == group):
                    group += 1
            log.flush()
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    elapsed = round(time.monotonic() - t0, 2)
    missing = [m for m, _, _ in MILESTONES if m not in seen]
    report = {
        "machine": v["QEMU_MACHINE"],
        "kernel": v["KERNEL_ABI"],
        "cmdline": cmdline,
        "initramfs_bytes": files[INITRD_NAME].stat().st_size,
        "rootfs_unpacked_kib": a.rootfs_kib,
        "seconds_from_qemu_start": seen,
        "kernel_timestamps_s": kernel_ts,
        "boot_to_listening_s": seen.get("listening"),
        "hushbox_events": events,
        "qemu_exit": proc.returncode,
        "timed_out": timed_out,
        "elapsed_s": elapsed,
        "missing": missing,
    }
    (a.workdir / "rehearsal.json").write_text(json.dumps(report, indent=2) + "\n")
    if missing:
        why = "timed out" if timed_out else f"QEMU exited ({proc.returncode})"
        print(f"rehearse_boot: {why} after {elapsed}s before: {', '.join(missing)} "
              f"(serial log {log_path})", file=sys.stderr)
        return 1
    print(f"rehearse_boot: all milestones; boot-to-listening {seen['listening']}s, "
          f"initramfs {report['initramfs_bytes'] / 2**20:.1f} MiB, QEMU ended after {elapsed}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
