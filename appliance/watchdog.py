"""The hardware watchdog (``/dev/watchdog``): pet it while capture delivers audio, so a
wedged microphone or process reboots the Pi; the magic close on a clean exit disarms it."""

from __future__ import annotations

import os
import time

PET_INTERVAL_SECONDS = 1.0
MAGIC_CLOSE = b"V"


class Watchdog:
    def __init__(self, path: str) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY)  # opening arms it
        self._last_pet = float("-inf")

    def pet(self) -> None:
        now = time.monotonic()
        if now - self._last_pet >= PET_INTERVAL_SECONDS:
            os.write(self._fd, b"\0")
            self._last_pet = now

    def close(self) -> None:
        """Disarm (magic close) and close."""
        try:
            os.write(self._fd, MAGIC_CLOSE)
        finally:
            os.close(self._fd)
