"""Replay a recorded clip through the same session as the webcam, every frame, and report what it saw.

The report is a subscriber to the session's events, like the notifier and the console are during a webcam run.
The JSON report is a contract other tools rely on (README, "replay --json"):
{"video", "fps", "frames", "samples": [{"t", "state", "neck_angle_deg", "shoulder_angle_deg", "faults", ...}],
 "alerts": [{"t", "faults", "title", "body", "nth"}], "notes": [{"t", "text"}], "summary": {...},
 "calibration": {"from", "samples", "steadiness": {"neck_deg", "shoulder_deg", "width"}, "limits": {...}}}
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .core.baseline import Baseline
from .core.events import AlertRaised, Event, Sampled, SetupWarning
from .core.thresholds import (
    CALIBRATION_MAX_ANGLE_WOBBLE_DEG,
    CALIBRATION_MAX_HEAD_TILT_SD_DEG,
    CALIBRATION_MAX_WIDTH_WOBBLE,
)
from .core.watcher import SamplingPlan, WatchSettings
from .pose import PoseEstimator
from .session import ClipClock, Mailbox, Session, SessionStopped
from .sources import FrameSource, VideoFileSource


@dataclass
class ReplayReport:
    """Collects every sample and alert of a replay (a session subscriber)."""

    video: str
    fps: float = 0.0
    frames: int = 0
    baseline_from: str = ""
    baseline: Baseline | None = None  # what every sample was judged against
    samples: list[Sampled] = field(default_factory=list)
    alerts: list[AlertRaised] = field(default_factory=list)
    notes: list[SetupWarning] = field(default_factory=list)  # what a running watcher would have said of the setup

    def __call__(self, event: Event) -> None:
        if isinstance(event, Sampled):
            self.samples.append(event)
        elif isinstance(event, AlertRaised):
            self.alerts.append(event)
        elif isinstance(event, SetupWarning):
            self.notes.append(event)


def replay(path: Path, baseline: Baseline | float, estimator: PoseEstimator, settings: WatchSettings,
           subscribers: tuple[Callable[[Event], None], ...] = (),
           on_progress: Callable[[int, int], None] | None = None, mailbox: Mailbox | None = None,
           clock: ClipClock | None = None, sampled: bool = False) -> ReplayReport:
    """Replay `path`. `baseline` is a loaded baseline, or a number of seconds at the clip's start to calibrate on
    (those frames are then judged like the rest, against the baseline they produced). Every frame is analysed,
    unless `sampled`: then the frames are taken as `run` samples a webcam (every CALIBRATION_INTERVAL_S while
    calibrating, then at the intervals of the default sampling plan), on the clip's time. Nothing waits for the
    clock. `clock` maps the clip's time onto the local time its events are said to happen at (default: the clip
    starts now). A Quit posted to `mailbox` stops it (SessionStopped)."""
    source = VideoFileSource(path)
    report = ReplayReport(str(path), source.fps)

    def open_clip(interval: float) -> FrameSource:
        source.interval = interval  # 0 when every frame is analysed
        return source

    # A replay has no break reminders: a clip is not a working day.
    session = Session(estimator, open_clip, WatchSettings(settings.policy, settings.sensitivity, SamplingPlan(),
                                                          break_after=None),
                      None if isinstance(baseline, float) else baseline,
                      clock=clock or ClipClock(datetime.now().astimezone()),
                      mailbox=mailbox, replaying=True, sampled=sampled)
    for subscriber in (report, *subscribers):
        session.subscribe(subscriber)
    if on_progress is not None:
        def progress(event: Event) -> None:
            if isinstance(event, Sampled):
                on_progress(source.frames_read, source.frame_count)

        session.subscribe(progress)
    try:
        if isinstance(baseline, float):
            calibration = session.calibrate(baseline, keep_open=True)
            session.use_baseline(calibration.baseline)
            session.judge(calibration.observations)
            report.baseline = calibration.baseline
        else:
            report.baseline = baseline
        stopped = session.run()
    finally:
        source.close()
    if not source.ended:
        raise SessionStopped(stopped)
    report.frames = source.frames_read
    report.baseline_from = (f"first {baseline:g} s of the clip" if isinstance(baseline, float)
                            else "baseline file")
    return report


def _num(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def to_json(report: ReplayReport) -> dict[str, Any]:
    samples = []
    for s in report.samples:
        a = s.assessment
        samples.append({
            "t": round(s.t, 3),
            "frame": s.frame_index,
            "state": s.decision.state,
            "neck_angle_deg": _num(a.neck_angle_deg, 1),
            "shoulder_angle_deg": _num(a.shoulder_angle_deg, 1),
            "faults": list(s.decision.faults),
            "scores": {k: round(v, 2) for k, v in a.scores.items()},
            "observed": a.kind,
            "reason": a.reason,
        })
    alerts = [{"t": round(a.t, 3), "faults": list(a.alert.faults), "title": a.title, "body": a.body,
               "nth": a.alert.nth} for a in report.alerts]
    notes = [{"t": round(n.t, 3), "text": n.text} for n in report.notes]
    return {"video": report.video, "fps": round(report.fps, 3), "frames": report.frames, "samples": samples,
            "alerts": alerts, "notes": notes, "summary": summary(report), "calibration": calibration_quality(report)}


def calibration_quality(report: ReplayReport) -> dict[str, Any] | None:
    """How steady the baseline's calibration was, beside the limits a calibration must keep within."""
    if report.baseline is None:
        return None
    steady = report.baseline.steadiness
    return {
        "from": report.baseline_from,
        "samples": report.baseline.samples,
        "steadiness": {"neck_deg": round(steady.neck_deg, 2), "shoulder_deg": round(steady.shoulder_deg, 2),
                       "width": round(steady.width, 4)},
        "head_tilt_sd_deg": round(report.baseline.sd("head_roll_deg"), 2),
        "limits": {"angle_deg": CALIBRATION_MAX_ANGLE_WOBBLE_DEG, "width": CALIBRATION_MAX_WIDTH_WOBBLE,
                   "head_tilt_sd_deg": CALIBRATION_MAX_HEAD_TILT_SD_DEG},
    }


