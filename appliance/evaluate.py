"""Honest evaluation: nested, grouped 5-fold cross-validation through the live detector path.

For each test fold: the threshold comes from an inner cross-validation of the
training folds only; the model is fitted on the training folds; every test
recording is streamed through the same :func:`appliance.scan.scan_samples` (window
scorer + three-window vote + hold-off) the device uses.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from appliance.audio_io import read_audio
from appliance.dataset import Clip
from appliance.errors import AudioFileError, HushboxError
from appliance.features import FeatureConfig
from appliance.model import Model
from appliance.progress import progress
from appliance.scan import scan_samples
from appliance.train import (
    DEFAULT_SEED,
    clip_vote_scores,
    fit_model,
    original_hours,
    out_of_fold_probabilities,
    pick_threshold,
    vote_score,
)
from appliance.trainset import build_table, pad_clip
from appliance.vote import WINDOWS_TO_CONFIRM

MAX_FALSE_POSITIVE_RATE = 0.01
ESC50 = "esc50"


@dataclass
class ClipOutcome:
    clip: Clip
    fold: int
    threshold: float
    score: float  # vote score: highest threshold at which it would be confirmed
    first_confirmation_seconds: float | None  # streamed alone, from the clip's start


def evaluate(clips: list[Clip], *, report_dir: Path, kind: str = "mlp",
             seed: int = DEFAULT_SEED, holdoff_seconds: float,
             config: FeatureConfig | None = None) -> dict:
    config = config or FeatureConfig()
    table = build_table(clips, seed=seed, config=config)
    folds = sorted(set(table.folds.tolist()))
    if len(folds) < 3:
        raise HushboxError("evaluation needs recordings in at least three folds")
    outcomes: list[ClipOutcome] = []
    streams: list[dict] = []
    window_truth, window_prob = [], []
    for fold in progress(folds, total=len(folds), desc="test folds"):
        train_folds = [f for f in folds if f != fold]
        inner = out_of_fold_probabilities(table, folds=train_folds, kind=kind, seed=seed,
                                          config=config, desc=f"inner folds of {fold}")
        train_rows = np.isin(table.folds, train_folds)
        scores = clip_vote_scores(table.select(train_rows), inner[train_rows])
        threshold = pick_threshold(
            scores, is_cry={i: clips[i].is_cry for i in scores},
            negative_hours=original_hours(table.select(train_rows), config=config, label=0))
        model = fit_model(table.select(train_rows), kind=kind, seed=seed,
                          threshold=threshold, config=config)
        test = table.original & table.trainable & (table.folds == fold)
        window_truth.append(table.labels[test])
        window_prob.append(model.predict_proba(table.features[test]))
        test_clips = [c for c in clips if c.fold == fold]
        outcomes += _score_clips(test_clips, fold=fold, model=model,
                                 holdoff_seconds=holdoff_seconds)
        streams += _stream_negatives(test_clips, fold=fold, model=model, seed=seed,
                                     holdoff_seconds=holdoff_seconds)
    report = _report(outcomes, streams, np.concatenate(window_truth),
                     np.concatenate(window_prob), kind=kind, seed=seed,
                     skipped=table.skipped)
    write_report(report, outcomes, report_dir=Path(report_dir))
    return report


def _score_clips(clips: list[Clip], *, fold: int, model: Model, holdoff_seconds: float
                 ) -> list[ClipOutcome]:
    outcomes = []
    for clip in clips:
        try:
            audio = read_audio(clip.path)
        except AudioFileError:
            continue
        result = scan_samples(pad_clip(audio, config=model.feature_config), model=model,
                              holdoff_seconds=holdoff_seconds,
                              windows_to_confirm=WINDOWS_TO_CONFIRM)
        probabilities = np.array([w.probability for w in result.windows])
        outcomes.append(ClipOutcome(
            clip=clip, fold=fold, threshold=model.threshold, score=vote_score(probabilities),
            first_confirmation_seconds=(result.confirmations_seconds[0]
                                        if result.confirmations_seconds else None)))
    return outcomes


def _stream_negatives(clips: list[Clip], *, fold: int, model: Model, seed: int,
                      holdoff_seconds: float) -> list[dict]:
    """Stream each fold's non-cry audio end to end (ESC-50 and the rest separately)."""
    rng = np.random.default_rng([seed, fold])
    streams = []
    for part in (ESC50, "other sources"):
        members = [c for c in clips if not c.is_cry and (c.source == ESC50) == (part == ESC50)]
        if not members:
            continue
        order = rng.permutation(len(members))
        pieces, starts, names, offset = [], [], [], 0
        for i in order:
            try:
                audio = read_audio(members[i].path)
            except AudioFileError:
                continue
            pieces.append(audio)
            starts.append(offset)
            names.append(f"{members[i].source}/{members[i].orig_class}")
            offset += len(audio)
        samples = np.concatenate(pieces)
        result = scan_samples(samples, model=model, holdoff_seconds=holdoff_seconds,
                              windows_to_confirm=WINDOWS_TO_CONFIRM)
        rate = model.feature_config.sample_rate_hz
        fired = [names[int(np.searchsorted(starts, t * rate, side="right")) - 1]
                 for t in result.confirmations_seconds]
        streams.append({"fold": fold, "part": part, "hours": len(samples) / rate / 3600.0,
                        "confirmations": len(fired), "fired_classes": fired})
    return streams


