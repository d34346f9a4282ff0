"""Shared fixtures: real recordings bundled in tests/data, the shipped model, ../shared/data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from appliance.audio_io import read_audio
from appliance.model import DEFAULT_MODEL_PATH, load_model

TESTS = Path(__file__).resolve().parent
DATA = TESTS / "data"
REPO = TESTS.parent
SHARED_DATA = Path(os.environ.get("SHARED_DATA_DIR", REPO.parent / "shared" / "data"))
CRY_RECORDING = DATA / "cry_in_room.wav"
QUIET_RECORDING = DATA / "no_cry_room.wav"
CRY_SPAN_SECONDS = (6.0, 16.0)  # where the cry lies in CRY_RECORDING (see data/SOURCES.md)


@pytest.fixture(scope="session")
def model():
    return load_model(DEFAULT_MODEL_PATH)


@pytest.fixture(scope="session")
def cry_audio():
    return read_audio(CRY_RECORDING)


@pytest.fixture(scope="session")
def quiet_audio():
    return read_audio(QUIET_RECORDING)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Training caches go to a temporary folder, never the user's."""
    monkeypatch.setattr("appliance.trainset.CACHE_DIR", tmp_path_factory.getbasetemp() / "cache")


def needs_shared_data():
    return pytest.mark.skipif(not (SHARED_DATA / "metadata.csv").is_file(),
                              reason=f"../shared/data not present at {SHARED_DATA}")
