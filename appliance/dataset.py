"""Labelled recordings: a ``metadata.csv`` folder or a plain ``cry/`` + ``other/`` folder."""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

from appliance.errors import HushboxError

LABELS = ("cry", "other")
N_FOLDS = 5
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga")


@dataclass(frozen=True)
class Clip:
    path: Path
    label: str  # "cry" or "other"
    fold: int  # 1..N_FOLDS; one recording/speaker group never spans two folds
    source: str
    orig_class: str
    license: str
    orig_rate_hz: int | None  # the rate before conversion, when the metadata says

    @property
    def is_cry(self) -> bool:
        return self.label == "cry"


def fold_of(group: str) -> int:
    """Deterministic fold for a group name: ``md5(group) % 5 + 1`` (as ../shared/data does)."""
    return int(hashlib.md5(group.encode()).hexdigest(), 16) % N_FOLDS + 1


def load_dataset(root: Path) -> list[Clip]:
    """Clips of ``root``: from ``metadata.csv`` when present, else from ``cry/`` and ``other/``."""
    root = Path(root)
    if not root.is_dir():
        raise HushboxError(f"data folder {root} does not exist")
    if (root / "metadata.csv").is_file():
        return _from_metadata(root)
    if (root / "cry").is_dir() and (root / "other").is_dir():
        return _from_folders(root)
    raise HushboxError(f"data folder {root} has neither metadata.csv nor cry/ and other/ folders")


def _from_metadata(root: Path) -> list[Clip]:
    table = root / "metadata.csv"
    try:
        return _read_metadata(root, table)
    except UnicodeDecodeError:
        raise HushboxError(f"{table} is not UTF-8 text") from None
    except csv.Error as exc:
        raise HushboxError(f"{table} is not valid CSV: {exc}") from None


def _read_metadata(root: Path, table: Path) -> list[Clip]:
    with open(table, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = {"path", "label"} - set(reader.fieldnames or ())
        if missing:
            raise HushboxError(f"{table} lacks the column(s) {', '.join(sorted(missing))}")
        clips = []
        for line, row in enumerate(reader, start=2):
            if row["label"] not in LABELS:
                raise HushboxError(f"{table} line {line}: label {row['label']!r} is not "
                                   f"one of {', '.join(LABELS)}")
            fold_text = (row.get("fold") or "").strip()
            if fold_text and fold_text not in {str(k) for k in range(1, N_FOLDS + 1)}:
                raise HushboxError(f"{table} line {line}: fold {fold_text!r} is not 1..{N_FOLDS}")
            rate_text = (row.get("orig_sr") or "").strip()
            if rate_text and not rate_text.replace(".", "", 1).isdigit():
                raise HushboxError(f"{table} line {line}: orig_sr {rate_text!r} is not a rate")
            clips.append(Clip(
                path=root / row["path"], label=row["label"],
                fold=int(fold_text) if fold_text else fold_of(row["path"]),
                source=row.get("source") or "unknown",
                orig_class=row.get("orig_class") or row["label"],
                license=row.get("license") or "unknown",
                orig_rate_hz=int(float(rate_text)) if rate_text else None))
    if not clips:
        raise HushboxError(f"{table} lists no recordings")
    return clips


def _from_folders(root: Path) -> list[Clip]:
    clips = [Clip(path=p, label=label, fold=fold_of(p.relative_to(root).as_posix()),
                  source=root.name, orig_class=label, license="unknown", orig_rate_hz=None)
             for label in LABELS
             for p in sorted((root / label).rglob("*")) if p.suffix.lower() in AUDIO_SUFFIXES]
    if not clips:
        raise HushboxError(f"{root}/cry and {root}/other hold no .wav/.flac/.ogg recordings")
    return clips
