"""Training (a tools path: scikit-learn here, never on the device).

A classifier is fitted on window features; what ships is its arrays (see
:mod:`appliance.model`). The decision threshold is picked from out-of-fold scores
of the training folds only, on the same three-window vote the detector uses.
"""

from __future__ import annotations

import datetime
import platform
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from appliance import __version__
from appliance.dataset import Clip
from appliance.errors import HushboxError
from appliance.features import FeatureConfig
from appliance.model import Model, save_model
from appliance.progress import progress
from appliance.trainset import WindowTable, build_table
from appliance.vote import WINDOWS_TO_CONFIRM

CLASSIFIERS = ("mlp", "logistic")
MLP_HIDDEN_UNITS = 64
MLP_L2 = 1e-3
MLP_EPOCHS = 80
MLP_BATCH = 256
LOGISTIC_C = 1.0
LOGISTIC_MAX_ITER = 2000
TARGET_FALSE_CONFIRMATIONS_PER_HOUR = 1.0
"""Threshold rule: the lowest threshold at which out-of-fold negative clips confirm at
most this often (each clip at most once, per hour of negative audio)."""
THRESHOLD_RANGE = (0.5, 0.995)
DEFAULT_SEED = 20261126


def fit_classifier(features: np.ndarray, labels: np.ndarray, *, kind: str, seed: int
                   ) -> tuple[np.ndarray, np.ndarray, tuple, tuple]:
    """Fit a standardiser and a classifier; return (mean, scale, weights, biases) arrays."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import StandardScaler

    if kind not in CLASSIFIERS:
        raise HushboxError(f"classifier {kind!r} is not one of {', '.join(CLASSIFIERS)}")
    if len(np.unique(labels)) != 2:
        raise HushboxError("training needs both cry and other recordings")
    scaler = StandardScaler().fit(features)
    x = scaler.transform(features)
    if kind == "mlp":
        net = MLPClassifier(hidden_layer_sizes=(MLP_HIDDEN_UNITS,), alpha=MLP_L2,
                            batch_size=MLP_BATCH, max_iter=MLP_EPOCHS, random_state=seed,
                            early_stopping=False, n_iter_no_change=MLP_EPOCHS)
        with warnings.catch_warnings():  # a fixed epoch count is the plan, not a failure
            warnings.simplefilter("ignore", ConvergenceWarning)
            net.fit(x, labels)
        weights, biases = tuple(net.coefs_), tuple(net.intercepts_)
    else:
        lr = LogisticRegression(C=LOGISTIC_C, max_iter=LOGISTIC_MAX_ITER, class_weight="balanced")
        lr.fit(x, labels)
        weights, biases = (lr.coef_.T,), (lr.intercept_,)
    return (scaler.mean_.astype(np.float32), scaler.scale_.astype(np.float32),
            tuple(w.astype(np.float32) for w in weights),
            tuple(b.astype(np.float32) for b in biases))


def fit_model(table: WindowTable, *, kind: str, seed: int, threshold: float,
              config: FeatureConfig, card: dict | None = None) -> Model:
    rows = table.trainable
    mean, scale, weights, biases = fit_classifier(table.features[rows], table.labels[rows],
                                                  kind=kind, seed=seed)
    scale = np.where(scale > 0, scale, 1.0).astype(np.float32)
    return Model(mean, scale, weights, biases, threshold, config, card or {})


def vote_score(probabilities: np.ndarray, *, windows: int = WINDOWS_TO_CONFIRM) -> float:
    """The highest threshold at which a clip would be confirmed: max over runs of
    ``windows`` consecutive windows of their lowest probability."""
    if len(probabilities) < windows:
        return 0.0
    runs = np.lib.stride_tricks.sliding_window_view(probabilities, windows)
    return float(runs.min(axis=1).max())


def clip_vote_scores(table: WindowTable, probabilities: np.ndarray
                     ) -> dict[int, float]:
    """Vote score of every recording whose original windows are in ``table``."""
    scores = {}
    mask = table.original
    for clip in np.unique(table.clip_index[mask]):
        rows = mask & (table.clip_index == clip)
        scores[int(clip)] = vote_score(probabilities[rows])
    return scores


def out_of_fold_probabilities(table: WindowTable, *, folds: list[int], kind: str, seed: int,
                              config: FeatureConfig, desc: str = "folds") -> np.ndarray:
    """Probabilities of every row of ``table`` in ``folds``, each from a model that did
    not see its fold (NaN for rows outside ``folds``)."""
    probabilities = np.full(len(table.labels), np.nan, dtype=np.float64)
    for fold in progress(folds, total=len(folds), desc=desc):
        train = table.select(np.isin(table.folds, folds) & (table.folds != fold))
        model = fit_model(train, kind=kind, seed=seed, threshold=0.5, config=config)
        rows = table.folds == fold
        probabilities[rows] = model.predict_proba(table.features[rows])
    return probabilities


def pick_threshold(scores: dict[int, float], *, is_cry: dict[int, bool],
                   negative_hours: float) -> float:
    """Lowest threshold at which negative clips confirm at most
    ``TARGET_FALSE_CONFIRMATIONS_PER_HOUR``, within ``THRESHOLD_RANGE``."""
    negatives = sorted((s for i, s in scores.items() if not is_cry[i]), reverse=True)
    allowed = int(TARGET_FALSE_CONFIRMATIONS_PER_HOUR * negative_hours)
    threshold = negatives[allowed] + 1e-4 if allowed < len(negatives) else THRESHOLD_RANGE[0]
    return float(np.clip(threshold, *THRESHOLD_RANGE))


def original_hours(table: WindowTable, *, config: FeatureConfig, label: int) -> float:
    """Hours of recorded (unaugmented) audio of one label in ``table``, from its windows."""
    rows = table.original & (table.labels == label)
    n_clips = len(np.unique(table.clip_index[rows]))
    windows = int(rows.sum())
    return (n_clips * config.window_seconds
            + (windows - n_clips) * config.window_hop_seconds) / 3600.0


@dataclass(frozen=True)
class TrainingResult:
    model_path: Path
    threshold: float
    oof_clip_auc: float
    skipped: tuple[str, ...]


def train(clips: list[Clip], *, out_dir: Path, name: str = "hushbox-cry", kind: str = "mlp",
          seed: int = DEFAULT_SEED, config: FeatureConfig | None = None) -> TrainingResult:
    """Fit on all clips, pick the threshold from 5-fold out-of-fold scores, save model + card."""
    from sklearn.metrics import roc_auc_score

    config = config or FeatureConfig()
    table = build_table(clips, seed=seed, config=config)
    folds = sorted(set(table.folds.tolist()))
    if len(folds) < 2:
        raise HushboxError("training needs recordings in at least two folds")
    oof = out_of_fold_probabilities(table, folds=folds, kind=kind, seed=seed, config=config,
                                    desc="threshold folds")
    scores = clip_vote_scores(table, oof)
    threshold = pick_threshold(scores, is_cry={i: clips[i].is_cry for i in scores},
                               negative_hours=original_hours(table, config=config, label=0))
    ids = sorted(scores)
    y = [clips[i].is_cry for i in ids]
    auc = float(roc_auc_score(y, [scores[i] for i in ids])) if len(set(y)) == 2 else float("nan")
    card = _card(clips, table=table, kind=kind, seed=seed, threshold=threshold, oof_auc=auc,
                 scores=scores)
    model = fit_model(table, kind=kind, seed=seed, threshold=threshold, config=config, card=card)
    path = save_model(model, Path(out_dir) / f"{name}.npz")
    return TrainingResult(path, threshold, auc, table.skipped)


def _card(clips: list[Clip], *, table: WindowTable, kind: str, seed: int, threshold: float,
          oof_auc: float, scores: dict[int, float]) -> dict:
    import scipy
    import sklearn

    used = [clips[i] for i in scores]
    negatives = [s for i, s in scores.items() if not clips[i].is_cry]
    cries = [s for i, s in scores.items() if clips[i].is_cry]
    return {
        "name": "Hushbox infant-cry detector",
        "hushbox_version": __version__,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "classifier": {"kind": kind, "hidden_units": MLP_HIDDEN_UNITS if kind == "mlp" else 0,
                       "activation": "relu", "output": "logistic", "seed": seed},
        "decision": {"windows_to_confirm": WINDOWS_TO_CONFIRM, "threshold_rule":
                     f"lowest threshold with <= {TARGET_FALSE_CONFIRMATIONS_PER_HOUR} "
                     "out-of-fold false confirmations per hour of negative clips, "
                     f"clipped to {list(THRESHOLD_RANGE)}"},
        "training_data": {
            "clips": len(used), "skipped_unreadable": len(table.skipped),
            "by_label": dict(Counter(c.label for c in used)),
            "by_source": {f"{s}/{lab}": n for (s, lab), n in
                          sorted(Counter((c.source, c.label) for c in used).items())},
            "licences": sorted({c.license for c in used}),
            "windows": int(table.trainable.sum()),
            "augmentation": "telephone band-limit (8 kHz), gain -20..+6 dB, cries over "
                            "same-fold negatives and white/pink/brown noise at 0-20 dB SNR, "
                            "negatives over noise, noise-machine clips, the device's lullaby",
        },
        "cross_validated": {
            "folds": "grouped by the fold column (recording/speaker groups)",
            "clip_roc_auc": oof_auc,
            "cry_clips_confirmed": float(np.mean(np.asarray(cries) >= threshold)),
            "negative_clips_confirmed": float(np.mean(np.asarray(negatives) >= threshold)),
        },
        "versions": {"python": platform.python_version(), "numpy": np.__version__,
                     "scipy": scipy.__version__, "scikit-learn": sklearn.__version__},
    }
