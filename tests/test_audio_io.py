"""Reading audio: any rate and channel count in, 16 kHz mono out; bad files fail in one line."""

import numpy as np
import pytest
import scipy.io.wavfile

from appliance.audio_io import read_audio
from appliance.errors import AudioFileError


def test_stereo_44k_becomes_16k_mono(tmp_path):
    rate = 44_100
    t = np.arange(rate) / rate
    left = 0.5 * np.sin(2 * np.pi * 440 * t)
    stereo = np.stack([left, left], axis=1)
    path = tmp_path / "stereo.wav"
    scipy.io.wavfile.write(path, rate, (stereo * 32767).astype(np.int16))
    audio = read_audio(path)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert len(audio) == 16_000
    assert np.sqrt(np.mean(audio[1000:-1000] ** 2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.02)


def test_float_and_24_bit_wav(tmp_path):
    data = (0.25 * np.ones(1600)).astype(np.float32)
    scipy.io.wavfile.write(tmp_path / "f.wav", 16_000, data)
    assert read_audio(tmp_path / "f.wav")[100] == pytest.approx(0.25)
    scipy.io.wavfile.write(tmp_path / "i32.wav", 16_000, (data * 2**31).astype(np.int32))
    assert read_audio(tmp_path / "i32.wav")[100] == pytest.approx(0.25, abs=1e-6)


def test_flac_reads_with_soundfile(tmp_path):
    import soundfile

    soundfile.write(tmp_path / "a.flac", np.full(8000, 0.5, np.float32), 8000)
    assert len(read_audio(tmp_path / "a.flac")) == 16_000


@pytest.mark.parametrize("name, content, message", [
    ("empty.wav", b"", "not a readable WAV"),
    ("text.wav", b"hello, this is not audio" * 10, "not a readable WAV"),
    ("text.flac", b"fLaC but not really", "not readable audio"),
])
def test_bad_files_fail_with_one_line_naming_the_file(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(AudioFileError, match=message) as info:
        read_audio(path)
    assert name in str(info.value) and "\n" not in str(info.value)


def test_zero_samples(tmp_path):
    scipy.io.wavfile.write(tmp_path / "z.wav", 16_000, np.zeros(0, np.int16))
    with pytest.raises(AudioFileError, match="no samples"):
        read_audio(tmp_path / "z.wav")


def test_missing_file(tmp_path):
    with pytest.raises(AudioFileError, match="does not exist"):
        read_audio(tmp_path / "nope.wav")
