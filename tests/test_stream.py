"""The streaming path equals the whole-clip path, whatever the chunk sizes."""

import numpy as np
import pytest

from appliance.detector import WindowScorer
from appliance.features import FeatureConfig, clip_window_features
from appliance.stream import FeatureStream

CFG = FeatureConfig()


def stream_in_chunks(samples, chunk_sizes):
    stream = FeatureStream(config=CFG)
    rows, indices, position, i = [], [], 0, 0
    while position < len(samples):
        size = chunk_sizes[i % len(chunk_sizes)]
        features, index = stream.push(samples[position: position + size])
        rows.append(features)
        indices.append(index)
        position += size
        i += 1
    return np.concatenate(rows), np.concatenate(indices)


@pytest.mark.parametrize("chunks", [[1, 7, 13], [160], [1023], [4000, 17], [10**7]])
def test_chunk_sizes_do_not_change_window_features(cry_audio, chunks):
    audio = cry_audio[: 4 * CFG.sample_rate_hz] if chunks[0] == 1 else cry_audio
    expected = clip_window_features(audio, config=CFG)
    got, indices = stream_in_chunks(audio, chunks)
    assert got.shape == expected.shape
    assert indices.tolist() == list(range(len(expected)))
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-3)


def test_reset_starts_a_new_stream(cry_audio):
    stream = FeatureStream(config=CFG)
    first, _ = stream.push(cry_audio[:40_000])
    stream.reset()
    again, indices = stream.push(cry_audio[:40_000])
    np.testing.assert_array_equal(first, again)
    assert indices[0] == 0


def test_scorer_gives_the_same_probabilities_in_any_chunking(model, cry_audio):
    def scores(chunk):
        scorer = WindowScorer(model)
        return [w.probability for i in range(0, len(cry_audio), chunk)
                for w in scorer.push(cry_audio[i: i + chunk])]

    np.testing.assert_allclose(scores(320), scores(16_000), atol=1e-4)
