"""One sample judged: the gates at their documented limits (what is not trusted, who is not the user, what is
ordinary movement) and in their order, each deviation in its unit, the thresholds that noise raises, and which neck
fault is named. Samples are the hand-drawn pose's metrics with one value changed, so each limit is met exactly."""

from __future__ import annotations

from dataclasses import replace

import pytest

from posture_watch.core import thresholds as th
from posture_watch.core.baseline import NECK_ANGLE, Baseline, MetricStats, build_baseline
from posture_watch.core.metrics import measure
from posture_watch.core.posture import DARK, Assessment, assess
from tests.synthetic import SIZE, drawn, geometric_angle_model, metrics, upright_baseline

BRIGHT = (120.0, 50.0)
MODEL = geometric_angle_model()
DRAWN = measure(drawn())
assert DRAWN is not None
# Shoulders 200 px wide with their midpoint at x = 320, y = 160 from the image centre; ears 100 px wide at y = 60.


def calibrated(**values: float) -> Baseline:
    return build_baseline([replace(DRAWN, **values)] * 5, "test", SIZE, "2026-01-01T00:00:00+00:00", MODEL)


STILL = calibrated()


def judge(baseline: Baseline = STILL, brightness: tuple[float, float] = BRIGHT, **values: float) -> Assessment:
    return assess(replace(DRAWN, **values), 1, brightness, baseline, MODEL)


def with_spread(baseline: Baseline, name: str, sd: float) -> Baseline:
    return replace(baseline, stats={**baseline.stats, name: MetricStats(baseline.mean(name), sd)})


ELSEWHERE = Assessment("absent", "nobody at the calibrated spot")
HIDDEN = Assessment("uncertain", "ears or shoulders hidden")
TURNED = Assessment("uncertain", "face turned away")
TALKING = Assessment("moving", "turned away (talking to someone?)")
STRETCH = Assessment("moving", "arms raised (stretching)")
HAND = Assessment("moving", "a hand raised (drinking, a chin on the hand?)")
REACH = Assessment("moving", "reaching for something")
STANDING = Assessment("moving", "standing up or sitting down")


@pytest.mark.parametrize(("values", "judged"), [
    ({"center_x": 520.0}, "measured"),  # one shoulder width to the side: still the user
    ({"center_x": 520.5}, ELSEWHERE),
    ({"center_x": 120.0}, "measured"),
    ({"center_x": 119.5}, ELSEWHERE),
    ({"shoulder_y": 0.0}, "measured"),  # shoulders 0.8 widths higher (the ears not): sitting up very tall
    ({"shoulder_y": -0.5}, ELSEWHERE),  # higher still: somebody standing behind
    ({"shoulder_width": 140.0}, "measured"),  # 0.7 of the calibrated width: leaning back
    ({"shoulder_width": 139.5}, ELSEWHERE),  # someone further back
    ({"shoulder_width": 320.0}, "measured"),  # 1.6 of it: leaning in
    ({"shoulder_width": 320.5}, ELSEWHERE),  # someone passing close to the camera
    ({"visibility": th.MIN_VISIBILITY}, "measured"),
    ({"visibility": 0.49}, HIDDEN),
    ({"face_turn_deg": 25.0}, "measured"),
    ({"face_turn_deg": -25.0}, "measured"),
    ({"face_turn_deg": 25.5}, TURNED),
    ({"face_turn_deg": -25.5}, TURNED),
    ({"torso_turn_deg": 30.0}, "measured"),
    ({"torso_turn_deg": -30.5}, TALKING),
    ({"arms_raised": -0.1}, "measured"),  # a wrist just under the shoulder line: typing with the hands up
    ({"arms_raised": -0.09}, HAND),
    ({"arms_raised": 0.5}, HAND),
    ({"arms_raised": 0.51}, STRETCH),
    ({"elbow_out": 0.85}, "measured"),
    ({"elbow_out": 0.86}, REACH),
    ({"ear_y": 0.0, "shoulder_y": 100.0}, "measured"),  # ears and shoulders 0.3 widths higher: sitting up
    ({"ear_y": -0.5, "shoulder_y": 99.5}, STANDING),  # higher still, both: rising from the chair
    ({"ear_y": -100.0}, "measured"),  # the head alone up 0.8 widths: not standing
])
def test_each_gate_at_its_limit(values: dict[str, float], judged: str | Assessment) -> None:
    a = judge(**values)
    if isinstance(judged, str):
        assert a.kind == judged
    else:
        assert a == judged  # with no scores: nothing about posture


