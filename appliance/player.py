"""The lullaby player: its own thread, so capture and scoring never wait for the speaker.

The playback device is opened for each lullaby, so a speaker plugged in later (or
one that failed) is tried again at the next confirmation.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

from appliance.audio_io import to_int16
from appliance.faults import close_quietly, one_line
from appliance.log import EventLog
from appliance.settings import AUTO_DEVICE

PLAYBACK_PERIOD_FRAMES = 1024
THREAD_JOIN_SECONDS = 5.0


def open_playback(device: str, *, sample_rate_hz: int, period_frames: int):
    """An ALSA playback PCM, mono S16_LE at ``sample_rate_hz`` (``default`` for ``auto``)."""
    import alsaaudio

    name = "default" if device == AUTO_DEVICE else device
    return alsaaudio.PCM(alsaaudio.PCM_PLAYBACK, alsaaudio.PCM_NORMAL, device=name,
                         channels=1, rate=sample_rate_hz,
                         format=alsaaudio.PCM_FORMAT_S16_LE, periodsize=period_frames)


def shape_lullaby(samples: np.ndarray, *, sample_rate_hz: int, volume: float,
                  fade_seconds: float) -> np.ndarray:
    """Apply the volume and a linear fade in and out; int16, ready to write."""
    shaped = np.asarray(samples, dtype=np.float32) * np.float32(volume)
    fade = min(int(fade_seconds * sample_rate_hz), len(shaped) // 2)
    if fade > 0:
        ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
        shaped[:fade] *= ramp
        shaped[-fade:] *= ramp[::-1]
    return to_int16(shaped)


class Player:
    """Plays one lullaby at a time on request; ``play()`` returns at once."""

    def __init__(self, *, device: str, samples: np.ndarray, sample_rate_hz: int, volume: float,
                 fade_seconds: float, log: EventLog,
                 open_device: Callable[..., object] = open_playback) -> None:
        self.device = device
        self.rate = sample_rate_hz
        self.pcm_bytes = shape_lullaby(samples, sample_rate_hz=sample_rate_hz, volume=volume,
                                       fade_seconds=fade_seconds).tobytes()
        self.log = log
        self.open_device = open_device
        self.played = 0
        self.failures = 0
        self._request = threading.Event()
        self._cancel = threading.Event()
        self._closing = False
        self._busy = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="player", daemon=True)
        self._thread.start()

    @property
    def playing(self) -> bool:
        return self._busy.locked() or self._request.is_set()

    def play(self) -> bool:
        """Start the lullaby unless one is already playing; True when started."""
        if self.playing:
            return False
        self._cancel.clear()
        self._request.set()
        return True

    def stop(self) -> None:
        """Stop any playback and end the thread."""
        self._closing = True
        self._cancel.set()
        self._request.set()
        self._thread.join(timeout=THREAD_JOIN_SECONDS)

    def _run(self) -> None:
        while True:
            self._request.wait()
            if self._closing:
                return
            with self._busy:
                self._request.clear()
                self._play_once()

    def _play_once(self) -> None:
        chunk = PLAYBACK_PERIOD_FRAMES * 2  # bytes per period, mono int16
        try:
            pcm = self.open_device(self.device, sample_rate_hz=self.rate,
                                   period_frames=PLAYBACK_PERIOD_FRAMES)
        except Exception as exc:  # noqa: BLE001 - a missing speaker must not stop listening
            self.failures += 1
            self.log.warning("playback_unavailable", device=self.device, error=one_line(exc))
            return
        self.played += 1
        self.log.info("lullaby_started", device=self.device,
                      seconds=len(self.pcm_bytes) / 2 / self.rate)
        try:
            for start in range(0, len(self.pcm_bytes), chunk):
                if self._cancel.is_set():
                    self.log.info("lullaby_stopped")
                    return
                pcm.write(self.pcm_bytes[start: start + chunk])
            self.log.info("lullaby_finished")
        except Exception as exc:  # noqa: BLE001 - a failing speaker must not stop listening
            self.failures += 1
            self.log.warning("playback_failed", device=self.device, error=one_line(exc))
        finally:
            close_quietly(pcm)
