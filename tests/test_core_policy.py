"""The alert policy's rules at their edges: when a slouch starts and ends, what one sample in between does, how
long a gap may last, and what each decision carries. A fake clock; the times are exact."""

from __future__ import annotations

import pytest

from posture_watch.core.policy import AlertPolicy, Decision, PolicySettings
from posture_watch.core.posture import Assessment
from tests.synthetic import bad, good, run_policy

ABSENT = Assessment("absent", "nobody in view")
UNMEASURABLE = Assessment("uncertain", "face turned away")
STRETCH = Assessment("moving", "arms raised (stretching)")


def policy(**settings: float) -> AlertPolicy:
    return AlertPolicy(PolicySettings(**{"alert_after": 5.0, "cooldown": 100.0, **settings}))


def test_a_fault_exactly_at_its_threshold_counts() -> None:
    just = policy()
    alerts = run_policy(just, [(0, 7, bad(1.0))])
    assert just.state == "slouching" and [(a.t, a.slouch_seconds) for a in alerts] == [(5.5, 5.0)]
    below = policy()
    assert run_policy(below, [(0, 20, bad(0.99))]) == [] and below.state == "upright"


def test_a_slouch_holds_at_the_leave_level_and_ends_below_it() -> None:
    p = policy()
    run_policy(p, [(0, 1, bad()), (1, 4, bad(0.6))])
    assert p.state == "slouching"
    run_policy(p, [(4, 4.5, bad(0.59))])
    assert p.state == "slouching"  # not yet: the good spell must last 0.5 s
    assert p.update(bad(0.59), 4.5).state == "upright"


def test_a_half_bad_sample_interrupts_the_count_to_a_slouch() -> None:
    p = policy()
    assert p.update(bad(), 0.0).state == "upright"
    p.update(bad(0.8), 0.3)  # between the leave and enter levels: not a slouch, and the count starts again
    p.update(bad(), 0.6)
    assert p.update(bad(), 1.0).state == "upright"  # 0.4 s since 0.6
    assert p.update(bad(), 1.1).state == "slouching"


def test_one_good_sample_does_not_end_a_slouch() -> None:
    p = policy()
    run_policy(p, [(0, 3, bad())])
    assert p.update(good(), 3.0).state == "slouching"
    alerts = run_policy(p, [(3.1, 7, bad())])
    assert p.state == "slouching" and [a.t for a in alerts] == [5.5]  # the same slouch, counted from 0.5 s


def test_a_half_bad_sample_breaks_a_good_spell_inside_a_slouch() -> None:
    p = policy()
    run_policy(p, [(0, 3, bad())])
    p.update(good(), 3.0)
    p.update(bad(0.8), 3.25)  # worse again: the good spell that would end the slouch starts over
    assert p.update(good(), 3.5).state == "slouching"
    assert p.update(good(), 4.0).state == "upright"


def test_a_slouch_ends_when_the_good_spell_has_lasted_exactly_leave_after() -> None:
    p = policy()
    run_policy(p, [(0, 3, bad())], step=0.5)
    assert p.update(good(), 3.0).state == "slouching"
    assert p.update(good(), 3.5).state == "upright"


def test_what_a_slouching_decision_carries() -> None:
    p = policy()
    run_policy(p, [(0, 5.4, bad())])
    two = Assessment("measured", scores={"head_drop": 1.9, "side_lean": 1.2, "too_close": 0.3})
    assert p.update(two, 5.4) == Decision("slouching", ("head_drop", "side_lean"), None, confirming=False)
    # Getting better (below the threshold, not yet good): the worst fault is still named, and no alert comes,
    # although the slouch has lasted long enough: the user may be straightening up right now (and the reading,
    # which moved by 1.1, is still settling: sample faster).
    half = Assessment("measured", scores={"head_drop": 0.8, "side_lean": 0.7})
    assert p.update(half, 5.5) == Decision("slouching", ("head_drop",), None, confirming=True)
    assert p.update(good(), 5.6).confirming is True  # a change may be coming: sample faster
    alert = p.update(bad(), 5.7).alert
    assert alert is not None and (alert.t, alert.faults, alert.nth) == (5.7, ("head_drop",), 1)
    assert alert.slouch_seconds == pytest.approx(5.2)