def _clip_metrics(outcomes: list[ClipOutcome]) -> dict:
    from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

    y = np.array([o.clip.is_cry for o in outcomes])
    s = np.array([o.score for o in outcomes])
    confirmed = np.array([o.score >= o.threshold for o in outcomes])
    if len(set(y.tolist())) < 2:
        return {"clips": len(y)}
    tp = int((confirmed & y).sum())
    fp = int((confirmed & ~y).sum())
    fn = int((~confirmed & y).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn)
    fpr, tpr, _ = roc_curve(y, s)
    return {
        "clips": len(y), "cry_clips": int(y.sum()), "other_clips": int((~y).sum()),
        "roc_auc": float(roc_auc_score(y, s)),
        "average_precision": float(average_precision_score(y, s)),
        "precision": precision, "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "false_positive_rate": fp / int((~y).sum()),
        "recall_at_1pct_fpr": float(tpr[fpr <= MAX_FALSE_POSITIVE_RATE].max()),
    }


def _event_metrics(outcomes: list[ClipOutcome], streams: list[dict]) -> dict:
    cries = [o for o in outcomes if o.clip.is_cry]
    delays = [o.first_confirmation_seconds for o in cries
              if o.first_confirmation_seconds is not None]
    hours = sum(s["hours"] for s in streams)
    false = sum(s["confirmations"] for s in streams)
    return {
        "cry_recordings": len(cries),
        "cry_recordings_confirmed": len(delays) / len(cries) if cries else float("nan"),
        "delay_seconds_median": float(np.median(delays)) if delays else None,
        "delay_seconds_p90": float(np.percentile(delays, 90)) if delays else None,
        "other_audio_hours": hours,
        "false_confirmations": false,
        "false_confirmations_per_hour": false / hours if hours else None,
    }


def _report(outcomes: list[ClipOutcome], streams: list[dict], window_truth: np.ndarray,
            window_prob: np.ndarray, *, kind: str, seed: int, skipped: tuple[str, ...]) -> dict:
    from sklearn.metrics import roc_auc_score

    esc = [o for o in outcomes if o.clip.source == ESC50]
    esc_streams = [s for s in streams if s["part"] == ESC50]
    firing: dict[str, dict] = defaultdict(lambda: {"clips": 0, "clips_confirmed": 0,
                                                   "stream_confirmations": 0})
    for o in outcomes:
        if not o.clip.is_cry:
            row = firing[f"{o.clip.source}/{o.clip.orig_class}"]
            row["clips"] += 1
            row["clips_confirmed"] += int(o.score >= o.threshold)
    for s in streams:
        for name in s["fired_classes"]:
            firing[name]["stream_confirmations"] += 1
    fires = sorted(((k, v) for k, v in firing.items()
                    if v["clips_confirmed"] or v["stream_confirmations"]),
                   key=lambda kv: (-kv[1]["clips_confirmed"] - kv[1]["stream_confirmations"],
                                   kv[0]))
    missed = sorted((o for o in outcomes if o.clip.is_cry and o.score < o.threshold),
                    key=lambda o: o.score)
    return {
        "classifier": kind, "seed": seed,
        "protocol": "nested grouped 5-fold CV by the fold column; per-fold threshold from an "
                    "inner CV of the training folds; clips streamed through the live scorer "
                    "and three-window vote",
        "thresholds_by_fold": {str(f): t for f, t in sorted(
            {o.fold: o.threshold for o in outcomes}.items())},
        "window_roc_auc": float(roc_auc_score(window_truth, window_prob)),
        "clip": {"all": _clip_metrics(outcomes), "esc50": _clip_metrics(esc)},
        "events": {"all": _event_metrics(outcomes, streams),
                   "esc50": _event_metrics(esc, esc_streams)},
        "other_classes_that_fire": [{"class": k, **v} for k, v in fires],
        "missed_cries": [{"path": str(o.clip.path.name), "source": o.clip.source,
                          "class": o.clip.orig_class, "fold": o.fold,
                          "score": round(o.score, 4)} for o in missed],
        "unreadable_files": list(skipped),
    }


