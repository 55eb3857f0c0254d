"""The calibration rules (what a baseline needs, what it records, and the message that says what to change) and
the validation of a baseline document read back from disk (which values are wrong or impossible, and the message
that names them)."""

from __future__ import annotations

import copy
import statistics
from dataclasses import replace
from typing import Any

import pytest

from posture_watch.core import thresholds as th
from posture_watch.core.baseline import (
    MAX_SAMPLES,
    NECK_ANGLE,
    SCHEMA,
    SHOULDER_ANGLE,
    STAT_NAMES,
    Baseline,
    CalibrationRefused,
    InvalidBaseline,
    MetricStats,
    Steadiness,
    baseline_from_observations,
    build_baseline,
    from_document,
    measure_baseline,
    to_document,
    unsteady,
)
from posture_watch.core.landmarks import LEFT_EAR, LEFT_SHOULDER, RIGHT_EAR, RIGHT_SHOULDER, Observation, Pose
from posture_watch.core.metrics import BodyMetrics, measure
from tests.synthetic import drawn, figure, geometric_angle_model, metrics, upright_baseline

MODEL = geometric_angle_model()
CREATED = "2026-01-01T09:00:00+01:00"
DRAWN = measure(drawn())
assert DRAWN is not None
AGAIN = "; sit still and upright, and try again"
RELIABLE = " (at most ±4° makes a reliable baseline)"
MIRRORED = list(range(33))  # the landmarks' order with the person's left and right ear and shoulder swapped
MIRRORED[LEFT_EAR], MIRRORED[RIGHT_EAR], MIRRORED[LEFT_SHOULDER], MIRRORED[RIGHT_SHOULDER] = (
    RIGHT_EAR, LEFT_EAR, RIGHT_SHOULDER, LEFT_SHOULDER)


def sample(**values: float) -> BodyMetrics:
    return replace(DRAWN, **values)  # type: ignore[arg-type]


def calibrate(samples: list[BodyMetrics | None]) -> Baseline:
    return build_baseline(samples, "camera 0", (640, 480), CREATED, MODEL)


def refusal(samples: list[BodyMetrics | None]) -> str:
    with pytest.raises(CalibrationRefused) as err:
        calibrate(samples)
    return str(err.value)


def in_view(share: int) -> str:
    return (f"calibration failed: a person was in view in only {share}% of the frames; sit in front of the camera, "
            "head and shoulders in the picture, and try again")


def test_a_calibration_keeps_each_metrics_mean_and_spread_and_where_it_came_from() -> None:
    baseline = calibrate([sample(neck_gap=0.48, center_x=310.0), sample(neck_gap=0.52, center_x=330.0)] * 3)
    assert (baseline.camera, baseline.resolution, baseline.samples, baseline.created) == (
        "camera 0", (640, 480), 6, CREATED)
    assert tuple(baseline.stats) == STAT_NAMES
    assert (baseline.mean("neck_gap"), baseline.sd("neck_gap")) == pytest.approx((0.5, 0.02))
    assert (baseline.mean("center_x"), baseline.sd("center_x")) == pytest.approx((320, 10))
    assert (baseline.mean("shoulder_width"), baseline.sd("shoulder_width")) == (200, 0)


def test_the_angles_of_the_calibration_frames_against_the_calibration_are_recorded() -> None:
    """Their spread is how steady the calibration was, and raises the bar a fault must pass."""
    frames = [metrics(flex_deg=k % 4) for k in range(12)]
    baseline = calibrate(frames)  # type: ignore[arg-type]
    necks = [MODEL.angles(m, baseline)[0] for m in frames]
    assert statistics.pstdev(necks) > 0.5
    assert baseline.stats[NECK_ANGLE] == MetricStats(pytest.approx(statistics.fmean(necks)),  # type: ignore[arg-type]
                                                     pytest.approx(statistics.pstdev(necks)))
    assert baseline.stats[SHOULDER_ANGLE] == MetricStats(0.0, 0.0)  # nothing shrugged