def test_the_face_and_torso_turns_are_judged_against_the_calibration() -> None:
    """A camera beside the screen sees the face and the shoulders turned all day: that is the setup."""
    beside = calibrated(face_turn_deg=20.0, torso_turn_deg=20.0)
    assert judge(beside, face_turn_deg=20.0, torso_turn_deg=20.0).kind == "measured"
    assert judge(beside, face_turn_deg=-5.0).kind == "measured"
    assert judge(beside, face_turn_deg=-5.5) == TURNED
    assert judge(beside, face_turn_deg=20.0, torso_turn_deg=-10.0).kind == "measured"
    assert judge(beside, face_turn_deg=20.0, torso_turn_deg=-10.5) == TALKING


@pytest.mark.parametrize(("values", "first"), [
    ({"center_x": 600.0, "visibility": 0.2, "arms_raised": 1.0}, ELSEWHERE),  # not the user: nothing else matters
    ({"visibility": 0.2, "face_turn_deg": 40.0, "arms_raised": 1.0}, HIDDEN),  # nothing measured can be trusted
    ({"face_turn_deg": 40.0, "torso_turn_deg": 40.0}, TURNED),
    ({"torso_turn_deg": 40.0, "arms_raised": 1.0}, TALKING),
    ({"arms_raised": 1.0, "elbow_out": 1.0}, STRETCH),
    ({"arms_raised": 0.0, "elbow_out": 1.0}, HAND),
    ({"elbow_out": 1.0, "ear_y": -100.0, "shoulder_y": 0.0}, REACH),
])
def test_when_several_gates_apply_the_first_says_why(values: dict[str, float], first: Assessment) -> None:
    assert judge(**values) == first


@pytest.mark.parametrize(("brightness", "dark"), [
    ((th.DARK_MEAN, th.BLANK_STD), False),  # just light enough and just varied enough
    ((19.9, 50.0), True),  # too dark to trust a landmark
    ((10.0, 50.0), True),
    ((120.0, 7.9), True),  # bright but uniform: a closed shutter or a covered lens
    ((120.0, 2.0), True),
])
def test_dark_or_blank_frames_are_not_judged(brightness: tuple[float, float], dark: bool) -> None:
    a = judge(brightness=brightness, ear_y=85.0)
    assert (a == Assessment("uncertain", DARK)) is dark
    assert (a.kind == "measured") is not dark


def test_nobody_and_somebody_unmeasurable_are_told_apart() -> None:
    assert assess(None, 0, BRIGHT, STILL, MODEL) == Assessment("absent", "nobody in view")
    assert assess(None, 2, BRIGHT, STILL, MODEL) == Assessment("uncertain", "ears or shoulders not measurable")


# The ears 25 px (0.125 shoulder widths) lower: the geometric model reads a 43 degree flexion.
DROPPED = {"ear_y": 85.0}


def test_ears_dropping_with_the_head_the_same_size_is_a_dropping_head() -> None:
    a = judge(**DROPPED)
    assert a.neck_angle_deg == 43
    assert a.faults_over(1.0) == ["head_drop"] and a.scores["forward_head"] == 0


def test_a_head_that_grew_as_much_as_the_ears_dropped_is_pushed_forward() -> None:
    a = judge(**DROPPED, head_ratio=0.5625)  # 12.5 % bigger relative to the shoulders
    assert a.faults_over(1.0) == ["forward_head"] and a.scores["head_drop"] == 0
    assert a.scores["forward_head"] == pytest.approx(43 / th.NECK_FLOOR_DEG)  # the angle, named by the picture


