"""The watcher (the pure core's whole judgement) driven by synthetic observations with explicit timestamps: no
camera, no model, no sleeping. Pause, snooze, break, quiet hours, screen lock, break reminders, a covered lens."""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from posture_watch.core import thresholds as th
from posture_watch.core.events import (
    AlertRaised,
    BreakReminderDue,
    CameraChanged,
    Event,
    GetStatus,
    Pause,
    Paused,
    RemindLater,
    Resume,
    Resumed,
    Sampled,
    ScreenLock,
    Snooze,
    StateChanged,
    TakeBreak,
    TogglePause,
    WorkingHours,
)
from posture_watch.core.landmarks import Observation
from posture_watch.core.policy import PolicySettings
from posture_watch.core.watcher import SamplingPlan, Watcher, WatchSettings
from tests.synthetic import figure, geometric_angle_model, upright_baseline

BRIGHT = (120.0, 50.0)
MODEL = geometric_angle_model()
DARK = (4.0, 2.0)
SETTINGS = WatchSettings(PolicySettings(alert_after=10, cooldown=60), break_after=None)


def upright(t: float) -> Observation:
    return Observation(t, 0, (figure(),), BRIGHT)


def hunched(t: float) -> Observation:
    return Observation(t, 0, (figure(flex_deg=30),), BRIGHT)


def nobody(t: float) -> Observation:
    return Observation(t, 0, (), BRIGHT)


def covered(t: float) -> Observation:
    return Observation(t, 0, (), DARK)


def feed(watcher: Watcher, make: type | object, start: float, end: float, step: float = 0.5) -> list[Event]:
    events: list[Event] = []
    t = start
    while t < end - 1e-9:
        events += watcher.observe(make(t))  # type: ignore[operator]
        t = round(t + step, 6)
    return events


def of(kind: type, events: Iterable[Event]) -> list:
    return [e for e in events if isinstance(e, kind)]


@pytest.fixture
def watcher() -> Watcher:
    return Watcher(upright_baseline(), MODEL, SETTINGS)


def test_a_lasting_hunch_alerts_once_with_advice(watcher: Watcher) -> None:
    events = feed(watcher, upright, 0, 5) + feed(watcher, hunched, 5, 30)
    alerts = of(AlertRaised, events)
    assert [round(a.t, 1) for a in alerts] == [15.5]  # slouching from 5.5 s, alert-after 10 s
    assert alerts[0].title == "Head pushed forward" and alerts[0].urgency == "normal"
    assert [(e.previous, e.state) for e in of(StateChanged, events)] == [("uncertain", "upright"),
                                                                          ("upright", "slouching")]
    assert len(of(Sampled, events)) == 60


def test_pause_holds_everything_until_resumed(watcher: Watcher) -> None:
    feed(watcher, hunched, 0, 8)
    message, events = watcher.command(Pause(), 8)
    assert message == "paused until resumed" and events == [Paused(8, "paused", None)]
    assert not watcher.watching and watcher.next_deadline() is None
    assert feed(watcher, hunched, 8, 100) == []  # samples that still arrive are ignored
    message, events = watcher.command(Resume(), 100)
    assert message == "resumed" and events == [Resumed(100, "paused")]
    # The slouch before the pause is forgotten: the alert needs a fresh 10 s of slouching.
    alerts = of(AlertRaised, feed(watcher, hunched, 100, 120))
    assert [round(a.t, 1) for a in alerts] == [110.5]


def test_a_timed_pause_ends_by_itself(watcher: Watcher) -> None:
    watcher.command(Pause(90), 10)
    assert watcher.next_deadline() == 100
    assert watcher.tick(99.9) == [] and not watcher.watching
    assert watcher.tick(100) == [Resumed(100, "paused")] and watcher.watching


def test_snooze_and_break(watcher: Watcher) -> None:
    assert watcher.command(Snooze(1800), 0) == ("snoozed for 30 min", [Paused(0, "snoozed", 1800)])
    assert watcher.command(Resume(), 5)[0] == "resumed"
    message, events = watcher.command(TakeBreak(), 10)
    assert message == "enjoy the break: alerts resume in 10 min"
    assert events == [Paused(10, "break", 10 + th.BREAK_S)]
    assert watcher.tick(10 + th.BREAK_S) == [Resumed(10 + th.BREAK_S, "break")]


def test_sigusr1_toggles_the_pause(watcher: Watcher) -> None:
    assert watcher.command(TogglePause(), 1)[0] == "paused until resumed"
    assert watcher.command(TogglePause(), 2)[0] == "resumed"
    assert watcher.watching


