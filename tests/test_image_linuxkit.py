"""linuxkit.yml and the LinuxKit packages: LinuxKit's documented yml schema, pins, devices.

The schema below is LinuxKit's own (src/cmd/linuxkit/moby/schema.go: the top-level
sections, the image and device keys and their JSON types). YAML is read with a
small parser of the block-style subset these files use, which keeps quoted and
unquoted scalars apart (a device mode written 0660 is an int to LinuxKit's YAML
reader and fails its schema). Where the linuxkit CLI exists, it checks too.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BUILD = REPO / "build"
YMLS = [REPO / "linuxkit.yml", BUILD / "linuxkit-debug.yml"]


# --------------------------------------------------------------- YAML subset

class Quoted(str):
    """A scalar that was quoted in the YAML source."""


def _scalar(text: str):
    text = text.strip()
    if text[:1] in "\"'":
        if len(text) < 2 or text[-1] != text[0]:
            raise ValueError(f"unterminated quote: {text}")
        return Quoted(text[1:-1])
    if text.startswith("["):
        inner = text[1:-1].strip()
        return [_scalar(x) for x in _split_flow(inner)] if inner else []
    if text in ("true", "false"):
        return text == "true"
    if re.fullmatch(r"-?\d+", text):
        return int(text, 8) if len(text) > 1 and text.startswith("0") else int(text)
    return text


def _split_flow(inner: str) -> list[str]:
    parts, cur, quote = [], "", None
    for ch in inner:
        if quote:
            cur += ch
            quote = None if ch == quote else quote
        elif ch in "\"'":
            cur += ch
            quote = ch
        elif ch == ",":
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p.strip() for p in parts]


def _strip_comment(line: str) -> str:
    quote = None
    for i, ch in enumerate(line):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i].rstrip()
    return line.rstrip()


def parse_yaml(text: str):
    lines = []
    for raw in text.splitlines():
        if "\t" in raw[: len(raw) - len(raw.lstrip())]:
            raise ValueError("tab indentation")
        line = _strip_comment(raw)
        if line.strip():
            lines.append((len(line) - len(line.lstrip()), line.strip()))
    value, pos = _block(lines, 0, lines[0][0] if lines else 0)
    if pos != len(lines):
        raise ValueError(f"unparsed line: {lines[pos][1]}")
    return value


def _block(lines, pos, indent):
    if lines[pos][1].startswith("- ") or lines[pos][1] == "-":
        out = []
        while pos < len(lines) and lines[pos][0] == indent and lines[pos][1].startswith("-"):
            item = lines[pos][1][1:].strip()
            if not item:
                value, pos = _block(lines, pos + 1, lines[pos + 1][0])
            elif re.match(r"^[\w.\-]+:(\s|$)", item):
                # "- key: value" starts a mapping indented at the key
                lines = lines[:pos] + [(indent + 2, item)] + lines[pos + 1:]
                value, pos = _block(lines, pos, indent + 2)
            else:
                value, pos = _scalar(item), pos + 1
            out.append(value)
        return out, pos
    out = {}
    while pos < len(lines) and lines[pos][0] == indent:
        m = re.match(r"^([\w.\-]+):(?:\s+(.*))?$", lines[pos][1])
        if not m:
            raise ValueError(f"not a mapping entry: {lines[pos][1]}")
        key, rest = m.group(1), m.group(2)
        if key in out:
            raise ValueError(f"duplicate key {key}")
        if rest:
            out[key], pos = _scalar(rest), pos + 1
        elif pos + 1 < len(lines) and lines[pos + 1][0] > indent:
            out[key], pos = _block(lines, pos + 1, lines[pos + 1][0])
        elif (pos + 1 < len(lines) and lines[pos + 1][0] == indent
              and lines[pos + 1][1].startswith("-")):
            out[key], pos = _block(lines, pos + 1, indent)
        else:
            out[key], pos = None, pos + 1
    return out, pos


# ------------------------------------------- LinuxKit's yml schema (schema.go)

STR, INT, BOOL, STRS = "string", "integer", "boolean", "strings"
KERNEL_KEYS = {"image": STR, "cmdline": STR, "binary": STR, "tar": STR, "ucode": STR}
DEVICE_KEYS = {"path": STR, "type": STR, "major": INT, "minor": INT, "mode": STR}
IMAGE_KEYS = {
    "name": STR, "image": STR, "capabilities": STRS, "capabilities.add": STRS, "ambient": STRS,
    "mounts": "mounts", "binds": STRS, "binds.add": STRS, "devices": "devices", "tmpfs": STRS,
    "command": STRS, "env": STRS, "cwd": STR, "net": STR, "pid": STR, "ipc": STR, "uts": STR,
    "userns": STR, "readonly": BOOL, "maskedPaths": STRS, "readonlyPaths": STRS,
    "uid": "id", "gid": "id", "additionalGids": "ids", "noNewPrivileges": BOOL,
    "hostname": STR, "oomScoreAdj": INT, "rootfsPropagation": STR, "cgroupsPath": STR,
    "resources": "object", "sysctl": "object", "rlimits": STRS, "uidMappings": "list",
    "gidMappings": "list", "annotations": "object", "runtime": "object",
}
# build.yml keys of `linuxkit pkg build` (src/cmd/linuxkit/pkglib/pkglib.go)
PKG_BUILD_KEYS = {"image", "org", "dockerfile", "arches", "extra-sources", "gitrepo", "network",
                  "disable-cache", "config", "buildArgs", "depends"}
TOP_KEYS = {"kernel", "init", "onboot", "onshutdown", "services", "trust", "files"}


def _type_ok(value, kind) -> bool:
    if kind == STR:
        return isinstance(value, str)
    if kind == INT:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == BOOL:
        return isinstance(value, bool)
    if kind == STRS:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if kind == "id":
        return isinstance(value, (str, int)) and not isinstance(value, bool)
    if kind == "ids":
        return isinstance(value, list) and all(_type_ok(v, "id") for v in value)
    if kind == "object":
        return isinstance(value, dict)
    return isinstance(value, list)


def schema_errors(doc) -> list[str]:
    errs = []
    if not isinstance(doc, dict):
        return ["top level is not a mapping"]
    errs += [f"unknown top-level key {k}" for k in doc if k not in TOP_KEYS]
    for k, v in (doc.get("kernel") or {}).items():
        if k not in KERNEL_KEYS or not _type_ok(v, KERNEL_KEYS[k]):
            errs.append(f"kernel.{k}: not in the schema or wrong type")
    if "init" in doc and not _type_ok(doc["init"], STRS):
        errs.append("init: must be a list of strings")
    for section in ("onboot", "onshutdown", "services"):
        for i, img in enumerate(doc.get(section) or []):
            where = f"{section}[{i}]"
            if not isinstance(img, dict) or "name" not in img or "image" not in img:
                errs.append(f"{where}: needs name and image")
                continue
            for k, v in img.items():
                if k not in IMAGE_KEYS:
                    errs.append(f"{where}.{k}: not a LinuxKit image key")
                elif not _type_ok(v, IMAGE_KEYS[k]):
                    errs.append(f"{where}.{k}: wrong type ({type(v).__name__})")
            for j, dev in enumerate(img.get("devices") or []):
                for k, v in dev.items():
                    if k not in DEVICE_KEYS or not _type_ok(v, DEVICE_KEYS[k]):
                        errs.append(f"{where}.devices[{j}].{k}: not in the schema or wrong type")
    return errs


def load(path: Path):
    return parse_yaml(path.read_text())


def images(doc) -> list[str]:
    refs = [doc.get("kernel", {}).get("image")] + list(doc.get("init") or [])
    for section in ("onboot", "onshutdown", "services"):
        refs += [img["image"] for img in doc.get(section) or []]
    return [r for r in refs if r]


def versions() -> dict[str, str]:
    out = {}
    for line in (BUILD / "versions.env").read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            k, v = line.split("=", 1)
            out[k.strip()] = v.strip()
    return out


# ------------------------------------------------------------------- tests

def test_parser_keeps_quoted_and_octal_apart():
    doc = parse_yaml('a:\n  - mode: "0660"\n    major: 116\n  - mode: 0660\nb: [x, "y"]  # c\n')
    assert doc["a"][0] == {"mode": "0660", "major": 116}
    assert isinstance(doc["a"][0]["mode"], Quoted)
    assert doc["a"][1]["mode"] == 0o660
    assert doc["b"] == ["x", "y"]


def test_parser_agrees_with_pyyaml_when_available():
    yaml = pytest.importorskip("yaml", reason="no PyYAML: the subset parser stands alone")
    for path in YMLS:
        assert load(path) == yaml.safe_load(path.read_text())


@pytest.mark.parametrize("path", YMLS, ids=lambda p: p.name)
def test_yml_matches_linuxkit_schema(path):
    assert schema_errors(load(path)) == []


def test_schema_check_rejects_what_linuxkit_rejects():
    bad = parse_yaml(
        "services:\n  - name: x\n    image: y\n    restart: always\n"
        "    devices:\n      - path: /dev/console\n        mode: 0666\n"
    )
    errs = schema_errors(bad)
    assert any("restart" in e for e in errs)
    assert any("mode" in e for e in errs)


@pytest.mark.parametrize("path", YMLS, ids=lambda p: p.name)
def test_everything_pinned_by_hash(path):
    for ref in images(load(path)):
        assert ":latest" not in ref and not ref.endswith(":latest"), ref
        if ref.startswith("@pkg:"):
            pkg = REPO / ref[len("@pkg:"):]
            assert (pkg / "build.yml").is_file() and (pkg / "Dockerfile").is_file(), ref
            continue
        name, _, tag = ref.rpartition(":")
        assert name.startswith("linuxkit/"), ref
        assert re.fullmatch(r"[0-9a-f]{40}", tag), f"{ref} is not pinned by a 40-hex tree hash"


def test_no_restart_key_and_device_modes_quoted():
    for path in YMLS:
        text = path.read_text()
        assert not re.search(r"^\s*restart:", text, re.M), f"{path.name}: LinuxKit rejects restart"
        for section in ("onboot", "services"):
            for img in load(path).get(section) or []:
                for dev in img.get("devices") or []:
                    if "mode" in dev:
                        assert isinstance(dev["mode"], Quoted), f"{img['name']}: quote the mode"


def test_service_devices_only_alsa_watchdog_console():
    doc = load(REPO / "linuxkit.yml")
    services = doc["services"]
    assert [s["name"] for s in services] == ["hushbox"]
    rules = {(d["type"], d["major"], d.get("minor")) for d in services[0]["devices"]}
    assert rules == {("c", 116, None), ("c", 10, 130), ("c", 5, 1)}
    assert len(services[0]["devices"]) == 3


def test_service_shape():
    svc = load(REPO / "linuxkit.yml")["services"][0]
    assert svc["readonly"] is True
    assert "/dev:/dev" in svc["binds"], "the real /dev, so a late USB microphone appears"
    assert any(b.startswith("/var/boot:/boot:ro") for b in svc["binds"])
    assert svc["command"] == ["/usr/local/bin/hushbox-service"]
    assert svc.get("net") == "new", "no network for the service"
    assert "CAP_SYS_ADMIN" not in svc.get("capabilities", [])


def test_onboot_loads_modules_and_mounts_boot_read_only():
    doc = load(REPO / "linuxkit.yml")
    (step,) = doc["onboot"]
    assert step["command"][0] == "/usr/local/sbin/hushbox-onboot"
    assert "CAP_SYS_MODULE" in step["capabilities"]
    assert "/lib/modules:/lib/modules:ro" in step["binds"]
    assert step["rootfsPropagation"] == "shared"
    onboot = (BUILD / "hushbox" / "hushbox-onboot").read_text()
    assert "mount -t vfat -o ro" in onboot and "modprobe" in onboot


def test_default_image_has_no_login_and_no_network_service():
    doc = load(REPO / "linuxkit.yml")
    names = [s["name"] for s in doc.get("services", []) + doc.get("onboot", [])]
    assert not any(n in ("getty", "sshd", "dhcpcd") for n in names)
    assert all(s.get("net") != "host" for s in doc.get("services", []))
    debug = load(BUILD / "linuxkit-debug.yml")
    assert set(debug) == {"services"} and [s["name"] for s in debug["services"]] == ["getty"]


def test_kernel_cmdline_serial_console_last():
    cmdline = load(REPO / "linuxkit.yml")["kernel"]["cmdline"]
    v = versions()
    consoles = [w for w in cmdline.split() if w.startswith("console=")]
    assert consoles[-1] == f"console={v['SERIAL_CONSOLE']},{v['SERIAL_BAUD']}"


def test_package_dirs_and_shared_inputs():
    v = versions()
    for pkg in ("kernel", "hushbox"):
        build_yml = parse_yaml((BUILD / pkg / "build.yml").read_text())
        assert set(build_yml) <= PKG_BUILD_KEYS
        assert build_yml["arches"] == ["arm64"]
        for src in build_yml.get("extra-sources", []):
            rel, _, _ = src.partition(":")
            assert (BUILD / pkg / rel).resolve().is_dir(), src
        dockerfile = (BUILD / pkg / "Dockerfile").read_text()
        assert f"ARG DEBIAN_IMAGE={v['DEBIAN_IMAGE']}" in dockerfile, "as in versions.env"
        assert ":latest" not in dockerfile
    service = (BUILD / "hushbox" / "Dockerfile").read_text()
    rehearsal = (BUILD / "mkrootfs.sh").read_text()
    for shared in ("packages-device.txt", "packages-build.txt", "requirements-device.txt"):
        assert shared in service and shared in rehearsal, f"{shared} must feed both builds"
    assert "finish-rootfs.sh" in service
    assert "finish-rootfs.sh" in (BUILD / "rehearse.sh").read_text()


def test_device_requirements_pinned_with_hashes():
    text = (BUILD / "requirements-device.txt").read_text().replace("\\\n", " ")
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith("#")]
    reqs = [line.split()[0] for line in lines]
    assert {r.split("==")[0] for r in reqs} == {"numpy", "scipy", "pyalsaaudio"}
    assert "pyalsaaudio==0.11.0" in reqs
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            assert "==" in line and "--hash=sha256:" in line, line
    pkgs = (BUILD / "packages-device.txt").read_text().split()
    assert "python3" in pkgs and "libasound2" in pkgs
    assert "python3-scipy" not in pkgs, "Debian's scipy drags in a C++ toolchain"


def test_linuxkit_cli_accepts_the_yml():
    linuxkit = shutil.which("linuxkit")
    if not linuxkit:
        pytest.skip("linuxkit CLI not installed here; the schema check above stands in for it")
    r = subprocess.run([linuxkit, "build", "--dry-run", "--arch", "arm64", "linuxkit.yml"],
                       cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
