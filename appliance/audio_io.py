"""Reading and writing audio files as 16 kHz mono float32 (full scale = 1.0).

WAV is read with scipy alone (the device path). FLAC and other formats need the
optional ``soundfile`` package (a tools dependency, never on the device).
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import scipy.io.wavfile
import scipy.signal

from appliance.errors import AudioFileError
from appliance.features import SAMPLE_RATE_HZ

_INT16_FULL_SCALE = 32768.0


def read_audio(path: Path, *, sample_rate_hz: int | None = SAMPLE_RATE_HZ) -> np.ndarray:
    """Read ``path`` as mono float32 resampled to ``sample_rate_hz`` (None keeps the file's rate).

    Raises :class:`AudioFileError` (one line naming the file) when the file is missing,
    unreadable, empty or not finite.
    """
    samples, rate = read_audio_native(path)
    if sample_rate_hz is not None:
        samples = resample(samples, from_hz=rate, to_hz=sample_rate_hz)
    return samples


def read_audio_native(path: Path) -> tuple[np.ndarray, int]:
    """Read ``path`` as (mono float32 samples, the file's sample rate in Hz)."""
    path = Path(path)
    if not path.is_file():
        raise AudioFileError(f"audio file {path} does not exist")
    if path.suffix.lower() == ".wav":
        data, rate = _read_wav(path)
    else:
        data, rate = _read_with_soundfile(path)
    if data.ndim == 2:
        data = data.mean(axis=1)
    if data.size == 0:
        raise AudioFileError(f"audio file {path} has no samples")
    if not np.all(np.isfinite(data)):
        raise AudioFileError(f"audio file {path} has samples that are not finite numbers")
    return data.astype(np.float32), int(rate)


def _read_wav(path: Path) -> tuple[np.ndarray, int]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", scipy.io.wavfile.WavFileWarning)
            rate, data = scipy.io.wavfile.read(path)
    except (ValueError, OSError, EOFError, IndexError) as exc:
        raise AudioFileError(f"audio file {path} is not a readable WAV file: {exc}") from None
    if data.dtype == np.uint8:
        return (data.astype(np.float32) - 128.0) / 128.0, rate
    if np.issubdtype(data.dtype, np.integer):
        return data.astype(np.float32) / float(-np.iinfo(data.dtype).min), rate
    return data.astype(np.float32), rate


def _read_with_soundfile(path: Path) -> tuple[np.ndarray, int]:
    try:
        import soundfile
    except ImportError:
        raise AudioFileError(f"reading {path.suffix or 'this'} files needs the soundfile "
                             f"package (pip install 'hushbox[tools]'); WAV needs nothing") from None
    try:
        data, rate = soundfile.read(path, dtype="float32", always_2d=False)
    except (RuntimeError, soundfile.LibsndfileError, OSError) as exc:
        raise AudioFileError(f"audio file {path} is not readable audio: {exc}") from None
    return data, rate


def resample(samples: np.ndarray, *, from_hz: int, to_hz: int) -> np.ndarray:
    """Polyphase resampling (Kaiser window) of mono float samples; identity when rates match."""
    if from_hz == to_hz:
        return samples.astype(np.float32)
    if from_hz <= 0 or to_hz <= 0:
        raise AudioFileError(f"cannot resample from {from_hz} Hz to {to_hz} Hz")
    g = math.gcd(int(from_hz), int(to_hz))
    return scipy.signal.resample_poly(samples, to_hz // g, from_hz // g).astype(np.float32)


def to_int16(samples: np.ndarray) -> np.ndarray:
    """Float samples (full scale 1.0) -> int16, clipped."""
    return np.clip(np.round(samples * _INT16_FULL_SCALE), -32768, 32767).astype(np.int16)


def from_int16(samples: np.ndarray) -> np.ndarray:
    """int16 samples -> float32, full scale 1.0."""
    return samples.astype(np.float32) / _INT16_FULL_SCALE


def write_wav(path: Path, samples: np.ndarray, *, sample_rate_hz: int = SAMPLE_RATE_HZ) -> None:
    """Write mono float samples as a 16-bit WAV file."""
    scipy.io.wavfile.write(path, sample_rate_hz, to_int16(np.asarray(samples)))
