"""The watcher's vocabulary: commands it is given and events it reports. Small frozen dataclasses, no behaviour.

Commands come from every front end alike (the terminal's signals, notification buttons, the control socket, the
tray); events go to every subscriber alike (console, notifier, replay report, history, tray). Times `t` are
seconds on the session's timeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from . import thresholds as th
from .baseline import Baseline
from .policy import Alert, Decision, State
from .posture import Assessment

# Why the camera is off while the watcher is running. Several can hold at once (snoozed, then the screen locks).
HoldReason = Literal["paused", "snoozed", "break", "quiet_hours", "screen_locked"]
USER_HOLDS: tuple[HoldReason, ...] = ("paused", "snoozed", "break")  # the ones `resume` ends


# --- Commands -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pause:
    seconds: float | None = None  # None: until resumed


@dataclass(frozen=True)
class Resume:
    pass


@dataclass(frozen=True)
class TogglePause:
    """SIGUSR1: pause if watching, resume if paused."""


@dataclass(frozen=True)
class Snooze:
    seconds: float = th.SNOOZE_S


@dataclass(frozen=True)
class TakeBreak:
    """The user is taking a break: no alerts for a while, and the slouch and the break clock start afresh."""

    seconds: float = th.BREAK_S


@dataclass(frozen=True)
class RemindLater:
    """The break reminder's "Later" button."""

    seconds: float = th.BREAK_REMINDER_LATER_S


@dataclass(frozen=True)
class ScreenLock:
    locked: bool


@dataclass(frozen=True)
class WorkingHours:
    inside: bool


@dataclass(frozen=True)
class Recalibrate:
    seconds: float = 5.0


@dataclass(frozen=True)
class GetStatus:
    pass


@dataclass(frozen=True)
class Quit:
    reason: str = "asked to quit"


Command = (Pause | Resume | TogglePause | Snooze | TakeBreak | RemindLater | ScreenLock | WorkingHours | Recalibrate
           | GetStatus | Quit)


# --- Events ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sampled:
    """Every analysed sample."""

    t: float
    frame_index: int
    assessment: Assessment
    decision: Decision


@dataclass(frozen=True)
class StateChanged:
    t: float
    state: State
    previous: State
    faults: tuple[str, ...]
    reason: str  # why the person is away or cannot be measured; empty otherwise


@dataclass(frozen=True)
class AlertRaised:
    t: float
    alert: Alert
    title: str
    body: str

    @property
    def urgency(self) -> Literal["normal", "critical"]:
        return "critical" if self.alert.nth > 1 else "normal"


@dataclass(frozen=True)
class BreakReminderDue:
    t: float
    sitting_s: float
    title: str
    body: str


@dataclass(frozen=True)
class SetupWarning:
    t: float
    text: str


@dataclass(frozen=True)
class Paused:
    t: float
    reason: HoldReason
    until: float | None


@dataclass(frozen=True)
class Resumed:
    t: float
    reason: HoldReason


CameraStatus = Literal["open", "closed", "busy", "lost", "back", "covered", "uncovered"]


@dataclass(frozen=True)
class CameraChanged:
    t: float
    status: CameraStatus
    detail: str = ""


@dataclass(frozen=True)
class CalibrationStarted:
    t: float
    seconds: float


@dataclass(frozen=True)
class Calibrated:
    t: float
    baseline: Baseline


@dataclass(frozen=True)
class CalibrationFailed:
    t: float
    reason: str


@dataclass(frozen=True)
class Stopped:
    t: float
    reason: str


Event = (Sampled | StateChanged | AlertRaised | BreakReminderDue | SetupWarning | Paused | Resumed | CameraChanged
         | CalibrationStarted | Calibrated | CalibrationFailed | Stopped)
