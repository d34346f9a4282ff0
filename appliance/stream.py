"""Streaming versions of :mod:`appliance.features`: samples in any chunk sizes in,
the same window features as the whole-clip functions out.

Each stage is one small class with ``push()`` and ``reset()``.
"""

from __future__ import annotations

import numpy as np

from appliance.errors import ParameterError
from appliance.features import (
    WINDOW_STATISTICS,
    FeatureConfig,
    features_of_frames,
    frame_count,
    frame_signal,
    summarize_window,
)


class FrameStream:
    """Samples -> frame features. Keeps only the samples of the next, unfinished frame."""

    def __init__(self, *, config: FeatureConfig) -> None:
        self.config = config
        self.reset()

    def reset(self) -> None:
        self._pending = np.empty(0, dtype=np.float32)

    def push(self, samples: np.ndarray) -> np.ndarray:
        """``samples`` (n,) float, full scale 1.0 -> (k, n_frame_features) for new frames."""
        samples = np.asarray(samples, dtype=np.float32)
        if samples.ndim != 1:
            raise ParameterError(f"samples must have shape (n,), got {samples.shape}")
        buffer = np.concatenate([self._pending, samples])
        n = frame_count(len(buffer), config=self.config)
        self._pending = buffer[n * self.config.hop_samples:]
        return features_of_frames(frame_signal(buffer, config=self.config)[:n],
                                  config=self.config)


class WindowStream:
    """Frame features -> window features, every ``window_hop_frames`` frames."""

    def __init__(self, *, config: FeatureConfig) -> None:
        self.config = config
        self.reset()

    def reset(self) -> None:
        self._frames: np.ndarray | None = None
        self.windows_done = 0  # windows emitted since reset
        self._dropped = 0  # frames discarded from the front of the buffer

    def push(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """New frame features -> (window features (k, n_window_features), window indices (k,)).

        Window ``w`` starts at frame ``w * window_hop_frames`` counted from the last reset.
        """
        cfg = self.config
        self._frames = frames if self._frames is None else np.concatenate([self._frames, frames])
        rows, indices = [], []
        while True:
            start = self.windows_done * cfg.window_hop_frames - self._dropped
            if start + cfg.window_frames > len(self._frames):
                break
            rows.append(summarize_window(self._frames[start: start + cfg.window_frames]))
            indices.append(self.windows_done)
            self.windows_done += 1
        keep_from = self.windows_done * cfg.window_hop_frames - self._dropped
        self._frames = self._frames[keep_from:]
        self._dropped += keep_from
        features = np.stack(rows) if rows else _empty_windows(cfg)
        return features, np.asarray(indices, dtype=np.int64)


class FeatureStream:
    """Samples -> window features: a :class:`FrameStream` feeding a :class:`WindowStream`.

    Samples are only buffered until they complete the next window; then all their
    frames are computed in one batch (a 64-ms capture period costs almost nothing).
    """

    def __init__(self, *, config: FeatureConfig) -> None:
        self.config = config
        self.frames = FrameStream(config=config)
        self.windows = WindowStream(config=config)
        self._nothing = (_empty_windows(config), np.empty(0, dtype=np.int64))
        self.reset()

    def reset(self) -> None:
        self.frames.reset()
        self.windows.reset()
        self._chunks: list[np.ndarray] = []
        self._buffered = 0  # samples in _chunks
        self._consumed = 0  # samples handed to the frame stream since reset

    def push(self, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        samples = np.asarray(samples, dtype=np.float32)
        if samples.ndim != 1:
            raise ParameterError(f"samples must have shape (n,), got {samples.shape}")
        self._chunks.append(samples)
        self._buffered += len(samples)
        cfg = self.config
        next_window_end = self.windows.windows_done * cfg.window_hop_samples + cfg.window_samples
        if self._consumed + self._buffered < next_window_end:
            return self._nothing
        buffer = np.concatenate(self._chunks)
        self._chunks, self._consumed, self._buffered = [], self._consumed + len(buffer), 0
        return self.windows.push(self.frames.push(buffer))


def _empty_windows(config: FeatureConfig) -> np.ndarray:
    width = len(WINDOW_STATISTICS) * len(config.frame_feature_names)
    return np.empty((0, width), dtype=np.float32)
