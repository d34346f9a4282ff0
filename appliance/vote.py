"""The three-window vote: a cry is confirmed when consecutive overlapping windows agree."""

from __future__ import annotations

from appliance.errors import ParameterError

WINDOWS_TO_CONFIRM = 3
"""Consecutive windows at or above the threshold that confirm a cry."""


class Vote:
    """Window probabilities in time order -> confirmations.

    A window votes "cry" when its probability is at or above ``threshold``;
    ``windows_required`` consecutive votes confirm. After a confirmation the count
    starts again. :meth:`hold_until` suppresses confirmations for windows that start
    before a time (the lullaby plus its mute tail): those windows are still seen,
    but cannot count toward a confirmation.
    """

    def __init__(self, *, threshold: float, windows_required: int = WINDOWS_TO_CONFIRM) -> None:
        if not 0.0 < threshold < 1.0:
            raise ParameterError(f"threshold {threshold} is outside (0, 1)")
        if windows_required < 1:
            raise ParameterError(f"windows_required {windows_required} must be at least 1")
        self.threshold = threshold
        self.windows_required = windows_required
        self.reset()

    def reset(self) -> None:
        self.streak = 0
        self.held_until_seconds = float("-inf")

    def hold_until(self, t_seconds: float) -> None:
        """No window starting before ``t_seconds`` may count toward a confirmation."""
        self.held_until_seconds = max(self.held_until_seconds, t_seconds)
        self.streak = 0

    def interrupt(self) -> None:
        """The stream had a gap: windows before it and after it are not consecutive."""
        self.streak = 0

    def update(self, probability: float, *, window_start_seconds: float) -> bool:
        """Add one window's probability; True when this window confirms a cry."""
        if window_start_seconds < self.held_until_seconds or probability < self.threshold:
            self.streak = 0
            return False
        self.streak += 1
        if self.streak < self.windows_required:
            return False
        self.streak = 0
        return True
