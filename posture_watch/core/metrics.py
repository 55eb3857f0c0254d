"""Posture measurements from one pose seen by a frontal webcam. Pure functions, no state.

Landmarks used: ears (7, 8), shoulders (11, 12), nose (0). E is the ear midpoint, S the shoulder midpoint,
Ws the shoulder width and We the ear-to-ear width, all in pixels. Image y grows downwards.

- neck_gap = (S.y - E.y) / Ws: how far the ears sit above the shoulder line, in shoulder widths. It falls when
  the head drops forward or the shoulders rise, and does not depend on the distance to the camera. Ears, not the
  nose: the nose also drops when the user merely looks down at the keyboard.
- head_ratio = We / Ws: rises when the head comes forward relative to the shoulders (the head gets nearer to the
  camera than the shoulders do); a whole-body lean toward the screen keeps it.
- shoulder_tilt_deg, head_roll_deg: the angle of the shoulder line and of the ear line (sideways lean).
- face_turn_deg: how far the face is turned sideways, from the nose's offset from E relative to We (the nose tip
  sits about 2/3 of We in front of the ear axis, so tan(turn) ~ 1.5 * offset / We).
- camera_distance: how far the shoulders are from the camera, in shoulder widths: f / Ws, with the focal length f
  in pixels of a typical webcam (62° horizontal field of view: f = 0.83 * image width).
- visibility: the lowest MediaPipe visibility of the four key landmarks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .landmarks import LEFT_EAR, LEFT_SHOULDER, NOSE, RIGHT_EAR, RIGHT_SHOULDER, Pose
from .thresholds import ASSUMED_HFOV_DEG, MIN_EAR_WIDTH_PX, MIN_SHOULDER_WIDTH_PX

FOCAL_PER_WIDTH = 0.5 / math.tan(math.radians(ASSUMED_HFOV_DEG / 2))  # focal length / image width


@dataclass(frozen=True)
class BodyMetrics:
    neck_gap: float
    head_ratio: float
    shoulder_width: float  # px
    ear_width: float  # px
    ear_y: float  # px
    shoulder_y: float  # px
    center_x: float  # px, shoulder midpoint
    shoulder_tilt_deg: float
    head_roll_deg: float
    face_turn_deg: float
    camera_distance: float
    visibility: float


def measure(pose: Pose) -> BodyMetrics | None:
    """The metrics of one pose, or None when the shoulders or ears collapse onto each other (not measurable)."""
    xy = pose.xy
    left_ear, right_ear = xy[LEFT_EAR], xy[RIGHT_EAR]
    left_sh, right_sh = xy[LEFT_SHOULDER], xy[RIGHT_SHOULDER]
    ws = float(np.linalg.norm(left_sh - right_sh))
    we = float(np.linalg.norm(left_ear - right_ear))
    if ws < MIN_SHOULDER_WIDTH_PX or we < MIN_EAR_WIDTH_PX:
        return None
    ear_mid = (left_ear + right_ear) / 2
    sh_mid = (left_sh + right_sh) / 2
    return BodyMetrics(
        neck_gap=float(sh_mid[1] - ear_mid[1]) / ws,
        head_ratio=we / ws,
        shoulder_width=ws,
        ear_width=we,
        ear_y=float(ear_mid[1]),
        shoulder_y=float(sh_mid[1]),
        center_x=float(sh_mid[0]),
        shoulder_tilt_deg=_line_angle(left_sh, right_sh),
        head_roll_deg=_line_angle(left_ear, right_ear),
        face_turn_deg=math.degrees(math.atan(1.5 * abs(float(xy[NOSE][0] - ear_mid[0])) / we)),
        camera_distance=FOCAL_PER_WIDTH * pose.image_width / ws,
        visibility=float(pose.visibility[[LEFT_EAR, RIGHT_EAR, LEFT_SHOULDER, RIGHT_SHOULDER]].min()),
    )


def _line_angle(left: np.ndarray, right: np.ndarray) -> float:
    """Angle of the line from the person's right to left landmark against the horizontal, in degrees.
    The person's left is on the image's right for a (non-mirrored) webcam."""
    return math.degrees(math.atan2(float(left[1] - right[1]), float(left[0] - right[0])))

