"""A picture of what the detector saw in a recording: spectrogram, scores, votes, confirmations."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from appliance.features import FeatureConfig, frame_features
from appliance.scan import ScanResult


def plot_scan(samples: np.ndarray, result: ScanResult, *, config: FeatureConfig,
              threshold: float, title: str, out_path: Path) -> None:
    """Write a PNG: mel spectrogram on top, window probabilities, votes and confirmations below."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frames = frame_features(samples, config=config)[:, : config.n_mels]
    seconds = len(samples) / config.sample_rate_hz
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(12, 6), sharex=True,
                                      gridspec_kw={"height_ratios": [3, 2]})
    top.imshow(frames.T, origin="lower", aspect="auto", cmap="magma",
               extent=(0, seconds, 0, config.n_mels), vmin=frames.max() - 80, vmax=frames.max())
    top.set(ylabel="mel band", title=title)
    ends = np.array([w.end_seconds for w in result.windows])
    probabilities = np.array([w.probability for w in result.windows])
    bottom.plot(ends, probabilities, marker=".", label="window cry probability")
    votes = probabilities >= threshold
    bottom.scatter(ends[votes], probabilities[votes], color="tab:orange", zorder=3,
                   label="votes cry")
    bottom.axhline(threshold, color="grey", linestyle="--", label=f"threshold {threshold:.3f}")
    for i, t in enumerate(result.confirmations_seconds):
        for ax in (top, bottom):
            ax.axvline(t, color="tab:green", linewidth=2,
                       label="cry confirmed (lullaby starts)" if i == 0 and ax is bottom else None)
    bottom.set(xlabel="time in recording (s)", ylabel="probability", ylim=(-0.02, 1.02),
               xlim=(0, seconds))
    bottom.legend(loc="upper left", fontsize="small")
    bottom.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out_path, dpi=100)
    plt.close(fig)
