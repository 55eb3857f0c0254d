"""What a day's (or a week's) posture history comes to: time per state, by hour, the longest slouch, alerts,
breaks and the most common fault, and the same in words for the terminal. `report.py` draws it.

"% upright" is the share of the *measured* time (upright + slouching) spent upright: time away from the desk or
unmeasurable says nothing about posture.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from .core.advice import FIXES, TITLES
from .core.minutes import STATES, MinuteTotals, Moment
from .core.posture import FAULTS
from .errors import PostureWatchError
from .history import HistoryFile

WEEK_DAYS = 7


# --- numbers -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HourShare:
    hour: int
    upright_s: float
    slouching_s: float

    @property
    def percent(self) -> float:
        return 100 * self.upright_s / (self.upright_s + self.slouching_s)


@dataclass(frozen=True)
class Summary:
    """What a period of history comes to."""

    first: date
    last: date
    minutes: list[MinuteTotals]
    moments: list[Moment]
    seconds: dict[str, float]  # per state
    hours: list[HourShare]  # hours of the day with measured time, by hour of day
    longest_slouch: tuple[datetime, datetime] | None
    alerts: int
    snoozes: int
    breaks: int
    break_reminders: int
    fault: str | None  # the most common fault: of the alerts, else of the slouches
    fault_count: int
    fault_of: int  # ... out of this many alerts (or slouches)

    @property
    def measured_s(self) -> float:
        return self.seconds["upright"] + self.seconds["slouching"]

    @property
    def upright_percent(self) -> float | None:
        return 100 * self.seconds["upright"] / self.measured_s if self.measured_s > 0 else None

    @property
    def empty(self) -> bool:
        return not self.minutes


def summarize(minutes: list[MinuteTotals], moments: list[Moment], first: date, last: date) -> Summary:
    seconds = {state: sum(getattr(m, f"{state}_s") for m in minutes) for state in STATES}
    by_hour: dict[int, list[float]] = {}
    for m in minutes:
        share = by_hour.setdefault(m.start.hour, [0.0, 0.0])
        share[0] += m.upright_s
        share[1] += m.slouching_s
    hours = [HourShare(h, up, down) for h, (up, down) in sorted(by_hour.items()) if up + down > 0]
    alerts = [m for m in moments if m.kind == "alert" and m.faults]
    slouches = [m for m in moments if m.kind == "state" and m.state == "slouching" and m.faults]
    counted = Counter(m.faults[0] for m in (alerts or slouches))
    fault = max(counted, key=lambda f: (counted[f], -FAULTS.index(f) if f in FAULTS else 0), default=None)
    return Summary(first, last, minutes, moments, seconds, hours, longest_slouch(minutes, moments),
                   sum(m.alerts for m in minutes), sum(m.snoozes for m in minutes), sum(m.breaks for m in minutes),
                   sum(m.break_reminders for m in minutes), fault, counted[fault] if fault else 0,
                   len(alerts or slouches))


def longest_slouch(minutes: list[MinuteTotals], moments: list[Moment]) -> tuple[datetime, datetime] | None:
    """The longest stretch in the slouching state: from the change into it to the next change, pause or stop;
    never past the run of minutes with slouching time in which it started (a watcher killed mid-slouch has no
    stop to end it)."""
    slouching_minutes = {m.start for m in minutes if m.slouching_s > 0}
    best: tuple[datetime, datetime] | None = None
    for i, moment in enumerate(moments):
        if moment.kind != "state" or moment.state != "slouching":
            continue
        end = next((m.at for m in moments[i + 1:] if m.kind in ("state", "pause", "stop")), None)
        minute = moment.at.replace(second=0, microsecond=0)
        while minute + timedelta(minutes=1) in slouching_minutes:
            minute += timedelta(minutes=1)
        cap = minute + timedelta(minutes=1)
        end = cap if end is None else min(end, cap)
        if best is None or end - moment.at > best[1] - best[0]:
            best = (moment.at, end)
    return best


def day_summary(history: HistoryFile, day: date) -> Summary:
    return summarize(history.minutes(day, day), history.moments(day, day), day, day)


def week_summaries(history: HistoryFile, last: date) -> tuple[Summary, list[Summary]]:
    """The week ending on `last`, and each of its days."""
    first = last - timedelta(days=WEEK_DAYS - 1)
    minutes, moments = history.minutes(first, last), history.moments(first, last)
    days = []
    for n in range(WEEK_DAYS):
        day = first + timedelta(days=n)
        days.append(summarize([m for m in minutes if m.start.date() == day],
                              [m for m in moments if m.at.date() == day], day, day))
    return summarize(minutes, moments, first, last), days


def no_data(history: HistoryFile, first: date, last: date) -> PostureWatchError:
    days = history.days()
    when = f"on {first}" if first == last else f"from {first} to {last}"
    recorded = f"the history has {days[0]} to {days[-1]}" if days else "the history is empty"
    return PostureWatchError(f"no posture recorded {when} ({recorded})")


# --- words -------------------------------------------------------------------------------------------------------


def duration_text(seconds: float) -> str:
    """'45 s', '12 min', '2 h 05 min'."""
    if seconds < 59.5:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def period_text(summary: Summary) -> str:
    if summary.first == summary.last:
        return f"{summary.first:%A} {summary.first.day} {summary.first:%B %Y}"
    return f"the week {summary.first} to {summary.last}"


def fault_lines(summary: Summary) -> tuple[str, str] | None:
    """The most common fault, how often, and the advice for it."""
    if summary.fault is None or summary.fault not in TITLES:
        return None
    of = "alerts" if summary.alerts else "slouches"
    return (f"{TITLES[summary.fault]} ({summary.fault_count} of {summary.fault_of} {of})", FIXES[summary.fault][0])


def summary_lines(summary: Summary) -> list[str]:
    """The report in words, for the terminal."""
    s = summary.seconds
    span = ""
    if summary.minutes:
        end = summary.minutes[-1].start + timedelta(minutes=1)
        span = f" ({summary.minutes[0].start:%H:%M} to {end:%H:%M})" if summary.first == summary.last else ""
    percent = summary.upright_percent
    lines = [f"Posture {'on' if summary.first == summary.last else 'in'} {period_text(summary)}{span}",
             f"  upright        {duration_text(s['upright'])}"
             + ("" if percent is None else f" ({percent:.0f} % of the measured time)"),
             f"  slouching      {duration_text(s['slouching'])}",
             f"  away           {duration_text(s['away'])}; not measurable {duration_text(s['uncertain'])}"]
    if summary.longest_slouch is not None:
        start, end = summary.longest_slouch
        when = f"{start:%H:%M}" if summary.first == summary.last else f"{start:%a %H:%M}"
        lines.append(f"  longest slouch {duration_text((end - start).total_seconds())} (from {when})")
    lines.append(f"  alerts {summary.alerts}, breaks taken {summary.breaks}, break reminders "
                 f"{summary.break_reminders}, snoozes {summary.snoozes}")
    fault = fault_lines(summary)
    if fault is not None:
        lines += [f"  most common: {fault[0]}", f"    {fault[1]}"]
    return lines
