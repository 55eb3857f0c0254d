"""The upright baseline: each metric's mean and spread while the user sat upright, and the rules a calibration
must pass to become one. Pure: the file that holds it is read and written by `posture_watch.store`.

Document format (calibration/README.md): {"schema": 2, "created": ISO time, "camera": str, "resolution": [w, h],
"pose_model_sha256": hex (optional), "samples": n, "metrics": {name: {"mean": float, "sd": float}, ...}} with one
entry per `BodyMetrics` field and two for the angles: their spread while calibrating is how steady the calibration
was.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..errors import PostureWatchError
from . import thresholds as th
from .landmarks import Observation, main_person
from .metrics import BodyMetrics, measure

if TYPE_CHECKING:
    from .angles import AngleModel

SCHEMA = 2  # 2: metrics for the learned angles (world landmarks, heights from the image centre, arms)
METRIC_NAMES = tuple(f.name for f in fields(BodyMetrics))
NECK_ANGLE, SHOULDER_ANGLE = "neck_angle_deg", "shoulder_angle_deg"
STAT_NAMES = (*METRIC_NAMES, NECK_ANGLE, SHOULDER_ANGLE)
SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class MetricStats:
    mean: float
    sd: float


@dataclass(frozen=True)
class Steadiness:
    """How much the calibration wobbled: the spread of the neck angle, the shoulder angle (degrees) and the
    shoulder width (share of its mean) after a moving average over CALIBRATION_SMOOTHING samples. Frame-to-frame
    jitter (a dim room, a noisy sensor) averages out; a movement (a hunch starting, leaning in) does not."""

    neck_deg: float
    shoulder_deg: float
    width: float

    def problem(self) -> str | None:
        """Why a calibration this unsteady is no baseline to judge by, or None."""
        if max(self.neck_deg, self.shoulder_deg) > th.CALIBRATION_MAX_ANGLE_WOBBLE_DEG:
            return (f"your posture wobbled by ±{max(self.neck_deg, self.shoulder_deg):.1f}° while measuring (at "
                    f"most ±{th.CALIBRATION_MAX_ANGLE_WOBBLE_DEG:g}° makes a reliable baseline)")
        if self.width > th.CALIBRATION_MAX_WIDTH_WOBBLE:
            return (f"you moved toward or away from the camera while measuring (by ±{100 * self.width:.1f}%, at "
                    f"most ±{100 * th.CALIBRATION_MAX_WIDTH_WOBBLE:g}%)")
        return None


@dataclass(frozen=True)
class Baseline:
    stats: dict[str, MetricStats]
    camera: str
    resolution: tuple[int, int]
    samples: int
    created: str
    steadiness: Steadiness
    # The sha256 of the pose model bundle whose landmarks these are: pose models place them differently enough to
    # need a calibration of their own. "" when not recorded (a file from before this field).
    pose_model: str = ""

    def mean(self, name: str) -> float:
        return self.stats[name].mean

    def sd(self, name: str) -> float:
        return self.stats[name].sd


class CalibrationRefused(PostureWatchError):
    """The calibration frames do not show one person sitting still and facing the camera; says what to change."""


def build_baseline(samples: list[BodyMetrics | None], camera: str, resolution: tuple[int, int], created: str,
                   angles: AngleModel) -> Baseline:
    """A baseline from the samples taken while the user sat upright (None: nobody measurable in that frame);
    raises CalibrationRefused with what to do differently."""
    baseline = measure_baseline(samples, camera, resolution, created, angles)
    problem = unsteady(baseline)
    if problem is not None:
        raise CalibrationRefused(f"calibration failed: {problem}; sit still and upright, and try again")
    return baseline


def unsteady(baseline: Baseline) -> str | None:
    """Why the person moved too much while calibrating, or None."""
    width = baseline.mean("shoulder_width")
    if (baseline.sd("neck_gap") > th.CALIBRATION_MAX_NECK_GAP_SD
            or baseline.sd("center_x") > th.CALIBRATION_MAX_SHIFT_SD * width):
        return "you moved too much"
    tilt = baseline.sd("head_roll_deg")
    if tilt > th.CALIBRATION_MAX_HEAD_TILT_SD_DEG:
        return (f"you leaned or tilted your head sideways while measuring (by ±{tilt:.1f}°, at most "
                f"±{th.CALIBRATION_MAX_HEAD_TILT_SD_DEG:g}°)")
    return baseline.steadiness.problem()


def measure_baseline(samples: list[BodyMetrics | None], camera: str, resolution: tuple[int, int], created: str,
                     angles: AngleModel) -> Baseline:
    """The calibration's statistics and steadiness, judged only on whether a person sat facing the camera
    (raises CalibrationRefused if not); `build_baseline` also refuses an unsteady one."""
    seen = [m for m in samples if m is not None]
    if not samples:
        raise CalibrationRefused("calibration failed: no frame was captured; check the camera and try again")
    if len(samples) < th.CALIBRATION_MIN_SAMPLES:
        raise CalibrationRefused(f"calibration failed: only {len(samples)} frame(s) arrived, at least "
                                 f"{th.CALIBRATION_MIN_SAMPLES} are needed; check the camera and try again")
    if len(seen) < th.CALIBRATION_MIN_SEEN * len(samples):
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
    if abs(statistics.median(m.face_turn_deg for m in seen)) > th.CALIBRATION_MAX_FACE_TURN_DEG:
        raise CalibrationRefused("calibration failed: your face was turned away; look at the screen and try again")
    stats = {
        name: MetricStats(statistics.fmean(values), statistics.pstdev(values))
        for name in METRIC_NAMES
        for values in [[float(getattr(m, name)) for m in seen]]
    }
    if not (stats["ear_y"].mean < stats["shoulder_y"].mean and stats["neck_gap"].mean >= _PLAUSIBLE["neck_gap"][0]):
        # What no upright sitter shows (and what a baseline document may not hold): the angles measure from this.
        raise CalibrationRefused("calibration failed: your ears were not above your shoulders in the picture; sit "
                                 "upright with your head and shoulders in view, and try again")
    width = stats["shoulder_width"].mean
    # The angles of every calibration frame against the calibration itself: their spread is how steady it was.
    provisional = Baseline(stats, camera, resolution, len(seen), created, Steadiness(0.0, 0.0, 0.0))
    measured = [angles.angles(m, provisional) for m in seen]
    necks, shoulders = [n for n, _ in measured], [s for _, s in measured]
    for name, values in ((NECK_ANGLE, necks), (SHOULDER_ANGLE, shoulders)):
        stats[name] = MetricStats(statistics.fmean(values), statistics.pstdev(values))
    steadiness = Steadiness(_wobble(necks), _wobble(shoulders), _wobble([m.shoulder_width / width for m in seen]))
    return Baseline(stats, camera, resolution, len(seen), created, steadiness)


def _wobble(values: list[float]) -> float:
    """The spread of `values` after a moving average (all of them when there are fewer)."""
    k = min(th.CALIBRATION_SMOOTHING, len(values))
    averaged = [statistics.fmean(values[i:i + k]) for i in range(len(values) - k + 1)]
    return statistics.pstdev(averaged) if len(averaged) > 1 else 0.0


def baseline_from_observations(observations: Iterable[Observation], camera: str, resolution: tuple[int, int],
                               created: str, angles: AngleModel) -> Baseline:
    """The baseline of the person observed (the main person of each frame)."""
    samples = []
    for obs in observations:
        person = main_person(obs.poses)
        samples.append(measure(person) if person is not None else None)
    return build_baseline(samples, camera, resolution, created, angles)


def to_document(baseline: Baseline) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "created": baseline.created,
        "camera": baseline.camera,
        "resolution": list(baseline.resolution),
        **({"pose_model_sha256": baseline.pose_model} if baseline.pose_model else {}),
        "samples": baseline.samples,
        "steadiness": {"neck_deg": baseline.steadiness.neck_deg, "shoulder_deg": baseline.steadiness.shoulder_deg,
                       "width": baseline.steadiness.width},
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
    "face_turn_deg": (-90.0, 90.0),
    "nose_drop": (-3.0, 3.0),
    "world_neck_deg": (-180.0, 180.0),
    "world_neck_length": (0.0, 5.0),
    "world_head_forward": (-5.0, 5.0),
    "torso_turn_deg": (-180.0, 180.0),
    "arms_raised": (-10.0, 10.0),
    "elbow_out": (0.0, 10.0),
    "visibility": (0.0, 1.0),
    NECK_ANGLE: (-90.0, 90.0),
    SHOULDER_ANGLE: (-90.0, 90.0),
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
                 for name in STAT_NAMES}
        width, height = (_count(v) for v in doc["resolution"])
        samples = _count(doc["samples"])
        steady = doc["steadiness"]
        steadiness = Steadiness(_number(steady["neck_deg"]), _number(steady["shoulder_deg"]),
                                _number(steady["width"]))
        camera, created = doc["camera"], doc["created"]
        pose_model = doc.get("pose_model_sha256", "")  # optional: added within schema 2
        if not isinstance(camera, str) or not isinstance(created, str) or not isinstance(pose_model, str):
            raise TypeError
        datetime.fromisoformat(created)
        if pose_model and not SHA256.fullmatch(pose_model):
            raise ValueError
    except (KeyError, TypeError, ValueError):
        raise InvalidBaseline("is missing fields or has wrong values") from None
    problems = _implausible(stats, width, height, samples)
    if min(steadiness.neck_deg, steadiness.shoulder_deg, steadiness.width) < 0 or steadiness.problem():
        problems.append("a steadiness no calibration would have passed")
    if problems:
        raise InvalidBaseline(f"holds impossible values ({'; '.join(problems)})")
    return Baseline(stats, camera, (width, height), samples, created, steadiness, pose_model)


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
              "ear_y": (-height, height),  # from the image centre
              "shoulder_y": (-height, height)}
    for name, (low, high) in ranges.items():
        s = stats[name]
        if not low <= s.mean <= high:
            problems.append(f"{name} {s.mean:g}")
        if not 0 <= s.sd <= (high - low) / 2:
            problems.append(f"{name} spread {s.sd:g}")
    # The ears sit above the shoulders in every calibration (the neck gap says so too); the angle model divides by
    # the height between them.
    ear_y, shoulder_y = stats["ear_y"].mean, stats["shoulder_y"].mean
    if not ear_y < shoulder_y:
        problems.append(f"ears at or below the shoulders: ear_y {ear_y:g}, shoulder_y {shoulder_y:g}")
    # What a calibration refuses ("you moved too much") cannot come from one either. (The head tilt's limit came
    # later and applies to new calibrations only: a baseline saved before it keeps working.)
    if stats["neck_gap"].sd > th.CALIBRATION_MAX_NECK_GAP_SD:
        problems.append(f"neck_gap spread {stats['neck_gap'].sd:g}")
    if stats["center_x"].sd > th.CALIBRATION_MAX_SHIFT_SD * stats["shoulder_width"].mean:
        problems.append(f"center_x spread {stats['center_x'].sd:g}")
    return list(dict.fromkeys(problems))  # each problem once
