"""``hushbox listen`` through real alsa-lib and pyalsaaudio, with PCMs from an ALSA config."""

from __future__ import annotations

import contextlib
import signal
import threading
import time

import numpy as np
import pytest
from alsa_rig import Rig, events, pad, wav_samples, write_raw
from conftest import CRY_SPAN_SECONDS

from appliance.audio_io import resample
from appliance.lullaby import LULLABY_SAMPLE_RATE_HZ, render_lullaby

FAST = dict(heartbeat_seconds=1, reconnect_min_seconds=0.05, reconnect_max_seconds=0.2)
SILENCE_AFTER_SECONDS = 10.0
AUDIBLE_RMS = 0.01


@pytest.fixture
def rig(tmp_path):
    return Rig(tmp_path)


def stop_after(samples) -> str:
    """Stop exactly at the end of the audio we mean (file capture has no end-of-file)."""
    return f"{len(samples) / 16_000:.3f}"


def wait_for_event(process, name: str, timeout_seconds: float = 60.0) -> str:
    """Read the process's log until an event appears; returns what was read."""
    seen = ""
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        seen += line
        if events(line, name) or not line:
            return seen
    raise AssertionError(f"no {name} event in {seen!r}")


def test_a_cry_in_a_room_plays_the_lullaby_after_confirmation(rig, tmp_path, cry_audio):
    audio = pad(cry_audio, after_seconds=SILENCE_AFTER_SECONDS)
    capture = rig.capture("mic", write_raw(tmp_path / "in.raw", audio))
    playback = rig.playback("speaker", tmp_path / "out.wav")
    run = rig.listen("--capture-device", capture, "--playback-device", playback,
                     "--stop-after-seconds", stop_after(audio), **FAST)
    assert run.returncode == 0, run.stderr
    confirmed = events(run.stdout, "cry_confirmed")
    assert confirmed, run.stdout
    t = float(confirmed[0]["t"])
    assert CRY_SPAN_SECONDS[0] < t <= CRY_SPAN_SECONDS[1], run.stdout
    assert confirmed[0]["action"] == "play"
    assert events(run.stdout, "lullaby_started")
    played = wav_samples(tmp_path / "out.wav")
    assert len(played) > 16_000 and np.sqrt(np.mean(played**2)) > AUDIBLE_RMS
    assert events(run.stdout, "stopped")[0]["confirmations"] == str(len(confirmed))


def test_a_room_without_crying_plays_nothing(rig, tmp_path, quiet_audio):
    audio = pad(quiet_audio, after_seconds=2.0)
    capture = rig.capture("mic", write_raw(tmp_path / "in.raw", audio))
    playback = rig.playback("speaker", tmp_path / "out.wav")
    run = rig.listen("--capture-device", capture, "--playback-device", playback,
                     "--stop-after-seconds", stop_after(audio), **FAST)
    assert run.returncode == 0, run.stderr
    assert not events(run.stdout, "cry_confirmed")
    assert len(wav_samples(tmp_path / "out.wav")) == 0
    assert int(events(run.stdout, "stopped")[0]["windows"]) > 20


def test_its_own_lullaby_heard_by_the_microphone_never_confirms(rig, tmp_path):
    lullaby = resample(render_lullaby(), from_hz=LULLABY_SAMPLE_RATE_HZ, to_hz=16_000)
    audio = np.concatenate([0.5 * lullaby, 0.1 * lullaby])
    capture = rig.capture("mic", write_raw(tmp_path / "in.raw", audio))
    run = rig.listen("--capture-device", capture, "--playback-device", "null",
                     "--stop-after-seconds", stop_after(audio), **FAST)
    assert run.returncode == 0, run.stderr
    assert not events(run.stdout, "cry_confirmed")


def test_a_missing_microphone_is_waited_for_then_used(rig, tmp_path, cry_audio):
    infile = tmp_path / "late.raw"  # does not exist yet: opening the PCM fails
    capture = rig.capture("mic", infile)
    audio = pad(cry_audio, after_seconds=SILENCE_AFTER_SECONDS)
    process = rig.start("--capture-device", capture, "--playback-device", "null",
                        "--stop-after-seconds", stop_after(audio), **FAST)
    seen = wait_for_event(process, "capture_unavailable")
    time.sleep(1.0)  # several more failed attempts, logged no more
    write_raw(infile, audio)
    out, err = process.communicate(timeout=120)
    out = seen + out
    assert process.returncode == 0, err
    assert len(events(out, "capture_unavailable")) == 1  # logged once per state change
    assert len(events(out, "capture_open")) == 1
    assert events(out, "cry_confirmed")
    assert events(out, "stopped")[0]["reconnects"] == "1"


