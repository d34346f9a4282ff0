"""Frame and window features from 16 kHz mono audio, with ``scipy.fft`` and numpy.

Two levels:

* **frame features**: one row per short frame (``frame_samples`` long, every
  ``hop_samples``), Hann-windowed, from its ``scipy.fft.rfft`` power spectrum:
  log-mel band energies, spectral centroid, bandwidth, roll-off, flatness,
  zero-crossing rate, RMS level, and a harmonicity/pitch measure over the cry
  range of fundamentals;
* **window features**: one row per analysis window (``window_frames`` frames,
  every ``window_hop_frames``): the mean, standard deviation, mean absolute
  frame-to-frame change and maximum of every frame feature.

Frames are computed once and shared by the overlapping windows that contain them.
Frame ``i`` covers samples ``[i * hop_samples, i * hop_samples + frame_samples)``
(no centring, no padding), so a stream cut into any chunks gives exactly the
frames of the whole clip; see :mod:`appliance.stream`.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

import numpy as np
import scipy.fft

from appliance.errors import ParameterError

FEATURE_VERSION = 1
"""Bump when the meaning or order of features changes; models record it."""

SAMPLE_RATE_HZ = 16_000
"""The one sample rate the detector works at; everything else is resampled."""

_EPS = 1e-10
"""Floor added before logarithms and divisions (power units, full scale = 1)."""

SHAPE_FEATURE_NAMES = (
    "centroid_khz",
    "bandwidth_khz",
    "rolloff_khz",
    "flatness",
    "zero_crossing_rate",
    "rms_db",
    "harmonicity",
    "pitch_khz",
)
WINDOW_STATISTICS = ("mean", "std", "mean_abs_delta", "max")


@dataclass(frozen=True)
class FeatureConfig:
    """How audio becomes features. Stored in every model card.

    Sample counts are at ``sample_rate_hz``; frequencies are in Hz.
    """

    sample_rate_hz: int = SAMPLE_RATE_HZ
    frame_samples: int = 400  # 25 ms
    hop_samples: int = 160  # 10 ms
    n_fft: int = 512
    n_mels: int = 40
    mel_fmin_hz: float = 60.0
    mel_fmax_hz: float = 8000.0
    rolloff_fraction: float = 0.85
    pitch_fmin_hz: float = 250.0
    pitch_fmax_hz: float = 800.0
    window_frames: int = 100  # 1.015 s of audio
    window_hop_frames: int = 50  # a decision every 0.5 s
    version: int = FEATURE_VERSION

    def __post_init__(self) -> None:
        _require(self.sample_rate_hz == SAMPLE_RATE_HZ, "sample_rate_hz", self.sample_rate_hz,
                 f"must be {SAMPLE_RATE_HZ}")
        _require(0 < self.hop_samples <= self.frame_samples, "hop_samples", self.hop_samples,
                 "must be in 1..frame_samples")
        _require(self.frame_samples <= self.n_fft, "frame_samples", self.frame_samples,
                 "must be at most n_fft")
        _require(self.n_mels >= 1, "n_mels", self.n_mels, "must be at least 1")
        _require(0 <= self.mel_fmin_hz < self.mel_fmax_hz <= self.sample_rate_hz / 2,
                 "mel_fmax_hz", self.mel_fmax_hz, "must exceed mel_fmin_hz and be <= Nyquist")
        _require(0 < self.rolloff_fraction < 1, "rolloff_fraction", self.rolloff_fraction,
                 "must be in (0, 1)")
        longest_lag = self.sample_rate_hz / self.pitch_fmin_hz
        _require(0 < self.pitch_fmin_hz < self.pitch_fmax_hz and
                 longest_lag <= self.n_fft - self.frame_samples,
                 "pitch_fmin_hz", self.pitch_fmin_hz,
                 "must be below pitch_fmax_hz with a lag that fits n_fft - frame_samples")
        _require(self.window_frames >= 2, "window_frames", self.window_frames,
                 "must be at least 2")
        _require(0 < self.window_hop_frames <= self.window_frames, "window_hop_frames",
                 self.window_hop_frames, "must be in 1..window_frames")
        _require(self.version == FEATURE_VERSION, "version", self.version,
                 f"this code computes feature version {FEATURE_VERSION}")

    @property
    def window_samples(self) -> int:
        """Samples spanned by one window."""
        return (self.window_frames - 1) * self.hop_samples + self.frame_samples

    @property
    def window_hop_samples(self) -> int:
        """Samples between the starts of consecutive windows."""
        return self.window_hop_frames * self.hop_samples

    @property
    def window_seconds(self) -> float:
        return self.window_samples / self.sample_rate_hz

    @property
    def window_hop_seconds(self) -> float:
        return self.window_hop_samples / self.sample_rate_hz

    @functools.cached_property
    def frame_feature_names(self) -> tuple[str, ...]:
        return tuple(f"mel_{i:02d}_db" for i in range(self.n_mels)) + SHAPE_FEATURE_NAMES

    @functools.cached_property
    def window_feature_names(self) -> tuple[str, ...]:
        return tuple(f"{name}_{stat}" for stat in WINDOW_STATISTICS
                     for name in self.frame_feature_names)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> FeatureConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ParameterError(f"unknown feature settings: {', '.join(unknown)}")
        return cls(**values)


def _require(ok: bool, name: str, value: object, rule: str) -> None:
    if not ok:
        raise ParameterError(f"feature setting {name}={value!r} {rule}")


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + np.asarray(hz) / 700.0)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    return 700.0 * (10.0 ** (np.asarray(mel) / 2595.0) - 1.0)


def mel_filterbank(*, config: FeatureConfig) -> np.ndarray:
    """Triangular mel filters, shape ``(n_fft // 2 + 1, n_mels)``, unit peak (HTK mel scale)."""
    bin_hz = np.fft.rfftfreq(config.n_fft, d=1.0 / config.sample_rate_hz)
    edges_hz = _mel_to_hz(np.linspace(_hz_to_mel(config.mel_fmin_hz),
                                      _hz_to_mel(config.mel_fmax_hz), config.n_mels + 2))
    lower, centre, upper = edges_hz[:-2], edges_hz[1:-1], edges_hz[2:]
    rising = (bin_hz[:, None] - lower) / (centre - lower)
    falling = (upper - bin_hz[:, None]) / (upper - centre)
    return np.clip(np.minimum(rising, falling), 0.0, None).astype(np.float32)


@dataclass(frozen=True, eq=False)
class _Constants:
    """Arrays built once per configuration and reused by every call."""

    window: np.ndarray  # (frame_samples,) Hann
    projection: np.ndarray  # (n_bins, n_mels + 3): mel filters, then f, f**2 (kHz), 1
    bin_khz: np.ndarray  # (n_bins,)
    lag_min: int
    lag_max: int


@functools.lru_cache(maxsize=8)
def _constants(config: FeatureConfig) -> _Constants:
    bin_khz = (np.fft.rfftfreq(config.n_fft, d=1.0 / config.sample_rate_hz) / 1000.0)
    projection = np.column_stack([mel_filterbank(config=config), bin_khz, bin_khz**2,
                                  np.ones_like(bin_khz)]).astype(np.float32)
    return _Constants(
        window=np.hanning(config.frame_samples + 2)[1:-1].astype(np.float32),
        projection=projection,
        bin_khz=bin_khz.astype(np.float32),
        lag_min=int(np.floor(config.sample_rate_hz / config.pitch_fmax_hz)),
        lag_max=int(np.ceil(config.sample_rate_hz / config.pitch_fmin_hz)),
    )


def frame_count(n_samples: int, *, config: FeatureConfig) -> int:
    """How many whole frames fit in ``n_samples`` samples."""
    if n_samples < config.frame_samples:
        return 0
    return (n_samples - config.frame_samples) // config.hop_samples + 1


def frame_signal(audio: np.ndarray, *, config: FeatureConfig) -> np.ndarray:
    """View ``audio`` (n_samples,) as frames, shape ``(n_frames, frame_samples)``; no copy."""
    n = frame_count(len(audio), config=config)
    if n == 0:
        return np.empty((0, config.frame_samples), dtype=audio.dtype)
    return np.lib.stride_tricks.sliding_window_view(
        audio, config.frame_samples)[:: config.hop_samples][:n]


def features_of_frames(frames: np.ndarray, *, config: FeatureConfig) -> np.ndarray:
    """Frame features of a stack of frames.

    Parameters
    ----------
    frames : (n_frames, frame_samples) float, full scale = 1.0, at 16 kHz.

    Returns
    -------
    (n_frames, n_mels + 8) float32: mel band energies in dB, then centroid,
    bandwidth and roll-off in kHz, flatness (0..1), zero-crossing rate (crossings
    per sample), RMS level in dBFS, harmonicity (peak normalised autocorrelation
    over the pitch range, 0..1) and the pitch at that peak in kHz.
    """
    frames = np.asarray(frames, dtype=np.float32)
    if frames.ndim != 2 or frames.shape[1] != config.frame_samples:
        raise ParameterError(
            f"frames must have shape (n, {config.frame_samples}), got {frames.shape}")
    c = _constants(config)
    padded = np.zeros((len(frames), config.n_fft), dtype=np.float32)
    np.multiply(frames, c.window, out=padded[:, : config.frame_samples])
    spectrum = scipy.fft.rfft(padded, axis=1)
    power = spectrum.real**2 + spectrum.imag**2  # (n, n_bins)

    projected = power @ c.projection  # mel energies, sum f*P, sum f**2*P, sum P
    mel_db = 10.0 * np.log10(projected[:, : config.n_mels] + _EPS)
    total = projected[:, -1] + _EPS
    centroid = projected[:, -3] / total
    bandwidth = np.sqrt(np.maximum(projected[:, -2] / total - centroid**2, 0.0))
    below = np.cumsum(power, axis=1) >= config.rolloff_fraction * total[:, None]
    rolloff = c.bin_khz[np.argmax(below, axis=1)]
    n_bins = power.shape[1]
    flatness = np.exp(np.log(power + _EPS).sum(axis=1) / n_bins) / (total / n_bins + _EPS)
    signs = np.signbit(frames)
    zcr = np.count_nonzero(signs[:, 1:] != signs[:, :-1], axis=1) / (frames.shape[1] - 1)
    rms_db = 10.0 * np.log10(np.einsum("ij,ij->i", frames, frames) / frames.shape[1] + _EPS)

    autocorr = scipy.fft.irfft(power, axis=1)  # n_fft points: power has n_fft // 2 + 1 bins
    lags = autocorr[:, c.lag_min: c.lag_max + 1] / (autocorr[:, :1] + _EPS)
    best = np.argmax(lags, axis=1)
    harmonicity = np.clip(lags[np.arange(len(lags)), best], 0.0, 1.0)
    pitch_khz = config.sample_rate_hz / (c.lag_min + best) / 1000.0

    shape = np.stack([centroid, bandwidth, rolloff, flatness, zcr, rms_db,
                      harmonicity, pitch_khz], axis=1)
    return np.concatenate([mel_db, shape], axis=1).astype(np.float32)


def frame_features(audio: np.ndarray, *, config: FeatureConfig) -> np.ndarray:
    """Frame features of a whole clip: (n_samples,) float -> (n_frames, n_frame_features)."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim != 1:
        raise ParameterError(f"audio must be one channel, shape (n,), got {audio.shape}")
    return features_of_frames(frame_signal(audio, config=config), config=config)


def summarize_window(frames: np.ndarray) -> np.ndarray:
    """Window features of one window's frame features.

    ``frames`` (window_frames, n_frame_features) -> (n_statistics * n_frame_features,) float32:
    per-feature mean, standard deviation, mean absolute frame-to-frame change, and maximum.
    """
    return np.concatenate([
        frames.mean(axis=0),
        frames.std(axis=0),
        np.abs(np.diff(frames, axis=0)).mean(axis=0),
        frames.max(axis=0),
    ]).astype(np.float32)


def window_features(frames: np.ndarray, *, config: FeatureConfig) -> np.ndarray:
    """Window features of a clip's frame features.

    ``frames`` (n_frames, n_frame_features) -> (n_windows, n_statistics * n_frame_features),
    window ``w`` summarising frames ``[w * window_hop_frames, ... + window_frames)``.
    """
    if len(frames) < config.window_frames:
        return np.empty((0, len(WINDOW_STATISTICS) * frames.shape[1]), dtype=np.float32)
    starts = range(0, len(frames) - config.window_frames + 1, config.window_hop_frames)
    return np.stack([summarize_window(frames[s: s + config.window_frames]) for s in starts])


def clip_window_features(audio: np.ndarray, *, config: FeatureConfig) -> np.ndarray:
    """Window features of a whole clip: (n_samples,) -> (n_windows, n_window_features)."""
    return window_features(frame_features(audio, config=config), config=config)
