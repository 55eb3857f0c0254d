"""Posture state and alert policy: a pure per-sample update step driven by the sample's timestamp.

States: `upright`, `slouching`, `away` (nobody at the desk), `uncertain` (someone there, but not measurable).
- A slouch starts when a fault scores >= 1 for `enter_after` seconds, and ends only when every score has stayed
  below `leave_level` (hysteresis) for `leave_after` seconds: a glance or a fidget does not flip the state.
- An alert needs the `slouching` state to have lasted `alert_after` seconds and no alert in the last `cooldown`
  seconds. A later alert in the same slouch is numbered, so its text can escalate instead of repeating.
- Short gaps (nobody seen, or not measurable) hold the current state; longer ones end the slouch.
- Until a sample has been measured (at start, after a pause) the state is `uncertain`: nothing is known yet.
- Ordinary movement (a stretch, reaching, standing up) makes the state `uncertain` at once and ends a slouch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from . import thresholds as th
from .posture import Assessment

State = Literal["upright", "slouching", "away", "uncertain"]


@dataclass(frozen=True)
class PolicySettings:
    alert_after: float = th.ALERT_AFTER_S
    cooldown: float = th.COOLDOWN_S
    enter_after: float = th.ENTER_AFTER_S
    leave_after: float = th.LEAVE_AFTER_S
    leave_level: float = th.LEAVE_LEVEL
    away_after: float = th.AWAY_AFTER_S
    uncertain_after: float = th.UNCERTAIN_AFTER_S

    def __post_init__(self) -> None:
        for name in ("alert_after", "cooldown", "enter_after", "leave_after", "away_after", "uncertain_after"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number of seconds >= 0, not {value!r}")
        if not 0 < self.leave_level <= 1:
            raise ValueError(f"leave_level must be in (0, 1], not {self.leave_level!r}")


@dataclass(frozen=True)
class Alert:
    t: float
    faults: tuple[str, ...]
    nth: int  # 1 for the first alert of a slouch, 2 for the next one in the same slouch, ...
    slouch_seconds: float


@dataclass(frozen=True)
class Decision:
    state: State
    faults: tuple[str, ...]
    alert: Alert | None
    confirming: bool  # a change of state is pending, or the reading is still settling: worth sampling faster


class AlertPolicy:
    def __init__(self, settings: PolicySettings | None = None) -> None:
        self.settings = settings or PolicySettings()
        self.state: State = "uncertain"
        self._bad_since: float | None = None  # first of the consecutive samples scoring >= 1
        self._good_since: float | None = None  # first of the consecutive samples scoring < leave_level
        self._gap_since: float | None = None  # first of the consecutive absent/uncertain samples
        self._slouch_start: float | None = None
        self._alerts_in_slouch = 0
        self._last_alert: float | None = None
        self._last_severity: float | None = None  # of the last measured sample

    def reset(self) -> None:
        """Forget the current state (after a pause or a break): the next sample is judged afresh. The cooldown
        since the last alert still counts."""
        self._end_slouch("uncertain")
        self._gap_since = None

    def update(self, assessment: Assessment, t: float) -> Decision:
        s = self.settings
        if assessment.kind == "moving":
            # Not a gap in the measurement but something else going on: whatever the posture was, it is over.
            self._end_slouch("uncertain")
            self._gap_since = self._last_severity = None
            return Decision(self.state, (), None, confirming=False)
        if assessment.kind != "measured":
            self._bad_since = self._good_since = self._last_severity = None
            if self._gap_since is None:
                self._gap_since = t
            limit = s.away_after if assessment.kind == "absent" else s.uncertain_after
            if t - self._gap_since >= limit:
                self._end_slouch("away" if assessment.kind == "absent" else "uncertain")
            return Decision(self.state, (), None, confirming=self.state not in ("away", "uncertain"))

        self._gap_since = None
        if self.state in ("away", "uncertain"):
            self.state = "upright"  # back in view: judged afresh below
        severity = assessment.severity
        # The pose model's readings take a few frames to follow a movement; at one sample every 1.5 s that is
        # seconds, so a reading that moved a lot, near the thresholds, is sampled again soon.
        settling = (self._last_severity is not None and abs(severity - self._last_severity) >= th.SETTLING_CHANGE
                    and max(severity, self._last_severity) >= s.leave_level)
        self._last_severity = severity
        if severity >= 1.0:
            self._bad_since = self._bad_since if self._bad_since is not None else t
            self._good_since = None
        elif severity < s.leave_level:
            self._good_since = self._good_since if self._good_since is not None else t
            self._bad_since = None
        elif self.state == "slouching":
            self._good_since = None  # still half-bad: the slouch goes on
        else:
            self._bad_since = None  # not bad enough to start one

        if self.state != "slouching" and self._bad_since is not None and t - self._bad_since >= s.enter_after:
            self.state = "slouching"
            self._slouch_start = t  # alert-after counts from here, the moment the timeline says "slouching"
            self._alerts_in_slouch = 0
        elif self.state == "slouching" and self._good_since is not None and t - self._good_since >= s.leave_after:
            self._end_slouch("upright")

        if self.state != "slouching":
            return Decision(self.state, (), None, confirming=self._bad_since is not None or settling)
        faults = tuple(assessment.faults_over(1.0)) or tuple(assessment.faults_over(0.0)[:1])
        # No alert on a sample that is already getting better: the user may be straightening up right now.
        alert = self._maybe_alert(faults, t) if severity >= 1.0 else None
        return Decision(self.state, faults, alert, confirming=self._good_since is not None or settling)

    def _maybe_alert(self, faults: tuple[str, ...], t: float) -> Alert | None:
        s = self.settings
        assert self._slouch_start is not None
        lasted = t - self._slouch_start
        if lasted < s.alert_after:
            return None
        if self._last_alert is not None and t - self._last_alert < s.cooldown:
            return None
        self._last_alert = t
        self._alerts_in_slouch += 1
        return Alert(t, faults, self._alerts_in_slouch, lasted)

    def _end_slouch(self, state: State) -> None:
        self.state = state
        self._slouch_start = None
        self._bad_since = self._good_since = None
        self._alerts_in_slouch = 0