def test_a_microphone_dying_mid_run_is_reconnected(rig, tmp_path, cry_audio):
    bytes_before_death = 3 * 16_000 * 2  # about 3 s of audio per connection
    audio = pad(cry_audio, after_seconds=SILENCE_AFTER_SECONDS)
    capture = rig.capture("mic", write_raw(tmp_path / "in.raw", audio),
                          tee=f"|head -c {bytes_before_death} >/dev/null")
    run = rig.listen("--capture-device", capture, "--playback-device", "null",
                     "--stop-after-seconds", "12", **FAST)
    assert run.returncode == 0, run.stderr
    lost = events(run.stdout, "capture_lost")
    assert len(lost) >= 2 and "Input/output error" in run.stdout
    assert len(events(run.stdout, "capture_open")) >= len(lost)  # each loss is reconnected
    assert float(events(run.stdout, "stopped")[0]["audio_seconds"]) == pytest.approx(12.0)


def test_a_missing_speaker_is_logged_and_listening_goes_on(rig, tmp_path, cry_audio):
    audio = pad(cry_audio, after_seconds=SILENCE_AFTER_SECONDS)
    capture = rig.capture("mic", write_raw(tmp_path / "in.raw", audio))
    run = rig.listen("--capture-device", capture, "--playback-device", "no_such_speaker",
                     "--stop-after-seconds", stop_after(audio), **FAST)
    assert run.returncode == 0, run.stderr
    assert events(run.stdout, "cry_confirmed")
    assert events(run.stdout, "playback_unavailable")
    assert events(run.stdout, "stopped")[0]["lullabies"] == "0"


@pytest.mark.parametrize("setting, value, message", [
    ("threshold", "1.5", "threshold='1.5' is out of range"),
    ("period_seconds", "abc", "period_seconds='abc' is not a valid float"),
    ("volume", "0.5", "unknown key 'volume'"),
])
def test_bad_config_values_stop_with_one_clear_line(rig, tmp_path, setting, value, message):
    conf = tmp_path / "hushbox.conf"
    conf.write_text(f"[hushbox]\n{setting} = {value}\n")
    run = rig.listen("--config", str(conf))
    assert run.returncode == 2
    assert run.stderr.strip().count("\n") == 0 and message in run.stderr
    assert "Traceback" not in run.stderr + run.stdout


def test_sigterm_stops_cleanly_with_a_summary(rig, tmp_path):
    fifo = tmp_path / "mic.fifo"  # a paced microphone: nothing arrives unless written
    import os

    os.mkfifo(fifo)
    capture = rig.capture("mic", fifo)
    process = rig.start("--capture-device", capture, "--playback-device", "null", **FAST)
    stop_writing = threading.Event()

    def feed() -> None:
        with contextlib.suppress(BrokenPipeError), open(fifo, "wb") as pipe:
            while not stop_writing.is_set():
                pipe.write(np.zeros(1600, "<i2").tobytes())
                pipe.flush()
                time.sleep(0.1)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    seen = wait_for_event(process, "heartbeat")
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    out = seen + out
    stop_writing.set()
    assert process.returncode == 0, err
    assert events(out, "signal")[0]["name"] == "SIGTERM"
    assert events(out, "heartbeat")  # heartbeats come while listening
    assert float(events(out, "stopped")[0]["audio_seconds"]) > 0.5


def test_watchdog_is_petted_while_audio_flows_and_disarmed_on_exit(rig, tmp_path, cry_audio):
    watchdog = tmp_path / "watchdog"
    watchdog.write_bytes(b"")
    capture = rig.capture("mic", write_raw(tmp_path / "in.raw", cry_audio))
    run = rig.listen("--capture-device", capture, "--playback-device", "null",
                     "--stop-after-seconds", "5", watchdog_device=watchdog, **FAST)
    assert run.returncode == 0, run.stderr
    written = watchdog.read_bytes()
    assert written.startswith(b"\0") and written.endswith(b"V")


def test_an_unreadable_lullaby_falls_back_to_the_built_in_one(rig, tmp_path, cry_audio):
    bad = tmp_path / "lullaby.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt garbage")
    audio = pad(cry_audio, after_seconds=SILENCE_AFTER_SECONDS)
    capture = rig.capture("mic", write_raw(tmp_path / "in.raw", audio))
    playback = rig.playback("speaker", tmp_path / "out.wav")
    run = rig.listen("--capture-device", capture, "--playback-device", playback,
                     "--lullaby", str(bad), "--stop-after-seconds", stop_after(audio), **FAST)
    assert run.returncode == 0, run.stderr
    assert events(run.stdout, "lullaby_unreadable")
    assert events(run.stdout, "lullaby_started")
