"""Capture: the microphone through ALSA (pyalsaaudio), read without pause in its own thread.

The thread opens the device, reads periods into a bounded queue (the ring buffer
the scorer drains), and reconnects with backoff when the device is missing or
fails. It never exits until told to stop. Queue items are ``(kind, samples)``:
``AUDIO`` with int16 samples, ``OVERRUN`` (samples were lost), or ``GAP`` (the
device went away; the stream restarts).
"""

from __future__ import annotations

import errno
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from appliance.faults import close_quietly, one_line
from appliance.log import EventLog
from appliance.settings import AUTO_DEVICE

AUDIO, OVERRUN, GAP = "audio", "overrun", "gap"
OVERRUN_CODE = -errno.EPIPE
"""pyalsaaudio 0.11 returns (-EPIPE, b'') from read() on an overrun and re-prepares."""
POLL_SECONDS = 0.2
"""How often both sides of the queue look up to check whether they should stop."""


class DeviceError(Exception):
    """A sound device could not be opened or failed."""


@dataclass(frozen=True)
class CaptureSettings:
    device: str
    sample_rate_hz: int
    period_frames: int
    reconnect_min_seconds: float
    reconnect_max_seconds: float


def open_capture(device: str, *, sample_rate_hz: int, period_frames: int):
    """An ALSA capture PCM, mono S16_LE at ``sample_rate_hz``: ``read() -> (frames, bytes)``."""
    import alsaaudio

    name = resolve_capture_device(device)
    try:
        return alsaaudio.PCM(alsaaudio.PCM_CAPTURE, alsaaudio.PCM_NORMAL, device=name,
                             channels=1, rate=sample_rate_hz,
                             format=alsaaudio.PCM_FORMAT_S16_LE, periodsize=period_frames)
    except alsaaudio.ALSAAudioError as exc:
        raise DeviceError(f"capture device {name!r}: {exc}") from None


def resolve_capture_device(device: str) -> str:
    """``auto`` -> the first sound card that can capture, through ``plughw``."""
    import alsaaudio

    if device != AUTO_DEVICE:
        return device
    for card in alsaaudio.cards():
        name = f"plughw:CARD={card}"
        try:
            alsaaudio.PCM(alsaaudio.PCM_CAPTURE, alsaaudio.PCM_NONBLOCK, device=name).close()
        except alsaaudio.ALSAAudioError:
            continue
        return name
    raise DeviceError("no sound card with a capture device (is the USB microphone plugged in?)")


class CaptureThread(threading.Thread):
    """Reads the microphone forever (until ``stop``), reconnecting with backoff."""

    def __init__(self, settings: CaptureSettings, *, out: queue.Queue, log: EventLog,
                 open_device: Callable[..., object] = open_capture) -> None:
        super().__init__(name="capture", daemon=True)
        self.settings = settings
        self.out = out
        self.log = log
        self.open_device = open_device
        self.stopping = threading.Event()
        self.reconnects = 0
        self.delivered_since_open = False
        self.state = "starting"  # then "open", "unavailable" or "lost"
        self.opened_at = float("-inf")  # time.monotonic() of the last successful open

    def stop(self) -> None:
        self.stopping.set()

    def run(self) -> None:
        s = self.settings
        backoff = s.reconnect_min_seconds
        while not self.stopping.is_set():
            try:
                pcm = self.open_device(s.device, sample_rate_hz=s.sample_rate_hz,
                                       period_frames=s.period_frames)
            except Exception as exc:  # noqa: BLE001 - any failure to open is retried
                if self.state != "unavailable":
                    self.log.warning("capture_unavailable", device=s.device,
                                     error=one_line(exc), retry_seconds=backoff)
                    self.state = "unavailable"
                self.stopping.wait(backoff)
                backoff = min(2.0 * backoff, s.reconnect_max_seconds)
                continue
            if self.state != "starting":
                self.reconnects += 1
            self.state = "open"
            self.opened_at = time.monotonic()
            self.log.info("capture_open", device=s.device, period_frames=s.period_frames)
            try:
                self._read_until_failure(pcm)
            except Exception as exc:  # noqa: BLE001 - a dying device is retried
                if self.delivered_since_open:  # it worked for a while: retry soon
                    backoff = s.reconnect_min_seconds
                self.log.warning("capture_lost", device=s.device, error=one_line(exc),
                                 retry_seconds=backoff)
                self.state = "lost"
                self._put(GAP, None)
                self.stopping.wait(backoff)
                backoff = min(2.0 * backoff, s.reconnect_max_seconds)
            finally:
                close_quietly(pcm)

    def _read_until_failure(self, pcm) -> None:
        """Read until told to stop, or raise when the device fails. A device that opens
        but never delivers keeps backing off instead of flooding the log."""
        self.delivered_since_open = False
        while not self.stopping.is_set():
            frames, data = pcm.read()
            if frames < 0:
                if frames != OVERRUN_CODE:
                    raise DeviceError(f"read failed with code {frames}")
                self._put(OVERRUN, None)
            elif frames > 0:
                self._put(AUDIO, np.frombuffer(data, dtype="<i2", count=frames))
                self.delivered_since_open = True

    def _put(self, kind: str, samples: np.ndarray | None) -> None:
        """Hand over to the scorer; waits when it is behind (ALSA then buffers, or overruns)."""
        while not self.stopping.is_set():
            try:
                self.out.put((kind, samples), timeout=POLL_SECONDS)
                return
            except queue.Full:
                continue