def test_what_each_refused_calibration_says() -> None:
    assert refusal([]) == "calibration failed: no frame was captured; check the camera and try again"
    assert refusal([DRAWN] * 2) == ("calibration failed: only 2 frame(s) arrived, at least 3 are needed; check the "
                                    "camera and try again")
    assert refusal([DRAWN, DRAWN, None]) == in_view(66)
    assert refusal([DRAWN] * 3 + [None]) == in_view(75)
    assert refusal([None] * 5) == in_view(0)
    assert refusal([sample(visibility=0.45)] * 5) == (
        "calibration failed: ears and shoulders were hard to see; improve the light or move back so both "
        "shoulders are in the picture, and try again")
    assert refusal([sample(face_turn_deg=-45.0)] * 5) == (
        "calibration failed: your face was turned away; look at the screen and try again")
    ears_low = ("calibration failed: your ears were not above your shoulders in the picture; sit upright with your "
                "head and shoulders in view, and try again")
    assert refusal([sample(ear_y=DRAWN.shoulder_y)] * 5) == ears_low  # the angles would divide by zero
    assert refusal([sample(neck_gap=0.049)] * 5) == ears_low  # a baseline document may not hold it either
    calibrate([sample(neck_gap=0.05)] * 5)
    assert refusal([sample(neck_gap=g) for g in (0.4, 0.6)] * 3) == "calibration failed: you moved too much" + AGAIN
    assert refusal([sample(center_x=x) for x in (280.0, 360.0)] * 3) == (
        "calibration failed: you moved too much" + AGAIN)


def test_a_calibration_that_wobbled_says_by_how_much() -> None:
    said = refusal([metrics(flex_deg=k) for k in range(25)])  # a hunch starting while calibrating
    assert said.startswith("calibration failed: your posture wobbled by ±") and said.endswith(
        "° while measuring (at most ±4° makes a reliable baseline)" + AGAIN)
    assert refusal([sample(shoulder_width=200.0 + 5 * k) for k in range(25)]) == (
        "calibration failed: you moved toward or away from the camera while measuring (by ±11.6%, at most ±8%)"
        + AGAIN)


def test_the_least_a_calibration_can_be() -> None:
    assert calibrate([DRAWN] * 3).samples == 3
    assert calibrate([DRAWN] * 4 + [None]).samples == 4  # a person in 80 % of the frames
    assert calibrate([sample(visibility=th.MIN_VISIBILITY)] * 3).mean("visibility") == th.MIN_VISIBILITY
    for turn in (th.CALIBRATION_MAX_FACE_TURN_DEG, -th.CALIBRATION_MAX_FACE_TURN_DEG):  # a camera beside the screen
        assert calibrate([sample(face_turn_deg=turn)] * 3).mean("face_turn_deg") == turn
    # The face turn is the median's: a glance away in one frame of three is not a turned face.
    assert calibrate([sample(face_turn_deg=70.0), DRAWN, DRAWN]).samples == 3
    assert refusal([sample(face_turn_deg=40.5)] * 3).startswith("calibration failed: your face was turned away")


def test_movement_at_the_limits_while_calibrating() -> None:
    still = calibrate([DRAWN] * 5)
    assert unsteady(still) is None

    def spread(name: str, sd: float) -> Baseline:
        return replace(still, stats={**still.stats, name: MetricStats(still.mean(name), sd)})

    assert unsteady(spread("neck_gap", th.CALIBRATION_MAX_NECK_GAP_SD)) is None
    assert unsteady(spread("neck_gap", 0.051)) == "you moved too much"
    assert unsteady(spread("center_x", 30.0)) is None  # 0.15 of the 200 px shoulder width
    assert unsteady(spread("center_x", 30.5)) == "you moved too much"
    wobbly = replace(still, steadiness=Steadiness(0.0, 5.0, 0.0))
    assert unsteady(wobbly) == wobbly.steadiness.problem() is not None
    assert unsteady(spread("head_roll_deg", th.CALIBRATION_MAX_HEAD_TILT_SD_DEG)) is None
    assert unsteady(spread("head_roll_deg", 3.2)) == (
        "you leaned or tilted your head sideways while measuring (by ±3.2°, at most ±3°)")


