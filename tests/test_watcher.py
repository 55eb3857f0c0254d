"""The watcher (the pure core's whole judgement) driven by synthetic observations with explicit timestamps: no
camera, no model, no sleeping. Pause, snooze, break, quiet hours, screen lock, break reminders, a covered lens; who
is judged among several people, what each event carries, and what does not reset a slouch."""

from __future__ import annotations

import math
from collections.abc import Iterable

import pytest

from posture_watch.core import thresholds as th
from posture_watch.core.baseline import build_baseline
from posture_watch.core.events import (
    AlertRaised,
    BreakReminderDue,
    CameraChanged,
    Event,
    GetStatus,
    Pause,
    Paused,
    Quit,
    RemindLater,
    Resume,
    Resumed,
    Sampled,
    ScreenLock,
    SetupWarning,
    Snooze,
    StateChanged,
    TakeBreak,
    TogglePause,
    WorkingHours,
)
from posture_watch.core.landmarks import Observation, Pose
from posture_watch.core.policy import PolicySettings
from posture_watch.core.watcher import MAX_HOLD_S, SamplingPlan, Watcher, WatchSettings
from tests.synthetic import figure, geometric_angle_model, metrics, upright_baseline

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


def test_a_break_that_ends_with_nobody_at_the_desk_finds_them_away(watcher: Watcher) -> None:
    feed(watcher, hunched, 0, 5)
    watcher.command(TakeBreak(60), 5)
    watcher.tick(65)
    changes = of(StateChanged, feed(watcher, nobody, 65, 68))
    assert [(c.t, c.state, c.previous) for c in changes] == [(66.0, "away", "uncertain")]


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


# --- finer rules: who is judged among several people, what each event carries, what does not reset a slouch


def seen(*poses: Pose, t: float, index: int = 0) -> Observation:
    return Observation(t, index, poses, BRIGHT)


def test_a_nearer_passer_by_beside_the_user_does_not_hide_the_user(watcher: Watcher) -> None:
    passer = figure(shift_x=260, width=260)  # wider (nearer the camera), away from where the user sat
    events = []
    for k in range(60):
        events += watcher.observe(seen(passer, figure(flex_deg=30), t=k * 0.5))
    assert [round(a.t, 1) for a in of(AlertRaised, events)] == [10.5]


def test_someone_who_cannot_be_measured_is_uncertain_not_away(watcher: Watcher) -> None:
    feed(watcher, upright, 0, 2)
    edge_on = figure(width=3)  # a body seen edge-on: found, but shoulders collapse onto each other
    events = [e for k in range(6) for e in watcher.observe(seen(edge_on, t=2 + 0.5 * k))]
    assert of(StateChanged, events) == [StateChanged(3.0, "uncertain", "upright", (), "ears or shoulders not "
                                                                                     "measurable")]


def test_events_carry_the_sample_and_the_change(watcher: Watcher) -> None:
    first = watcher.observe(seen(figure(), t=0.25, index=7))
    (sampled, changed) = first
    assert isinstance(sampled, Sampled) and (sampled.t, sampled.frame_index) == (0.25, 7)
    assert sampled.decision.state == "upright" and sampled.assessment.kind == "measured"
    assert changed == StateChanged(0.25, "upright", "uncertain", (), "")
    events = feed(watcher, hunched, 1, 20)
    assert of(StateChanged, events) == [StateChanged(1.5, "slouching", "upright", ("forward_head",), "")]
    (alert,) = of(AlertRaised, events)
    assert alert.body and alert.alert.faults == ("forward_head",) and watcher.status().last_alert == alert
    assert watcher.status().faults == ("forward_head",) and watcher.status().state == "slouching"
    away = of(StateChanged, feed(watcher, nobody, 20, 22))
    assert away == [StateChanged(21.0, "away", "slouching", (), "nobody in view")]


