"""Working hours (when the camera may be used at all) and the time-per-state tally behind `status` and history."""

from __future__ import annotations

from datetime import datetime, time

import pytest

from posture_watch.core.schedule import WorkSchedule, parse_days, parse_hours
from posture_watch.core.tally import Span, StateClock

MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


def at(day: int, hh: int, mm: int = 0) -> datetime:
    """A moment in the week of Monday 2026-01-05."""
    return datetime(2026, 1, 5 + day, hh, mm)


OFFICE = WorkSchedule(frozenset(range(MON, FRI + 1)), time(9), time(18))
NIGHTS = WorkSchedule(frozenset({FRI}), time(22), time(6))


@pytest.mark.parametrize(("moment", "inside"), [
    (at(MON, 9), True),  # the span starts on the minute
    (at(MON, 8, 59), False),
    (at(WED, 17, 59), True),
    (at(WED, 18), False),  # ... and ends before its end
    (at(SAT, 12), False),  # not a working day
    (at(SUN, 10), False),
])
def test_office_hours(moment: datetime, inside: bool) -> None:
    assert OFFICE.contains(moment) is inside


@pytest.mark.parametrize(("moment", "inside"), [
    (at(FRI, 22), True),
    (at(FRI, 21, 59), False),
    (at(SAT, 3), True),  # past midnight: still Friday's shift
    (at(SAT, 6), False),
    (at(SAT, 23), False),  # Saturday has no shift of its own
    (at(FRI, 3), False),  # the small hours of Friday belong to Thursday's shift, and Thursday is off
])
def test_a_night_shift_runs_past_midnight(moment: datetime, inside: bool) -> None:
    assert NIGHTS.contains(moment) is inside


NO_DAYS = "working days must name at least one day, Monday (0) to Sunday (6)"


@pytest.mark.parametrize(("days", "start", "end", "message"), [
    (frozenset(), time(9), time(17), NO_DAYS),
    (frozenset({7}), time(9), time(17), NO_DAYS),
    (frozenset({-1}), time(9), time(17), NO_DAYS),
    (frozenset({MON}), time(9), time(9), "working hours must not start and end at the same time"),
])
def test_impossible_schedules_are_refused(days: frozenset[int], start: time, end: time, message: str) -> None:
    with pytest.raises(ValueError) as err:
        WorkSchedule(days, start, end)
    assert str(err.value) == message


def test_every_day_of_the_week_can_be_a_working_day() -> None:
    assert WorkSchedule(frozenset(range(7)), time(0), time(23, 59)).contains(at(SUN, 12))


@pytest.mark.parametrize(("text", "span"), [
    ("09:00-18:00", (time(9), time(18))),
    (" 9:30 - 17:45 ", (time(9, 30), time(17, 45))),
    ("22:00-06:00", (time(22), time(6))),
    ("18:00-24:00", (time(18), time(0))),  # to midnight
    ("00:00-23:59", (time(0), time(23, 59))),
])
def test_hours_are_read(text: str, span: tuple[time, time]) -> None:
    assert parse_hours(text) == span


@pytest.mark.parametrize("text", ["9-17", "09:00", "24:00-06:00", "09:60-10:00", "09:00-25:00", "10:00-11:61",
                                  "09:00-18:00 daily", "", "9:5-10:00", "24:30-02:00", "09:00-24:30",
                                  "09:00-10:60"])
def test_hours_that_are_not_a_span_are_refused_with_an_example(text: str) -> None:
    with pytest.raises(ValueError, match=r"is not a span of hours like 09:00-18:00$") as err:
        parse_hours(text)
    assert repr(text) in str(err.value)


@pytest.mark.parametrize(("text", "days"), [
    ("Mon-Fri", {MON, TUE, WED, THU, FRI}),
    ("mon,wed,FRI", {MON, WED, FRI}),
    ("Fri-Mon", {FRI, SAT, SUN, MON}),  # wraps over the weekend
    ("saturday", {SAT}),
    ("Sun", {SUN}),
    ("Mon - Wed, Sat", {MON, TUE, WED, SAT}),
    ("Mon-Sun", set(range(7))),
    ("tue-tue", {TUE}),
    ("thursday-friday", {THU, FRI}),
])
def test_days_are_read(text: str, days: set[int]) -> None:
    assert parse_days(text) == frozenset(days)


@pytest.mark.parametrize("text", ["Mon-Tue-Wed", "Funday", "Mo-Fr", "Mon;Fri", "", "Mon-"])
def test_days_that_are_not_a_list_are_refused_with_an_example(text: str) -> None:
    with pytest.raises(ValueError, match=r"is not a list of days like Mon-Fri or Mon,Wed,Fri$") as err:
        parse_days(text)
    assert repr(text) in str(err.value)


def test_time_between_samples_belongs_to_the_first_ones_state() -> None:
    clock = StateClock()
    assert clock.sample(100.0, "upright") is None  # nothing before the first sample
    assert clock.sample(101.5, "slouching") == Span("upright", 100.0, 101.5)
    span = clock.sample(104.5, "upright")
    assert span == Span("slouching", 101.5, 104.5) and span.seconds == 3.0


def test_a_long_gap_is_nobodys_time() -> None:
    clock = StateClock()
    clock.sample(0.0, "upright")
    assert clock.sample(10.0, "upright") == Span("upright", 0.0, 10.0)  # 10 s is still a gap between samples
    assert clock.sample(20.5, "upright") is None  # the camera was off in between
    assert clock.sample(21.0, "away") == Span("upright", 20.5, 21.0)
    assert clock.sample(20.0, "away") is None  # time went backwards: nothing to count


def test_stopping_the_clock_forgets_the_last_sample() -> None:
    clock = StateClock()
    clock.sample(0.0, "slouching")
    clock.stop()
    assert clock.sample(1.0, "upright") is None
    assert clock.sample(2.0, "upright") == Span("upright", 1.0, 2.0)