def test_leaning_sideways_while_calibrating_is_refused() -> None:
    # The ear line tilting by ±4° (as a sideways lean starting does) moves neither the angles nor the width.
    leaning = [sample(head_roll_deg=r) for r in (-4.0, 4.0)] * 3
    assert refusal(leaning) == (
        "calibration failed: you leaned or tilted your head sideways while measuring (by ±4.0°, at most ±3°)" + AGAIN)
    assert calibrate([sample(head_roll_deg=r) for r in (-2.0, 2.0)] * 3).sd("head_roll_deg") == 2.0


@pytest.mark.parametrize(("steadiness", "problem"), [
    (Steadiness(4.0, 4.0, 0.08), None),  # the limits themselves make a reliable baseline
    (Steadiness(0.0, 0.0, 0.0), None),
    (Steadiness(5.4, 1.0, 0.0), "your posture wobbled by ±5.4° while measuring" + RELIABLE),
    (Steadiness(1.0, 6.0, 0.2), "your posture wobbled by ±6.0° while measuring" + RELIABLE),
    (Steadiness(0.0, 0.0, 0.124), "you moved toward or away from the camera while measuring (by ±12.4%, at most ±8%)"),
])
def test_what_an_unsteady_calibration_says(steadiness: Steadiness, problem: str | None) -> None:
    assert steadiness.problem() == problem


def test_steadiness_is_measured_on_the_moving_average() -> None:
    """One frame's jump counts a fifth (the moving average is 5 samples long): the shoulders 25 % wider in the last
    of 6 frames move the averages from 200 to 210 px, of a mean of 208.3: a spread of ±2.4 %."""
    jump = measure_baseline([DRAWN] * 5 + [sample(shoulder_width=250.0)], "c", (640, 480), CREATED, MODEL)
    assert jump.steadiness == Steadiness(0.0, 0.0, pytest.approx(0.024))  # type: ignore[arg-type]
    # Frame-to-frame jitter of ±10 % averages down to ±2 %; the same change held does not.
    jitter = measure_baseline([sample(shoulder_width=w) for w in (180.0, 220.0) * 10], "c", (640, 480), CREATED,
                              MODEL)
    moved = measure_baseline([sample(shoulder_width=w) for w in [180.0] * 10 + [220.0] * 10], "c", (640, 480),
                             CREATED, MODEL)
    assert jitter.sd("shoulder_width") == moved.sd("shoulder_width") == 20
    assert jitter.steadiness.width == pytest.approx(0.02)
    assert moved.steadiness.width > th.CALIBRATION_MAX_WIDTH_WOBBLE


def test_calibration_measures_the_nearest_person_in_each_frame() -> None:
    user, behind = figure(), figure(shift_x=200, width=90)
    frames = [Observation(0.2 * i, i, (behind, user), (120.0, 50.0)) for i in range(4)]
    frames.append(Observation(1.0, 5, (), (120.0, 50.0)))  # a frame with nobody: counted as missing
    baseline = baseline_from_observations(frames, "clip.mp4", (320, 240), CREATED, MODEL)
    assert baseline.mean("center_x") == pytest.approx(320) and baseline.mean("shoulder_width") == pytest.approx(200)
    assert (baseline.samples, baseline.camera, baseline.resolution, baseline.created) == (
        4, "clip.mp4", (320, 240), CREATED)
    with pytest.raises(CalibrationRefused, match="in view in only 0%"):
        baseline_from_observations([Observation(0.0, 0, (), (120.0, 50.0))] * 3, "c", (320, 240), CREATED, MODEL)



