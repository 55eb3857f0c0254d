"""What one sample measures and how it is judged: the metrics of a pose, the gates that keep untrustworthy samples and
other people out, and each fault's deviation against its threshold. Synthetic figures with exact geometry."""

from __future__ import annotations

import math

import pytest

from posture_watch.core import thresholds as th
from posture_watch.core.baseline import build_baseline
from posture_watch.core.metrics import FOCAL_PER_WIDTH, measure
from posture_watch.core.posture import DARK, Assessment, assess
from tests.synthetic import figure, metrics, moved

BRIGHT = (120.0, 50.0)
STILL = build_baseline([metrics()] * 5, "test", (640, 480), "2026-01-01T00:00:00+00:00")


def test_the_metrics_of_an_upright_figure() -> None:
    m = metrics()
    assert (m.neck_gap, m.head_ratio, m.shoulder_width, m.ear_width) == pytest.approx((0.8, 0.45, 200, 90))
    assert (m.ear_y, m.shoulder_y, m.center_x) == pytest.approx((240, 400, 320))
    assert (m.shoulder_tilt_deg, m.head_roll_deg, m.face_turn_deg) == pytest.approx((0, 0, 0), abs=1e-9)
    # 200 px shoulders in a 640 px picture from a 62° webcam: 2.66 shoulder widths away.
    assert m.camera_distance == pytest.approx(FOCAL_PER_WIDTH * 640 / 200) == pytest.approx(2.66, abs=0.01)
    assert m.visibility == pytest.approx(0.99)


def test_a_sideways_lean_tilts_both_lines() -> None:
    m = metrics(lean_deg=12)
    assert abs(m.shoulder_tilt_deg) == pytest.approx(12) and abs(m.head_roll_deg) == pytest.approx(12)


@pytest.mark.parametrize(("turn", "degrees"), [(0.3, 24.2), (0.35, 27.7)])
def test_face_turn_from_the_nose_offset(turn: float, degrees: float) -> None:
    # The nose sits ~2/3 of the ear width in front of the ear axis: tan(turn) = 1.5 * offset / ear width.
    assert metrics(turn=turn).face_turn_deg == pytest.approx(degrees, abs=0.1)


def test_a_face_turned_just_under_the_limit_is_measured_and_just_over_is_not() -> None:
    assert assess(metrics(turn=0.3), 1, BRIGHT, STILL).kind == "measured"
    assert assess(metrics(turn=0.35), 1, BRIGHT, STILL) == Assessment("uncertain", "face turned away")


def test_collapsed_shoulders_or_ears_cannot_be_measured() -> None:
    assert measure(figure(width=3)) is None  # shoulders on top of each other: seen edge-on
    assert measure(figure(closer=-0.99)) is None  # ears 0.9 px apart, shoulders fine
    assert measure(figure(width=4.5)) is not None


@pytest.mark.parametrize(("brightness", "dark"), [
    ((19.9, 50.0), True),  # too dark to trust a landmark
    ((20.0, 50.0), False),
    ((10.0, 50.0), True),
    ((120.0, 7.9), True),  # bright but uniform: a closed shutter or a covered lens
    ((120.0, 8.0), False),
])
def test_dark_or_blank_frames_are_not_judged(brightness: tuple[float, float], dark: bool) -> None:
    judged = assess(metrics(drop=0.3), 1, brightness, STILL)
    assert (judged == Assessment("uncertain", DARK)) is dark
    assert judged.kind == ("uncertain" if dark else "measured")


def test_nobody_and_somebody_unmeasurable_are_told_apart() -> None:
    assert assess(None, 0, BRIGHT, STILL) == Assessment("absent", "nobody in view")
    assert assess(None, 2, BRIGHT, STILL) == Assessment("uncertain", "ears or shoulders not measurable")


ELSEWHERE = Assessment("absent", "nobody at the calibrated spot")


@pytest.mark.parametrize(("pose", "kind"), [
    (figure(shift_x=200), "measured"),  # one shoulder width to the side: still the user
    (figure(shift_x=-201), "absent"),
    (moved(figure(), dy=-160), "measured"),  # shoulders 0.8 widths higher: sitting up very tall
    (moved(figure(), dy=-161), "absent"),  # higher still: somebody standing
    (figure(width=140), "measured"),  # 0.7 of the calibrated width: leaning back
    (figure(width=139), "absent"),  # someone further back
    (figure(width=320), "measured"),  # 1.6 of it: leaning in
    (figure(width=321), "absent"),
])
def test_only_someone_at_the_calibrated_spot_is_the_user(pose: object, kind: str) -> None:
    m = measure(pose)  # type: ignore[arg-type]
    judged = assess(m, 1, BRIGHT, STILL)
    assert judged.kind == kind
    if kind == "absent":
        assert judged == ELSEWHERE


