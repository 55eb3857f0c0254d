"""The upright baseline: each metric's mean and spread while the user sat upright, and the rules a calibration
must pass to become one. Pure: the file that holds it is read and written by `posture_watch.store`.

Document format (calibration/README.md): {"schema": 1, "created": ISO time, "camera": str, "resolution": [w, h],
"samples": n, "metrics": {name: {"mean": float, "sd": float}, ...}} with one entry per `BodyMetrics` field.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from ..errors import PostureWatchError
from . import thresholds as th
from .landmarks import Observation, main_person
from .metrics import BodyMetrics, measure

SCHEMA = 1
METRIC_NAMES = tuple(f.name for f in fields(BodyMetrics))


@dataclass(frozen=True)
class MetricStats:
    mean: float
    sd: float


@dataclass(frozen=True)
class Baseline:
    stats: dict[str, MetricStats]
    camera: str
    resolution: tuple[int, int]
    samples: int
    created: str

    def mean(self, name: str) -> float:
        return self.stats[name].mean

    def sd(self, name: str) -> float:
        return self.stats[name].sd


class CalibrationRefused(PostureWatchError):
    """The calibration frames do not show one person sitting still and facing the camera; says what to change."""


def build_baseline(samples: list[BodyMetrics | None], camera: str, resolution: tuple[int, int],
                   created: str) -> Baseline:
    """A baseline from the samples taken while the user sat upright (None: nobody measurable in that frame);
    raises CalibrationRefused with what to do differently."""
    seen = [m for m in samples if m is not None]
    if not samples:
        raise CalibrationRefused("calibration failed: no frame was captured; check the camera and try again")
    if len(samples) < th.CALIBRATION_MIN_SAMPLES:
        raise CalibrationRefused(f"calibration failed: only {len(samples)} frame(s) arrived, at least "
                                 f"{th.CALIBRATION_MIN_SAMPLES} are needed; check the camera and try again")
    if len(seen) < th.CALIBRATION_MIN_SEEN * len(samples) or len(seen) < th.CALIBRATION_MIN_SAMPLES:
        share = 100 * len(seen) // len(samples)
        raise CalibrationRefused(
            f"calibration failed: a person was in view in only {share}% of the frames; sit in front of the "
            "camera, head and shoulders in the picture, and try again"
        )
    if statistics.fmean(m.visibility for m in seen) < th.MIN_VISIBILITY:
        raise CalibrationRefused(
            "calibration failed: ears and shoulders were hard to see; improve the light or move back so both "
            "shoulders are in the picture, and try again"
        )
    if statistics.median(m.face_turn_deg for m in seen) > th.CALIBRATION_MAX_FACE_TURN_DEG:
        raise CalibrationRefused("calibration failed: your face was turned away; look at the screen and try again")
    stats = {
        name: MetricStats(statistics.fmean(values), statistics.pstdev(values))
        for name in METRIC_NAMES
        for values in [[float(getattr(m, name)) for m in seen]]
    }
    width = stats["shoulder_width"].mean
    if (stats["neck_gap"].sd > th.CALIBRATION_MAX_NECK_GAP_SD
            or stats["center_x"].sd > th.CALIBRATION_MAX_SHIFT_SD * width):
        raise CalibrationRefused("calibration failed: you moved too much; sit still and upright, and try again")
    return Baseline(stats, camera, resolution, len(seen), created)


def baseline_from_observations(observations: Iterable[Observation], camera: str, resolution: tuple[int, int],
                               created: str) -> Baseline:
    """The baseline of the person observed (the main person of each frame)."""
    samples = []
    for obs in observations:
        person = main_person(obs.poses)
        samples.append(measure(person) if person is not None else None)
    return build_baseline(samples, camera, resolution, created)


def to_document(baseline: Baseline) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "created": baseline.created,
        "camera": baseline.camera,
        "resolution": list(baseline.resolution),
        "samples": baseline.samples,
        "metrics": {name: {"mean": s.mean, "sd": s.sd} for name, s in baseline.stats.items()},
    }


class InvalidBaseline(ValueError):
    """A baseline document that cannot be used; `str(err)` says what is wrong with it, without the file name."""


# What a person at a desk can measure as, whatever the camera: anything outside is a damaged or edited file.
# (low, high) of each metric; widths and positions are checked against the resolution instead. Values that all lie
# in [low, high] have a spread of at most (high - low) / 2, so a larger spread is impossible too.
_PLAUSIBLE = {
    "neck_gap": (0.05, 5.0),  # shoulder widths
    "head_ratio": (0.05, 3.0),
    "shoulder_tilt_deg": (-90.0, 90.0),
    "head_roll_deg": (-90.0, 90.0),
    "face_turn_deg": (0.0, 90.0),
    "camera_distance": (0.1, 100.0),
    "visibility": (0.0, 1.0),
}
MAX_SAMPLES = 10_000_000  # a week of calibration at 20 samples a second


def from_document(doc: object) -> Baseline:
    """Validate a parsed baseline document; raises InvalidBaseline saying which value is wrong."""
    found = doc.get("schema") if isinstance(doc, dict) else None
    # Not `true` or 1.0 either: a file posture-watch wrote has the integer.
    if not isinstance(doc, dict) or type(found) is not int or found != SCHEMA:
        raise InvalidBaseline(f"has format version {found!r}, this posture-watch reads version {SCHEMA}")
    try:
        metrics = doc["metrics"]
        stats = {name: MetricStats(_number(metrics[name]["mean"]), _number(metrics[name]["sd"]))
                 for name in METRIC_NAMES}
        width, height = (_count(v) for v in doc["resolution"])
        samples = _count(doc["samples"])
        camera, created = doc["camera"], doc["created"]
        if not isinstance(camera, str) or not isinstance(created, str):
            raise TypeError
        datetime.fromisoformat(created)
    except (KeyError, TypeError, ValueError):
        raise InvalidBaseline("is missing fields or has wrong values") from None
    problems = _implausible(stats, width, height, samples)
    if problems:
        raise InvalidBaseline(f"holds impossible values ({'; '.join(problems)})")
    return Baseline(stats, camera, (width, height), samples, created)


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError
    try:
        number = float(value)  # an integer too large for a float raises OverflowError
    except OverflowError:
        raise ValueError from None
    if not math.isfinite(number):
        raise ValueError
    return number


def _count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError
    return value


def _implausible(stats: dict[str, MetricStats], width: int, height: int, samples: int) -> list[str]:
    problems = []
    (min_w, min_h), (max_w, max_h) = th.MIN_FRAME_SIZE, th.MAX_FRAME_SIZE
    if not (min_w <= width <= max_w and min_h <= height <= max_h):
        return [f"resolution {width}x{height}"]  # every pixel range below depends on it
    if not 1 <= samples <= MAX_SAMPLES:
        problems.append(f"samples {samples}")
    ranges = {**_PLAUSIBLE,
              "shoulder_width": (th.MIN_SHOULDER_WIDTH_PX, 2.0 * width),
              "ear_width": (th.MIN_EAR_WIDTH_PX, 2.0 * width),
              "center_x": (-width, 2.0 * width),
              "ear_y": (-height, 2.0 * height),
              "shoulder_y": (-height, 2.0 * height)}
    for name, (low, high) in ranges.items():
        s = stats[name]
        if not low <= s.mean <= high:
            problems.append(f"{name} {s.mean:g}")
        if not 0 <= s.sd <= (high - low) / 2:
            problems.append(f"{name} spread {s.sd:g}")
    # What a calibration refuses ("you moved too much") cannot come from one either.
    if stats["neck_gap"].sd > th.CALIBRATION_MAX_NECK_GAP_SD:
        problems.append(f"neck_gap spread {stats['neck_gap'].sd:g}")
    if stats["center_x"].sd > th.CALIBRATION_MAX_SHIFT_SD * stats["shoulder_width"].mean:
        problems.append(f"center_x spread {stats['center_x'].sd:g}")
    return list(dict.fromkeys(problems))  # each problem once
