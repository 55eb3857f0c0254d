"""What the core is given: the people a pose model found in one picture, in pixels, and how bright it was.

The core owns these types; the pose-model adapter (posture_watch.pose) converts MediaPipe's output into them, so
nothing here depends on the model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Landmark indices of the BlazePose topology (33 points) that a frontal desk camera sees reliably.
NOSE, LEFT_EYE, RIGHT_EYE, LEFT_EAR, RIGHT_EAR = 0, 2, 5, 7, 8
LEFT_SHOULDER, RIGHT_SHOULDER, LEFT_ELBOW, RIGHT_ELBOW, LEFT_WRIST, RIGHT_WRIST = 11, 12, 13, 14, 15, 16
LANDMARK_COUNT = 33


@dataclass(frozen=True)
class Pose:
    """One person: `xy` is (33, 2) in pixels, `visibility` is (33,) in 0..1, in a picture of `image_size` (width,
    height) pixels. `world` is (33, 3): the model's estimate of the same landmarks in metres around the hips, axes
    as the camera's (x right, y down, z away from the camera); None when the model gives none. `presence` is (33,)
    in 0..1: how likely each landmark is in the picture at all; None when the model gives none. (MediaPipe smooths
    visibility over the frames it has seen, not over time, and presence not at all: at one sample every 1.5 s, a
    raised arm's visibility takes a dozen samples to rise, its presence one.)"""

    xy: np.ndarray
    visibility: np.ndarray
    image_size: tuple[int, int]
    world: np.ndarray | None = None
    presence: np.ndarray | None = None

    @property
    def shoulder_width(self) -> float:
        return float(np.linalg.norm(self.xy[LEFT_SHOULDER] - self.xy[RIGHT_SHOULDER]))

    @property
    def shoulder_mid(self) -> np.ndarray:
        return (self.xy[LEFT_SHOULDER] + self.xy[RIGHT_SHOULDER]) / 2


@dataclass(frozen=True)
class Observation:
    """What the camera showed at one instant, reduced to what the core needs (the picture itself is gone).

    `t` is seconds on the caller's timeline (clip time for files); `brightness` is the grey level's mean and
    standard deviation."""

    t: float
    frame_index: int
    poses: tuple[Pose, ...]
    brightness: tuple[float, float]


def main_person(poses: tuple[Pose, ...] | list[Pose], expected_x: float | None = None) -> Pose | None:
    """The user among the people found: the widest shoulders (the closest person), and when a calibrated
    position is known, the one nearest to it among those at least half as wide."""
    if not poses:
        return None
    widest = max(p.shoulder_width for p in poses)
    candidates = [p for p in poses if p.shoulder_width >= 0.5 * widest]
    if expected_x is None:
        return max(candidates, key=lambda p: p.shoulder_width)
    return min(candidates, key=lambda p: abs(float(p.shoulder_mid[0]) - expected_x))
