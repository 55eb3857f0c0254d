"""Synthetic input for the pure core: a frontal head-and-shoulders figure that can hunch, and assessments fed to
the alert policy on a fake clock."""

from __future__ import annotations

import numpy as np

from posture_watch.core.baseline import Baseline, build_baseline
from posture_watch.core.landmarks import LEFT_EAR, LEFT_SHOULDER, NOSE, RIGHT_EAR, RIGHT_SHOULDER, Pose
from posture_watch.core.metrics import BodyMetrics, measure
from posture_watch.core.policy import Alert, AlertPolicy
from posture_watch.core.posture import Assessment


def figure(drop: float = 0.0, shrug: float = 0.0, lean_deg: float = 0.0, closer: float = 0.0,
           turn: float = 0.0, shift_x: float = 0.0, visibility: float = 0.99, jitter: float = 0.0,
           rng: np.random.Generator | None = None, width: float = 200.0) -> Pose:
    """A person `width` px wide at the shoulders (200: the user at calibration). `drop`: head lowered by that
    share of the upright neck gap; `shrug`: shoulders raised by that many shoulder widths; `closer`: head that much
    bigger; `turn`: nose offset in ear widths; `lean_deg`: the whole upper body rolled sideways."""
    xy = np.zeros((33, 2))
    cx, sy, ws = 320.0 + shift_x, 400.0, width
    gap = 0.8 * ws
    ey = sy - gap * (1 - drop)
    we = 0.45 * ws * (1 + closer)
    xy[LEFT_SHOULDER] = (cx + ws / 2, sy - shrug * ws)
    xy[RIGHT_SHOULDER] = (cx - ws / 2, sy - shrug * ws)
    xy[LEFT_EAR] = (cx + we / 2, ey)
    xy[RIGHT_EAR] = (cx - we / 2, ey)
    xy[NOSE] = (cx + turn * we, ey + 0.1 * ws)
    if lean_deg:
        a = np.radians(lean_deg)
        rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        pivot = np.array([cx, sy + ws])
        xy = (xy - pivot) @ rot.T + pivot
    if jitter and rng is not None:
        xy += rng.normal(0, jitter, xy.shape)
    return Pose(xy, np.full(33, visibility), 640)


def metrics(**kw: float) -> BodyMetrics:
    m = measure(figure(**kw))
    assert m is not None
    return m


def upright_baseline(jitter: float = 1.0, seed: int = 0) -> Baseline:
    rng = np.random.default_rng(seed)
    samples = [measure(figure(jitter=jitter, rng=rng)) for _ in range(25)]
    return build_baseline(samples, "test", (640, 480), "2026-01-01T00:00:00+00:00")


def moved(pose: Pose, dx: float = 0.0, dy: float = 0.0) -> Pose:
    """The same pose shifted in the picture (dy < 0: up)."""
    return Pose(pose.xy + np.array([dx, dy]), pose.visibility, pose.image_width)


def bad(score: float = 2.0) -> Assessment:
    return Assessment("measured", scores={"head_drop": score, "side_lean": 0.0})


def good() -> Assessment:
    return Assessment("measured", scores={"head_drop": 0.1})


def run_policy(policy: AlertPolicy, seq: list[tuple[float, float, Assessment]], step: float = 0.1) -> list[Alert]:
    """Feed each assessment from start to end second at `step`; return the alerts raised."""
    alerts = []
    for start, end, a in seq:
        t = start
        while t < end - 1e-9:
            decision = policy.update(a, t)
            if decision.alert:
                alerts.append(decision.alert)
            t = round(t + step, 6)
    return alerts
