"""What the history keeps of a watching session: per-minute totals and the moments worth keeping one by one.

A minute's totals are the seconds spent in each state (from the samples, as `StateClock` counts them), the median
neck and shoulder angles of its measured samples, and how many alerts, snoozes, breaks and break reminders fell in
it. The moments are the alerts with their faults and advice, the changes of state, the pauses with their reasons,
the resumes and the stop. Pure: the caller passes the wall-clock mapping of the session's timeline, and says what
time it is when it wants the totals.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from .events import AlertRaised, BreakReminderDue, Event, Paused, Resumed, Sampled, StateChanged, Stopped
from .policy import State
from .tally import MAX_SAMPLE_GAP_S, StateClock

STATES: tuple[State, ...] = ("upright", "slouching", "away", "uncertain")
MINUTE = timedelta(minutes=1)
# A minute is final once no span can reach back into it: a span is at most MAX_SAMPLE_GAP_S long, and the sample
# that ends it may reach the tally a moment after it was taken.
SETTLE = MINUTE + timedelta(seconds=MAX_SAMPLE_GAP_S + 5)
KEPT = (Sampled, StateChanged, AlertRaised, BreakReminderDue, Paused, Resumed, Stopped)  # the events that count

MomentKind = Literal["state", "alert", "break_reminder", "pause", "resume", "stop"]


@dataclass(frozen=True)
class MinuteTotals:
    start: datetime  # the minute's first second, local time with its UTC offset
    upright_s: float
    slouching_s: float
    away_s: float
    uncertain_s: float
    neck_deg: float | None  # median over the minute's measured samples
    shoulder_deg: float | None
    alerts: int
    snoozes: int
    breaks: int
    break_reminders: int


@dataclass(frozen=True)
class Moment:
    at: datetime
    kind: MomentKind
    state: str = ""  # the state entered, or the reason of a pause or resume
    faults: tuple[str, ...] = ()
    title: str = ""
    detail: str = ""  # an alert's or reminder's advice, why the person is away or unmeasurable, why it stopped
    until: datetime | None = None  # when a pause ends by itself


@dataclass
class _Minute:
    seconds: dict[State, float] = field(default_factory=lambda: dict.fromkeys(STATES, 0.0))
    necks: list[float] = field(default_factory=list)
    shoulders: list[float] = field(default_factory=list)
    alerts: int = 0
    snoozes: int = 0
    breaks: int = 0
    break_reminders: int = 0
    changed: bool = True

    def totals(self, start: datetime) -> MinuteTotals:
        s = self.seconds
        return MinuteTotals(start, s["upright"], s["slouching"], s["away"], s["uncertain"], _median(self.necks),
                            _median(self.shoulders), self.alerts, self.snoozes, self.breaks, self.break_reminders)


class MinuteTally:
    """Folds a session's events into per-minute totals; `wall` maps the session's timeline onto local time."""

    def __init__(self, wall: Callable[[float], datetime]) -> None:
        self._wall = wall
        self._states = StateClock()
        self._minutes: dict[datetime, _Minute] = {}

    def add(self, event: Event) -> Moment | None:
        """Count the event; returns the moment to keep of it, if any."""
        match event:
            case Sampled(t=t, assessment=assessment, decision=decision):
                span = self._states.sample(t, decision.state)
                if span is not None:
                    self._spread(span.state, self._wall(span.start), span.seconds)
                if assessment.neck_angle_deg is not None and assessment.shoulder_angle_deg is not None:
                    minute = self._minute(self._wall(t))
                    minute.necks.append(assessment.neck_angle_deg)
                    minute.shoulders.append(assessment.shoulder_angle_deg)
                return None
            case StateChanged(t=t, state=state, faults=faults, reason=reason):
                return Moment(self._wall(t), "state", state, faults, detail=reason)
            case AlertRaised(t=t, alert=alert, title=title, body=body):
                self._minute(self._wall(t)).alerts += 1
                return Moment(self._wall(t), "alert", "slouching", alert.faults, title, body)
            case BreakReminderDue(t=t, title=title, body=body):
                self._minute(self._wall(t)).break_reminders += 1
                return Moment(self._wall(t), "break_reminder", title=title, detail=body)
            case Paused(t=t, reason=reason, until=until):
                self._states.stop()  # the camera goes off: the time until the next sample belongs to no state
                minute = self._minute(self._wall(t))
                minute.snoozes += reason == "snoozed"
                minute.breaks += reason == "break"
                return Moment(self._wall(t), "pause", reason, until=None if until is None else self._wall(until))
            case Resumed(t=t, reason=reason):
                return Moment(self._wall(t), "resume", reason)
            case Stopped(t=t, reason=reason):
                self._states.stop()
                return Moment(self._wall(t), "stop", detail=reason)
        return None

    def flush(self, now: datetime | None) -> list[MinuteTotals]:
        """The totals of every minute that changed since the last flush; minutes settled by `now` are then
        forgotten (None: the session is over, all of them are)."""
        changed = [minute.totals(start) for start, minute in sorted(self._minutes.items()) if minute.changed]
        for start, minute in list(self._minutes.items()):
            minute.changed = False
            if now is None or start + SETTLE <= now:
                del self._minutes[start]
        return changed

    def touch(self) -> None:
        """Report every open minute again at the next flush (its earlier totals were lost)."""
        for minute in self._minutes.values():
            minute.changed = True

    def _minute(self, at: datetime) -> _Minute:
        start = at.replace(second=0, microsecond=0)
        minute = self._minutes.get(start)
        if minute is None:
            minute = self._minutes[start] = _Minute()
        minute.changed = True
        return minute

    def _spread(self, state: State, start: datetime, seconds: float) -> None:
        """Add `seconds` from `start` to `state`, split at minute boundaries."""
        end = start + timedelta(seconds=seconds)
        while start < end:
            piece = min(end, start.replace(second=0, microsecond=0) + MINUTE)
            self._minute(start).seconds[state] += (piece - start).total_seconds()
            start = piece


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None