def write_report(report: dict, outcomes: list[ClipOutcome], *, report_dir: Path) -> None:
    """``report.json``, ``report.md``, ``roc.png`` and ``pr.png`` in ``report_dir``."""
    report_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    (report_dir / "report.md").write_text(markdown_report(report))
    _plot_curves(outcomes, report_dir)


def _plot_curves(outcomes: list[ClipOutcome], report_dir: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve, roc_curve

    subsets = {"all sources": outcomes,
               "ESC-50 only": [o for o in outcomes if o.clip.source == ESC50]}
    for name, (xlabel, ylabel) in {"roc": ("false positive rate", "true positive rate"),
                                   "pr": ("recall", "precision")}.items():
        fig, ax = plt.subplots(figsize=(5, 5))
        for label, subset in subsets.items():
            y = [o.clip.is_cry for o in subset]
            s = [o.score for o in subset]
            if len(set(y)) < 2:
                continue
            if name == "roc":
                fpr, tpr, _ = roc_curve(y, s)
                ax.plot(fpr, tpr, label=label)
            else:
                precision, recall, _ = precision_recall_curve(y, s)
                ax.plot(recall, precision, label=label)
        ax.set(xlabel=xlabel, ylabel=ylabel, xlim=(0, 1), ylim=(0, 1.01),
               title=f"Clip {name.upper()} (vote score, nested CV)")
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right" if name == "roc" else "lower left")
        fig.tight_layout()
        fig.savefig(report_dir / f"{name}.png", dpi=100)
        plt.close(fig)


def markdown_report(report: dict) -> str:
    def fmt(value: object) -> str:
        return f"{value:.4f}" if isinstance(value, float) else str(value)

    lines = [f"# Hushbox evaluation ({report['classifier']})", "", report["protocol"] + ".", "",
             f"Window ROC-AUC: {fmt(report['window_roc_auc'])}", "",
             "## Clip level (vote score)", "", "| metric | all | esc50 |", "|---|---|---|"]
    for key in report["clip"]["all"]:
        lines.append(f"| {key} | {fmt(report['clip']['all'][key])} | "
                     f"{fmt(report['clip']['esc50'].get(key))} |")
    lines += ["", "## Event level (streamed)", "", "| metric | all | esc50 |", "|---|---|---|"]
    for key in report["events"]["all"]:
        lines.append(f"| {key} | {fmt(report['events']['all'][key])} | "
                     f"{fmt(report['events']['esc50'].get(key))} |")
    lines += ["", "## Other classes that fire", "",
              "| class | clips | clips confirmed | stream confirmations |", "|---|---|---|---|"]
    lines += [f"| {r['class']} | {r['clips']} | {r['clips_confirmed']} | "
              f"{r['stream_confirmations']} |" for r in report["other_classes_that_fire"]]
    lines += ["", f"## Missed cries ({len(report['missed_cries'])})", "",
              "| file | source | fold | vote score |", "|---|---|---|---|"]
    lines += [f"| {m['path']} | {m['source']} | {m['fold']} | {m['score']} |"
              for m in report["missed_cries"]]
    lines += ["", f"Thresholds by fold: {report['thresholds_by_fold']}", "",
              "![ROC](roc.png) ![PR](pr.png)", ""]
    return "\n".join(lines)
