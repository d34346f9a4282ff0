"""``hushbox listen``: capture -> windows -> features -> score -> vote -> player, all night.

Threads: capture (reads the microphone without pause), player (plays the lullaby),
and this one, which scores windows as audio arrives. Nothing that goes wrong with
the hardware ends the loop; an unexpected error is logged and the loop restarts.
"""

from __future__ import annotations

import queue
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from appliance.audio_io import from_int16
from appliance.capture import (
    AUDIO,
    GAP,
    OVERRUN,
    POLL_SECONDS,
    CaptureSettings,
    CaptureThread,
    open_capture,
)
from appliance.detector import WindowScorer
from appliance.errors import EXIT_BAD_INPUT, HushboxError
from appliance.faults import one_line
from appliance.log import EventLog
from appliance.lullaby import load_lullaby
from appliance.model import DEFAULT_MODEL_PATH, load_model
from appliance.player import Player, open_playback
from appliance.policy import ALREADY_PLAYING, PLAY, LullabyPolicy, PolicySettings
from appliance.settings import Settings
from appliance.vote import Vote
from appliance.watchdog import Watchdog

EXIT_OK = 0
EXIT_CAPTURE_STALLED = 3
RING_BUFFER_SECONDS = 10.0
RESTART_PAUSE_SECONDS = 1.0
CAPTURE_STALL_SECONDS = 30.0
"""An open microphone silent this long (a wedged USB device: reads block forever) ends the
process with EXIT_CAPTURE_STALLED so the supervisor starts a fresh one."""
THREAD_JOIN_SECONDS = 5.0


@dataclass
class Counters:
    audio_seconds: float = 0.0
    windows: int = 0
    confirmations: int = 0
    overruns: int = 0
    loop_restarts: int = 0


