"""The model as arrays: inference matches scikit-learn, and bad files fail in one clear line."""

import json
import shutil

import numpy as np
import pytest

from appliance.errors import ModelError
from appliance.features import FeatureConfig
from appliance.model import DEFAULT_MODEL_PATH, Model, card_path, load_model, save_model
from appliance.train import MLP_BATCH, MLP_EPOCHS, MLP_HIDDEN_UNITS, MLP_L2, fit_classifier

CFG = FeatureConfig()
N_FEATURES = len(CFG.window_feature_names)


def small_model(kind="mlp"):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, N_FEATURES)).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int)
    mean, scale, weights, biases = fit_classifier(x, y, kind=kind, seed=0)
    return Model(mean, scale, weights, biases, 0.6, CFG, {"note": "test"}), x


@pytest.mark.parametrize("kind", ["mlp", "logistic"])
def test_inference_is_a_few_dot_products_matching_sklearn(kind):
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import StandardScaler

    model, x = small_model(kind)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int)
    scaled = StandardScaler().fit(x).transform(x)
    if kind == "mlp":
        reference = MLPClassifier(hidden_layer_sizes=(MLP_HIDDEN_UNITS,), alpha=MLP_L2,
                                  batch_size=MLP_BATCH, max_iter=MLP_EPOCHS, random_state=0,
                                  n_iter_no_change=MLP_EPOCHS)
    else:
        reference = LogisticRegression(max_iter=2000, class_weight="balanced")
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference.fit(scaled, y)
    np.testing.assert_allclose(model.predict_proba(x), reference.predict_proba(scaled)[:, 1],
                               atol=1e-4)


def test_round_trip(tmp_path):
    model, x = small_model()
    path = save_model(model, tmp_path / "m.npz")
    loaded = load_model(path)
    np.testing.assert_allclose(loaded.predict_proba(x), model.predict_proba(x), atol=1e-6)
    assert loaded.threshold == 0.6
    assert loaded.feature_config == CFG
    with np.load(path, allow_pickle=False) as data:  # plain arrays, no objects
        assert all(data[k].dtype.kind == "f" for k in data.files)


@pytest.fixture
def saved(tmp_path):
    model, _ = small_model()
    return save_model(model, tmp_path / "m.npz")


def test_missing_file(tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        load_model(tmp_path / "nothing.npz")


def test_truncated_arrays(saved):
    saved.write_bytes(saved.read_bytes()[:500])
    with pytest.raises(ModelError, match="does not match its card"):
        load_model(saved)


def test_truncated_arrays_with_a_matching_card_still_fail_cleanly(saved):
    import hashlib

    saved.write_bytes(saved.read_bytes()[:500])
    card = json.loads(card_path(saved).read_text())
    card["arrays_sha256"] = hashlib.sha256(saved.read_bytes()).hexdigest()
    card_path(saved).write_text(json.dumps(card))
    with pytest.raises(ModelError, match="unreadable or incomplete"):
        load_model(saved)


def test_corrupted_card(saved):
    card_path(saved).write_text("{not json")
    with pytest.raises(ModelError, match="not valid JSON"):
        load_model(saved)


@pytest.mark.parametrize("change, message", [
    ({"feature_config": {**CFG.to_dict(), "version": 99}}, "feature version"),
    ({"feature_config": {**CFG.to_dict(), "n_mels": 20}}, "scaler has shape"),
    ({"format_version": 7}, "format_version"),
    ({"format": "something-else"}, "not a hushbox-model card"),
    ({"threshold": 1.5}, "threshold"),
])
def test_mismatched_card(saved, change, message):
    card = json.loads(card_path(saved).read_text())
    card.update(change)
    card_path(saved).write_text(json.dumps(card))
    with pytest.raises(ModelError, match=message) as info:
        load_model(saved)
    assert "\n" not in str(info.value)


def test_the_shipped_model_loads_with_its_card():
    model = load_model(DEFAULT_MODEL_PATH)
    card = model.card
    assert 0.5 <= model.threshold < 1.0
    for key in ("training_data", "cross_validated", "versions", "created", "classifier"):
        assert key in card
    assert card["feature_config"]["version"] == CFG.version


def test_a_copied_model_loads_from_anywhere(tmp_path):
    for suffix in (".npz", ".json"):
        shutil.copy(DEFAULT_MODEL_PATH.with_suffix(suffix), tmp_path / f"copy{suffix}")
    assert load_model(tmp_path / "copy.json").threshold == load_model().threshold
