"""Posture measurements from one pose seen by a frontal webcam. Pure functions, no state.

E is the ear midpoint, S the shoulder midpoint, Ws the shoulder width and We the ear-to-ear width, all in pixels;
image y grows downwards. None of these assumes a field of view, a camera height or a distance: how they change
from the calibrated baseline is turned into angles by `angles.py`, whose model was fitted on many cameras.

- neck_gap = (S.y - E.y) / Ws: how far the ears sit above the shoulder line, in shoulder widths. Ears, not the
  nose: the nose also drops when the user merely looks down at the keyboard.
- head_ratio = We / Ws: rises when the head comes nearer the camera than the shoulders.
- ear_y, shoulder_y: heights of E and S measured from the image centre (the optical axis), so that the part of a
  movement that is only perspective (a point coming nearer moves away from the centre) can be undone.
- shoulder_tilt_deg, head_roll_deg: the angle of the shoulder line and of the ear line (sideways lean).
- face_turn_deg: how far the face is turned sideways as the camera sees it (positive: the nose toward the image's
  right), from the nose's offset from E relative to We (the nose tip sits about 2/3 of We in front of the ear
  axis, so tan(turn) ~ 1.5 * offset / We). A camera beside the screen sees a face looking at the screen turned.
- nose_drop = (nose.y - E.y) / Ws: how far below the ear line the nose appears; at calibration it tells how far
  above or below the eyes the camera sits (it looks down on a face from above).
- world_*: from MediaPipe's 3D estimate (metres, camera axes): the neck vector N = E - S, its forward tilt
  world_neck_deg, its length and forward reach relative to the 3D shoulder width, and how far the shoulder line is
  turned away from the camera (torso_turn_deg).
- arms_raised: how far the highest visible elbow or wrist is above the shoulder line, in shoulder widths (a
  stretch, a cup or a hand at the face); elbow_out: how far the furthest visible elbow is from the body's
  midline, in shoulder widths (an arm reaching out).
- visibility: the lowest MediaPipe visibility of the four key landmarks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .landmarks import (
    LEFT_EAR,
    LEFT_ELBOW,
    LEFT_SHOULDER,
    LEFT_WRIST,
    NOSE,
    RIGHT_EAR,
    RIGHT_ELBOW,
    RIGHT_SHOULDER,
    RIGHT_WRIST,
    Pose,
)
from .thresholds import ARM_PRESENCE, ARM_VISIBILITY, MIN_EAR_WIDTH_PX, MIN_SHOULDER_WIDTH_PX

ARMS = (LEFT_ELBOW, RIGHT_ELBOW, LEFT_WRIST, RIGHT_WRIST)
ELBOWS = (LEFT_ELBOW, RIGHT_ELBOW)
NOT_SEEN = -9.0  # arms_raised when no elbow or wrist is visible (hands on the keyboard, out of the picture)


@dataclass(frozen=True)
class BodyMetrics:
    neck_gap: float
    head_ratio: float
    shoulder_width: float  # px
    ear_width: float  # px
    ear_y: float  # px below the image centre
    shoulder_y: float  # px below the image centre
    center_x: float  # px, shoulder midpoint
    shoulder_tilt_deg: float
    head_roll_deg: float
    face_turn_deg: float
    nose_drop: float
    world_neck_deg: float
    world_neck_length: float
    world_head_forward: float
    torso_turn_deg: float
    arms_raised: float
    elbow_out: float
    visibility: float


def measure(pose: Pose) -> BodyMetrics | None:
    """The metrics of one pose, or None when the shoulders or ears collapse onto each other or are swapped (not
    measurable)."""
    xy = pose.xy
    left_ear, right_ear = xy[LEFT_EAR], xy[RIGHT_EAR]
    left_sh, right_sh = xy[LEFT_SHOULDER], xy[RIGHT_SHOULDER]
    ws = float(np.linalg.norm(left_sh - right_sh))
    we = float(np.linalg.norm(left_ear - right_ear))
    if not (ws >= MIN_SHOULDER_WIDTH_PX and we >= MIN_EAR_WIDTH_PX):  # NaN fails too
        return None
    # MediaPipe names left and right by how the body looks: a person facing the camera has their left shoulder and
    # ear on the image's right. The other way round, the model saw a back, or swapped sides for one frame (the
    # full model did under a beard), and both lines' angles jump by 180 degrees: nothing to measure.
    if not (left_sh[0] > right_sh[0] and left_ear[0] > right_ear[0]):
        return None
    ear_mid = (left_ear + right_ear) / 2
    sh_mid = (left_sh + right_sh) / 2
    centre_y = pose.image_size[1] / 2
    world_neck_deg, world_neck_length, world_head_forward, torso_turn_deg = _world(pose.world)
    seen_arms = [i for i in ARMS if _arm_seen(pose, i)]
    seen_elbows = [i for i in ELBOWS if _arm_seen(pose, i)]
    return BodyMetrics(
        neck_gap=float(sh_mid[1] - ear_mid[1]) / ws,
        head_ratio=we / ws,
        shoulder_width=ws,
        ear_width=we,
        ear_y=float(ear_mid[1]) - centre_y,
        shoulder_y=float(sh_mid[1]) - centre_y,
        center_x=float(sh_mid[0]),
        shoulder_tilt_deg=_line_angle(left_sh, right_sh),
        head_roll_deg=_line_angle(left_ear, right_ear),
        face_turn_deg=math.degrees(math.atan(1.5 * float(xy[NOSE][0] - ear_mid[0]) / we)),
        nose_drop=float(xy[NOSE][1] - ear_mid[1]) / ws,
        world_neck_deg=world_neck_deg,
        world_neck_length=world_neck_length,
        world_head_forward=world_head_forward,
        torso_turn_deg=torso_turn_deg,
        arms_raised=max((float(sh_mid[1] - xy[i][1]) / ws for i in seen_arms), default=NOT_SEEN),
        elbow_out=max((abs(float(xy[i][0] - sh_mid[0])) / ws for i in seen_elbows), default=0.0),
        visibility=float(pose.visibility[[LEFT_EAR, RIGHT_EAR, LEFT_SHOULDER, RIGHT_SHOULDER]].min()),
    )


def _arm_seen(pose: Pose, index: int) -> bool:
    """Whether an elbow or wrist is seen rather than guessed: by its visibility, or, as soon as it comes into view
    between samples far apart, by its presence (see Pose)."""
    return bool(pose.visibility[index] >= ARM_VISIBILITY
                or (pose.presence is not None and pose.presence[index] >= ARM_PRESENCE))


def _world(world: np.ndarray | None) -> tuple[float, float, float, float]:
    """(neck tilt toward the camera in degrees, neck length and forward reach in 3D shoulder widths, torso turn in
    degrees) from the 3D landmarks; zeros when the model gave none."""
    if world is None:
        return 0.0, 0.0, 0.0, 0.0
    neck = (world[LEFT_EAR] + world[RIGHT_EAR]) / 2 - (world[LEFT_SHOULDER] + world[RIGHT_SHOULDER]) / 2
    shoulders = world[LEFT_SHOULDER] - world[RIGHT_SHOULDER]
    width = float(np.linalg.norm(shoulders))
    if not width > 1e-6:
        return 0.0, 0.0, 0.0, 0.0
    return (math.degrees(math.atan2(-float(neck[2]), -float(neck[1]))), float(np.linalg.norm(neck)) / width,
            -float(neck[2]) / width, math.degrees(math.atan2(float(shoulders[2]), float(shoulders[0]))))


def _line_angle(left: np.ndarray, right: np.ndarray) -> float:
    """Angle of the line from the person's right to left landmark against the horizontal, in degrees.
    The person's left is on the image's right for a (non-mirrored) webcam."""
    return math.degrees(math.atan2(float(left[1] - right[1]), float(left[0] - right[0])))