class Listener:
    """The scoring side of the service: drains the capture queue and acts on confirmations."""

    def __init__(self, settings: Settings, *, log: EventLog,
                 open_capture_device: Callable[..., object] = open_capture,
                 open_playback_device: Callable[..., object] = open_playback) -> None:
        self.settings = settings
        self.log = log
        model_path = Path(settings.model_path) if settings.model_path else DEFAULT_MODEL_PATH
        self.model = load_model(model_path)
        self.threshold = settings.threshold or self.model.threshold
        self.rate = self.model.feature_config.sample_rate_hz
        lullaby, lullaby_rate = self._lullaby()
        self.lullaby_seconds = len(lullaby) / lullaby_rate
        self.scorer = WindowScorer(self.model)
        self.vote = Vote(threshold=self.threshold, windows_required=settings.windows_to_confirm)
        self.policy = LullabyPolicy(PolicySettings(
            settings.max_lullabies_per_episode, settings.episode_quiet_seconds,
            settings.cooldown_seconds))
        self.player = Player(device=settings.playback_device, samples=lullaby,
                             sample_rate_hz=lullaby_rate, volume=settings.lullaby_volume,
                             fade_seconds=settings.lullaby_fade_seconds, log=log,
                             open_device=open_playback_device)
        period = int(round(settings.period_seconds * self.rate))
        self.queue: queue.Queue = queue.Queue(
            maxsize=max(1, int(RING_BUFFER_SECONDS / settings.period_seconds)))
        self.capture = CaptureThread(
            CaptureSettings(settings.capture_device, self.rate, period,
                            settings.reconnect_min_seconds, settings.reconnect_max_seconds),
            out=self.queue, log=log, open_device=open_capture_device)
        self.watchdog = Watchdog(settings.watchdog_device) if settings.watchdog_device else None
        self.counters = Counters()
        self.stopping = threading.Event()
        self.stop_reason = ""
        self._started = time.monotonic()
        self._stream_offset = 0.0  # listening time at the scorer's last reset
        self._outage_seconds = 0.0  # wall time without a microphone, added to listening time
        self._gap_started: float | None = None
        self._last_overrun_log = float("-inf")
        self._last_audio = float("-inf")  # time.monotonic() of the last captured period
        self._next_heartbeat = self._started + settings.heartbeat_seconds

    def _lullaby(self):
        try:
            return load_lullaby(self.settings.lullaby_path)
        except Exception as exc:  # noqa: BLE001 - any bad file: the built-in lullaby plays
            self.log.error("lullaby_unreadable", path=self.settings.lullaby_path,
                           error=one_line(exc), using="built-in lullaby")
            return load_lullaby("")

    def run(self) -> int:
        """Listen until stopped (signal or ``stop_after_seconds``); returns the exit status."""
        s = self.settings
        self.log.info("listening", capture=s.capture_device, playback=s.playback_device,
                      model=self.model.card.get("arrays_file", "?"),
                      threshold=f"{self.threshold:.3f}",
                      windows_to_confirm=s.windows_to_confirm,
                      lullaby_seconds=self.lullaby_seconds)
        self.capture.start()
        status = EXIT_OK
        try:
            while not self.stopping.is_set():
                try:
                    status = self._drain()
                except Exception as exc:  # noqa: BLE001 - the loop must never die
                    self.counters.loop_restarts += 1
                    self.log.error("loop_error", error=one_line(exc),
                                   restart_in_seconds=RESTART_PAUSE_SECONDS)
                    self._restart_stream()
                    self.stopping.wait(RESTART_PAUSE_SECONDS)
        finally:
            self.shutdown()
        return status

    def _drain(self) -> int:
        while not self.stopping.is_set():
            if self.stop_reason:  # set by a signal handler, which must not touch locks
                self.stopping.set()
                break
            self._maybe_heartbeat()
            if self._capture_stalled():
                self.stopping.set()
                return EXIT_CAPTURE_STALLED
            try:
                kind, samples = self.queue.get(timeout=POLL_SECONDS)
            except queue.Empty:
                continue
            if kind == AUDIO:
                self._on_audio(samples)
            elif kind == OVERRUN:
                self._on_overrun()
            elif kind == GAP:
                self._gap_started = time.monotonic()
                self._restart_stream()
        return EXIT_OK

    def _capture_stalled(self) -> bool:
        """Restart a capture thread that died; report a device that is open but silent."""
        if not self.capture.is_alive() and not self.stopping.is_set():
            self.log.error("capture_thread_died", restarting=True)
            self.capture = CaptureThread(self.capture.settings, out=self.queue, log=self.log,
                                         open_device=self.capture.open_device)
            self.capture.start()
            return False
        silent = time.monotonic() - max(self._last_audio, self.capture.opened_at)
        if self.capture.state == "open" and silent > CAPTURE_STALL_SECONDS:
            self.log.error("capture_stalled", silent_seconds=silent,
                           exit_status=EXIT_CAPTURE_STALLED)
            return True
        return False

    def _on_audio(self, samples) -> None:
        self._last_audio = time.monotonic()
        if self._gap_started is not None:  # the microphone is back: time went on meanwhile
            self._outage_seconds += self._last_audio - self._gap_started
            self._gap_started = None
            self._restart_stream()
        self._pet_watchdog()
        limit = self.settings.stop_after_seconds
        if limit is not None:
            remaining = int(round((limit - self.counters.audio_seconds) * self.rate))
            samples = samples[: max(remaining, 0)]
        windows = self.scorer.push(from_int16(samples))
        self.counters.audio_seconds += len(samples) / self.rate  # before anything can fail
        for window in windows:
            self._on_window(window)
        if limit is not None and self.counters.audio_seconds >= limit - 0.5 / self.rate:
            self.log.info("stop_after", audio_seconds=self.counters.audio_seconds)
            self.stopping.set()

    def _pet_watchdog(self) -> None:
        if self.watchdog is None:
            return
        try:
            self.watchdog.pet()
        except OSError as exc:
            self.log.error("watchdog_failed", error=one_line(exc), using_watchdog=False)
            self.watchdog = None

    def _on_window(self, window) -> None:
        self.counters.windows += 1
        start = self._stream_offset + window.start_seconds
        end = self._stream_offset + window.end_seconds
        votes_cry = window.probability >= self.threshold
        if self.log.enabled("debug"):
            self.log.debug("window", t=end, probability=f"{window.probability:.3f}",
                           votes_cry=votes_cry, playing=self.player.playing)
        if self.policy.observe(t_seconds=end, votes_cry=votes_cry):
            self.log.info("episode_ended", t=end,
                          cooldown_seconds=self.settings.cooldown_seconds)
        if not self.vote.update(window.probability, window_start_seconds=start):
            return
        self.counters.confirmations += 1
        action = self.policy.decide(t_seconds=end)
        if action == PLAY and not self.player.play():
            action = ALREADY_PLAYING
        self.log.info("cry_confirmed", t=end, probability=f"{window.probability:.3f}",
                      action=action)
        if action == PLAY:
            self.vote.hold_until(end + self.lullaby_seconds + self.settings.mute_tail_seconds)

    def _on_overrun(self) -> None:
        self.counters.overruns += 1
        now = time.monotonic()
        if now - self._last_overrun_log >= self.settings.overrun_log_interval_seconds:
            self.log.warning("capture_overrun", overruns=self.counters.overruns)
            self._last_overrun_log = now
        self._restart_stream()

    def _restart_stream(self) -> None:
        """Drop partial windows: the next window starts fresh at the current listening time
        (captured audio plus microphone outages), the clock of the vote's hold, episodes
        and cooldown, so a lullaby hold or a cooldown does not outlast an outage."""
        self._stream_offset = self.counters.audio_seconds + self._outage_seconds
        self.scorer.reset()
        self.vote.interrupt()

    def _maybe_heartbeat(self) -> None:
        now = time.monotonic()
        if now >= self._next_heartbeat:
            self._next_heartbeat = now + self.settings.heartbeat_seconds
            self.heartbeat("heartbeat")

    def heartbeat(self, name: str) -> None:
        c = self.counters
        self.log.info(name, uptime_seconds=time.monotonic() - self._started,
                      audio_seconds=c.audio_seconds, windows=c.windows,
                      confirmations=c.confirmations, lullabies=self.player.played,
                      overruns=c.overruns, reconnects=self.capture.reconnects,
                      loop_restarts=c.loop_restarts, playback_failures=self.player.failures,
                      rss_mb=current_rss_mb(),
                      peak_rss_mb=peak_rss_mb())

    def stop(self, *, reason: str) -> None:
        """Ask the loop to end; safe from a signal handler: it only sets an attribute,
        which the loop checks at every poll (an Event's lock could deadlock there)."""
        self.stop_reason = reason

    def shutdown(self) -> None:
        if self.stop_reason:
            self.log.info("signal", name=self.stop_reason)
        self.capture.stop()
        self.capture.join(timeout=THREAD_JOIN_SECONDS)
        self.player.stop()
        if self.watchdog:
            try:
                self.watchdog.close()
            except OSError as exc:
                self.log.error("watchdog_failed", error=one_line(exc))
        self.heartbeat("stopped")


def current_rss_mb() -> float:
    """Resident memory of this process now, in MiB."""
    return _proc_status_mb("VmRSS")


def peak_rss_mb() -> float:
    """Peak resident memory of this process, in MiB. (``ru_maxrss`` is not used: after
    fork + exec it still counts the parent's memory.)"""
    return _proc_status_mb("VmHWM")


def _proc_status_mb(key: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024.0  # kB
    return float("nan")


def run_service(settings: Settings, **devices: Callable[..., object]) -> int:
    """Build the listener and run it; SIGTERM/SIGINT stop it cleanly with status 0."""
    log = EventLog(level=settings.log_level, json_lines=settings.json_log)
    try:
        listener = Listener(settings, log=log, **devices)
    except HushboxError as exc:
        log.error("cannot_start", error=str(exc))
        return EXIT_BAD_INPUT
    except OSError as exc:  # the watchdog device
        log.error("cannot_start", error=one_line(exc))
        return EXIT_BAD_INPUT

    def on_signal(signum, _frame) -> None:
        listener.stop(reason=signal.Signals(signum).name)  # no logging here: it takes a lock

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
    return listener.run()
