"""The cry classifier as plain arrays: a standardiser and a small dense network.

A model is two files side by side: ``NAME.npz`` (arrays only, loaded with
``allow_pickle=False``) and ``NAME.json`` (the model card: feature configuration,
threshold, training data, metrics, versions, and the SHA-256 of the ``.npz``).
Inference is a few matrix products in numpy; no scikit-learn, no pickle.
Logistic regression is the same network with no hidden layer.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from appliance.errors import ModelError
from appliance.features import FeatureConfig

MODEL_FORMAT = "hushbox-model"
MODEL_FORMAT_VERSION = 1
DEFAULT_MODEL_PATH = Path(__file__).resolve().parent.parent / "models" / "hushbox-cry.npz"
"""The shipped model: ``models/`` beside the package, in the repo and on the device."""


@dataclass(frozen=True, eq=False)
class Model:
    """Learned arrays plus the card that says how to use them."""

    scaler_mean: np.ndarray  # (n_features,)
    scaler_scale: np.ndarray  # (n_features,)
    weights: tuple[np.ndarray, ...]  # layer i: (n_in, n_out); last n_out == 1
    biases: tuple[np.ndarray, ...]  # layer i: (n_out,)
    threshold: float  # window probability at or above which a window votes "cry"
    feature_config: FeatureConfig
    card: dict

    def __post_init__(self) -> None:
        n_features = len(self.feature_config.window_feature_names)
        if self.scaler_mean.shape != (n_features,) or self.scaler_scale.shape != (n_features,):
            raise ModelError(f"scaler has shape {self.scaler_mean.shape}, features need "
                             f"({n_features},)")
        n_in = n_features
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            if w.ndim != 2 or w.shape[0] != n_in or b.shape != (w.shape[1],):
                raise ModelError(f"layer {i} has weights {w.shape} and biases {b.shape}, "
                                 f"expected ({n_in}, k) and (k,)")
            n_in = w.shape[1]
        if n_in != 1:
            raise ModelError(f"the last layer has {n_in} outputs, expected 1")
        if not 0.0 < self.threshold < 1.0:
            raise ModelError(f"threshold {self.threshold} is outside (0, 1)")

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        """Window features (n, n_features) -> cry probability (n,) in [0, 1]."""
        x = (np.asarray(features, dtype=np.float32) - self.scaler_mean) / self.scaler_scale
        for w, b in zip(self.weights[:-1], self.biases[:-1], strict=True):
            x = np.maximum(x @ w + b, 0.0)
        logit = (x @ self.weights[-1] + self.biases[-1])[:, 0]
        return 1.0 / (1.0 + np.exp(-np.clip(logit, -60.0, 60.0)))


def card_path(model_path: Path) -> Path:
    return Path(model_path).with_suffix(".json")


def save_model(model: Model, path: Path) -> Path:
    """Write ``path`` (.npz) and its card (.json); the card records the arrays' SHA-256."""
    path = Path(path).with_suffix(".npz")
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {"scaler_mean": model.scaler_mean, "scaler_scale": model.scaler_scale}
    for i, (w, b) in enumerate(zip(model.weights, model.biases, strict=True)):
        arrays[f"weights_{i}"] = w.astype(np.float32)
        arrays[f"biases_{i}"] = b.astype(np.float32)
    np.savez(path, **arrays)
    card = dict(model.card)
    card.update({
        "format": MODEL_FORMAT,
        "format_version": MODEL_FORMAT_VERSION,
        "arrays_file": path.name,
        "arrays_sha256": _sha256(path),
        "n_layers": len(model.weights),
        "threshold": model.threshold,
        "feature_config": model.feature_config.to_dict(),
    })
    card_path(path).write_text(json.dumps(card, indent=2, sort_keys=True) + "\n")
    return path


def load_model(path: Path = DEFAULT_MODEL_PATH) -> Model:
    """Load a model saved by :func:`save_model`; any problem is one :class:`ModelError` line."""
    path = Path(path)
    npz_path, json_path = path.with_suffix(".npz"), card_path(path)
    for p in (npz_path, json_path):
        if not p.is_file():
            raise ModelError(f"model file {p} does not exist")
    try:
        card = json.loads(json_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"model card {json_path} is not valid JSON: {exc}") from None
    if not isinstance(card, dict) or card.get("format") != MODEL_FORMAT:
        raise ModelError(f"model card {json_path} is not a {MODEL_FORMAT} card")
    if card.get("format_version") != MODEL_FORMAT_VERSION:
        raise ModelError(f"model card {json_path} has format_version "
                         f"{card.get('format_version')!r}, this code reads {MODEL_FORMAT_VERSION}")
    try:
        arrays_sha256 = _sha256(npz_path)
    except OSError as exc:
        raise ModelError(f"model file {npz_path} is unreadable: {exc}") from None
    if card.get("arrays_sha256") != arrays_sha256:
        raise ModelError(f"model file {npz_path} does not match its card "
                         f"(SHA-256 differs: truncated, corrupted or replaced)")
    try:
        feature_config = FeatureConfig.from_dict(card["feature_config"])
        n_layers = int(card["n_layers"])
        threshold = float(card["threshold"])
        with np.load(npz_path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        model = Model(
            scaler_mean=arrays["scaler_mean"].astype(np.float32),
            scaler_scale=arrays["scaler_scale"].astype(np.float32),
            weights=tuple(arrays[f"weights_{i}"].astype(np.float32) for i in range(n_layers)),
            biases=tuple(arrays[f"biases_{i}"].astype(np.float32) for i in range(n_layers)),
            threshold=threshold, feature_config=feature_config, card=card)
    except ModelError as exc:
        raise ModelError(f"model {npz_path}: {exc}") from None
    except (KeyError, TypeError, ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise ModelError(f"model {npz_path} is unreadable or incomplete: "
                         f"{type(exc).__name__}: {exc}") from None
    if not np.all(np.isfinite(model.scaler_scale)) or np.any(model.scaler_scale == 0):
        raise ModelError(f"model {npz_path} has a zero or non-finite scale")
    return model


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