def test_landmarks_seen_just_well_enough_are_used() -> None:
    assert assess(metrics(visibility=0.5), 1, BRIGHT, STILL).kind == "measured"
    assert assess(metrics(visibility=0.49), 1, BRIGHT, STILL) == Assessment("uncertain", "ears or shoulders hidden")


def test_each_deviation_in_its_own_unit() -> None:
    judged = assess(metrics(drop=0.1, closer=0.1, shrug=0.05), 1, BRIGHT, STILL)
    assert judged.deviations == pytest.approx({
        "head_drop": 1 - (0.8 * 0.9 - 0.05) / 0.8,  # neck gap lost, as a share (the shrug shortens it too)
        "forward_head": 0.1,  # head 10 % wider relative to the shoulders
        "shoulders_raised": 0.05,  # shoulder widths
        "side_lean": 0.0,  # degrees
        "too_close": 0.1,  # ear width grown by 10 %
    })
    assert judged.scores["forward_head"] == pytest.approx(0.1 / th.HEAD_FORWARD_FLOOR)
    assert judged.scores["shoulders_raised"] == pytest.approx(0.05 / th.SHOULDER_RISE_FLOOR)


def test_sitting_up_taller_is_not_a_shrug() -> None:
    taller = assess(measure(moved(figure(), dy=-40)), 1, BRIGHT, STILL)  # ears and shoulders up by 0.2 widths
    assert taller.deviations["shoulders_raised"] == pytest.approx(0.0, abs=1e-9)
    assert taller.faults_over(1.0) == []
    shrug = assess(metrics(shrug=0.15), 1, BRIGHT, STILL)
    assert shrug.deviations["shoulders_raised"] == pytest.approx(0.15)
    # The clavicle is about half a shoulder width long: a 0.15-width rise is asin(0.3) of elevation.
    assert shrug.shoulder_angle_deg == pytest.approx(math.degrees(math.asin(0.3)))
    assert shrug.neck_angle_deg == pytest.approx(0.0, abs=1e-6)  # the head did not come forward


@pytest.mark.parametrize(("dy", "angle"), [(-120, 90.0), (120, -90.0)])
def test_a_wild_shoulder_jump_saturates_the_angle_instead_of_failing(dy: float, angle: float) -> None:
    pose = figure()
    pose.xy[[11, 12], 1] += dy  # the shoulders alone jump 0.6 widths (a landmark glitch, a stretch)
    judged = assess(measure(pose), 1, BRIGHT, STILL)
    assert judged.kind == "measured" and judged.shoulder_angle_deg == pytest.approx(angle)


def test_a_camera_mounted_askew_is_not_a_lean() -> None:
    askew = build_baseline([metrics(lean_deg=5)] * 5, "test", (640, 480), "2026-01-01T00:00:00+00:00")
    assert assess(metrics(lean_deg=5), 1, BRIGHT, askew).deviations["side_lean"] == pytest.approx(0, abs=1e-9)
    assert assess(metrics(lean_deg=-5), 1, BRIGHT, askew).deviations["side_lean"] == pytest.approx(10)


def test_a_jittery_calibration_raises_the_bar_to_three_spreads() -> None:
    """Noise measured while upright is not a slouch: the threshold is three calibration spreads when that is more
    than the floor (here the neck gap and head ratio each spread 5 % of their mean)."""
    wobbly = build_baseline([metrics(drop=d, closer=c) for d, c in ((-0.05, -0.05), (0.05, 0.05))] * 5, "test",
                            (640, 480), "2026-01-01T00:00:00+00:00")
    judged = assess(metrics(drop=0.15, closer=0.15), 1, BRIGHT, wobbly)
    assert judged.scores["head_drop"] == pytest.approx(1.0)  # 15 % lost against 3 x 5 %
    assert judged.scores["forward_head"] == pytest.approx(1.0)
    assert judged.scores["too_close"] == pytest.approx(0.15 / th.TOO_CLOSE_FLOOR)  # the floor is higher here


def test_faults_are_ranked_worst_first_and_a_score_of_one_counts() -> None:
    judged = Assessment("measured", scores={"side_lean": 1.0, "head_drop": 2.5, "too_close": 0.4,
                                            "forward_head": 1.7})
    assert judged.faults_over(1.0) == ["head_drop", "forward_head", "side_lean"]
    assert judged.faults_over(0.0) == ["head_drop", "forward_head", "side_lean", "too_close"]
    assert judged.severity == 2.5
    assert Assessment("absent").severity == 0.0
