"""The ``hushbox`` command as a person uses it: scan, train, evaluate, config; bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import CRY_RECORDING, CRY_SPAN_SECONDS, DATA, QUIET_RECORDING


def hushbox(*args: str, timeout: float = 300):
    return subprocess.run([sys.executable, "-m", "appliance", *args], capture_output=True,
                          text=True, timeout=timeout)


def test_scan_finds_the_cry_in_the_bundled_recording():
    run = hushbox("scan", str(CRY_RECORDING))
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith(f"{CRY_RECORDING}: cry confirmed at 0:")
    assert lines[-1] == f"{CRY_RECORDING}: 20.0 s scanned, 1 cry confirmed"


def test_scan_json_lines(tmp_path):
    run = hushbox("scan", "--json", str(CRY_RECORDING), str(QUIET_RECORDING))
    assert run.returncode == 0, run.stderr
    records = [json.loads(line) for line in run.stdout.splitlines()]
    cries = [r for r in records if r["event"] == "cry_confirmed"]
    assert [r["file"] for r in cries] == [str(CRY_RECORDING)]
    assert CRY_SPAN_SECONDS[0] < cries[0]["t"] <= CRY_SPAN_SECONDS[1]
    ends = [r for r in records if r["event"] == "end"]
    assert [(r["file"], r["duration"]) for r in ends] == [
        (str(CRY_RECORDING), 20.0), (str(QUIET_RECORDING), 20.0)]


def test_scan_plot_writes_a_png(tmp_path):
    out = tmp_path / "seen.png"
    run = hushbox("scan", str(CRY_RECORDING), "--plot", str(out))
    assert run.returncode == 0, run.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert out.stat().st_size > 20_000


def test_one_bout_of_crying_is_one_confirmation(tmp_path, cry_audio):
    """A cry repeated for 20 s is held off by the lullaby: still one confirmation."""
    import numpy as np

    from appliance.audio_io import write_wav

    start, end = (int(s * 16_000) for s in CRY_SPAN_SECONDS)
    long_cry = np.tile(cry_audio[start:end], 4)
    write_wav(tmp_path / "long.wav", long_cry)
    run = hushbox("scan", "--json", str(tmp_path / "long.wav"))
    assert sum('"cry_confirmed"' in line for line in run.stdout.splitlines()) == 1


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_bytes(b"RIFF nonsense"), "is not a readable WAV file"),
    (lambda p: None, "does not exist"),
])
def test_scan_bad_file_is_one_line_and_exit_2(tmp_path, make, message):
    path = tmp_path / "bad.wav"
    make(path)
    run = hushbox("scan", str(path))
    assert run.returncode == 2
    assert run.stderr.startswith("hushbox: ") and message in run.stderr
    assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr


def test_scan_with_a_corrupted_model_names_the_file(tmp_path):
    bad = tmp_path / "m.npz"
    bad.write_bytes(b"\0" * 100)
    (tmp_path / "m.json").write_text("{}")
    run = subprocess.run([sys.executable, "-m", "appliance", "scan", str(CRY_RECORDING)],
                         capture_output=True, text=True,
                         env={"HUSHBOX_MODEL_PATH": str(bad), "PATH": ""})
    assert run.returncode == 2
    assert str(tmp_path / "m.json") in run.stderr and run.stderr.count("\n") == 1


def test_config_prints_the_commented_defaults():
    run = hushbox("config")
    assert run.returncode == 0
    assert run.stdout == (DATA.parent.parent / "appliance" / "data"
                          / "hushbox.conf.example").read_text()


def test_an_unwritable_plot_path_is_one_line(tmp_path):
    run = hushbox("scan", str(CRY_RECORDING), "--plot", str(tmp_path / "no" / "such" / "x.png"))
    assert run.returncode == 2
    assert run.stderr.startswith("hushbox: ") and run.stderr.count("\n") == 1
