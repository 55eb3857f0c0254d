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

from .baseline import Baseline
from .metrics import BodyMetrics

FAULTS = ("head_drop", "forward_head", "shoulders_raised", "side_lean", "too_close")

# Floors of the enter thresholds, at sensitivity 1.
NECK_DROP_FLOOR = 0.08  # share of the upright neck gap lost (~ a 12-15 degree hunch on the rendered clips)
HEAD_FORWARD_FLOOR = 0.10  # growth of ear width relative to shoulder width
SHOULDER_RISE_FLOOR = 0.05  # shoulder widths the shoulders rose by, more than the ears did
SIDE_LEAN_FLOOR_DEG = 8.0
TOO_CLOSE_FLOOR = 0.18  # growth of the ear-to-ear width: the head came ~15 % nearer the screen
NOISE_SPREADS = 3.0

# Gates: when a sample cannot be trusted, or is somebody else.
MIN_VISIBILITY = 0.5
MAX_FACE_TURN_DEG = 25.0
DARK_MEAN = 20.0  # grey level below which a frame is too dark (FINDINGS: ~9 gives no detection; dim rooms ~35)
BLANK_STD = 8.0  # a closed privacy shutter or covered lens is nearly uniform
MAX_OFFSET_WIDTHS = 1.0  # how far (in shoulder widths) from the calibrated spot the user may sit, sideways
MAX_RISE_WIDTHS = 0.8  # ... and up (a standing passer-by's shoulders are far higher than a sitter's)
SCALE_RANGE = (0.7, 1.6)  # shoulder width relative to the baseline's; a passer-by behind measured 0.6

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
    if mean < DARK_MEAN or std < BLANK_STD:
        # Even when the tracker still returns a pose in the dark, it is guesswork (it drifted by up to five
        # thresholds on the dark sample clip).
        return Assessment("uncertain", "too dark or camera covered")
    if metrics is None:
        if people:
            return Assessment("uncertain", "ears or shoulders not measurable")
        return Assessment("absent", "nobody in view")
    width0 = baseline.mean("shoulder_width")
    scale = metrics.shoulder_width / width0
    if (
        abs(metrics.center_x - baseline.mean("center_x")) > MAX_OFFSET_WIDTHS * width0
        or baseline.mean("shoulder_y") - metrics.shoulder_y > MAX_RISE_WIDTHS * width0
        or not SCALE_RANGE[0] <= scale <= SCALE_RANGE[1]
    ):
        return Assessment("absent", "nobody at the calibrated spot")
    if metrics.visibility < MIN_VISIBILITY:
        return Assessment("uncertain", "ears or shoulders hidden")
    if metrics.face_turn_deg > MAX_FACE_TURN_DEG:
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
        "head_drop": NECK_DROP_FLOOR,
        "forward_head": HEAD_FORWARD_FLOOR,
        "shoulders_raised": SHOULDER_RISE_FLOOR,
        "side_lean": SIDE_LEAN_FLOOR_DEG,
        "too_close": TOO_CLOSE_FLOOR,
    }
    return {name: max(floors[name], NOISE_SPREADS * noise[name]) / sensitivity for name in FAULTS}
