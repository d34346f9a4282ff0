"""Offline detection: a recording through the same window scorer and vote as live listening."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from appliance.detector import ScoredWindow, WindowScorer
from appliance.model import Model
from appliance.settings import Settings
from appliance.vote import Vote

SCAN_CHUNK_SECONDS = Settings.period_seconds
"""Chunk size fed to the scorer: the live capture period's default."""


@dataclass(frozen=True)
class ScanResult:
    duration_seconds: float
    windows: tuple[ScoredWindow, ...]
    confirmations_seconds: tuple[float, ...]  # when the lullaby would start


def scan_samples(samples: np.ndarray, *, model: Model, holdoff_seconds: float,
                 windows_to_confirm: int, threshold: float | None = None) -> ScanResult:
    """Stream ``samples`` (16 kHz mono float32) through scorer and vote, chunk by chunk.

    After each confirmation, further confirmations are held off for ``holdoff_seconds``
    (the lullaby plus its mute tail), as the live service does.
    """
    rate = model.feature_config.sample_rate_hz
    scorer = WindowScorer(model)
    vote = Vote(threshold=model.threshold if threshold is None else threshold,
                windows_required=windows_to_confirm)
    chunk = int(SCAN_CHUNK_SECONDS * rate)
    windows: list[ScoredWindow] = []
    confirmations: list[float] = []
    for start in range(0, len(samples), chunk):
        for window in scorer.push(samples[start: start + chunk]):
            windows.append(window)
            if vote.update(window.probability, window_start_seconds=window.start_seconds):
                confirmations.append(window.end_seconds)
                vote.hold_until(window.end_seconds + holdoff_seconds)
    return ScanResult(duration_seconds=len(samples) / rate, windows=tuple(windows),
                      confirmations_seconds=tuple(confirmations))
