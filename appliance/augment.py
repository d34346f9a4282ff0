"""Training augmentations: pure functions over 16 kHz mono float32 arrays.

They teach the model what a nursery microphone really hears: phone-band
("muffled") audio of both classes, level changes, cries over other sounds, and
noise machines (white, pink, brown noise).
"""

from __future__ import annotations

import numpy as np
import scipy.signal

from appliance.errors import ParameterError
from appliance.features import SAMPLE_RATE_HZ

TELEPHONE_RATE_HZ = 8_000
NOISE_COLOURS = ("white", "pink", "brown")
_NOISE_SLOPES = {"white": 0.0, "pink": -0.5, "brown": -1.0}  # amplitude ~ f ** slope
_SILENCE_POWER = 1e-12


def band_limit(samples: np.ndarray, *, to_rate_hz: int = TELEPHONE_RATE_HZ,
               sample_rate_hz: int = SAMPLE_RATE_HZ) -> np.ndarray:
    """Down- then up-sample through ``to_rate_hz``: removes everything above its Nyquist."""
    if not 0 < to_rate_hz < sample_rate_hz:
        raise ParameterError(f"to_rate_hz={to_rate_hz} must be in (0, {sample_rate_hz})")
    g = np.gcd(to_rate_hz, sample_rate_hz)
    down = scipy.signal.resample_poly(samples, to_rate_hz // g, sample_rate_hz // g)
    up = scipy.signal.resample_poly(down, sample_rate_hz // g, to_rate_hz // g)
    return up[: len(samples)].astype(np.float32)


def apply_gain(samples: np.ndarray, *, gain_db: float) -> np.ndarray:
    """Scale by ``gain_db`` decibels and clip to full scale, as a real ADC would."""
    return np.clip(samples * 10.0 ** (gain_db / 20.0), -1.0, 1.0).astype(np.float32)


def coloured_noise(*, colour: str, n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS noise, amplitude ~ f**0 (white), f**-0.5 (pink) or f**-1 (brown)."""
    if colour not in _NOISE_SLOPES:
        raise ParameterError(f"colour={colour!r} must be one of {', '.join(NOISE_COLOURS)}")
    spectrum = np.fft.rfft(rng.standard_normal(n_samples))
    freqs = np.arange(len(spectrum), dtype=np.float64)
    freqs[0] = 1.0
    noise = np.fft.irfft(spectrum * freqs ** _NOISE_SLOPES[colour], n=n_samples)
    return (noise / (np.sqrt(np.mean(noise**2)) + 1e-12)).astype(np.float32)


def mix_at_snr(signal: np.ndarray, background: np.ndarray, *, snr_db: float) -> np.ndarray:
    """``signal`` plus ``background`` scaled so that signal power / background power = ``snr_db``.

    The background is looped or cut to the signal's length. Peaks are kept below full
    scale by scaling the mixture down if needed.
    """
    if len(background) == 0:
        raise ParameterError("background must not be empty")
    reps = int(np.ceil(len(signal) / len(background)))
    background = np.tile(background, reps)[: len(signal)]
    p_signal = float(np.mean(signal**2))
    p_background = max(float(np.mean(background**2)), _SILENCE_POWER)
    scale = np.sqrt(p_signal / (p_background * 10.0 ** (snr_db / 10.0)))
    mixture = signal + scale * background
    peak = float(np.max(np.abs(mixture)))
    return (mixture / peak if peak > 1.0 else mixture).astype(np.float32)
