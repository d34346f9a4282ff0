"""Event log: one line per event on standard output (the serial console on the Pi).

Text: ``2026-11-26T21:03:04Z hushbox INFO cry_confirmed t=12.50 action=play``.
JSON (``json_log``): ``{"time": ..., "level": "info", "event": "cry_confirmed", "t": 12.5}``.
The event word is always the fourth field of a text line.
"""

from __future__ import annotations

import datetime
import json
import sys
import threading
from typing import TextIO

LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}


class EventLog:
    def __init__(self, *, level: str = "info", json_lines: bool = False,
                 stream: TextIO | None = None) -> None:
        self.threshold = LEVELS[level]
        self.json_lines = json_lines
        self.stream = stream or sys.stdout
        self._lock = threading.Lock()  # the player thread logs too

    def enabled(self, level: str) -> bool:
        return LEVELS[level] >= self.threshold

    def event(self, level: str, name: str, /, **fields: object) -> None:
        if not self.enabled(level):
            return
        now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if self.json_lines:
            line = json.dumps({"time": now, "level": level, "event": name, **fields},
                              default=str)
        else:
            parts = [f"{key}={_text(value)}" for key, value in fields.items()]
            line = " ".join([now, "hushbox", level.upper(), name, *parts])
        with self._lock:
            self.stream.write(line + "\n")
            self.stream.flush()

    def debug(self, name: str, /, **fields: object) -> None:
        self.event("debug", name, **fields)

    def info(self, name: str, /, **fields: object) -> None:
        self.event("info", name, **fields)

    def warning(self, name: str, /, **fields: object) -> None:
        self.event("warning", name, **fields)

    def error(self, name: str, /, **fields: object) -> None:
        self.event("error", name, **fields)


def _text(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.2f}"
    text = str(value)
    return json.dumps(text) if (not text or any(c.isspace() for c in text)) else text
