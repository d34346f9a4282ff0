"""What to do when a cry is confirmed: play, or not (episode limit, cooldown).

Time is audio time: seconds of captured audio since the service started.
"""

from __future__ import annotations

from dataclasses import dataclass

PLAY = "play"
LIMIT = "episode_limit"
COOLDOWN = "cooldown"
ALREADY_PLAYING = "already_playing"


@dataclass(frozen=True)
class PolicySettings:
    max_lullabies_per_episode: int
    episode_quiet_seconds: float
    cooldown_seconds: float


class LullabyPolicy:
    """Episodes of crying: up to ``max_lullabies_per_episode`` lullabies each; an episode
    ends after ``episode_quiet_seconds`` without a cry vote, then a cooldown follows
    during which confirmations are logged but no lullaby plays."""

    def __init__(self, settings: PolicySettings) -> None:
        self.settings = settings
        self.reset()

    def reset(self) -> None:
        self.in_episode = False
        self.played_in_episode = 0
        self.last_cry_vote_seconds = float("-inf")
        self.cooldown_until_seconds = float("-inf")

    def observe(self, *, t_seconds: float, votes_cry: bool) -> bool:
        """Note one window; True when this window ends an episode."""
        if votes_cry:
            self.last_cry_vote_seconds = t_seconds
            return False
        if self.in_episode and \
                t_seconds - self.last_cry_vote_seconds >= self.settings.episode_quiet_seconds:
            self.in_episode = False
            self.cooldown_until_seconds = t_seconds + self.settings.cooldown_seconds
            return True
        return False

    def decide(self, *, t_seconds: float) -> str:
        """A cry was confirmed at ``t_seconds``: PLAY, LIMIT or COOLDOWN."""
        if not self.in_episode:
            if t_seconds < self.cooldown_until_seconds:
                return COOLDOWN
            self.in_episode = True
            self.played_in_episode = 0
        if self.played_in_episode >= self.settings.max_lullabies_per_episode:
            return LIMIT
        self.played_in_episode += 1
        return PLAY
