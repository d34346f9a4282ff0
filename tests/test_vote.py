"""The three-window vote and the lullaby policy."""

import pytest

from appliance.errors import ParameterError
from appliance.policy import COOLDOWN, LIMIT, PLAY, LullabyPolicy, PolicySettings
from appliance.vote import Vote


def run(vote, probabilities, hop=0.5):
    return [i for i, p in enumerate(probabilities)
            if vote.update(p, window_start_seconds=i * hop)]


def test_three_consecutive_windows_confirm():
    assert run(Vote(threshold=0.8), [0.9, 0.9, 0.9]) == [2]


def test_a_gap_in_the_run_starts_again():
    assert run(Vote(threshold=0.8), [0.9, 0.9, 0.5, 0.9, 0.9, 0.95]) == [5]


def test_at_threshold_counts():
    assert run(Vote(threshold=0.8), [0.8, 0.8, 0.8]) == [2]


def test_after_a_confirmation_three_more_are_needed():
    assert run(Vote(threshold=0.5), [0.9] * 6) == [2, 5]


def test_hold_suppresses_windows_that_start_before_it():
    vote = Vote(threshold=0.5)
    vote.hold_until(2.0)
    # windows start at 0, 0.5, ..., 3.0: the first three starting at >= 2.0 confirm
    assert run(vote, [0.9] * 7) == [6]


def test_interrupt_breaks_the_run():
    vote = Vote(threshold=0.5)
    run(vote, [0.9, 0.9])
    vote.interrupt()
    assert not vote.update(0.9, window_start_seconds=1.0)


@pytest.mark.parametrize("kwargs", [dict(threshold=0.0), dict(threshold=1.0),
                                    dict(threshold=0.5, windows_required=0)])
def test_bad_vote_settings(kwargs):
    with pytest.raises(ParameterError):
        Vote(**kwargs)


def test_policy_limits_lullabies_per_episode_then_cools_down():
    policy = LullabyPolicy(PolicySettings(max_lullabies_per_episode=2,
                                          episode_quiet_seconds=10.0, cooldown_seconds=30.0))
    assert [policy.decide(t_seconds=t) for t in (1.0, 2.0, 3.0)] == [PLAY, PLAY, LIMIT]
    policy.observe(t_seconds=3.0, votes_cry=True)
    assert not policy.observe(t_seconds=12.0, votes_cry=False)
    assert policy.observe(t_seconds=13.0, votes_cry=False)  # 10 s quiet: episode over
    assert policy.decide(t_seconds=20.0) == COOLDOWN
    assert policy.decide(t_seconds=44.0) == PLAY  # cooldown over: a new episode
