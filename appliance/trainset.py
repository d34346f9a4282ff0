"""The training table: window features of every clip and of its augmented copies.

Every row keeps the fold of the clip it came from. Mixtures pair a cry with a
negative *of the same fold*, so grouped cross-validation never sees a test
recording inside a training row.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from appliance import augment
from appliance.audio_io import read_audio, resample
from appliance.dataset import N_FOLDS, Clip, fold_of
from appliance.errors import AudioFileError
from appliance.features import FeatureConfig, clip_window_features
from appliance.lullaby import LULLABY_SAMPLE_RATE_HZ, render_lullaby
from appliance.progress import progress
from appliance.vote import WINDOWS_TO_CONFIRM

AUGMENT_VERSION = 1
CRY_WINDOW_RANGE_DB = 20.0
"""Cry-clip windows quieter than the clip's loudest by more than this are left out
(pauses for breath are not cries, and not negatives either)."""
GAIN_RANGE_DB = (-20.0, 6.0)
SNR_RANGE_DB = (0.0, 20.0)
MIXES_PER_CRY = 2
NOISE_MIX_SHARE_OF_NEGATIVES = 0.3
NOISE_CLIPS_PER_FOLD = 12
NOISE_CLIP_SECONDS = 5.0
NOISE_LEVEL_RANGE_DBFS = (-60.0, -10.0)
LULLABY_GAINS_DB = (-30.0, -12.0, 0.0)
SYNTHETIC_CLIP = -1
"""``clip_index`` of rows made from no recording (noise machines, the device's lullaby)."""
_SYNTHETIC_STREAM = 2**31  # a random stream of its own, apart from every clip's index
CACHE_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "hushbox"
"""Window-feature tables, keyed by content (HUSHBOX_* variables are settings, so not here)."""


@dataclass(frozen=True, eq=False)
class WindowTable:
    features: np.ndarray  # (n, n_window_features) float32
    labels: np.ndarray  # (n,) int8, 1 = cry
    folds: np.ndarray  # (n,) int8, 1..5
    clip_index: np.ndarray  # (n,) int32 into the clip list, SYNTHETIC_CLIP for made-up rows
    original: np.ndarray  # (n,) bool: an unaugmented window of a recording, in clip order
    trainable: np.ndarray  # (n,) bool: fit on it (False for a cry clip's quiet windows)
    skipped: tuple[str, ...]  # one line per unreadable clip

    def select(self, mask: np.ndarray) -> WindowTable:
        return WindowTable(self.features[mask], self.labels[mask], self.folds[mask],
                           self.clip_index[mask], self.original[mask], self.trainable[mask],
                           self.skipped)


def min_clip_samples(config: FeatureConfig) -> int:
    """Shortest clip that holds enough windows for one vote."""
    return config.window_samples + (WINDOWS_TO_CONFIRM - 1) * config.window_hop_samples


def pad_clip(audio: np.ndarray, *, config: FeatureConfig) -> np.ndarray:
    """Pad a short clip with silence so it holds enough windows for one vote."""
    short = min_clip_samples(config) - len(audio)
    return np.concatenate([audio, np.zeros(short, np.float32)]) if short > 0 else audio


def clip_windows(audio: np.ndarray, *, config: FeatureConfig) -> np.ndarray:
    """Window features of one (padded) clip, as every stage downstream sees it."""
    return clip_window_features(pad_clip(audio, config=config), config=config)


def loud_windows(features: np.ndarray, *, config: FeatureConfig) -> np.ndarray:
    """Mask of windows within ``CRY_WINDOW_RANGE_DB`` of the clip's loudest window."""
    level = features[:, config.window_feature_names.index("rms_db_mean")]
    return level >= level.max() - CRY_WINDOW_RANGE_DB


def _clip_task(task: tuple) -> tuple[int, list[tuple], str | None]:
    """All rows of one clip: (features, trainable, label, is_original) per copy, or why not.

    A cry clip's quiet windows (measured on the clean clip) are kept for clip scoring
    but not fitted on, in every copy: a mixture's background alone is no cry.
    """
    index, clip, partner_paths, seed, config = task
    rng = np.random.default_rng([seed, index])
    try:
        audio = read_audio(clip.path)
    except AudioFileError as exc:
        return index, [], str(exc)
    clean = clip_windows(audio, config=config)
    trainable = loud_windows(clean, config=config) if clip.is_cry \
        else np.ones(len(clean), bool)
    label = int(clip.is_cry)
    copies = [(clean, trainable, label, True)]

    def add(copy: np.ndarray) -> None:
        gained = augment.apply_gain(copy, gain_db=rng.uniform(*GAIN_RANGE_DB))
        copies.append((clip_windows(gained, config=config), trainable, label, False))

    if clip.orig_rate_hz is None or clip.orig_rate_hz > augment.TELEPHONE_RATE_HZ:
        add(augment.band_limit(audio))
    colour = augment.NOISE_COLOURS[rng.integers(len(augment.NOISE_COLOURS))]
    noise = augment.coloured_noise(colour=colour, n_samples=len(audio), rng=rng)
    if clip.is_cry or rng.random() < NOISE_MIX_SHARE_OF_NEGATIVES:
        add(augment.mix_at_snr(audio, noise, snr_db=rng.uniform(*SNR_RANGE_DB)))
    if clip.is_cry and partner_paths:
        for partner in rng.choice(partner_paths, size=min(MIXES_PER_CRY, len(partner_paths)),
                                  replace=False):
            try:
                background = read_audio(Path(partner))
            except AudioFileError:
                continue
            add(augment.mix_at_snr(audio, background, snr_db=rng.uniform(*SNR_RANGE_DB)))
    return index, copies, None


def _synthetic_negatives(*, seed: int, config: FeatureConfig) -> list[tuple[np.ndarray, int]]:
    """(features, fold) of noise-machine clips in every fold and of the device's own lullaby."""
    rng = np.random.default_rng([seed, _SYNTHETIC_STREAM])
    rows = []
    n_noise = int(NOISE_CLIP_SECONDS * config.sample_rate_hz)
    for fold in range(1, N_FOLDS + 1):
        for _ in range(NOISE_CLIPS_PER_FOLD):
            colour = augment.NOISE_COLOURS[rng.integers(len(augment.NOISE_COLOURS))]
            level = 10.0 ** (rng.uniform(*NOISE_LEVEL_RANGE_DBFS) / 20.0)
            noise = level * augment.coloured_noise(colour=colour, n_samples=n_noise, rng=rng)
            rows.append((clip_windows(np.clip(noise, -1, 1), config=config), fold))
    lullaby = resample(render_lullaby(), from_hz=LULLABY_SAMPLE_RATE_HZ,
                       to_hz=config.sample_rate_hz)
    for gain_db in LULLABY_GAINS_DB:
        rows.append((clip_windows(augment.apply_gain(lullaby, gain_db=gain_db), config=config),
                     fold_of("hushbox-lullaby")))
    return rows


def _cache_key(clips: list[Clip], *, seed: int, config: FeatureConfig) -> str:
    digest = hashlib.sha256(json.dumps(
        [AUGMENT_VERSION, seed, config.to_dict(), config.window_feature_names]).encode())
    for clip in clips:
        stat = clip.path.stat() if clip.path.exists() else None
        digest.update(f"{clip.path}|{clip.label}|{clip.fold}|"
                      f"{stat and stat.st_size}|{stat and stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def build_table(clips: list[Clip], *, seed: int, config: FeatureConfig,
                workers: int | None = None, use_cache: bool = True) -> WindowTable:
    """Window features of all clips and their augmentations (cached on disk by content)."""
    cache = CACHE_DIR / f"windows-{_cache_key(clips, seed=seed, config=config)}.npz"
    if use_cache and cache.is_file():
        try:
            with np.load(cache, allow_pickle=False) as data:
                return WindowTable(data["features"], data["labels"], data["folds"],
                                   data["clip_index"], data["original"], data["trainable"],
                                   tuple(str(s) for s in data["skipped"]))
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            pass  # a damaged cache is a miss: computed again below
    negatives_by_fold: dict[int, list[str]] = {}
    for clip in clips:
        if not clip.is_cry:
            negatives_by_fold.setdefault(clip.fold, []).append(str(clip.path))
    tasks = [(i, clip, negatives_by_fold.get(clip.fold, []), seed, config)
             for i, clip in enumerate(clips)]
    parts: list[tuple[np.ndarray, int, int, int, bool]] = []
    skipped: list[str] = []
    with ProcessPoolExecutor(max_workers=workers or os.cpu_count()) as pool:
        results = pool.map(_clip_task, tasks, chunksize=8)
        for index, groups, reason in progress(results, total=len(tasks), desc="features"):
            if reason:
                skipped.append(reason)
            for features, trainable, label, is_original in groups:
                parts.append((features, label, clips[index].fold, index, is_original,
                              trainable))
    for features, fold in _synthetic_negatives(seed=seed, config=config):
        parts.append((features, 0, fold, SYNTHETIC_CLIP, False, np.ones(len(features), bool)))
    parts = [p for p in parts if len(p[0])]
    table = WindowTable(
        features=np.concatenate([p[0] for p in parts]).astype(np.float32),
        labels=np.concatenate([np.full(len(p[0]), p[1], np.int8) for p in parts]),
        folds=np.concatenate([np.full(len(p[0]), p[2], np.int8) for p in parts]),
        clip_index=np.concatenate([np.full(len(p[0]), p[3], np.int32) for p in parts]),
        original=np.concatenate([np.full(len(p[0]), p[4], bool) for p in parts]),
        trainable=np.concatenate([p[5] for p in parts]),
        skipped=tuple(skipped))
    if use_cache:
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_suffix(".partial.npz")
        np.savez(partial, features=table.features, labels=table.labels, folds=table.folds,
                 clip_index=table.clip_index, original=table.original, trainable=table.trainable,
                 skipped=np.array(table.skipped, dtype=str))
        os.replace(partial, cache)  # never a half-written cache
    return table