def test_a_frame_with_left_and_right_swapped_does_not_spoil_a_calibration() -> None:
    """The full pose model swapped the sides of a still, bearded man for one frame in 16 (under a low laptop
    camera); measured, that frame's ear line turned by 180 degrees and the calibration was refused as tilted by
    ±40 degrees. Such a frame measures nothing, like one with nobody in it."""
    frames = [Observation(0.125 * i, i, (figure(),), (120.0, 50.0)) for i in range(16)]
    upright = figure()
    swapped = Pose(upright.xy[MIRRORED], upright.visibility[MIRRORED], upright.image_size, upright.world)
    frames[7] = replace(frames[7], poses=(swapped,))
    baseline = baseline_from_observations(frames, "camera 0", (640, 480), CREATED, MODEL)
    assert baseline.samples == 15 and baseline.sd("head_roll_deg") == pytest.approx(0)

# --- The document -------------------------------------------------------------------------------------------------

GOOD = to_document(upright_baseline(jitter=0))


def edited(*changes: tuple[str, Any], doc: dict[str, Any] | None = None) -> dict[str, Any]:
    """The good document with values replaced; a path like 'metrics.neck_gap.mean' or 'resolution.0'. A value of
    DELETE removes the key."""
    doc = copy.deepcopy(doc or GOOD)
    for path, value in changes:
        *parents, last = path.split(".")
        node: Any = doc
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if value is DELETE:
            del node[last]
        elif isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return doc


DELETE = object()
SHA = "59929e1d1ee95287735ddd833b19cf4ac46d29bc7afddbbf6753c459690d574a"  # a pose model bundle's sha256
# A person in a 64x48 picture: everything in pixels small enough for it.
TINY = edited(("metrics.shoulder_width.mean", 40.0), ("metrics.ear_width.mean", 16.0),
              ("metrics.center_x.mean", 32.0), ("metrics.ear_y.mean", -2.0), ("metrics.shoulder_y.mean", 16.0))


def problem(doc: Any) -> str:
    with pytest.raises(InvalidBaseline) as err:
        from_document(doc)
    return str(err.value)


def test_a_document_round_trips() -> None:
    for baseline in (upright_baseline(jitter=0), upright_baseline(), replace(upright_baseline(), pose_model=SHA)):
        assert from_document(to_document(baseline)) == baseline
    assert (GOOD["schema"], GOOD["camera"], GOOD["resolution"], GOOD["samples"]) == (2, "test", [640, 480], 25)
    assert tuple(GOOD["metrics"]) == STAT_NAMES
    jittery = upright_baseline()
    assert to_document(jittery)["steadiness"] == {"neck_deg": jittery.steadiness.neck_deg, "shoulder_deg": 0.0,
                                                  "width": jittery.steadiness.width}


@pytest.mark.parametrize("change", [
    ("camera", 0), ("camera", DELETE), ("created", 20260101), ("created", "yesterday"), ("created", DELETE),
    ("samples", True), ("samples", 2.0), ("samples", DELETE), ("resolution.0", "640"), ("resolution.1", False),
    ("resolution", [640]), ("resolution", DELETE), ("metrics", DELETE), ("metrics.neck_angle_deg", DELETE),
    ("metrics.neck_gap.mean", True), ("metrics.neck_gap.mean", "0.8"), ("metrics.neck_gap.mean", None),
    ("metrics.neck_gap.mean", float("nan")), ("metrics.visibility.mean", float("inf")),
    ("metrics.neck_gap.mean", 10**400), ("metrics.head_ratio.sd", float("nan")), ("metrics.neck_gap.sd", None),
    ("metrics.neck_gap.sd", DELETE), ("steadiness", DELETE), ("steadiness.neck_deg", "1"),
    ("steadiness.shoulder_deg", None), ("steadiness.width", DELETE), ("pose_model_sha256", 5),
    ("pose_model_sha256", None), ("pose_model_sha256", SHA.upper()), ("pose_model_sha256", SHA[:-1]),
    ("pose_model_sha256", SHA + "0"), ("pose_model_sha256", "lite"),
])
def test_wrong_types_and_missing_fields_are_refused(change: tuple[str, Any]) -> None:
    assert problem(edited(change)) == "is missing fields or has wrong values"


