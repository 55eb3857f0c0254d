"""The watcher: samples and commands in, events out. The whole of posture-watch's judgement, with no camera, model,
clock or I/O: every call carries its timestamp `t` (seconds on the caller's timeline).

One sample goes: the user among the people found → metrics → assessment against the baseline → state and alert
policy → advice. Around that the watcher keeps what the user asked for (pause, snooze, break), what the session
reports (screen locked, outside working hours), the break clock and a covered lens. While anything holds it, the
caller should keep the camera closed (`watching` is False) and call `tick` by `next_deadline`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from . import thresholds as th
from .advice import AdviceBook, spoken_duration
from .angles import AngleModel
from .baseline import Baseline
from .drift import SetupDrift
from .events import (
    USER_HOLDS,
    AlertRaised,
    BreakReminderDue,
    CameraChanged,
    Command,
    Event,
    HoldReason,
    Pause,
    Paused,
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
from .landmarks import Observation, main_person
from .metrics import measure
from .policy import AlertPolicy, Decision, PolicySettings, State
from .posture import DARK, assess

MAX_HOLD_S = 7 * 24 * 3600.0  # a pause or snooze longer than a week is a typo


@dataclass(frozen=True)
class SamplingPlan:
    """Seconds between analysed frames: sparse while nothing changes (a slouch must last tens of seconds before it
    matters), dense only to confirm a change, sparser still while nobody is there or the lens is covered."""

    steady: float = th.STEADY_INTERVAL_S
    confirming: float = th.CONFIRM_INTERVAL_S
    away: float = th.AWAY_INTERVAL_S

    def __post_init__(self) -> None:
        for name in ("steady", "confirming", "away"):
            value = getattr(self, name)
            if not (math.isfinite(value) and 0 <= value <= th.MAX_INTERVAL_S):
                raise ValueError(f"sampling interval {name} must be 0 to {th.MAX_INTERVAL_S:g} s, not {value!r}")

    def interval(self, decision: Decision | None, idle: bool) -> float:
        """`idle`: nobody to watch (away, or a covered lens)."""
        if decision is None or decision.confirming:
            return self.confirming
        return self.away if idle else self.steady


@dataclass(frozen=True)
class WatchSettings:
    policy: PolicySettings = field(default_factory=PolicySettings)
    sensitivity: float = 1.0
    sampling: SamplingPlan = field(default_factory=SamplingPlan)
    break_after: float | None = th.BREAK_REMINDER_AFTER_S  # None: no break reminders

    def __post_init__(self) -> None:
        low, high = th.SENSITIVITY_RANGE
        if not low <= self.sensitivity <= high:
            raise ValueError(f"sensitivity must be {low:g} to {high:g}, not {self.sensitivity!r}")
        if self.break_after is not None and not (math.isfinite(self.break_after) and self.break_after > 0):
            raise ValueError(f"break_after must be a positive number of seconds, not {self.break_after!r}")


@dataclass(frozen=True)
class WatcherStatus:
    state: State
    faults: tuple[str, ...]
    holds: tuple[tuple[HoldReason, float | None], ...]  # (why, until) for each reason the camera is off
    last_alert: AlertRaised | None
    break_due: float | None  # when the break reminder is due, if the user stays
    sitting_since: float | None
    covered: bool


class BreakClock:
    """Continuous presence at the desk, for the "stand up and move" reminder. Absence of `reset_after` seconds or
    more counts as a break; while paused or snoozed nothing is known, so the clock neither runs on nor resets."""

    def __init__(self, after: float | None) -> None:
        self.after = after
        self.sitting_since: float | None = None
        self.due: float | None = None
        self._absent_since: float | None = None

    def present(self, t: float) -> float | None:
        """The user is at the desk; returns how long they have sat when a reminder is due now."""
        if self._absent_since is not None and t - self._absent_since >= th.BREAK_RESET_AWAY_S:
            self.reset()
        self._absent_since = None
        if self.after is None:
            return None
        if self.sitting_since is None or self.due is None:
            self.sitting_since, self.due = t, t + self.after
        if t < self.due:
            return None
        self.due = t + th.BREAK_REMINDER_REPEAT_S
        return t - self.sitting_since

    def absent(self, t: float) -> None:
        if self._absent_since is None:
            self._absent_since = t

    def later(self, t: float, seconds: float) -> None:
        if self.due is not None:
            self.due = t + seconds

    def reset(self) -> None:
        self.sitting_since = self.due = self._absent_since = None


class Watcher:
    def __init__(self, baseline: Baseline, angles: AngleModel, settings: WatchSettings | None = None) -> None:
        self.settings = settings or WatchSettings()
        self.baseline = baseline
        self.angles = angles
        self.policy = AlertPolicy(self.settings.policy)
        self.advice = AdviceBook()
        self.drift = SetupDrift()
        self.breaks = BreakClock(self.settings.break_after)
        self._holds: dict[HoldReason, float | None] = {}
        self._state: State = self.policy.state
        self._faults: tuple[str, ...] = ()
        self._decision: Decision | None = None
        self._last_alert: AlertRaised | None = None
        self._dark_since: float | None = None
        self._covered = False

    # --- samples ------------------------------------------------------------------------------------------------

    def observe(self, obs: Observation) -> list[Event]:
        """Judge one sample. Samples that arrive while the watcher is held are ignored."""
        if self._holds:
            return []
        person = main_person(obs.poses, self.baseline.mean("center_x"))
        metrics = measure(person) if person is not None else None
        assessment = assess(metrics, len(obs.poses), obs.brightness, self.baseline, self.angles,
                            self.settings.sensitivity)
        decision = self.policy.update(assessment, obs.t)
        self._decision = decision
        events: list[Event] = [Sampled(obs.t, obs.frame_index, assessment, decision)]
        if decision.state != self._state:
            reason = assessment.reason if decision.state in ("away", "uncertain") else ""
            events.append(StateChanged(obs.t, decision.state, self._state, decision.faults, reason))
            self._state = decision.state
        self._faults = decision.faults
        if decision.alert is not None:
            title, body = self.advice.advise(decision.alert)
            self._last_alert = AlertRaised(obs.t, decision.alert, title, body)
            events.append(self._last_alert)
        warning = self.drift.update(metrics, self.baseline, obs.t)
        if warning is not None:
            events.append(SetupWarning(obs.t, warning))
        events.extend(self._watch_lens(assessment.reason == DARK, obs.t))
        events.extend(self._watch_sitting(decision.state, obs.t))
        return events

    def _watch_lens(self, dark: bool, t: float) -> list[Event]:
        if not dark:
            self._dark_since = None
            if self._covered:
                self._covered = False
                return [CameraChanged(t, "uncovered", "the camera can see again")]
            return []
        self._dark_since = t if self._dark_since is None else self._dark_since
        if self._covered or t - self._dark_since < th.COVERED_REPORT_AFTER_S:
            return []
        self._covered = True
        return [CameraChanged(t, "covered", "the picture is dark: the lens is covered or the light is off; "
                                            "watching resumes when the camera can see you")]

    def _watch_sitting(self, state: State, t: float) -> list[Event]:
        if state == "away":
            self.breaks.absent(t)
            return []
        sat = self.breaks.present(t)
        if sat is None:
            return []
        title, body = self.advice.reminder(sat)
        return [BreakReminderDue(t, sat, title, body)]

    @property
    def interval(self) -> float:
        """Seconds until the next sample is worth taking."""
        return self.settings.sampling.interval(self._decision, self._state == "away" or self._covered)

    # --- commands and timers ------------------------------------------------------------------------------------

    @property
    def watching(self) -> bool:
        """False while anything holds the watcher: the camera should be closed."""
        return not self._holds

    def command(self, command: Command, t: float) -> tuple[str, list[Event]]:
        """Apply a command; returns what to tell the user and the events. Raises ValueError for a bad duration
        and TypeError for a command that is the session's, not the watcher's (status, recalibrate, quit)."""
        match command:
            case Pause(seconds):
                until = None if seconds is None else t + _duration(seconds)
                return ("paused until resumed" if until is None else f"paused for {spoken_duration(seconds)}",
                        self._hold("paused", until, t))
            case Snooze(seconds):
                return f"snoozed for {spoken_duration(seconds)}", self._hold("snoozed", t + _duration(seconds), t)
            case TakeBreak(seconds):
                self.breaks.reset()
                return (f"enjoy the break: alerts resume in {spoken_duration(seconds)}",
                        self._hold("break", t + _duration(seconds), t))
            case Resume():
                return self._resume(t)
            case TogglePause():
                return self._resume(t) if any(r in self._holds for r in USER_HOLDS) else self.command(Pause(), t)
            case RemindLater(seconds):
                self.breaks.later(t, _duration(seconds))
                return f"break reminder in {spoken_duration(seconds)}", []
            case ScreenLock(locked=True):
                self.breaks.absent(t)
                return "screen locked", self._hold("screen_locked", None, t)
            case ScreenLock(locked=False):
                return "screen unlocked", self._release(("screen_locked",), t)
            case WorkingHours(inside=False):
                self.breaks.absent(t)
                return "outside working hours", self._hold("quiet_hours", None, t)
            case WorkingHours(inside=True):
                return "working hours", self._release(("quiet_hours",), t)
        raise TypeError(f"{type(command).__name__} is not a watcher command")

    def _resume(self, t: float) -> tuple[str, list[Event]]:
        events = self._release(USER_HOLDS, t)
        if not events:
            return "not paused", []
        still = ", ".join(reason.replace("_", " ") for reason in self._holds)
        return ("resumed" if not still else f"resumed, but the camera stays off: {still}"), events

    def tick(self, t: float) -> list[Event]:
        """Ends the holds whose time is up."""
        return self._release(tuple(r for r, until in self._holds.items() if until is not None and until <= t), t)

    def next_deadline(self) -> float | None:
        """When `tick` must be called next (the earliest timed hold's end)."""
        return min((until for until in self._holds.values() if until is not None), default=None)

    def _hold(self, reason: HoldReason, until: float | None, t: float) -> list[Event]:
        self._holds[reason] = until
        return [Paused(t, reason, until)]

    def _release(self, reasons: tuple[HoldReason, ...], t: float) -> list[Event]:
        events: list[Event] = [Resumed(t, r) for r in reasons if r in self._holds]
        for reason in reasons:
            self._holds.pop(reason, None)
        if events and not self._holds:
            # The posture before the pause says nothing about the posture now.
            self.policy.reset()
            self._state, self._faults, self._decision = self.policy.state, (), None
            self._dark_since, self._covered = None, False
        return events

    # --- baseline and status ------------------------------------------------------------------------------------

    def use_baseline(self, baseline: Baseline) -> None:
        """A new calibration: judge afresh against it."""
        self.baseline = baseline
        self.policy.reset()
        self.drift = SetupDrift()
        self._state, self._faults, self._decision = self.policy.state, (), None

    def status(self) -> WatcherStatus:
        return WatcherStatus(self._state, self._faults, tuple(self._holds.items()), self._last_alert,
                             self.breaks.due, self.breaks.sitting_since, self._covered)


def _duration(seconds: float) -> float:
    if not (math.isfinite(seconds) and 0 < seconds <= MAX_HOLD_S):
        raise ValueError(f"a duration must be more than 0 s and at most 7 days, not {seconds!r}")
    return seconds