def summary(report: ReplayReport) -> dict[str, Any]:
    seconds: dict[str, float] = {"upright": 0.0, "slouching": 0.0, "away": 0.0, "uncertain": 0.0}
    for here, after in itertools.pairwise(report.samples):
        seconds[here.decision.state] += after.t - here.t
    if report.samples:
        seconds[report.samples[-1].decision.state] += 1.0 / report.fps
    angles = [s.assessment.neck_angle_deg for s in report.samples
              if s.decision.state == "slouching" and s.assessment.neck_angle_deg is not None]
    return {
        "duration_s": round(report.frames / report.fps, 2),
        "baseline": report.baseline_from,
        "seconds_by_state": {k: round(v, 2) for k, v in seconds.items()},
        "alerts": len(report.alerts),
        "max_neck_angle_deg": round(max(angles), 1) if angles else None,
    }


def timeline_text(report: ReplayReport) -> str:
    """A readable account: one line per change of state and per alert, then the summary."""
    head = f"{report.video}: {report.frames} frames at {report.fps:g} fps; baseline: {report.baseline_from}"
    if report.baseline is not None:
        steady = report.baseline.steadiness
        head += (f" (steady within ±{max(steady.neck_deg, steady.shoulder_deg):.1f}° and ±{100 * steady.width:.1f} % "
                 f"of the shoulder width; limits ±{CALIBRATION_MAX_ANGLE_WOBBLE_DEG:g}°, "
                 f"±{100 * CALIBRATION_MAX_WIDTH_WOBBLE:g} %)")
    lines = [head]
    alerts = {a.t: a for a in report.alerts}
    notes = list(report.notes)
    previous = None
    for s in report.samples:
        while notes and notes[0].t <= s.t:
            lines.append(f"{notes[0].t:7.1f} s  note: {notes.pop(0).text}")
        d, a = s.decision, s.assessment
        if d.state != previous:
            detail = ""
            if d.state == "slouching" and a.neck_angle_deg is not None and a.shoulder_angle_deg is not None:
                angles = f"neck {round(a.neck_angle_deg)}°, shoulders {round(a.shoulder_angle_deg)}°"
                detail = f"  {', '.join(d.faults)}  ({angles})"
            elif a.reason and d.state in ("away", "uncertain"):
                detail = f"  ({a.reason})"
            lines.append(f"{s.t:7.1f} s  {d.state}{detail}")
            previous = d.state
        if s.t in alerts:
            lines.append(f"{s.t:7.1f} s  ALERT  {alerts[s.t].title}: {alerts[s.t].body}")
    lines.extend(f"{n.t:7.1f} s  note: {n.text}" for n in notes)
    summ = summary(report)
    states = ", ".join(f"{k} {v:.1f} s" for k, v in summ["seconds_by_state"].items() if v > 0)
    lines.append(f"summary: {states}; {summ['alerts']} alert(s)")
    return "\n".join(lines)
