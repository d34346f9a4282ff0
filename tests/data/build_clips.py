"""Rebuild the small real recordings in this folder from ../shared/data (CC0 clips only).

Run from the repo root: ``.venv/bin/python tests/data/build_clips.py``. Every clip used
is an ESC-10 clip whose Freesound licence is CC0 (see SOURCES.md); nothing else from
../shared/data is copied into the repo.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np
import soundfile

HERE = Path(__file__).resolve().parent
SHARED = HERE.parents[2] / "shared" / "data"
RATE = 16_000
CRY_CLIPS = ("audio/esc50/3-151081-A-20.flac", "audio/esc50/3-151081-B-20.flac")
ROOM_CLIPS = ("audio/esc50/1-17367-A-10.flac", "audio/esc50/2-101676-A-10.flac",
              "audio/esc50/1-42139-A-38.flac", "audio/esc50/1-62849-A-38.flac")
QUIET_CLIPS = ("audio/esc50/1-100032-A-0.flac", "audio/esc50/1-17367-A-10.flac",
               "audio/esc50/1-35687-A-38.flac", "audio/esc50/1-54505-A-21.flac")
CRY_START_SECONDS = 6.0
ROOM_GAIN = 0.3
RECORDING_SECONDS = 20.0
MINI_SECONDS = 3.0
MINI_PER_FOLD = {"cry": 1, "other": 2}


def load(rel: str) -> np.ndarray:
    audio, rate = soundfile.read(SHARED / rel, dtype="float32")
    assert rate == RATE, rel
    return audio


def cry_in_room() -> np.ndarray:
    """Room sound (rain, then a ticking clock), with a baby crying from CRY_START_SECONDS."""
    room = ROOM_GAIN * np.concatenate([load(p) for p in ROOM_CLIPS])[
        : int(RECORDING_SECONDS * RATE)]
    cry = np.concatenate([load(p) for p in CRY_CLIPS])
    start = int(CRY_START_SECONDS * RATE)
    room[start: start + len(cry)] += cry
    return np.clip(room, -1, 1)


def mini_dataset(rows: list[dict]) -> list[dict]:
    """A few 3-s CC0 excerpts per fold and label, for the end-to-end train/evaluate test."""
    chosen, counts = [], {}
    for row in rows:
        key = (row["fold"], row["label"])
        if not row["license"].startswith("CC0") or row["path"] in (*CRY_CLIPS, *ROOM_CLIPS):
            continue
        if counts.get(key, 0) >= MINI_PER_FOLD[row["label"]]:
            continue
        counts[key] = counts.get(key, 0) + 1
        chosen.append(row)
    return chosen


def main() -> int:
    if not (SHARED / "metadata.csv").is_file():
        print(f"needs {SHARED}", file=sys.stderr)
        return 1
    soundfile.write(HERE / "cry_in_room.wav", cry_in_room(), RATE, subtype="PCM_16")
    quiet = np.concatenate([load(p) for p in QUIET_CLIPS])[: int(RECORDING_SECONDS * RATE)]
    soundfile.write(HERE / "no_cry_room.wav", quiet, RATE, subtype="PCM_16")
    with open(SHARED / "metadata.csv", newline="") as table:
        rows = list(csv.DictReader(table))
    mini = HERE / "mini"
    (mini / "audio").mkdir(parents=True, exist_ok=True)
    with open(mini / "metadata.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "fold", "source", "orig_class", "license"])
        for row in mini_dataset(rows):
            name = Path(row["path"]).name
            excerpt = load(row["path"])[: int(MINI_SECONDS * RATE)]
            soundfile.write(mini / "audio" / name, excerpt, RATE)
            writer.writerow([f"audio/{name}", row["label"], row["fold"], row["source"],
                             row["orig_class"], row["license"]])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
