"""Working hours: when the watcher may use the camera at all. Outside them it stays closed and nothing alerts.

Pure: the caller passes the local date and time in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY_NUMBERS = {name[:length]: number for number, name in enumerate(DAY_NAMES) for length in (3, len(name))}
_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class WorkSchedule:
    """Days (0 = Monday) and the daily span [start, end); an `end` before `start` runs past midnight into the
    next day (a night shift: 22:00-06:00)."""

    days: frozenset[int]
    start: time
    end: time

    def __post_init__(self) -> None:
        if not self.days or not self.days <= set(range(7)):
            raise ValueError("working days must name at least one day, Monday (0) to Sunday (6)")
        if self.start == self.end:
            raise ValueError("working hours must not start and end at the same time")

    def contains(self, moment: datetime) -> bool:
        now = moment.time()
        if self.start < self.end:
            return moment.weekday() in self.days and self.start <= now < self.end
        # Past midnight: the late part belongs to the day the span started on.
        if now >= self.start:
            return moment.weekday() in self.days
        return now < self.end and (moment - timedelta(days=1)).weekday() in self.days


def parse_hours(text: str) -> tuple[time, time]:
    """'09:00-18:00' -> (09:00, 18:00)."""
    match = _HOURS.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a span of hours like 09:00-18:00")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h2 == 24 and m2 == 0:
        h2 = 0  # 18:00-24:00 ends at midnight
    if not (h1 < 24 and h2 < 24 and m1 < 60 and m2 < 60):
        raise ValueError(f"{text!r} is not a span of hours like 09:00-18:00")
    return time(h1, m1), time(h2, m2)


def parse_days(text: str) -> frozenset[int]:
    """'Mon-Fri', 'Mon,Wed,Fri', 'Fri-Mon' (wraps), 'saturday' -> weekday numbers (0 = Monday)."""
    days: set[int] = set()
    for part in text.lower().replace(" ", "").split(","):
        ends = part.split("-")
        if len(ends) > 2 or not all(e in _DAY_NUMBERS for e in ends):
            raise ValueError(f"{text!r} is not a list of days like Mon-Fri or Mon,Wed,Fri")
        day, last = _DAY_NUMBERS[ends[0]], _DAY_NUMBERS[ends[-1]]
        days.add(day)
        while day != last:
            day = (day + 1) % 7
            days.add(day)
    return frozenset(days)
