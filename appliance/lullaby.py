"""The default lullaby: Brahms' "Wiegenlied" (Op. 49 No. 4, 1868, public domain),
rendered by Hushbox itself as a soft music-box tone, so no recording ships.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

LULLABY_SAMPLE_RATE_HZ = 22_050
BEAT_SECONDS = 0.5
A4_HZ = 440.0
_A4_MIDI = 69
# Partial amplitudes of the music-box tone, and how fast each note fades.
_PARTIALS = (1.0, 0.35, 0.12)
_NOTE_DECAY_PER_SECOND = 2.2
_ATTACK_SECONDS = 0.01
_RING_ON_SECONDS = 1.0  # each note rings on into the next
_TAIL_BEATS = 2  # silence-and-ring after the last note
_PEAK = 0.9
_NAMES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}

# (note, beats) in 3/4; the melody of the first verse, played twice.
MELODY = (
    ("E4", 0.5), ("E4", 0.5), ("G4", 2.0), ("E4", 0.5), ("E4", 0.5), ("G4", 2.0),
    ("E4", 0.5), ("G4", 0.5), ("C5", 1.0), ("B4", 1.0), ("A4", 1.0), ("A4", 1.0), ("G4", 2.0),
    ("D4", 0.5), ("E4", 0.5), ("F4", 1.0), ("D4", 1.0), ("D4", 0.5), ("E4", 0.5), ("F4", 2.0),
    ("D4", 0.5), ("F4", 0.5), ("B4", 0.5), ("A4", 0.5), ("G4", 1.0), ("B4", 1.0), ("C5", 2.0),
    ("C4", 0.5), ("C4", 0.5), ("C5", 2.0), ("A4", 0.5), ("F4", 0.5), ("G4", 2.0),
    ("E4", 0.5), ("C4", 0.5), ("F4", 1.0), ("G4", 1.0), ("A4", 1.0), ("G4", 2.0),
    ("C4", 0.5), ("C4", 0.5), ("C5", 2.0), ("A4", 0.5), ("F4", 0.5), ("G4", 2.0),
    ("E4", 0.5), ("C4", 0.5), ("F4", 1.0), ("E4", 1.0), ("D4", 1.0), ("C4", 3.0),
)
REPEATS = 2


def note_hz(name: str) -> float:
    """Equal-tempered frequency of a note like ``"A4"`` (440 Hz) or ``"C5"``."""
    midi = 12 * (int(name[1:]) + 1) + _NAMES[name[0]]
    return A4_HZ * 2.0 ** ((midi - _A4_MIDI) / 12.0)


def render_lullaby(*, sample_rate_hz: int = LULLABY_SAMPLE_RATE_HZ) -> np.ndarray:
    """The default lullaby as mono float32, peak ``_PEAK`` (the player applies the volume)."""
    notes = MELODY * REPEATS
    total_beats = sum(beats for _, beats in notes)
    out = np.zeros(int((total_beats + _TAIL_BEATS) * BEAT_SECONDS * sample_rate_hz),
                   dtype=np.float32)
    position = 0.0
    for name, beats in notes:
        ring_seconds = beats * BEAT_SECONDS + _RING_ON_SECONDS
        t = np.arange(int(ring_seconds * sample_rate_hz), dtype=np.float32) / sample_rate_hz
        envelope = np.minimum(t / _ATTACK_SECONDS, 1.0) * np.exp(-_NOTE_DECAY_PER_SECOND * t)
        tone = sum(a * np.sin(2 * np.pi * note_hz(name) * (k + 1) * t)
                   for k, a in enumerate(_PARTIALS))
        start = int(position * BEAT_SECONDS * sample_rate_hz)
        end = min(start + len(t), len(out))
        out[start:end] += (envelope * tone)[: end - start]
        position += beats
    return (_PEAK * out / np.max(np.abs(out))).astype(np.float32)


def load_lullaby(path: str = "") -> tuple[np.ndarray, int]:
    """(mono float32 samples, sample rate in Hz) of the lullaby at ``path``, or the default."""
    if not path:
        return render_lullaby(), LULLABY_SAMPLE_RATE_HZ
    from appliance.audio_io import read_audio_native

    return read_audio_native(Path(path))


def lullaby_seconds(path: str = "") -> float:
    samples, rate = load_lullaby(path)
    return len(samples) / rate
