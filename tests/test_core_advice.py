"""What the user reads: the advice that fits the fault (rotating, escalating to a break), durations said the way a
person says them, and the one-time note that the calibration no longer fits where the user sits."""

from __future__ import annotations

from dataclasses import replace

import pytest

from posture_watch.core.advice import BREAKS, FIXES, TITLES, AdviceBook, spoken_duration
from posture_watch.core.drift import SetupDrift
from posture_watch.core.policy import Alert
from tests.synthetic import metrics, upright_baseline


def first(fault: str, t: float = 0.0) -> Alert:
    return Alert(t, (fault,), 1, 60.0)


def test_each_fault_has_its_own_rotation_starting_with_its_first_fix() -> None:
    book = AdviceBook()
    assert book.advise(first("head_drop")) == (TITLES["head_drop"], FIXES["head_drop"][0])
    assert book.advise(first("too_close")) == (TITLES["too_close"], FIXES["too_close"][0])
    assert book.advise(first("head_drop")) == (TITLES["head_drop"], FIXES["head_drop"][1])
    assert book.advise(first("head_drop")) == (TITLES["head_drop"], FIXES["head_drop"][2])
    assert book.advise(first("head_drop")) == (TITLES["head_drop"], FIXES["head_drop"][0])  # round again


def test_the_worst_fault_names_the_alert_and_none_means_a_hunch() -> None:
    book = AdviceBook()
    assert book.advise(Alert(0, ("side_lean", "head_drop"), 1, 60))[0] == "Leaning to one side"
    assert book.advise(Alert(0, (), 1, 60)) == (TITLES["head_drop"], FIXES["head_drop"][0])


def test_a_later_alert_in_the_same_slouch_suggests_a_break() -> None:
    book = AdviceBook()
    title, body = book.advise(Alert(700, ("side_lean",), 2, 700))
    assert title == "Leaning to one side for 12 min: time for a break" and body == BREAKS[0]


def test_break_texts_rotate_across_reminders_and_escalated_alerts() -> None:
    book = AdviceBook()
    assert book.reminder(3000) == ("50 min at the desk: stand up and move", BREAKS[0])
    assert book.advise(Alert(900, ("head_drop",), 2, 900))[1] == BREAKS[1]
    assert book.reminder(5400) == ("1.5 h at the desk: stand up and move", BREAKS[2])


@pytest.mark.parametrize(("seconds", "said"), [
    (0, "0 s"), (45, "45 s"), (89, "89 s"), (90, "2 min"), (600, "10 min"), (89 * 60, "89 min"),
    (90 * 60, "1.5 h"), (120 * 60, "2 h"), (150 * 60, "2.5 h"), (10 * 3600, "10 h"),
])
def test_durations_as_a_person_says_them(seconds: float, said: str) -> None:
    assert spoken_duration(seconds) == said


HINT = "; if the camera or your chair moved, run `posture-watch calibrate` again"


@pytest.mark.parametrize(("where", "reason"), [
    ({"shift_x": 150}, "more to one side"),
    ({"width": 270}, "closer to the camera"),
    ({"width": 130}, "further from the camera"),
])
def test_a_moved_setup_says_how_and_what_to_do(where: dict[str, float], reason: str) -> None:
    base, drift = upright_baseline(jitter=0), SetupDrift()
    moved = metrics(**where)
    said = [msg for t in range(1000, 1300, 10) if (msg := drift.update(moved, base, t))]
    assert said == [f"you have been sitting {reason} than at calibration for 2 min{HINT}"]


def test_sitting_higher_or_lower_is_a_moved_setup_too() -> None:
    base, drift = upright_baseline(jitter=0), SetupDrift(after=60)
    upright = metrics()
    lower = replace(upright, shoulder_y=upright.shoulder_y + 130)
    assert drift.update(lower, base, 0) is None
    assert drift.update(lower, base, 60) == f"you have been sitting higher or lower in the picture than at " \
        f"calibration for 1 min{HINT}"


def test_a_setup_that_is_moved_from_the_start_is_said_too_and_again_after_a_return() -> None:
    base, drift = upright_baseline(jitter=0), SetupDrift(after=120)
    aside = metrics(shift_x=150)
    assert drift.update(aside, base, 0) is None
    assert drift.update(aside, base, 119) is None
    assert drift.update(aside, base, 120) is not None
    assert drift.update(metrics(), base, 130) is None  # back where calibrated
    assert drift.update(aside, base, 140) is None
    assert drift.update(aside, base, 260) is not None  # moved again for two minutes: said again


@pytest.mark.parametrize("where", [
    {"shift_x": 110, "width": 250},
    {"width": 260}, {"width": 140},  # exactly 30 % nearer or further
    {"shift_x": 120}, {"shift_x": -120},  # exactly 0.6 shoulder widths aside
])
def test_a_small_change_is_not_a_moved_setup(where: dict[str, float]) -> None:
    base, drift = upright_baseline(jitter=0), SetupDrift(after=10)
    assert [drift.update(metrics(**where), base, t) for t in range(0, 100, 10)] == [None] * 10
    upright = metrics()
    lower = replace(upright, shoulder_y=upright.shoulder_y + 120)
    assert [drift.update(lower, base, t) for t in range(100, 200, 10)] == [None] * 10


def test_the_time_in_a_moved_setup_is_rounded_to_whole_minutes() -> None:
    base, drift = upright_baseline(jitter=0), SetupDrift(after=90)
    assert drift.update(metrics(shift_x=150), base, 0) is None
    said = drift.update(metrics(shift_x=150), base, 90)
    assert said is not None and "for 2 min;" in said
