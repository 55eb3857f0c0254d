"""Synthetic input for the pure core: a head-and-shoulders figure built in 3D (metres) and seen through a pinhole
webcam, so that both what MediaPipe would put in the picture and its 3D landmarks are consistent; and assessments
fed to the alert policy on a fake clock."""

from __future__ import annotations

import math

import numpy as np

from posture_watch.core.angles import FEATURES, AngleModel, TreeEnsemble
from posture_watch.core.baseline import Baseline, build_baseline
from posture_watch.core.landmarks import (
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
from posture_watch.core.metrics import ARMS, BodyMetrics, measure
from posture_watch.core.policy import Alert, AlertPolicy
from posture_watch.core.posture import Assessment

SIZE = (640, 480)
FOCAL = 0.83 * SIZE[0]  # a 62 degree webcam
NECK = 0.17  # shoulder midpoint to ear midpoint, metres
SHOULDERS, EARS = 0.38, 0.15
CLAVICLE = 0.15


def figure(flex_deg: float = 0.0, shrug: float = 0.0, lean_deg: float = 0.0, closer: float = 0.0,
           turn: float = 0.0, shift_x: float = 0.0, distance: float | None = None, camera_height: float = 0.0,
           visibility: float = 0.99, arms_up: bool = False, hand_at_face: bool = False, torso_turn_deg: float = 0.0,
           jitter: float = 0.0, rng: np.random.Generator | None = None, width: float | None = None) -> Pose:
    """A person `distance` m in front of the camera (by default where the shoulders are 200 px wide, about 1 m; eyes
    at `camera_height` m below the camera: negative is a
    laptop camera below the eyes). `flex_deg`: the neck tilted forward; `shrug`: the shoulders raised by that many
    metres; `lean_deg`: the trunk rolled sideways; `closer`: the whole body that many metres nearer; `turn`: the
    nose moved sideways by that many ear widths; `shift_x`: the person moved sideways, in pixels at the shoulders;
    `torso_turn_deg`: the shoulders turned away from the camera. Arms hang out of sight unless raised or at the
    face. `jitter` adds that many pixels of noise. `width`: instead of `distance`, as far as makes the shoulders
    that many pixels wide."""
    distance = distance or FOCAL * SHOULDERS / (width or 200.0)
    world = np.zeros((33, 3))
    sh_mid = np.array([0.0, -0.45, 0.0])  # above the hips, MediaPipe's origin; y down, z away from the camera
    half = SHOULDERS / 2 * np.array([math.cos(math.radians(torso_turn_deg)), 0.0,
                                     math.sin(math.radians(torso_turn_deg))])
    world[LEFT_SHOULDER] = sh_mid + half + np.array([0.0, -shrug, 0.0])
    world[RIGHT_SHOULDER] = sh_mid - half + np.array([0.0, -shrug, 0.0])
    flex = math.radians(flex_deg)
    ear_mid = sh_mid + NECK * np.array([0.0, -math.cos(flex), -math.sin(flex)])
    world[LEFT_EAR] = ear_mid + np.array([EARS / 2, 0.0, 0.0])
    world[RIGHT_EAR] = ear_mid - np.array([EARS / 2, 0.0, 0.0])
    world[NOSE] = ear_mid + np.array([turn * EARS, 0.03, -0.09])
    if arms_up:
        for elbow, wrist, side in ((LEFT_ELBOW, LEFT_WRIST, 1), (RIGHT_ELBOW, RIGHT_WRIST, -1)):
            world[elbow] = sh_mid + np.array([side * 0.25, -0.25, 0.0])
            world[wrist] = sh_mid + np.array([side * 0.15, -0.50, 0.0])
    if hand_at_face:
        world[RIGHT_WRIST] = world[NOSE] + np.array([0.0, 0.04, -0.05])
    if lean_deg:
        a = math.radians(lean_deg)
        world = world @ np.array([[math.cos(a), math.sin(a), 0], [-math.sin(a), math.cos(a), 0], [0, 0, 1]])
    # The camera: its eyes-level point `distance` in front of the ears, looking straight ahead.
    eye_y = -0.45 - NECK + 0.02
    camera = np.array([-shift_x * distance / FOCAL, eye_y - camera_height, -distance + closer])
    rel = world - camera
    xy = np.column_stack([SIZE[0] / 2 + FOCAL * rel[:, 0] / rel[:, 2], SIZE[1] / 2 + FOCAL * rel[:, 1] / rel[:, 2]])
    if jitter and rng is not None:
        xy += rng.normal(0, jitter, xy.shape)
    seen = np.full(33, visibility)
    hidden = [i for i in ARMS if not world[i].any()]
    seen[hidden] = 0.05
    return Pose(xy, seen, SIZE, world)


# A pose placed by hand (see `drawn`): round numbers, so that what a test expects is plain arithmetic.
DRAWN = {NOSE: (320.0, 320.0), LEFT_EAR: (370.0, 300.0), RIGHT_EAR: (270.0, 300.0), LEFT_SHOULDER: (420.0, 400.0),
         RIGHT_SHOULDER: (220.0, 400.0)}


def drawn(points: dict[int, tuple[float, float]] | None = None, seen: dict[int, float] | None = None,
          world: np.ndarray | None = None) -> Pose:
    """A pose drawn in a 640x480 picture: shoulders 200 px apart at y = 400, ears 100 px apart at y = 300, the nose
    at (320, 320). `points` moves landmarks (an arm landmark placed is seen); `seen` sets visibilities (the key
    landmarks are 0.99, arms not placed 0.05: hidden)."""
    xy = np.zeros((33, 2))
    visibility = np.full(33, 0.99)
    visibility[list(ARMS)] = 0.05
    for index, point in {**DRAWN, **(points or {})}.items():
        xy[index] = point
        visibility[index] = 0.99
    for index, value in (seen or {}).items():
        visibility[index] = value
    return Pose(xy, visibility, SIZE, world)


def metrics(**kw: float) -> BodyMetrics:
    m = measure(figure(**kw))  # type: ignore[arg-type]
    assert m is not None
    return m


def _staircase(feature: str, edges: list[float]) -> TreeEnsemble:
    """One stump per edge on one feature: the ensemble counts the edges the feature is above."""
    index = FEATURES.index(feature)
    count = len(edges)
    return TreeEnsemble(0.0, 1, np.full((count, 1), index), np.array(edges).reshape(count, 1),
                        np.column_stack([np.zeros(count), np.ones(count)]))


def geometric_angle_model() -> AngleModel:
    """A transparent stand-in for the fitted model, for the core's rule tests on these figures: the neck angle is
    the flexion that drops the ears as far (whole degrees), the shoulder angle the collarbone (CLAVICLE m)
    elevation that shortens the 3D neck as much. The fitted model is judged on real clips (test_accuracy.py)."""
    degrees = range(1, 61)
    return AngleModel(
        _staircase("ear_drop", [NECK * (1 - math.cos(math.radians(k))) / SHOULDERS - 1e-9 for k in degrees]),
        _staircase("world_shortening", [CLAVICLE * math.sin(math.radians(k)) / SHOULDERS - 1e-9 for k in degrees]))


def upright_baseline(jitter: float = 1.0, seed: int = 0, angles: AngleModel | None = None, **kw: float) -> Baseline:
    rng = np.random.default_rng(seed)
    samples = [measure(figure(jitter=jitter, rng=rng, **kw)) for _ in range(25)]  # type: ignore[arg-type]
    return build_baseline(samples, "test", SIZE, "2026-01-01T00:00:00+00:00", angles or geometric_angle_model())


def moved(pose: Pose, dx: float = 0.0, dy: float = 0.0) -> Pose:
    """The same pose shifted in the picture (dy < 0: up)."""
    return Pose(pose.xy + np.array([dx, dy]), pose.visibility, pose.image_size, pose.world)


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
