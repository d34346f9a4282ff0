"""Overruns: alsa-lib's file plugin cannot make one, so the PCM reader alone is substituted."""

from __future__ import annotations

import io
import threading

import numpy as np
from alsa_rig import events, pad

from appliance.audio_io import to_int16
from appliance.capture import OVERRUN_CODE
from appliance.log import EventLog
from appliance.service import EXIT_CAPTURE_STALLED, Listener
from appliance.settings import build_settings

PERIOD = 1024


class OverrunningReader:
    """Real audio in periods, with an overrun (as pyalsaaudio 0.11 reports it) every few reads."""

    def __init__(self, samples, every: int) -> None:
        self.data = to_int16(samples)
        self.every = every
        self.reads = 0
        self.position = 0

    def read(self):
        self.reads += 1
        if self.reads % self.every == 0:
            return OVERRUN_CODE, b""
        chunk = self.data[self.position: self.position + PERIOD]
        self.position += PERIOD
        chunk = np.pad(chunk, (0, PERIOD - len(chunk)))  # silence after the recording
        return PERIOD, chunk.tobytes()

    def close(self) -> None:
        pass


def listen_with(reader, *, stop_seconds: float) -> str:
    out = io.StringIO()
    settings = build_settings(flags={"stop_after_seconds": stop_seconds,
                                     "overrun_log_interval_seconds": 3600.0})
    listener = Listener(settings, log=EventLog(stream=out),
                        open_capture_device=lambda *a, **k: reader,
                        open_playback_device=lambda *a, **k: NullSpeaker())
    assert listener.run() == 0
    return out.getvalue()


class NullSpeaker:
    def write(self, data: bytes) -> int:
        return len(data) // 2

    def close(self) -> None:
        pass


def test_overruns_are_counted_logged_once_and_listening_goes_on(cry_audio):
    audio = pad(cry_audio, after_seconds=5.0)
    log = listen_with(OverrunningReader(audio, every=40), stop_seconds=len(audio) / 16_000)
    stopped = events(log, "stopped")[0]
    assert int(stopped["overruns"]) >= 4
    assert len(events(log, "capture_overrun")) == 1  # rate-limited
    assert int(stopped["windows"]) > 10


def test_an_overrun_drops_the_partial_window(cry_audio):
    """With an overrun every 8 periods (0.5 s), no 1-s window can ever complete."""
    log = listen_with(OverrunningReader(cry_audio, every=8), stop_seconds=10.0)
    assert events(log, "stopped")[0]["windows"] == "0"
    assert not events(log, "cry_confirmed")


def test_an_unexpected_error_in_the_loop_is_logged_and_the_loop_restarts(cry_audio):
    out = io.StringIO()
    settings = build_settings(flags={"stop_after_seconds": 12.0})
    listener = Listener(settings, log=EventLog(stream=out),
                        open_capture_device=lambda *a, **k: OverrunningReader(cry_audio, 10**9),
                        open_playback_device=lambda *a, **k: NullSpeaker())
    real_push, calls = listener.scorer.push, []

    def flaky_push(samples):
        calls.append(1)
        if len(calls) == 30:
            raise RuntimeError("boom")
        return real_push(samples)

    listener.scorer.push = flaky_push
    assert listener.run() == 0
    log = out.getvalue()
    assert events(log, "loop_error")[0]["error"].startswith('"RuntimeError:')
    stopped = events(log, "stopped")[0]
    assert stopped["loop_restarts"] == "1" and int(stopped["windows"]) > 15


class StallingReader(OverrunningReader):
    """Delivers a few periods, then blocks in read() forever: a wedged USB microphone."""

    def read(self):
        if self.reads >= 5:
            threading.Event().wait()
        return super().read()


def test_a_wedged_microphone_ends_the_process_for_the_supervisor(cry_audio, monkeypatch):
    monkeypatch.setattr("appliance.service.CAPTURE_STALL_SECONDS", 0.5)
    out = io.StringIO()
    listener = Listener(build_settings(), log=EventLog(stream=out),
                        open_capture_device=lambda *a, **k: StallingReader(cry_audio, 10**9),
                        open_playback_device=lambda *a, **k: NullSpeaker())
    assert listener.run() == EXIT_CAPTURE_STALLED
    assert events(out.getvalue(), "capture_stalled")


class BrokenReader:
    def read(self):
        raise OSError("device opens but every read fails")

    def close(self) -> None:
        pass


def test_a_device_that_opens_but_never_delivers_backs_off(monkeypatch):
    out = io.StringIO()
    settings = build_settings(flags={"reconnect_min_seconds": 0.05,
                                     "reconnect_max_seconds": 0.4})
    listener = Listener(settings, log=EventLog(stream=out),
                        open_capture_device=lambda *a, **k: BrokenReader(),
                        open_playback_device=lambda *a, **k: NullSpeaker())
    threading.Timer(2.0, listener.stop, kwargs={"reason": "test"}).start()
    assert listener.run() == 0
    retries = [float(e["retry_seconds"]) for e in events(out.getvalue(), "capture_lost")]
    assert retries[:4] == [0.05, 0.1, 0.2, 0.4] and max(retries) == 0.4
    assert len(retries) < 10  # not one line every 50 ms
