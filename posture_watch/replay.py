"""Replay a recorded clip through the same pipeline as the webcam, every frame, and report what it saw.

The JSON report is a contract other tools rely on (README, "replay --json"):
{"video", "fps", "frames", "samples": [{"t", "state", "neck_angle_deg", "shoulder_angle_deg", "faults", ...}],
 "alerts": [{"t", "faults", "title", "body"}], "summary": {...}}
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .baseline import Baseline
from .calibrate import baseline_from
from .errors import PostureWatchError
from .monitor import Monitor, Observation, Sample, observe
from .notify import Notifier
from .policy import AlertPolicy, PolicySettings
from .pose import PoseEstimator
from .sources import VideoFileSource


@dataclass(frozen=True)
class ReplayReport:
    video: str
    fps: float
    frames: int
    baseline_from: str
    samples: list[Sample]


def replay(path: Path, baseline: Baseline | float, estimator: PoseEstimator, settings: PolicySettings,
           sensitivity: float = 1.0, notifier: Notifier | None = None,
           on_progress: Callable[[int, int], None] | None = None) -> ReplayReport:
    """Replay `path`. `baseline` is a loaded baseline, or a number of seconds at the clip's start to calibrate on
    (those frames are then judged like the rest, against the baseline they produced)."""
    source = VideoFileSource(path)
    try:
        monitor: Monitor | None = None
        pending: list[Observation] = []
        samples: list[Sample] = []
        if isinstance(baseline, Baseline):
            monitor = Monitor(estimator, baseline, AlertPolicy(settings), notifier, sensitivity)
        for frame in source:
            obs = observe(estimator, frame)
            if monitor is None:
                assert isinstance(baseline, float)
                if frame.t < baseline:
                    pending.append(obs)
                    continue
                calibrated = baseline_from(pending, str(path), source.size)
                monitor = Monitor(estimator, calibrated, AlertPolicy(settings), notifier, sensitivity)
                samples.extend(monitor.judge(p) for p in pending)
            samples.append(monitor.judge(obs))
            if on_progress is not None:
                on_progress(source.frames_read, source.frame_count)
        if source.frames_read == 0:
            raise PostureWatchError(f"{path}: no frames could be decoded (corrupt or empty video)")
        if monitor is None:
            raise PostureWatchError(f"{path}: the clip is shorter than the {baseline} s asked for calibration")
    finally:
        source.close()
    described = f"first {baseline:g} s of the clip" if isinstance(baseline, float) else "baseline file"
    return ReplayReport(str(path), source.fps, source.frames_read, described, samples)


def _num(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def to_json(report: ReplayReport) -> dict[str, Any]:
    samples = []
    alerts = []
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
        if s.message is not None:
            alerts.append({"t": round(s.t, 3), "faults": list(s.message.alert.faults), "title": s.message.title,
                           "body": s.message.body, "nth": s.message.alert.nth})
    return {"video": report.video, "fps": round(report.fps, 3), "frames": report.frames, "samples": samples,
            "alerts": alerts, "summary": summary(report)}


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
        "alerts": sum(s.message is not None for s in report.samples),
        "max_neck_angle_deg": round(max(angles), 1) if angles else None,
    }


def timeline_text(report: ReplayReport) -> str:
    """A readable account: one line per change of state and per alert, then the summary."""
    head = f"{report.video}: {report.frames} frames at {report.fps:g} fps; baseline: {report.baseline_from}"
    lines = [head]
    previous = None
    for s in report.samples:
        d, a = s.decision, s.assessment
        key = d.state
        if key != previous:
            detail = ""
            if d.state == "slouching" and a.neck_angle_deg is not None and a.shoulder_angle_deg is not None:
                angles = f"neck {round(a.neck_angle_deg)}°, shoulders {round(a.shoulder_angle_deg)}°"
                detail = f"  {', '.join(d.faults)}  ({angles})"
            elif a.reason and d.state in ("away", "uncertain"):
                detail = f"  ({a.reason})"
            lines.append(f"{s.t:7.1f} s  {d.state}{detail}")
            previous = key
        if s.message is not None:
            lines.append(f"{s.t:7.1f} s  ALERT  {s.message.title}: {s.message.body}")
    summ = summary(report)
    states = ", ".join(f"{k} {v:.1f} s" for k, v in summ["seconds_by_state"].items() if v > 0)
    lines.append(f"summary: {states}; {summ['alerts']} alert(s)")
    return "\n".join(lines)
