"""Feature functions against answers known in advance."""

import numpy as np
import pytest

from appliance.errors import ParameterError
from appliance.features import (
    FeatureConfig,
    clip_window_features,
    frame_features,
    mel_filterbank,
    window_features,
)

CFG = FeatureConfig()
RATE = CFG.sample_rate_hz
NAMES = CFG.frame_feature_names


def tone(freq_hz, seconds=1.0, amplitude=0.5, harmonics=(1.0,)):
    t = np.arange(int(seconds * RATE)) / RATE
    return sum(a * amplitude * np.sin(2 * np.pi * freq_hz * (k + 1) * t)
               for k, a in enumerate(harmonics)).astype(np.float32)


def column(frames, name):
    return frames[:, NAMES.index(name)]


@pytest.mark.parametrize("freq_hz", [500.0, 1000.0, 3000.0])
def test_centroid_and_rolloff_of_a_tone_are_its_frequency(freq_hz):
    frames = frame_features(tone(freq_hz), config=CFG)
    bin_khz = RATE / CFG.n_fft / 1000
    assert np.median(column(frames, "centroid_khz")) == pytest.approx(freq_hz / 1000, abs=0.02)
    assert np.median(column(frames, "rolloff_khz")) == pytest.approx(freq_hz / 1000,
                                                                     abs=bin_khz)
    assert np.median(column(frames, "bandwidth_khz")) < 0.1


def test_rms_of_a_full_scale_sine_is_minus_3_db():
    frames = frame_features(tone(1000.0, amplitude=1.0), config=CFG)
    assert np.median(column(frames, "rms_db")) == pytest.approx(-3.01, abs=0.05)


def test_zero_crossing_rate_of_a_tone_is_twice_its_frequency_per_sample():
    frames = frame_features(tone(800.0), config=CFG)
    assert np.median(column(frames, "zero_crossing_rate")) == pytest.approx(
        2 * 800 / RATE, abs=0.003)


def test_flatness_tells_noise_from_a_tone():
    noise = np.random.default_rng(0).standard_normal(RATE).astype(np.float32) * 0.1
    assert np.median(column(frame_features(noise, config=CFG), "flatness")) > 0.4
    assert np.median(column(frame_features(tone(1000.0), config=CFG), "flatness")) < 0.05


@pytest.mark.parametrize("f0_hz", [300.0, 400.0, 600.0])
def test_pitch_of_a_harmonic_tone_in_the_cry_range(f0_hz):
    frames = frame_features(tone(f0_hz, harmonics=(1.0, 0.6, 0.4, 0.3)), config=CFG)
    assert np.median(column(frames, "pitch_khz")) == pytest.approx(f0_hz / 1000, rel=0.04)
    assert np.median(column(frames, "harmonicity")) > 0.8
    noise = np.random.default_rng(1).standard_normal(RATE).astype(np.float32) * 0.1
    assert np.median(column(frame_features(noise, config=CFG), "harmonicity")) < 0.3


def test_the_loudest_mel_band_holds_the_tone():
    bank = mel_filterbank(config=CFG)
    assert bank.shape == (CFG.n_fft // 2 + 1, CFG.n_mels)
    frames = frame_features(tone(2000.0), config=CFG)
    loudest = int(np.median(np.argmax(frames[:, : CFG.n_mels], axis=1)))
    bin_2k = round(2000 / (RATE / CFG.n_fft))
    assert bank[bin_2k, loudest] == pytest.approx(bank[bin_2k].max())


def test_silence_gives_finite_features():
    frames = frame_features(np.zeros(RATE, np.float32), config=CFG)
    assert np.all(np.isfinite(frames))


def test_window_count_and_width():
    seconds = 3.0
    windows = clip_window_features(tone(440.0, seconds=seconds), config=CFG)
    n_frames = (int(seconds * RATE) - CFG.frame_samples) // CFG.hop_samples + 1
    expected = (n_frames - CFG.window_frames) // CFG.window_hop_frames + 1
    assert windows.shape == (expected, len(CFG.window_feature_names))
    assert window_features(np.zeros((5, len(NAMES)), np.float32), config=CFG).shape[0] == 0


def test_a_decision_at_least_every_half_second():
    assert CFG.window_hop_seconds <= 0.5


@pytest.mark.parametrize("bad", [dict(hop_samples=0), dict(frame_samples=1024),
                                 dict(mel_fmax_hz=9000.0), dict(window_hop_frames=0),
                                 dict(pitch_fmin_hz=50.0), dict(sample_rate_hz=44100),
                                 dict(version=99)])
def test_bad_settings_raise_one_error_type(bad):
    with pytest.raises(ParameterError):
        FeatureConfig(**bad)


def test_bad_shapes_raise_parameter_error():
    with pytest.raises(ParameterError, match="one channel"):
        frame_features(np.zeros((2, 1000), np.float32), config=CFG)
