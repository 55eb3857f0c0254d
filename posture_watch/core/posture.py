"""One sample judged against the upright baseline. Pure: no clock, no I/O.

Every fault has a deviation measured relative to the baseline and an enter threshold: the larger of a fixed
floor (what a person would call a real change) and three baseline spreads (what is only measurement noise),
divided by the user's sensitivity. A fault's score is deviation / threshold, so 1.0 means "just bad enough";
the alert policy adds hysteresis and time on top.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from . import thresholds as th
from .baseline import Baseline
from .metrics import BodyMetrics

FAULTS = ("head_drop", "forward_head", "shoulders_raised", "side_lean", "too_close")
DARK = "too dark or camera covered"  # the reason the watcher watches for a covered lens

Kind = Literal["measured", "absent", "uncertain"]


@dataclass(frozen=True)
class Assessment:
    kind: Kind
    reason: str = ""  # why a sample is absent or uncertain
    scores: dict[str, float] = field(default_factory=dict)  # fault -> deviation / enter threshold
    deviations: dict[str, float] = field(default_factory=dict)
    neck_angle_deg: float | None = None
    shoulder_angle_deg: float | None = None

    @property
    def severity(self) -> float:
        return max(self.scores.values(), default=0.0)

    def faults_over(self, level: float) -> list[str]:
        """Fault names scoring at least `level`, worst first."""
        ranked = sorted(self.scores.items(), key=lambda kv: -kv[1])
        return [name for name, score in ranked if score >= level]


def assess(metrics: BodyMetrics | None, people: int, brightness: tuple[float, float], baseline: Baseline,
           sensitivity: float = 1.0) -> Assessment:
    """Judge one sample. `people` is how many poses the model found (0 with metrics None means nobody)."""
    mean, std = brightness
    if mean < th.DARK_MEAN or std < th.BLANK_STD:
        # Even when the tracker still returns a pose in the dark, it is guesswork (it drifted by up to five
        # thresholds on the dark sample clip).
        return Assessment("uncertain", DARK)
    if metrics is None:
        if people:
            return Assessment("uncertain", "ears or shoulders not measurable")
        return Assessment("absent", "nobody in view")
    width0 = baseline.mean("shoulder_width")
    scale = metrics.shoulder_width / width0
    if (
        abs(metrics.center_x - baseline.mean("center_x")) > th.MAX_OFFSET_WIDTHS * width0
        or baseline.mean("shoulder_y") - metrics.shoulder_y > th.MAX_RISE_WIDTHS * width0
        or not th.SCALE_RANGE[0] <= scale <= th.SCALE_RANGE[1]
    ):
        return Assessment("absent", "nobody at the calibrated spot")
    if metrics.visibility < th.MIN_VISIBILITY:
        return Assessment("uncertain", "ears or shoulders hidden")
    if metrics.face_turn_deg > th.MAX_FACE_TURN_DEG:
        return Assessment("uncertain", "face turned away")

    deviations = _deviations(metrics, baseline)
    thresholds = _thresholds(baseline, sensitivity)
    scores = {name: max(0.0, deviations[name]) / thresholds[name] for name in FAULTS}
    return Assessment(
        "measured",
        scores=scores,
        deviations=deviations,
        neck_angle_deg=neck_angle_deg(metrics, baseline),
        shoulder_angle_deg=math.degrees(math.asin(max(-1.0, min(1.0, 2 * deviations["shoulders_raised"])))),
    )


def neck_angle_deg(m: BodyMetrics, b: Baseline) -> float:
    """Forward tilt of the shoulder-to-ear chain, in degrees from the calibrated upright posture.

    When the head comes forward by d relative to the shoulders, it gets nearer the camera than they are, so the
    ear width grows relative to the shoulder width: m = head_ratio / upright head_ratio = Zs / Zh, and
    d = Zs * (1 - 1/m), with Zs the shoulders' distance (`camera_distance`, in shoulder widths). The chain's
    height is what the image shows of it, the neck gap. The angle is atan(d / neck gap).

    This beats arccos(gap / upright gap): at a desk the shoulders come forward too, which shrinks the gap far
    more than the tilt alone (33 % for a true 21° on the rendered clips), and the cosine is blind near upright.
    """
    forward = m.camera_distance * (1.0 - b.mean("head_ratio") / m.head_ratio)
    return math.degrees(math.atan2(forward, max(m.neck_gap, 1e-6)))


def _deviations(m: BodyMetrics, b: Baseline) -> dict[str, float]:
    width0 = b.mean("shoulder_width")
    shoulder_rise = (b.mean("shoulder_y") - m.shoulder_y) / width0
    ear_rise = (b.mean("ear_y") - m.ear_y) / width0
    return {
        "head_drop": 1.0 - m.neck_gap / b.mean("neck_gap"),
        "forward_head": m.head_ratio / b.mean("head_ratio") - 1.0,
        # Sitting up taller lifts ears and shoulders together: only the part the ears did not share is a shrug.
        "shoulders_raised": shoulder_rise - max(0.0, ear_rise),
        "side_lean": max(abs(m.shoulder_tilt_deg - b.mean("shoulder_tilt_deg")),
                         abs(m.head_roll_deg - b.mean("head_roll_deg"))),
        "too_close": m.ear_width / b.mean("ear_width") - 1.0,
    }


def _thresholds(b: Baseline, sensitivity: float) -> dict[str, float]:
    width0 = b.mean("shoulder_width")
    noise = {
        "head_drop": b.sd("neck_gap") / b.mean("neck_gap"),
        "forward_head": b.sd("head_ratio") / b.mean("head_ratio"),
        "shoulders_raised": b.sd("shoulder_y") / width0,
        "side_lean": max(b.sd("shoulder_tilt_deg"), b.sd("head_roll_deg")),
        "too_close": b.sd("ear_width") / b.mean("ear_width"),
    }
    floors = {
        "head_drop": th.NECK_DROP_FLOOR,
        "forward_head": th.HEAD_FORWARD_FLOOR,
        "shoulders_raised": th.SHOULDER_RISE_FLOOR,
        "side_lean": th.SIDE_LEAN_FLOOR_DEG,
        "too_close": th.TOO_CLOSE_FLOOR,
    }
    return {name: max(floors[name], th.NOISE_SPREADS * noise[name]) / sensitivity for name in FAULTS}
