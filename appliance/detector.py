"""Samples -> scored windows: the feature stream and the model, as one stateful stage."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from appliance.model import Model
from appliance.stream import FeatureStream


@dataclass(frozen=True)
class ScoredWindow:
    """One analysis window: where it lies in the stream (seconds since reset) and its score."""

    start_seconds: float
    end_seconds: float
    probability: float


class WindowScorer:
    """Feed audio in any chunk sizes; get each completed window's cry probability."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.config = model.feature_config
        self._features = FeatureStream(config=self.config)

    def reset(self) -> None:
        self._features.reset()

    def push(self, samples: np.ndarray) -> list[ScoredWindow]:
        """``samples`` (n,) float32 at 16 kHz, full scale 1.0 -> windows completed by them."""
        features, indices = self._features.push(samples)
        if len(indices) == 0:
            return []
        probabilities = self.model.predict_proba(features)
        cfg = self.config
        rate = cfg.sample_rate_hz
        return [ScoredWindow(start_seconds=i * cfg.window_hop_samples / rate,
                             end_seconds=(i * cfg.window_hop_samples + cfg.window_samples) / rate,
                             probability=float(p))
                for i, p in zip(indices.tolist(), probabilities, strict=True)]
