"""Settings: one frozen object built from defaults <- config file <- environment <- flags.

The config file is INI with one ``[hushbox]`` section (on the Pi: ``hushbox.conf``
on the SD card's boot partition, editable on any computer). Environment variables
are ``HUSHBOX_<KEY>`` in upper case. Every key is validated; an unknown key or a
value out of range is a :class:`ConfigError` naming key, value and allowed range.
"""

from __future__ import annotations

import configparser
import dataclasses
import math
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from appliance.errors import ConfigError
from appliance.log import LEVELS
from appliance.vote import WINDOWS_TO_CONFIRM

CONFIG_SECTION = "hushbox"
ENV_PREFIX = "HUSHBOX_"
AUTO_DEVICE = "auto"
LOG_LEVELS = tuple(LEVELS)


@dataclass(frozen=True)
class Settings:
    """Everything ``hushbox listen`` can be told. Units are in the names."""

    capture_device: str = AUTO_DEVICE
    playback_device: str = AUTO_DEVICE
    model_path: str = ""
    threshold: float | None = None
    windows_to_confirm: int = WINDOWS_TO_CONFIRM
    period_seconds: float = 0.064
    lullaby_path: str = ""
    lullaby_volume: float = 0.5
    lullaby_fade_seconds: float = 2.0
    mute_tail_seconds: float = 2.0
    max_lullabies_per_episode: int = 3
    episode_quiet_seconds: float = 120.0
    cooldown_seconds: float = 300.0
    heartbeat_seconds: float = 600.0
    reconnect_min_seconds: float = 1.0
    reconnect_max_seconds: float = 30.0
    overrun_log_interval_seconds: float = 60.0
    watchdog_device: str = ""
    stop_after_seconds: float | None = None
    log_level: str = "info"
    json_log: bool = False


# Allowed ranges, inclusive: (low, high). Strings are free unless listed here.
_RANGES: dict[str, tuple[float, float]] = {
    "threshold": (0.0001, 0.9999),
    "windows_to_confirm": (1, 20),
    "period_seconds": (0.016, 0.25),
    "lullaby_volume": (0.0, 1.0),
    "lullaby_fade_seconds": (0.0, 30.0),
    "mute_tail_seconds": (0.0, 60.0),
    "max_lullabies_per_episode": (1, 100),
    "episode_quiet_seconds": (1.0, 86_400.0),
    "cooldown_seconds": (0.0, 86_400.0),
    "heartbeat_seconds": (1.0, 86_400.0),
    "reconnect_min_seconds": (0.01, 600.0),
    "reconnect_max_seconds": (0.01, 3600.0),
    "overrun_log_interval_seconds": (0.0, 86_400.0),
    "stop_after_seconds": (0.0, 1e9),
}
_CHOICES: dict[str, tuple[str, ...]] = {"log_level": LOG_LEVELS}
_OPTIONAL = {"threshold", "stop_after_seconds"}  # empty value = not set
_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}


_TYPES = {name: next(t for t in (typing.get_args(hint) or (hint,)) if t is not type(None))
          for name, hint in typing.get_type_hints(Settings).items()}


def parse_value(name: str, raw: object, *, origin: str) -> object:
    """Turn one raw value (text from a file or environment, or a typed flag) into a setting."""
    if name not in _FIELDS:
        allowed = ", ".join(sorted(_FIELDS))
        raise ConfigError(f"{origin}: unknown key {name!r} (known keys: {allowed})")
    kind = _TYPES[name]
    text = raw.strip() if isinstance(raw, str) else raw
    if name in _OPTIONAL and text in ("", None):
        return None
    try:
        if kind is bool:
            value = _parse_bool(text)
        elif kind is int:
            if isinstance(text, float):
                raise ValueError(text)
            value = int(text)
        elif kind is float:
            value = float(text)
            if not math.isfinite(value):
                raise ValueError
        else:
            value = str(text)
    except (TypeError, ValueError):
        raise ConfigError(f"{origin}: {name}={raw!r} is not a valid {kind.__name__}"
                          + _range_text(name)) from None
    if name in _RANGES:
        low, high = _RANGES[name]
        if not low <= value <= high:
            raise ConfigError(f"{origin}: {name}={raw!r} is out of range{_range_text(name)}")
    if name in _CHOICES and value not in _CHOICES[name]:
        raise ConfigError(f"{origin}: {name}={raw!r} must be one of {', '.join(_CHOICES[name])}")
    return value


def _range_text(name: str) -> str:
    if name in _RANGES:
        low, high = _RANGES[name]
        return f" (allowed: {low:g} to {high:g})"
    return ""


def _parse_bool(text: object) -> bool:
    if isinstance(text, bool):
        return text
    lowered = str(text).lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(text)


def read_config_file(path: Path) -> dict[str, str]:
    """The ``[hushbox]`` section of an INI file as raw strings."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with open(path, encoding="utf-8") as handle:
            parser.read_file(handle)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except (OSError, UnicodeDecodeError, configparser.Error) as exc:
        first_line = str(exc).splitlines()[0]
        raise ConfigError(f"config file {path} is not valid INI: {first_line}") from None
    extra = [s for s in parser.sections() if s != CONFIG_SECTION]
    if extra:
        raise ConfigError(f"config file {path}: unknown section [{extra[0]}] "
                          f"(only [{CONFIG_SECTION}] is read)")
    return dict(parser[CONFIG_SECTION]) if parser.has_section(CONFIG_SECTION) else {}


def environment_overrides(environ: Mapping[str, str]) -> dict[str, str]:
    """``HUSHBOX_<KEY>`` variables as raw strings keyed by setting name."""
    return {key[len(ENV_PREFIX):].lower(): value for key, value in environ.items()
            if key.startswith(ENV_PREFIX)}


def build_settings(*, config_path: Path | None = None, environ: Mapping[str, str] | None = None,
                   flags: Mapping[str, object] | None = None) -> Settings:
    """Defaults <- config file <- environment <- flags (later wins); all validated."""
    values: dict[str, object] = {}
    layers: list[tuple[str, Mapping[str, object]]] = []
    if config_path is not None:
        layers.append((f"config file {config_path}", read_config_file(config_path)))
    layers.append(("environment", environment_overrides(environ or {})))
    layers.append(("command line", {k: v for k, v in (flags or {}).items() if v is not None}))
    for origin, layer in layers:
        for name, raw in layer.items():
            key_origin = f"{origin} ({ENV_PREFIX}{name.upper()})" if origin == "environment" \
                else origin
            values[name] = parse_value(name, raw, origin=key_origin)
    settings = Settings(**values)
    if settings.reconnect_max_seconds < settings.reconnect_min_seconds:
        raise ConfigError(f"reconnect_max_seconds={settings.reconnect_max_seconds:g} must not be "
                          f"below reconnect_min_seconds={settings.reconnect_min_seconds:g}")
    return settings


def default_config_text() -> str:
    """A commented ``hushbox.conf`` listing every key at its default."""
    lines = [
        "# Hushbox settings. Edit on any computer; the Pi reads this at start-up.",
        "# Remove the '#' in front of a line to change a value. Unknown keys are errors.",
        f"[{CONFIG_SECTION}]",
    ]
    for name, field in _FIELDS.items():
        default = field.default
        shown = "" if default is None else str(default).lower() if isinstance(default, bool) \
            else str(default)
        lines.append(f"#{name} = {shown}{_range_text(name).replace(' (', '  ; (')}")
    return "\n".join(lines) + "\n"