def test_a_reading_that_moved_a_lot_near_the_thresholds_is_sampled_again_soon() -> None:
    """At one sample every 1.5 s, the head's growth took three or four samples to follow a forward head: a severity
    that moved by SETTLING_CHANGE or more since the last sample, either of them at the leave level or above, asks
    for the confirming pace, whatever the state."""
    p = policy()
    assert p.update(bad(0.3), 0.0).confirming is False
    assert p.update(bad(0.55), 1.5).confirming is False  # moved 0.25, but both well below the thresholds
    assert p.update(bad(0.8), 3.0).confirming is True  # moved 0.25 into the band between leave and enter
    assert p.update(bad(0.9), 4.5).confirming is False  # moved 0.1: settled
    run_policy(p, [(6, 7, bad(2.0))])
    assert p.state == "slouching" and p.update(bad(2.1), 7.0).confirming is False
    assert p.update(bad(1.4), 8.5).confirming is True  # still a slouch, but the reading is on the move
    assert p.update(STRETCH, 10.0).confirming is False
    assert p.update(bad(0.9), 11.5).confirming is False  # nothing to compare with after a movement or a gap
    edge = policy()
    edge.update(bad(0.35), 0.0)
    assert edge.update(bad(0.6), 1.5).confirming is True  # exactly at the leave level counts
    gap = policy()
    run_policy(gap, [(0, 1, bad(0.9))])
    gap.update(ABSENT, 1.5)
    assert gap.update(bad(0.6), 3.0).confirming is False


def test_upright_decisions_carry_no_faults() -> None:
    p = policy()
    assert p.update(good(), 0.0) == Decision("upright", (), None, confirming=False)
    assert p.update(bad(), 0.1) == Decision("upright", (), None, confirming=True)


def test_nobody_in_view_and_unmeasurable_have_their_own_limits() -> None:
    p = policy(away_after=1.0, uncertain_after=3.0)
    run_policy(p, [(0, 1, good())])
    assert p.update(UNMEASURABLE, 1.0) == Decision("upright", (), None, confirming=True)
    assert p.update(UNMEASURABLE, 3.9).state == "upright"  # 2.9 s of a turned face: still the same posture
    assert p.update(UNMEASURABLE, 4.0) == Decision("uncertain", (), None, confirming=False)
    q = policy(away_after=1.0, uncertain_after=3.0)
    run_policy(q, [(0, 1, good())])
    assert q.update(ABSENT, 1.0).state == "upright"
    assert q.update(ABSENT, 2.0) == Decision("away", (), None, confirming=False)


def test_a_moment_unmeasurable_before_a_hunch_does_not_hide_it() -> None:
    p = policy()
    run_policy(p, [(0, 2, good()), (2, 2.5, UNMEASURABLE)])  # a hand over the face for half a second
    assert p.update(bad(), 2.5).state == "upright"
    assert p.update(bad(), 3.0).state == "slouching"


def test_a_short_gap_inside_a_slouch_keeps_it() -> None:
    p = policy()
    run_policy(p, [(0, 3, bad()), (3, 3.9, UNMEASURABLE)])
    assert p.state == "slouching"
    alerts = run_policy(p, [(3.9, 7, bad())])
    assert [a.t for a in alerts] == [5.5]


def test_ordinary_movement_ends_a_slouch_at_once() -> None:
    p = policy()
    run_policy(p, [(0, 3, bad())])
    assert p.state == "slouching"
    assert p.update(STRETCH, 3.0) == Decision("uncertain", (), None, confirming=False)
    # Back from the stretch still hunched: a new slouch, which must last alert_after again before an alert.
    alerts = run_policy(p, [(3.1, 12, bad())])
    assert [a.t for a in alerts] == [8.6]


def test_movement_is_not_a_gap_in_view() -> None:
    """A stretch between two moments out of view does not add them up: away needs away_after of absence in a row."""
    p = policy(away_after=1.0)
    run_policy(p, [(0, 1, good()), (1, 1.8, ABSENT)])
    p.update(STRETCH, 1.8)
    assert p.update(ABSENT, 2.0).state == "uncertain"
    assert p.update(ABSENT, 2.9).state == "uncertain"
    assert p.update(ABSENT, 3.0).state == "away"


@pytest.mark.parametrize("settings", [{"alert_after": 0.0}, {"cooldown": 0.0}, {"leave_level": 1.0},
                                      {"enter_after": 0.0, "leave_after": 0.0}])
def test_edge_settings_are_allowed(settings: dict[str, float]) -> None:
    PolicySettings(**settings)


@pytest.mark.parametrize(("settings", "message"), [
    ({"alert_after": -1.0}, "alert_after must be a finite number of seconds >= 0, not -1.0"),
    ({"cooldown": float("inf")}, "cooldown must be a finite number of seconds >= 0, not inf"),
    ({"away_after": float("nan")}, "away_after must be a finite number of seconds >= 0, not nan"),
    ({"uncertain_after": -0.5}, "uncertain_after must be a finite number of seconds >= 0, not -0.5"),
    ({"leave_level": 0.0}, "leave_level must be in (0, 1], not 0.0"),
    ({"leave_level": 1.5}, "leave_level must be in (0, 1], not 1.5"),
])
def test_impossible_settings_are_refused(settings: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError) as err:
        PolicySettings(**settings)
    assert str(err.value) == message
