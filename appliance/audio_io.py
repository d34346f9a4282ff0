"""Reading and writing audio files as 16 kHz mono float32 (full scale = 1.0).

WAV is read with scipy alone (the device path). FLAC and other formats need the
optional ``soundfile`` package (a tools dependency, never on the device).
"""

from __future__ import annotations

import math
import warnings
import wave
from pathlib import Path

import numpy as np

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
    """Integer PCM WAV with the standard library (light enough for the device);
    float and other WAV encodings through scipy."""
    try:
        with wave.open(str(path), "rb") as handle:
            width, channels = handle.getsampwidth(), handle.getnchannels()
            rate, raw = handle.getframerate(), handle.readframes(handle.getnframes())
    except wave.Error:
        return _read_wav_with_scipy(path)
    except (OSError, EOFError) as exc:
        raise AudioFileError(f"audio file {path} is not a readable WAV file: {exc}") from None
    if width == 1:
        data = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 3:
        bytes3 = np.frombuffer(raw, np.uint8).reshape(-1, 3)
        as_int = (bytes3[:, 0].astype(np.int32) | bytes3[:, 1].astype(np.int32) << 8
                  | bytes3[:, 2].astype(np.int8).astype(np.int32) << 16)
        data = as_int.astype(np.float32) / 2.0**23
    elif width in (2, 4):
        kind = np.dtype(f"<i{width}")
        data = np.frombuffer(raw, kind).astype(np.float32) / float(-np.iinfo(kind).min)
    else:
        raise AudioFileError(f"audio file {path} has {8 * width}-bit samples; "
                             f"8, 16, 24 or 32 are read")
    return (data.reshape(-1, channels) if channels > 1 else data), rate


def _read_wav_with_scipy(path: Path) -> tuple[np.ndarray, int]:
    import scipy.io.wavfile  # imports all of scipy.io: only for unusual WAV encodings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", scipy.io.wavfile.WavFileWarning)
            rate, data = scipy.io.wavfile.read(path)
    except Exception as exc:  # noqa: BLE001 - scipy raises many types on malformed files
        raise AudioFileError(f"audio file {path} is not a readable WAV file: "
                             f"{type(exc).__name__}: {exc}") from None
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
    import scipy.signal  # 50 MB of memory: only loaded when a rate must change

    g = math.gcd(int(from_hz), int(to_hz))
    return scipy.signal.resample_poly(samples, to_hz // g, from_hz // g).astype(np.float32)


def to_int16(samples: np.ndarray) -> np.ndarray:
    """Float samples (full scale 1.0) -> int16, clipped."""
    scaled = np.asarray(samples, dtype=np.float32) * np.float32(_INT16_FULL_SCALE)
    np.round(scaled, out=scaled)
    np.clip(scaled, -32768, 32767, out=scaled)
    return scaled.astype(np.int16)


def from_int16(samples: np.ndarray) -> np.ndarray:
    """int16 samples -> float32, full scale 1.0."""
    return samples.astype(np.float32) / _INT16_FULL_SCALE


def write_wav(path: Path, samples: np.ndarray, *, sample_rate_hz: int = SAMPLE_RATE_HZ) -> None:
    """Write mono float samples as a 16-bit WAV file."""
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(sample_rate_hz)
        handle.writeframes(to_int16(np.asarray(samples)).astype("<i2").tobytes())
