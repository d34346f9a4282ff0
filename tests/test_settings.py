"""Settings: defaults <- file <- environment <- flags, each key validated."""

from pathlib import Path

import pytest

from appliance.errors import ConfigError
from appliance.settings import Settings, build_settings, default_config_text

EXAMPLE = Path(__file__).resolve().parent.parent / "appliance" / "data" / "hushbox.conf.example"


def write(tmp_path, text):
    path = tmp_path / "hushbox.conf"
    path.write_text(text)
    return path


def test_defaults():
    assert build_settings() == Settings()


def test_later_layers_win(tmp_path):
    conf = write(tmp_path, "[hushbox]\nthreshold = 0.7\nmute_tail_seconds = 5\n"
                           "capture_device = hw:1\n")
    s = build_settings(config_path=conf, environ={"HUSHBOX_THRESHOLD": "0.8"},
                       flags={"capture_device": "plughw:CARD=Mic", "mute_tail_seconds": None})
    assert (s.threshold, s.mute_tail_seconds, s.capture_device) == (0.8, 5.0, "plughw:CARD=Mic")


def test_the_commented_example_is_current_and_parses():
    assert EXAMPLE.read_text() == default_config_text()
    assert build_settings(config_path=EXAMPLE) == Settings()


@pytest.mark.parametrize("text, message", [
    ("[hushbox]\nthreshhold = 0.5\n", "unknown key 'threshhold'"),
    ("[hushbox]\nthreshold = 2\n", r"threshold='2' is out of range \(allowed: 0.0001 to 0.9999\)"),
    ("[hushbox]\nlullaby_volume = loud\n", "lullaby_volume='loud' is not a valid float"),
    ("[hushbox]\nwindows_to_confirm = 2.5\n", "windows_to_confirm='2.5' is not a valid int"),
    ("[hushbox]\njson_log = maybe\n", "json_log='maybe' is not a valid bool"),
    ("[hushbox]\nlog_level = loud\n", "log_level='loud' must be one of"),
    ("[hushbox]\nheartbeat_seconds = nan\n", "heartbeat_seconds='nan' is not a valid float"),
    ("[other]\nx = 1\n", r"unknown section \[other\]"),
    ("threshold = 0.5\n", "not valid INI"),
    ("[hushbox]\nreconnect_min_seconds = 10\nreconnect_max_seconds = 5\n",
     "reconnect_max_seconds=5 must not be below"),
])
def test_bad_config_values_are_one_line_naming_key_value_and_range(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message) as info:
        build_settings(config_path=write(tmp_path, text))
    assert "\n" not in str(info.value)


def test_bad_environment_value_names_the_variable():
    with pytest.raises(ConfigError, match="HUSHBOX_PERIOD_SECONDS"):
        build_settings(environ={"HUSHBOX_PERIOD_SECONDS": "9"})


def test_empty_optional_value_means_unset(tmp_path):
    s = build_settings(config_path=write(tmp_path, "[hushbox]\nthreshold =\n"))
    assert s.threshold is None


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        build_settings(config_path=tmp_path / "nope.conf")