def test_resume_does_not_override_the_screen_lock_or_quiet_hours(watcher: Watcher) -> None:
    watcher.command(Snooze(600), 0)
    watcher.command(ScreenLock(True), 1)
    message, events = watcher.command(Resume(), 2)
    assert message == "resumed, but the camera stays off: screen locked"
    assert events == [Resumed(2, "snoozed")] and not watcher.watching
    assert watcher.command(Resume(), 3) == ("not paused", [])
    assert watcher.command(ScreenLock(False), 4) == ("screen unlocked", [Resumed(4, "screen_locked")])
    assert watcher.watching


def test_quiet_hours_hold_and_release(watcher: Watcher) -> None:
    assert watcher.command(WorkingHours(False), 0) == ("outside working hours", [Paused(0, "quiet_hours", None)])
    assert feed(watcher, hunched, 0, 30) == []
    assert watcher.command(WorkingHours(True), 30) == ("working hours", [Resumed(30, "quiet_hours")])


@pytest.mark.parametrize("seconds", [0, -5, float("nan"), float("inf"), 8 * 24 * 3600])
def test_impossible_durations_are_refused(watcher: Watcher, seconds: float) -> None:
    with pytest.raises(ValueError, match="a duration must be"):
        watcher.command(Snooze(seconds), 0)
    assert watcher.watching


def test_session_commands_are_not_the_watchers(watcher: Watcher) -> None:
    with pytest.raises(TypeError):
        watcher.command(GetStatus(), 0)


def test_break_reminder_after_continuous_presence() -> None:
    watcher = Watcher(upright_baseline(), MODEL, WatchSettings(break_after=600))
    events = feed(watcher, upright, 0, 1600, step=10)
    reminders = of(BreakReminderDue, events)
    # Due at 600 s, then again 15 min later if the user stays.
    assert [r.t for r in reminders] == [600, 600 + th.BREAK_REMINDER_REPEAT_S]
    assert reminders[0].title == "10 min at the desk: stand up and move" and reminders[0].body


def test_a_short_absence_does_not_reset_the_break_clock_but_five_minutes_do() -> None:
    watcher = Watcher(upright_baseline(), MODEL, WatchSettings(break_after=600))
    feed(watcher, upright, 0, 400, step=10)
    feed(watcher, nobody, 400, 520, step=10)  # two minutes away: not a break
    assert [r.t for r in of(BreakReminderDue, feed(watcher, upright, 520, 700, step=10))] == [600]
    feed(watcher, nobody, 700, 700 + th.BREAK_RESET_AWAY_S + 10, step=10)  # a real break
    start = 700 + th.BREAK_RESET_AWAY_S + 10
    reminders = of(BreakReminderDue, feed(watcher, upright, start, start + 700, step=10))
    assert [r.t for r in reminders] == [start + 600]


def test_taking_a_break_or_later_moves_the_reminder() -> None:
    watcher = Watcher(upright_baseline(), MODEL, WatchSettings(break_after=600))
    feed(watcher, upright, 0, 610, step=10)
    assert watcher.command(RemindLater(120), 610)[0] == "break reminder in 2 min"
    assert [r.t for r in of(BreakReminderDue, feed(watcher, upright, 610, 800, step=10))] == [730]
    watcher.command(TakeBreak(60), 800)
    watcher.tick(860)
    assert of(BreakReminderDue, feed(watcher, upright, 860, 1400, step=10)) == []
    assert watcher.status().break_due == 1460


def test_a_covered_lens_is_said_once_and_sampled_sparsely(watcher: Watcher) -> None:
    feed(watcher, upright, 0, 5)
    events = feed(watcher, covered, 5, 60)
    changes = of(CameraChanged, events)
    assert [(c.t, c.status) for c in changes] == [(5 + th.COVERED_REPORT_AFTER_S, "covered")]
    assert watcher.status().state == "uncertain"  # not "away": someone may well be there
    assert watcher.interval == SamplingPlan().away
    assert [c.status for c in of(CameraChanged, feed(watcher, upright, 60, 62))] == ["uncovered"]


def test_sampling_speeds_up_only_to_confirm_a_change(watcher: Watcher) -> None:
    plan = SamplingPlan()
    assert watcher.interval == plan.confirming  # nothing known yet
    feed(watcher, upright, 0, 3)
    assert watcher.interval == plan.steady
    watcher.observe(hunched(3))
    assert watcher.interval == plan.confirming
    feed(watcher, nobody, 4, 10)
    assert watcher.interval == plan.away


def test_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="sensitivity"):
        WatchSettings(sensitivity=0)
    with pytest.raises(ValueError, match="cooldown"):
        PolicySettings(cooldown=float("nan"))
    with pytest.raises(ValueError, match="sampling interval"):
        SamplingPlan(steady=-1)
