"""A real ALSA rig without a sound card: PCMs defined in an alsa-lib config.

Capture uses the ``file`` plugin's ``infile`` (raw S16_LE, 16 kHz mono, unpaced);
playback uses the ``file`` plugin writing a WAV. ``hushbox listen`` runs as a real
subprocess with ``ALSA_CONFIG_PATH`` pointing at the config.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from appliance.audio_io import to_int16

SYSTEM_ALSA_CONF = "/usr/share/alsa/alsa.conf"
RATE = 16_000


def write_raw(path: Path, samples: np.ndarray) -> Path:
    to_int16(samples).astype("<i2").tofile(path)
    return path


def pad(samples: np.ndarray, *, before_seconds: float = 0.0, after_seconds: float = 0.0):
    return np.concatenate([np.zeros(int(before_seconds * RATE), np.float32), samples,
                           np.zeros(int(after_seconds * RATE), np.float32)])


@dataclass
class Rig:
    folder: Path
    pcms: dict[str, str] = field(default_factory=dict)

    def capture(self, name: str, infile: Path, *, tee: str = "/dev/null") -> str:
        self.pcms[name] = (f'type file; slave.pcm "null"; file "{tee}"; '
                           f'infile "{infile}"; format "raw"')
        return f"plug:{name}"

    def playback(self, name: str, wav: Path) -> str:
        self.pcms[name] = f'type file; slave.pcm "null"; file "{wav}"; format "wav"'
        return f"plug:{name}"

    @property
    def conf(self) -> Path:
        path = self.folder / "asound.conf"
        path.write_text("".join(f"pcm.{n} {{ {body} }}\n" for n, body in self.pcms.items()))
        return path

    def env(self, **settings: object) -> dict[str, str]:
        env = dict(os.environ)
        env["ALSA_CONFIG_PATH"] = f"{SYSTEM_ALSA_CONF}:{self.conf}"
        env.update({f"HUSHBOX_{k.upper()}": str(v) for k, v in settings.items()})
        return env

    def listen(self, *args: str, timeout: float = 120.0, **settings: object):
        """Run ``hushbox listen`` to completion; returns the CompletedProcess."""
        return subprocess.run([sys.executable, "-m", "appliance", "listen", *args],
                              env=self.env(**settings), capture_output=True, text=True,
                              timeout=timeout)

    def start(self, *args: str, **settings: object) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "appliance", "listen", *args],
                                env=self.env(**settings), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)


def events(log_text: str, name: str) -> list[dict[str, str]]:
    """Fields of every text log line whose event word is ``name``."""
    found = []
    for line in log_text.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[1] == "hushbox" and parts[3] == name:
            found.append(dict(p.split("=", 1) for p in parts[4:] if "=" in p))
    return found


def wav_samples(path: Path) -> np.ndarray:
    import scipy.io.wavfile

    if not path.exists() or path.stat().st_size <= 44:
        return np.zeros(0, np.float32)
    _, data = scipy.io.wavfile.read(path)
    return data.astype(np.float32) / 32768.0