def test_a_stretch_ends_a_slouch_and_says_why(watcher: Watcher) -> None:
    feed(watcher, hunched, 0, 5)
    assert watcher.status().state == "slouching"
    stretch = watcher.observe(seen(figure(flex_deg=30, arms_up=True), t=5.0))
    assert of(StateChanged, stretch) == [StateChanged(5.0, "uncertain", "slouching", (), "arms raised (stretching)")]
    # Hunched again after it: a new slouch from 6.0 s, so the alert waits alert_after (10 s) from there.
    alerts = of(AlertRaised, feed(watcher, hunched, 5.5, 30))
    assert [a.t for a in alerts] == [16.0]


def test_sensitivity_reaches_the_judgement() -> None:
    mild = [Observation(t / 2, 0, (figure(flex_deg=7),), BRIGHT) for t in range(60)]
    for sensitivity, alerts in ((1.0, 0), (2.0, 1)):
        watcher = Watcher(upright_baseline(jitter=0), MODEL, WatchSettings(SETTINGS.policy, sensitivity,
                                                                          break_after=None))
        assert len(of(AlertRaised, [e for obs in mild for e in watcher.observe(obs)])) == alerts


def test_a_moved_setup_is_reported_through_the_watcher(watcher: Watcher) -> None:
    aside = figure(shift_x=150)
    events = [e for k in range(130) for e in watcher.observe(seen(aside, t=float(k)))]
    warnings = of(SetupWarning, events)
    assert [w.t for w in warnings] == [th.DRIFT_AFTER_S] and "more to one side" in warnings[0].text


def test_a_new_calibration_judges_afresh(watcher: Watcher) -> None:
    feed(watcher, hunched, 0, 5)
    assert watcher.status().state == "slouching"
    hunched_baseline = build_baseline([metrics(flex_deg=30)] * 5, "test", (640, 480), "2026-01-01T00:00:00+00:00",
                                      MODEL)
    watcher.use_baseline(hunched_baseline)
    assert watcher.baseline is hunched_baseline
    assert (watcher.status().state, watcher.status().faults) == ("uncertain", ())
    assert watcher.interval == SamplingPlan().confirming
    assert of(AlertRaised, feed(watcher, hunched, 5, 40)) == []  # this is now the upright posture
    assert watcher.status().state == "upright"


def test_what_status_reports() -> None:
    watcher = Watcher(upright_baseline(), MODEL, WatchSettings(SETTINGS.policy, break_after=600))
    fresh = watcher.status()
    assert (fresh.state, fresh.faults, fresh.holds, fresh.break_due, fresh.sitting_since) == (
        "uncertain", (), (), None, None)
    feed(watcher, upright, 100, 110)
    status = watcher.status()
    assert (status.state, status.holds, status.last_alert, status.covered) == ("upright", (), None, False)
    assert (status.sitting_since, status.break_due) == (100, 700)
    watcher.command(Pause(60), 110)
    watcher.command(ScreenLock(True), 111)
    assert watcher.status().holds == (("paused", 170), ("screen_locked", None))


def test_the_covered_lens_is_explained_and_its_end_said(watcher: Watcher) -> None:
    feed(watcher, upright, 0, 2)
    events = feed(watcher, covered, 2, 20) + feed(watcher, upright, 20, 21)
    assert [(c.status, c.detail) for c in of(CameraChanged, events)] == [
        ("covered", "the picture is dark: the lens is covered or the light is off; watching resumes when the camera "
                    "can see you"),
        ("uncovered", "the camera can see again")]
    assert of(CameraChanged, events)[1].t == 20


def test_a_pause_forgets_a_covered_lens(watcher: Watcher) -> None:
    feed(watcher, covered, 0, 15)
    assert watcher.status().covered
    watcher.command(Pause(), 15)
    watcher.command(Resume(), 16)
    assert not watcher.status().covered and watcher.interval == SamplingPlan().confirming
    assert of(CameraChanged, feed(watcher, upright, 16, 18)) == []  # nothing to "uncover"


def test_the_break_reminder_says_how_long_the_user_sat() -> None:
    watcher = Watcher(upright_baseline(), MODEL, WatchSettings(SETTINGS.policy, break_after=600))
    (reminder,) = of(BreakReminderDue, feed(watcher, upright, 100, 800, step=10))
    assert (reminder.t, reminder.sitting_s, reminder.title) == (700, 600, "10 min at the desk: stand up and move")


