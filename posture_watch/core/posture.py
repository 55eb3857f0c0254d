"""One sample judged against the upright baseline. Pure: no clock, no I/O.

First the gates: a sample that cannot be trusted (too dark, landmarks hidden, face turned away) or that shows
ordinary movement rather than posture (arms raised in a stretch, a hand at the face, the torso turned to talk) is
`uncertain` with its reason; somebody who is not where the user calibrated (a colleague walking past, the user
standing up) is `absent`. Then the faults: each has a deviation from the baseline and an enter threshold, the
larger of a fixed floor (what a person would call a real change) and three calibration spreads (what is only
measurement noise), divided by the user's sensitivity. A fault's score is deviation / threshold, so 1.0 means
"just bad enough"; the alert policy adds hysteresis and time on top.

The neck and shoulder faults are the learned angles of `angles.py`, in degrees: the neck's forward flexion is
named a dropping head or a head pushed forward by which of the two the picture shows more of. A head that grew
markedly in the picture relative to the shoulders is pushed forward whatever the angle says (the model sees half
of a forward head on some cameras).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from . import thresholds as th
from .angles import AngleModel
from .baseline import NECK_ANGLE, SHOULDER_ANGLE, Baseline
from .metrics import BodyMetrics

FAULTS = ("head_drop", "forward_head", "shoulders_raised", "side_lean", "too_close")
DARK = "too dark or camera covered"  # the reason the watcher watches for a covered lens

# "moving": ordinary movement (a stretch, a hand at the face, turning, reaching, rising from the chair): posture says
# nothing then, and a slouch before it is over.
Kind = Literal["measured", "absent", "uncertain", "moving"]


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
           angles: AngleModel, sensitivity: float = 1.0) -> Assessment:
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
    gate = _gate(metrics, baseline)
    if gate is not None:
        return gate

    neck, shoulder = angles.angles(metrics, baseline)
    head_growth = metrics.head_ratio / baseline.mean("head_ratio") - 1.0
    ears_lower = (metrics.ear_y - baseline.mean("ear_y")) / baseline.mean("shoulder_width")
    deviations = {
        "neck": neck,
        "head_growth": head_growth,
        "shoulders_raised": shoulder,
        "side_lean": max(abs(metrics.shoulder_tilt_deg - baseline.mean("shoulder_tilt_deg")),
                         abs(metrics.head_roll_deg - baseline.mean("head_roll_deg"))),
        "too_close": metrics.ear_width / baseline.mean("ear_width") - 1.0,
    }
    thresholds = _thresholds(baseline, sensitivity)
    score = {name: max(0.0, value) / thresholds[name] for name, value in deviations.items()}
    pushed = head_growth >= th.FORWARD_HEAD_SHARE * ears_lower
    scores = {
        "head_drop": 0.0 if pushed else score["neck"],
        "forward_head": max(score["head_growth"], score["neck"] if pushed else 0.0),
        **{name: score[name] for name in ("shoulders_raised", "side_lean", "too_close")},
    }
    return Assessment("measured", scores=scores, deviations=deviations, neck_angle_deg=neck,
                      shoulder_angle_deg=shoulder)


def _gate(m: BodyMetrics, b: Baseline) -> Assessment | None:
    """Why this sample says nothing about posture, if it does not."""
    width0 = b.mean("shoulder_width")
    scale = m.shoulder_width / width0
    if (abs(m.center_x - b.mean("center_x")) > th.MAX_OFFSET_WIDTHS * width0
            or b.mean("shoulder_y") - m.shoulder_y > th.MAX_RISE_WIDTHS * width0
            or not th.SCALE_RANGE[0] <= scale <= th.SCALE_RANGE[1]):
        return Assessment("absent", "nobody at the calibrated spot")
    if m.visibility < th.MIN_VISIBILITY:
        return Assessment("uncertain", "ears or shoulders hidden")
    if abs(m.face_turn_deg - b.mean("face_turn_deg")) > th.MAX_FACE_TURN_DEG:
        return Assessment("uncertain", "face turned away")
    if abs(m.torso_turn_deg - b.mean("torso_turn_deg")) > th.MAX_TORSO_TURN_DEG:
        return Assessment("moving", "turned away (talking to someone?)")
    if m.arms_raised > th.STRETCH_WIDTHS:
        return Assessment("moving", "arms raised (stretching)")
    if m.arms_raised > th.HAND_UP_WIDTHS:
        return Assessment("moving", "a hand raised (drinking, a chin on the hand?)")
    if m.elbow_out > th.REACH_WIDTHS:
        return Assessment("moving", "reaching for something")
    rise = min(b.mean("ear_y") - m.ear_y, b.mean("shoulder_y") - m.shoulder_y) / width0
    if rise > th.STANDING_RISE_WIDTHS:
        return Assessment("moving", "standing up or sitting down")
    return None


def _thresholds(b: Baseline, sensitivity: float) -> dict[str, float]:
    noise = {
        "neck": max(th.NECK_FLOOR_DEG, th.NOISE_SPREADS * b.sd(NECK_ANGLE)),
        "head_growth": max(th.HEAD_GROWTH_FLOOR, th.NOISE_SPREADS * b.sd("head_ratio") / b.mean("head_ratio")),
        "shoulders_raised": max(th.SHOULDER_FLOOR_DEG, th.NOISE_SPREADS * b.sd(SHOULDER_ANGLE)),
        "side_lean": max(th.SIDE_LEAN_FLOOR_DEG, th.NOISE_SPREADS * max(b.sd("shoulder_tilt_deg"),
                                                                          b.sd("head_roll_deg"))),
        "too_close": max(th.TOO_CLOSE_FLOOR, th.NOISE_SPREADS * b.sd("ear_width") / b.mean("ear_width")),
    }
    return {name: limit / sensitivity for name, limit in noise.items()}
