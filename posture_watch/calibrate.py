"""Calibration: a few seconds of the user sitting upright become the baseline every later sample is judged by."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from .baseline import Baseline, build_baseline
from .metrics import measure
from .monitor import Observation, observe
from .pose import PoseEstimator, main_person
from .sources import Frame


def collect(frames: Iterable[Frame], estimator: PoseEstimator, seconds: float,
            on_progress: Callable[[float], None] | None = None) -> list[Observation]:
    """Observe frames until `seconds` have passed since the first one (the source's own clock)."""
    observations: list[Observation] = []
    start: float | None = None
    for frame in frames:
        start = frame.t if start is None else start
        if frame.t - start >= seconds:
            break
        observations.append(observe(estimator, frame))
        if on_progress is not None:
            on_progress(frame.t - start)
    return observations


def baseline_from(observations: list[Observation], camera: str, resolution: tuple[int, int]) -> Baseline:
    """The baseline of the observed person; raises PostureWatchError saying what to do if they were not fit."""
    samples = []
    for obs in observations:
        person = main_person(obs.poses)
        samples.append(measure(person) if person is not None else None)
    created = datetime.now(UTC).isoformat(timespec="seconds")
    return build_baseline(samples, camera, resolution, created)
