"""What one pose measures: each metric of a pose drawn by hand (round numbers, so each expectation is plain
arithmetic), the 3D metrics of MediaPipe's world landmarks, which arms count as seen, and when a pose cannot be
measured at all."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from posture_watch.core import thresholds as th
from posture_watch.core.landmarks import (
    LEFT_EAR,
    LEFT_ELBOW,
    LEFT_SHOULDER,
    LEFT_WRIST,
    NOSE,
    RIGHT_EAR,
    RIGHT_ELBOW,
    RIGHT_SHOULDER,
    Pose,
    main_person,
)
from posture_watch.core.metrics import NOT_SEEN, BodyMetrics, measure
from tests.synthetic import NECK, SHOULDERS, drawn, figure, metrics


def measured(pose: Pose) -> BodyMetrics:
    m = measure(pose)
    assert m is not None
    return m


def test_a_drawn_pose_measures_its_geometry() -> None:
    m = measured(drawn())
    assert (m.shoulder_width, m.ear_width, m.neck_gap, m.head_ratio) == (200, 100, 0.5, 0.5)
    # Heights from the image centre (y = 240): what perspective moves when the person comes nearer.
    assert (m.ear_y, m.shoulder_y, m.center_x) == (60, 160, 320)
    assert (m.shoulder_tilt_deg, m.head_roll_deg, m.face_turn_deg) == (0, 0, 0)
    assert m.nose_drop == 0.1  # the nose 20 px below the ear line: 0.1 shoulder widths
    assert (m.arms_raised, m.elbow_out) == (NOT_SEEN, 0)  # no arm in view: hands at the keyboard
    assert m.visibility == pytest.approx(0.99)
    # No 3D landmarks from the model: the 3D metrics say nothing rather than something wrong.
    assert (m.world_neck_deg, m.world_neck_length, m.world_head_forward, m.torso_turn_deg) == (0, 0, 0, 0)


def test_the_lowest_key_landmark_visibility_counts() -> None:
    assert measured(drawn(seen={RIGHT_EAR: 0.3})).visibility == pytest.approx(0.3)
    assert measured(drawn(seen={NOSE: 0.1, LEFT_WRIST: 0.0})).visibility == pytest.approx(0.99)  # not key ones


@pytest.mark.parametrize(("points", "tilt", "roll"), [
    # The person's right shoulder (the image's left) 20 px higher: the line rises toward the person's right.
    ({RIGHT_SHOULDER: (220.0, 380.0)}, math.degrees(math.atan2(20, 200)), 0.0),
    ({LEFT_EAR: (370.0, 250.0)}, 0.0, math.degrees(math.atan2(-50, 100))),
])
def test_a_tilted_line_measures_its_angle(points: dict[int, tuple[float, float]], tilt: float, roll: float) -> None:
    m = measured(drawn(points))
    assert (m.shoulder_tilt_deg, m.head_roll_deg) == pytest.approx((tilt, roll))


def test_a_figure_leaning_sideways_tilts_both_lines_by_the_lean() -> None:
    m = metrics(lean_deg=12)
    assert (m.shoulder_tilt_deg, m.head_roll_deg) == pytest.approx((12, 12))


def test_the_face_turn_comes_from_the_nose_offset() -> None:
    # The nose tip sits about 2/3 of the ear width in front of the ear axis: tan(turn) = 1.5 * offset / ear width.
    assert measured(drawn({NOSE: (340.0, 320.0)})).face_turn_deg == pytest.approx(math.degrees(math.atan(0.3)))
    assert measured(drawn({NOSE: (300.0, 320.0)})).face_turn_deg == pytest.approx(-math.degrees(math.atan(0.3)))


def test_the_head_coming_nearer_grows_the_ears_against_the_shoulders() -> None:
    m = measured(drawn({LEFT_EAR: (380.0, 300.0), RIGHT_EAR: (260.0, 300.0)}))
    assert (m.ear_width, m.head_ratio) == (120, 0.6)


def test_the_world_landmarks_give_the_neck_and_torso_in_3d() -> None:
    world = np.zeros((33, 3))  # metres, camera axes: y down, z away from the camera
    world[LEFT_SHOULDER], world[RIGHT_SHOULDER] = (0.19, 0.0, 0.1), (-0.19, 0.0, -0.1)  # the left side further
    world[LEFT_EAR], world[RIGHT_EAR] = (0.075, -0.17, -0.05), (-0.075, -0.17, -0.05)  # ears 5 cm nearer
    m = measured(drawn(world=world))
    width = math.hypot(0.38, 0.2)
    assert m.world_neck_deg == pytest.approx(math.degrees(math.atan2(0.05, 0.17)))  # tilted toward the camera
    assert m.world_neck_length == pytest.approx(math.hypot(0.17, 0.05) / width)
    assert m.world_head_forward == pytest.approx(0.05 / width)
    assert m.torso_turn_deg == pytest.approx(math.degrees(math.atan2(0.2, 0.38)))


def test_a_figures_neck_flexion_reads_in_3d() -> None:
    upright, hunched = metrics(), metrics(flex_deg=30)
    assert (upright.world_neck_deg, upright.world_head_forward) == pytest.approx((0, 0), abs=1e-9)
    assert upright.world_neck_length == pytest.approx(NECK / SHOULDERS)
    assert hunched.world_neck_deg == pytest.approx(30)
    assert hunched.world_head_forward == pytest.approx(NECK * math.sin(math.radians(30)) / SHOULDERS)
    assert metrics(torso_turn_deg=-20).torso_turn_deg == pytest.approx(-20)


def test_world_landmarks_with_the_shoulders_on_one_point_say_nothing() -> None:
    world = np.zeros((33, 3))
    world[LEFT_EAR] = (0.1, -0.2, -0.1)
    m = measured(drawn(world=world))
    assert (m.world_neck_deg, m.world_neck_length, m.world_head_forward, m.torso_turn_deg) == (0, 0, 0, 0)


def test_raised_arms_measure_from_the_shoulder_line() -> None:
    # Shoulder line at y = 400, 200 px wide: a wrist at y = 300 is half a width above it.
    m = measured(drawn({LEFT_WRIST: (450.0, 300.0), RIGHT_ELBOW: (200.0, 440.0)}))
    assert m.arms_raised == 0.5  # the highest of the arms seen
    assert m.elbow_out == pytest.approx(0.6)  # the elbow 120 px from the midline (x = 320); wrists do not count
    reaching = measured(drawn({LEFT_ELBOW: (490.0, 420.0), RIGHT_ELBOW: (250.0, 420.0)}))
    assert reaching.elbow_out == pytest.approx(0.85)  # the furthest elbow
    assert reaching.arms_raised == pytest.approx(-0.1)


def test_an_arm_counts_as_seen_from_the_arm_visibility() -> None:
    arm = {LEFT_WRIST: (450.0, 300.0), LEFT_ELBOW: (500.0, 400.0)}
    assert measured(drawn(arm, seen={LEFT_WRIST: th.ARM_VISIBILITY, LEFT_ELBOW: th.ARM_VISIBILITY})).arms_raised == 0.5
    assert measured(drawn(arm, seen={LEFT_ELBOW: th.ARM_VISIBILITY})).elbow_out == pytest.approx(0.9)
    # The pose model guesses arms it cannot see near the shoulders, with visibility 0.5-0.7: not seen.
    guessed = measured(drawn(arm, seen={LEFT_WRIST: 0.79, LEFT_ELBOW: 0.79}))
    assert (guessed.arms_raised, guessed.elbow_out) == (NOT_SEEN, 0)


def test_an_arm_counts_as_seen_from_its_presence_while_its_visibility_lags() -> None:
    """At one sample every 1.5 s, MediaPipe's visibility of an arm raised into view rose 0.57, 0.61, 0.65, ... over
    the samples of an overhead stretch, and the stretch alerted; its presence was 0.95 at the first sample."""
    arm = {LEFT_WRIST: (450.0, 300.0), LEFT_ELBOW: (500.0, 400.0)}
    lagging = drawn(arm, seen={LEFT_WRIST: 0.6, LEFT_ELBOW: 0.6})
    present = lagging.visibility.copy()  # the arms not drawn are out of the picture
    for wrist, elbow, expected in ((th.ARM_PRESENCE, th.ARM_PRESENCE, (0.5, 0.9)), (0.79, 0.79, (NOT_SEEN, 0))):
        present[LEFT_WRIST], present[LEFT_ELBOW] = wrist, elbow
        m = measured(replace(lagging, presence=present.copy()))
        assert (m.arms_raised, m.elbow_out) == pytest.approx(expected)
    assert measured(lagging).arms_raised == NOT_SEEN  # a model that gives no presence: visibility alone


def test_figures_arms_up_or_a_hand_at_the_face() -> None:
    stretch = metrics(arms_up=True)
    assert stretch.arms_raised == pytest.approx(0.50 / SHOULDERS)  # wrists 50 cm above the shoulder line
    assert stretch.elbow_out == pytest.approx(0.25 / SHOULDERS)
    assert 0 < metrics(hand_at_face=True).arms_raised < th.STRETCH_WIDTHS


@pytest.mark.parametrize(("shoulders", "ears", "measurable"), [
    (4.0, 2.0, True),  # the least that can be measured
    (3.9, 2.0, False),  # shoulders on top of each other: seen edge-on
    (4.0, 1.9, False),  # ears on top of each other: the head seen from the side
    (float("nan"), 2.0, False),
    (200.0, float("nan"), False),
    (-200.0, -100.0, False),  # left and right swapped: the model saw a back, or swapped sides for a frame
    (-200.0, 100.0, False),
    (200.0, -100.0, False),
])
def test_collapsed_or_swapped_shoulders_or_ears_cannot_be_measured(shoulders: float, ears: float,
                                                                   measurable: bool) -> None:
    pose = drawn({LEFT_SHOULDER: (320.0 + shoulders / 2, 400.0), RIGHT_SHOULDER: (320.0 - shoulders / 2, 400.0),
                  LEFT_EAR: (320.0 + ears / 2, 300.0), RIGHT_EAR: (320.0 - ears / 2, 300.0)})
    assert (measure(pose) is not None) is measurable


@pytest.mark.parametrize(("left", "right"), [(LEFT_SHOULDER, RIGHT_SHOULDER), (LEFT_EAR, RIGHT_EAR)])
def test_a_pair_straight_above_one_another_cannot_be_measured(left: int, right: int) -> None:
    """Far enough apart, but neither side on the image's right of the other: not a body facing the camera."""
    points = {LEFT_SHOULDER: (420.0, 400.0), RIGHT_SHOULDER: (220.0, 400.0),
              LEFT_EAR: (370.0, 300.0), RIGHT_EAR: (270.0, 300.0)}
    points[left] = (points[right][0], points[right][1] - 50.0)
    assert measure(drawn(points)) is None


def test_main_person_is_the_one_nearest_the_calibrated_spot_side_to_side() -> None:
    """The user calibrated left of the middle; another person as near, in the middle, is not the user."""
    user, other = figure(shift_x=-220), figure()
    assert main_person([other, user], expected_x=100) is user
    assert main_person([user, other], expected_x=330) is other