@pytest.mark.parametrize("changes", [
    [("metrics.neck_gap.mean", 1)],  # an integer where a number is expected
    [("samples", 1)], [("samples", MAX_SAMPLES)],
    [("resolution", [7680, 4320])],
    [("metrics.neck_gap.mean", 0.05)], [("metrics.neck_gap.mean", 5.0)],
    [("metrics.neck_gap.sd", th.CALIBRATION_MAX_NECK_GAP_SD)],
    [("metrics.center_x.sd", 30.0)],  # 0.15 of the 200 px shoulder width
    [("metrics.visibility.mean", 1.0), ("metrics.visibility.sd", 0.5)],  # half the range: the most a spread can be
    [("metrics.shoulder_width.mean", 4.0), ("metrics.ear_width.mean", 2.0)],
    [("metrics.shoulder_width.mean", 1280.0), ("metrics.ear_width.mean", 1280.0)],
    [("metrics.center_x.mean", -640.0)], [("metrics.center_x.mean", 1280.0)],
    [("metrics.ear_y.mean", -480.0), ("metrics.shoulder_y.mean", 480.0)],
    [("steadiness", {"neck_deg": 4.0, "shoulder_deg": 4.0, "width": 0.08})],
])
def test_extreme_but_possible_values_are_accepted(changes: list[tuple[str, Any]]) -> None:
    assert isinstance(from_document(edited(*changes)), Baseline)


def test_the_pose_model_is_recorded_when_known_and_optional_in_a_file() -> None:
    """Baselines written before the field was added (schema 2 all the same) still load: the pose model is then not
    known, and nothing is said about it."""
    unknown = to_document(upright_baseline())
    assert "pose_model_sha256" not in unknown and from_document(unknown).pose_model == ""
    recorded = to_document(replace(upright_baseline(), pose_model=SHA))
    assert recorded["pose_model_sha256"] == SHA and from_document(recorded).pose_model == SHA


def test_the_smallest_picture_is_accepted_with_a_person_that_fits_it() -> None:
    assert from_document(edited(("resolution", [64, 48]), doc=TINY)).resolution == (64, 48)