def test_a_head_that_grew_less_than_the_ears_dropped_is_a_dropping_head_and_a_growth() -> None:
    a = judge(**DROPPED, head_ratio=0.55)  # 10 % bigger: just at its own floor
    assert a.faults_over(1.0) == ["head_drop", "forward_head"]
    assert a.scores["forward_head"] == pytest.approx(1.0)


def test_a_head_markedly_bigger_is_pushed_forward_whatever_the_angle() -> None:
    a = judge(head_ratio=0.6)
    assert a.neck_angle_deg == 0
    assert a.faults_over(1.0) == ["forward_head"] and a.scores["forward_head"] == pytest.approx(2.0)


def test_each_deviation_in_its_own_unit() -> None:
    a = judge(**DROPPED, head_ratio=0.55, shoulder_tilt_deg=3.0, head_roll_deg=-5.0, ear_width=120.0)
    # The ears also 20 % wider (nearer): part of their drop is perspective, which the angle model undoes.
    assert a.deviations == pytest.approx({
        "neck": a.neck_angle_deg,  # degrees
        "head_growth": 0.1,  # share of the calibrated head-to-shoulder ratio
        "shoulders_raised": 0.0,  # degrees
        "side_lean": 5.0,  # degrees, the more tilted of the shoulder and ear lines
        "too_close": 0.2,  # share of the calibrated ear width
    })
    assert a.scores["too_close"] == pytest.approx(0.2 / th.TOO_CLOSE_FLOOR)
    assert a.scores["side_lean"] == pytest.approx(5.0 / th.SIDE_LEAN_FLOOR_DEG)
    shrug = assess(metrics(shrug=0.03), 1, BRIGHT, upright_baseline(jitter=0), MODEL)
    assert shrug.deviations["shoulders_raised"] == shrug.shoulder_angle_deg > 10


def test_a_camera_mounted_askew_is_not_a_lean() -> None:
    askew = calibrated(shoulder_tilt_deg=5.0, head_roll_deg=4.0)
    assert judge(askew, shoulder_tilt_deg=5.0, head_roll_deg=4.0).deviations["side_lean"] == 0
    assert judge(askew, shoulder_tilt_deg=-5.0, head_roll_deg=4.0).deviations["side_lean"] == 10
    assert judge(askew, shoulder_tilt_deg=5.0, head_roll_deg=-2.0).deviations["side_lean"] == 6


@pytest.mark.parametrize(("name", "sd", "fault", "values"), [
    (NECK_ANGLE, 4.0, "head_drop", DROPPED),  # 3 x 4 degrees over the 9 degree floor
    ("head_ratio", 0.02, "forward_head", {"head_ratio": 0.5 * 1.12}),  # 3 x 4 % of the ratio over 10 %
    ("shoulder_tilt_deg", 3.0, "side_lean", {"shoulder_tilt_deg": 9.0}),
    ("head_roll_deg", 3.0, "side_lean", {"head_roll_deg": -9.0}),
    ("ear_width", 7.0, "too_close", {"ear_width": 121.0}),  # 3 x 7 % over 18 %
])
def test_noise_at_calibration_raises_the_bar_to_three_spreads(name: str, sd: float, fault: str,
                                                              values: dict[str, float]) -> None:
    noisy = with_spread(STILL, name, sd)
    expected = {"head_drop": 43 / 12, "forward_head": 1.0, "side_lean": 1.0, "too_close": 1.0}[fault]
    assert judge(noisy, **values).scores[fault] == pytest.approx(expected)
    assert judge(STILL, **values).scores[fault] > expected  # the floor alone is lower


def test_faults_are_ranked_worst_first_and_a_score_of_one_counts() -> None:
    a = Assessment("measured", scores={"side_lean": 1.0, "head_drop": 2.5, "too_close": 0.4, "forward_head": 1.7})
    assert a.faults_over(1.0) == ["head_drop", "forward_head", "side_lean"]
    assert a.faults_over(0.0) == ["head_drop", "forward_head", "side_lean", "too_close"]
    assert a.severity == 2.5
    assert Assessment("absent").severity == 0.0
