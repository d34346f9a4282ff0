"""End to end on a few real CC0 clips: train, then a nested cross-validated evaluation."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from conftest import DATA, SHARED_DATA, needs_shared_data

from appliance.dataset import load_dataset
from appliance.evaluate import evaluate
from appliance.model import load_model
from appliance.train import train

MINI = DATA / "mini"


@pytest.fixture(scope="module")
def mini_clips():
    return load_dataset(MINI)


@pytest.mark.slow
def test_train_writes_a_loadable_model_and_card(tmp_path, mini_clips, cry_audio):
    result = train(mini_clips, out_dir=tmp_path, kind="logistic", seed=1)
    model = load_model(result.model_path)
    card = json.loads(result.model_path.with_suffix(".json").read_text())
    assert card["training_data"]["clips"] == len(mini_clips)
    assert card["training_data"]["by_label"] == {"cry": 5, "other": 10}
    assert card["classifier"]["kind"] == "logistic"
    assert 0.5 <= model.threshold < 1
    probabilities = model.predict_proba(np.zeros((2, len(model.scaler_mean)), np.float32))
    assert probabilities.shape == (2,)


@pytest.mark.slow
def test_training_is_deterministic_with_a_seed(tmp_path, mini_clips):
    a = train(mini_clips, out_dir=tmp_path / "a", kind="logistic", seed=3)
    b = train(mini_clips, out_dir=tmp_path / "b", kind="logistic", seed=3)
    assert a.model_path.read_bytes() == b.model_path.read_bytes()


def test_unreadable_clips_are_skipped_and_counted(tmp_path):
    folder = tmp_path / "data"
    shutil.copytree(MINI, folder)
    (folder / "audio" / "broken.flac").write_bytes(b"not audio at all")
    with open(folder / "metadata.csv", "a") as table:
        table.write("audio/broken.flac,other,1,test,broken,CC0\n")
    result = train(load_dataset(folder), out_dir=tmp_path / "m", kind="logistic", seed=1)
    assert len(result.skipped) == 1 and "broken.flac" in result.skipped[0]


def test_plain_cry_and_other_folders_are_accepted(tmp_path):
    for label in ("cry", "other"):
        (tmp_path / label).mkdir()
    for clip in load_dataset(MINI):
        shutil.copy(clip.path, tmp_path / clip.label / clip.path.name)
    clips = load_dataset(tmp_path)
    assert {c.label for c in clips} == {"cry", "other"} and len(clips) == 15
    assert all(1 <= c.fold <= 5 for c in clips)


@pytest.mark.slow
def test_evaluate_writes_the_report(tmp_path, mini_clips):
    report = evaluate(mini_clips, report_dir=tmp_path, kind="logistic", seed=1,
                      holdoff_seconds=10.0)
    for name in ("report.json", "report.md", "roc.png", "pr.png"):
        assert (tmp_path / name).stat().st_size > 0
    clip = report["clip"]["all"]
    assert clip["clips"] == 15 and 0.0 <= clip["roc_auc"] <= 1.0
    events = report["events"]["all"]
    assert events["cry_recordings"] == 5 and events["other_audio_hours"] > 0
    assert set(report["thresholds_by_fold"]) == {"1", "2", "3", "4", "5"}
    assert "Missed cries" in (tmp_path / "report.md").read_text()


@needs_shared_data()
def test_shared_data_loads_with_its_folds():
    clips = load_dataset(SHARED_DATA)
    assert len(clips) == 2157
    assert {c.fold for c in clips} == {1, 2, 3, 4, 5}
    assert sum(c.is_cry for c in clips) == 386
