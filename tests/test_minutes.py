"""The per-minute tally of the history, driven by events with explicit timestamps (no camera, no model)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from posture_watch.core.events import AlertRaised, BreakReminderDue, Paused, Resumed, Sampled, StateChanged, Stopped
from posture_watch.core.minutes import SETTLE, MinuteTally, MinuteTotals, Moment
from posture_watch.core.policy import Alert, Decision, State
from posture_watch.core.posture import Assessment

START = datetime(2026, 3, 2, 9, 59, 30, tzinfo=timezone(timedelta(hours=1)))


def wall(t: float) -> datetime:
    return START + timedelta(seconds=t)


def sample(t: float, state: State, neck: float | None = None) -> Sampled:
    kind = "measured" if neck is not None else "absent"
    return Sampled(t, int(t * 10), Assessment(kind, neck_angle_deg=neck, shoulder_angle_deg=None if neck is None
                                              else neck / 10), Decision(state, (), None, False))


def test_time_between_samples_goes_to_the_first_ones_state_split_at_minute_boundaries() -> None:
    tally = MinuteTally(wall)
    timeline = ((0, "upright"), (8, "upright"), (16, "upright"), (24, "upright"), (25, "slouching"), (33, "slouching"),
                (40, "slouching"), (45, "away"), (60, "away"))  # the last gap is too long (> 10 s): not counted
    for t, state in timeline:
        tally.add(sample(t, state, None if state == "away" else 5.0))
    rows = tally.flush(None)
    assert [r.start for r in rows] == [START.replace(second=0), START.replace(second=0) + timedelta(minutes=1)]
    first, second = rows
    # upright from 09:59:30 for 25 s, then slouching across the minute's end (30 s after the start)
    assert (first.upright_s, first.slouching_s) == pytest.approx((25.0, 5.0))
    assert (second.upright_s, second.slouching_s, second.away_s) == pytest.approx((0.0, 15.0, 0.0))


def test_medians_counts_and_moments() -> None:
    tally = MinuteTally(wall)
    for t, neck in ((0, 4.0), (1, 30.0), (2, 6.0), (3, None)):
        tally.add(sample(t, "upright", neck))
    alert = Alert(2.5, ("forward_head", "head_drop"), 1, 61.0)
    moments = [tally.add(AlertRaised(2.5, alert, "Head pushed forward", "Bring your head back.")),
               tally.add(StateChanged(2.6, "away", "upright", (), "nobody in view")),
               tally.add(Paused(3.0, "snoozed", 1803.0)),
               tally.add(Resumed(10.0, "snoozed")),
               tally.add(Paused(11.0, "break", 611.0)),
               tally.add(BreakReminderDue(12.0, 3000.0, "50 min at the desk", "Stand up.")),
               tally.add(Stopped(13.0, "SIGTERM"))]
    (row,) = tally.flush(None)
    assert row.neck_deg == 6.0 and row.shoulder_deg == pytest.approx(0.6)  # the unmeasured sample has no angle
    assert (row.alerts, row.snoozes, row.breaks, row.break_reminders) == (1, 1, 1, 1)
    assert moments == [
        Moment(wall(2.5), "alert", "slouching", ("forward_head", "head_drop"), "Head pushed forward",
               "Bring your head back."),
        Moment(wall(2.6), "state", "away", (), detail="nobody in view"),
        Moment(wall(3.0), "pause", "snoozed", until=wall(1803.0)),
        Moment(wall(10.0), "resume", "snoozed"),
        Moment(wall(11.0), "pause", "break", until=wall(611.0)),
        Moment(wall(12.0), "break_reminder", title="50 min at the desk", detail="Stand up."),
        Moment(wall(13.0), "stop", detail="SIGTERM"),
    ]
    assert tally.add(StateChanged(14.0, "slouching", "upright", ("head_drop", "side_lean"), "")) == Moment(
        wall(14.0), "state", "slouching", ("head_drop", "side_lean"))


def test_each_count_adds_up_and_only_its_own_kind() -> None:
    tally = MinuteTally(wall)
    alert = Alert(1.0, ("head_drop",), 1, 61.0)
    for t in (1.0, 2.0):
        tally.add(AlertRaised(t, alert, "Head dropping", "Chin tucks."))
        tally.add(BreakReminderDue(t, 3000.0, "50 min at the desk", "Stand up."))
    for t, reason in ((3.0, "snoozed"), (4.0, "break"), (5.0, "break"), (6.0, "paused"), (7.0, "screen_locked")):
        tally.add(Paused(t, reason, None))
    (row,) = tally.flush(None)
    assert (row.alerts, row.break_reminders, row.snoozes, row.breaks) == (2, 2, 1, 2)


def test_every_state_has_its_seconds_and_a_minute_without_angles_has_none() -> None:
    tally = MinuteTally(wall)
    for t, state in ((0, "uncertain"), (4, "away"), (10, "upright"), (12, "upright")):
        tally.add(sample(t, state))  # nothing measured: no angles
    # A sample with a neck angle but no shoulder angle adds neither.
    tally.add(Sampled(13, 130, Assessment("measured", neck_angle_deg=8.0), Decision("upright", (), None, False)))
    (row,) = tally.flush(None)
    assert row == MinuteTotals(START.replace(second=0), 3.0, 0.0, 6.0, 4.0, None, None, 0, 0, 0, 0)


def test_a_span_is_split_at_the_minute_to_the_microsecond() -> None:
    tally = MinuteTally(wall)
    tally.add(sample(29.5, "upright", 1.0))  # 09:59:59.5
    tally.add(sample(31.0, "upright", 1.0))  # 10:00:01
    first, second = tally.flush(None)
    assert (first.upright_s, second.upright_s) == pytest.approx((0.5, 1.0))


def test_a_pause_cuts_the_span_and_samples_add_no_moment() -> None:
    tally = MinuteTally(wall)
    assert tally.add(sample(0, "upright", 1.0)) is None
    tally.add(sample(2, "upright", 1.0))
    tally.add(Paused(3, "paused", None))
    tally.add(Resumed(8, "paused"))
    tally.add(sample(9, "upright", 1.0))  # the time from 2 s to 9 s belongs to no state
    tally.add(sample(10, "slouching", 20.0))
    (row,) = tally.flush(None)
    assert (row.upright_s, row.slouching_s) == pytest.approx((3.0, 0.0))


def test_flush_reports_changed_minutes_and_forgets_settled_ones() -> None:
    tally = MinuteTally(wall)
    tally.add(sample(0, "upright", 1.0))
    tally.add(sample(10, "upright", 1.0))
    assert len(tally.flush(wall(10))) == 1
    assert tally.flush(wall(11)) == []  # nothing changed since
    tally.touch()
    assert len(tally.flush(wall(12))) == 1  # reported again after a lost write
    minute_start = START.replace(second=0)
    assert tally.flush(minute_start + SETTLE - timedelta(microseconds=1)) == []
    tally.touch()
    assert len(tally.flush(minute_start + SETTLE)) == 1  # still open until then; settled from then on
    tally.touch()
    assert tally.flush(None) == []  # settled minutes are gone from memory