@pytest.mark.parametrize("hold", [ScreenLock(True), WorkingHours(False)])
def test_a_locked_screen_or_the_end_of_the_day_counts_as_time_away(hold: ScreenLock | WorkingHours) -> None:
    watcher = Watcher(upright_baseline(), MODEL, WatchSettings(SETTINGS.policy, break_after=600))
    feed(watcher, upright, 0, 400, step=10)
    watcher.command(hold, 400)
    release = ScreenLock(False) if isinstance(hold, ScreenLock) else WorkingHours(True)
    back = 400 + th.BREAK_RESET_AWAY_S
    watcher.command(release, back)
    reminders = of(BreakReminderDue, feed(watcher, upright, back, back + 700, step=10))
    assert [r.t for r in reminders] == [back + 600]  # the clock started again on return


def test_commands_report_when_and_what(watcher: Watcher) -> None:
    assert watcher.command(Pause(300), 5) == ("paused for 5 min", [Paused(5, "paused", 305)])
    assert watcher.command(TogglePause(), 9) == ("resumed", [Resumed(9, "paused")])
    assert watcher.command(TogglePause(), 11) == ("paused until resumed", [Paused(11, "paused", None)])
    assert watcher.command(ScreenLock(True), 12) == ("screen locked", [Paused(12, "screen_locked", None)])
    watcher.command(WorkingHours(False), 13)
    assert watcher.command(Resume(), 14) == ("resumed, but the camera stays off: screen locked, quiet hours",
                                             [Resumed(14, "paused")])


def test_session_commands_are_named_when_refused(watcher: Watcher) -> None:
    with pytest.raises(TypeError, match=r"^Quit is not a watcher command$"):
        watcher.command(Quit(), 0)


def test_ticks_and_releases_with_nothing_held_do_not_reset_a_slouch(watcher: Watcher) -> None:
    feed(watcher, hunched, 0, 5)
    assert watcher.tick(5) == [] and watcher.command(ScreenLock(False), 5) == ("screen unlocked", [])
    assert watcher.command(WorkingHours(True), 5) == ("working hours", [])
    assert watcher.status().state == "slouching"
    assert [round(a.t, 1) for a in of(AlertRaised, feed(watcher, hunched, 5, 12))] == [10.5]


@pytest.mark.parametrize("seconds", [0.5, MAX_HOLD_S])
def test_the_shortest_and_longest_holds_are_accepted(watcher: Watcher, seconds: float) -> None:
    assert watcher.command(Pause(seconds), 0)[1] == [Paused(0, "paused", seconds)]


def test_the_edges_of_each_setting_are_accepted() -> None:
    for sensitivity in th.SENSITIVITY_RANGE:
        WatchSettings(sensitivity=sensitivity)
    for break_after in (None, 0.5):
        WatchSettings(break_after=break_after)
    SamplingPlan(steady=0, confirming=3600, away=3600)


@pytest.mark.parametrize(("make", "message"), [
    (lambda: WatchSettings(sensitivity=5.01), "sensitivity must be 0.2 to 5, not 5.01"),
    (lambda: WatchSettings(sensitivity=0.19), "sensitivity must be 0.2 to 5, not 0.19"),
    (lambda: WatchSettings(break_after=0), "break_after must be a positive number of seconds, not 0"),
    (lambda: WatchSettings(break_after=math.inf), "break_after must be a positive number of seconds, not inf"),
    (lambda: WatchSettings(break_after=-math.inf), "break_after must be a positive number of seconds, not -inf"),
    (lambda: SamplingPlan(away=3600.5), "sampling interval away must be 0 to 3600 s, not 3600.5"),
    (lambda: SamplingPlan(confirming=math.nan), "sampling interval confirming must be 0 to 3600 s, not nan"),
    (lambda: Watcher(upright_baseline(), MODEL, WatchSettings(PolicySettings(), break_after=None)).command(
        Pause(-1), 0),
     "a duration must be more than 0 s and at most 7 days, not -1"),
])
def test_impossible_settings_say_what_is_allowed(make: object, message: str) -> None:
    with pytest.raises(ValueError) as err:
        make()  # type: ignore[operator]
    assert str(err.value) == message