@pytest.mark.parametrize(("changes", "named"), [
    ([("resolution", [63, 48])], "resolution 63x48"),  # the pixel ranges depend on it: nothing else is checked
    ([("resolution", [64, 47])], "resolution 64x47"),
    ([("resolution", [7681, 4320])], "resolution 7681x4320"),
    ([("resolution", [7680, 4321])], "resolution 7680x4321"),
    ([("samples", 0)], "samples 0"),
    ([("samples", MAX_SAMPLES + 1)], f"samples {MAX_SAMPLES + 1}"),
    ([("metrics.neck_gap.mean", 0.04)], "neck_gap 0.04"),
    ([("metrics.neck_gap.mean", 5.1)], "neck_gap 5.1"),
    ([("metrics.visibility.mean", 1.5)], "visibility 1.5"),
    ([("metrics.visibility.sd", 0.51)], "visibility spread 0.51"),
    ([("metrics.head_roll_deg.sd", -0.1)], "head_roll_deg spread -0.1"),
    ([("metrics.neck_gap.sd", 0.051)], "neck_gap spread 0.051"),  # a calibration that moved this much is refused
    ([("metrics.neck_gap.sd", 3.0)], "neck_gap spread 3"),  # impossible twice over: said once
    ([("metrics.center_x.sd", 30.5)], "center_x spread 30.5"),
    ([("metrics.shoulder_width.mean", 3.9)], "shoulder_width 3.9"),
    ([("metrics.shoulder_width.mean", 1281.0)], "shoulder_width 1281"),
    ([("metrics.ear_width.mean", 1.9)], "ear_width 1.9"),
    ([("metrics.ear_width.mean", 1281.0)], "ear_width 1281"),
    ([("metrics.center_x.mean", -641.0)], "center_x -641"),
    ([("metrics.center_x.mean", 1281.0)], "center_x 1281"),
    ([("metrics.ear_y.mean", -481.0)], "ear_y -481"),
    ([("metrics.ear_y.mean", 481.0)], "ear_y 481; ears at or below the shoulders: ear_y 481, shoulder_y 78.9474"),
    ([("metrics.ear_y.mean", -490.0), ("metrics.shoulder_y.mean", -481.0)], "ear_y -490; shoulder_y -481"),
    ([("metrics.shoulder_y.mean", 481.0)], "shoulder_y 481"),
    ([("metrics.shoulder_width.sd", 900.0)], "shoulder_width spread 900"),  # over half of 4 to 1280 px
    ([("samples", 0), ("metrics.neck_gap.mean", 9.0), ("metrics.ear_y.sd", -1.0)],
     "samples 0; neck_gap 9; ear_y spread -1"),  # every one at once
])
def test_impossible_values_are_named(changes: list[tuple[str, Any]], named: str) -> None:
    assert problem(edited(*changes)) == f"holds impossible values ({named})"


@pytest.mark.parametrize("ear_y", [78.9474, 100.0])
def test_ears_at_or_below_the_shoulders_are_refused(ear_y: float) -> None:
    """Every calibration has the ears above the shoulders (the neck gap is at least 0.05 shoulder widths). Ears as
    high as the shoulders were accepted, and the first sample judged against them divided by zero (a traceback)."""
    doc = edited(("metrics.ear_y.mean", ear_y), ("metrics.shoulder_y.mean", 78.9474))
    assert problem(doc) == f"holds impossible values (ears at or below the shoulders: ear_y {ear_y:g}, shoulder_y " \
        "78.9474)"


def test_the_pixel_ranges_follow_the_picture() -> None:
    assert problem(edited(("resolution", [64, 48]))) == (
        "holds impossible values (shoulder_width 200; center_x 320; shoulder_y 78.9474)")  # the ears fit in 64x48


@pytest.mark.parametrize("steadiness", [
    {"neck_deg": -0.1, "shoulder_deg": 0.0, "width": 0.0},
    {"neck_deg": 0.0, "shoulder_deg": -0.1, "width": 0.0},
    {"neck_deg": 0.0, "shoulder_deg": 0.0, "width": -0.01},
    {"neck_deg": 4.5, "shoulder_deg": 0.0, "width": 0.0},  # refused when calibrating: cannot come from one
    {"neck_deg": 0.0, "shoulder_deg": 0.0, "width": 0.1},
])
def test_a_steadiness_no_calibration_would_have_passed_is_refused(steadiness: dict[str, float]) -> None:
    assert problem(edited(("steadiness", steadiness))) == (
        "holds impossible values (a steadiness no calibration would have passed)")


@pytest.mark.parametrize(("doc", "found"), [
    ([GOOD], "None"), (None, "None"), ({k: v for k, v in GOOD.items() if k != "schema"}, "None"),
    ({**GOOD, "schema": 1}, "1"), ({**GOOD, "schema": True}, "True"), ({**GOOD, "schema": 2.0}, "2.0"),
    ({**GOOD, "schema": "2"}, "'2'"),
])
def test_another_format_version_is_named(doc: Any, found: str) -> None:
    assert problem(doc) == f"has format version {found}, this posture-watch reads version {SCHEMA}"
