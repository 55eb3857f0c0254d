"""The calibration rules (what a baseline needs, and the message that says what to change) and the validation of a
baseline document read back from disk."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from posture_watch.core.baseline import (
    METRIC_NAMES,
    Baseline,
    CalibrationRefused,
    InvalidBaseline,
    baseline_from_observations,
    build_baseline,
    from_document,
    to_document,
)
from posture_watch.core.landmarks import Observation
from tests.synthetic import figure, metrics, upright_baseline

CREATED = "2026-01-01T09:00:00+01:00"
TRY_AGAIN = ("calibration failed: a person was in view in only {}% of the frames; sit in front of the camera, head "
             "and shoulders in the picture, and try again")


def calibrate(samples: list[Any]) -> Baseline:
    return build_baseline(samples, "camera 0", (640, 480), CREATED)


def refusal(samples: list[Any]) -> str:
    with pytest.raises(CalibrationRefused) as err:
        calibrate(samples)
    return str(err.value)


def test_a_good_calibration_keeps_each_metrics_mean_and_spread() -> None:
    baseline = calibrate([metrics(drop=-0.05), metrics(drop=0.05)] * 3)
    assert (baseline.camera, baseline.resolution, baseline.samples, baseline.created) == (
        "camera 0", (640, 480), 6, CREATED)
    assert set(baseline.stats) == set(METRIC_NAMES)
    assert baseline.mean("neck_gap") == pytest.approx(0.8) and baseline.sd("neck_gap") == pytest.approx(0.04)
    assert baseline.mean("shoulder_width") == pytest.approx(200) and baseline.sd("shoulder_width") == 0


def test_what_each_refused_calibration_says() -> None:
    assert refusal([]) == "calibration failed: no frame was captured; check the camera and try again"
    assert refusal([metrics(), metrics(), None]) == TRY_AGAIN.format(66)
    assert refusal([metrics(visibility=0.45)] * 5) == (
        "calibration failed: ears and shoulders were hard to see; improve the light or move back so both "
        "shoulders are in the picture, and try again")
    assert refusal([metrics(turn=0.3)] * 5) == (
        "calibration failed: your face was turned away; look at the screen and try again")
    assert refusal([metrics(drop=d) for d in (0.0, 0.2)] * 3) == (
        "calibration failed: you moved too much; sit still and upright, and try again")
    assert refusal([metrics(shift_x=x) for x in (-40, 40)] * 3) == (
        "calibration failed: you moved too much; sit still and upright, and try again")


def test_the_least_a_calibration_can_be() -> None:
    assert calibrate([metrics()] * 4 + [None]).samples == 4  # a person in 80 % of the frames
    assert calibrate([metrics()] * 3).samples == 3  # three samples
    assert refusal([metrics()] * 2) == TRY_AGAIN.format(100)
    assert calibrate([metrics(visibility=0.5)] * 3).samples == 3  # landmarks seen just well enough
    # Spreads just inside the limits: the neck gap moving 0.05 shoulder widths, the body 0.15 widths sideways.
    assert calibrate([metrics(drop=d) for d in (-0.0625, 0.0625)] * 2).sd("neck_gap") == pytest.approx(0.05)
    assert calibrate([metrics(shift_x=x) for x in (-30, 30)] * 2).sd("center_x") == pytest.approx(30)


def test_calibration_measures_the_nearest_person_in_each_frame() -> None:
    user, behind = figure(), figure(shift_x=200, width=90)
    frames = [Observation(0.2 * i, i, (behind, user), (120.0, 50.0)) for i in range(4)]
    frames.append(Observation(1.0, 5, (), (120.0, 50.0)))  # a frame with nobody: counted as missing
    baseline = baseline_from_observations(frames, "clip.mp4", (320, 240), CREATED)
    assert baseline.mean("center_x") == pytest.approx(320) and baseline.mean("shoulder_width") == pytest.approx(200)
    assert (baseline.samples, baseline.camera, baseline.resolution, baseline.created) == (
        4, "clip.mp4", (320, 240), CREATED)
    with pytest.raises(CalibrationRefused, match="in view in only 0%"):
        baseline_from_observations([Observation(0.0, 0, (), (120.0, 50.0))] * 3, "c", (320, 240), CREATED)


GOOD = to_document(upright_baseline(jitter=0))


def edited(path: str, value: Any) -> dict[str, Any]:
    """The good document with one value replaced; `path` like 'metrics.neck_gap.mean' or 'resolution.0'."""
    doc = copy.deepcopy(GOOD)
    *parents, last = path.split(".")
    node: Any = doc
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return doc


def test_a_document_round_trips() -> None:
    assert from_document(GOOD) == upright_baseline(jitter=0)
    assert from_document(to_document(upright_baseline())) == upright_baseline()
    assert GOOD["schema"] == 1 and set(GOOD["metrics"]) == set(METRIC_NAMES)


@pytest.mark.parametrize(("path", "value"), [
    ("camera", 0), ("created", 20260101), ("created", "yesterday"), ("samples", True), ("samples", 2.0),
    ("resolution.0", "640"), ("resolution.1", False), ("metrics.neck_gap.mean", True),
    ("metrics.neck_gap.mean", "0.8"), ("metrics.head_ratio.sd", float("nan")), ("metrics.neck_gap.sd", None),
    ("metrics.visibility.mean", float("inf")),
])
def test_wrong_types_are_refused(path: str, value: Any) -> None:
    with pytest.raises(InvalidBaseline) as err:
        from_document(edited(path, value))
    assert str(err.value) == "is missing fields or has wrong values"


@pytest.mark.parametrize(("path", "value"), [
    ("resolution.0", 16384), ("resolution.1", 16384), ("samples", 1),
    ("metrics.neck_gap.mean", 0.05), ("metrics.neck_gap.mean", 5.0), ("metrics.neck_gap.sd", 0.0),
    ("metrics.shoulder_width.mean", 1280.0), ("metrics.ear_width.mean", 1280.0),
    ("metrics.center_x.mean", -640.0), ("metrics.center_x.mean", 1280.0),
    ("metrics.ear_y.mean", 960.0), ("metrics.shoulder_y.mean", -480.0), ("metrics.shoulder_y.mean", 960.0),
    ("metrics.head_ratio.mean", 3.0), ("metrics.face_turn_deg.mean", 90.0), ("metrics.visibility.mean", 1.0),
])
def test_extreme_but_possible_values_are_accepted(path: str, value: Any) -> None:
    assert from_document(edited(path, value))


@pytest.mark.parametrize(("path", "value", "problem"), [
    ("resolution.0", 0, "resolution 0x480; shoulder_width 200; ear_width 90; center_x 320"),
    ("resolution.1", 16385, "resolution 640x16385"),
    ("resolution.0", 16385, "resolution 16385x480"),
    ("samples", 0, "samples 0"),
    ("metrics.neck_gap.sd", -0.1, "neck_gap spread -0.1"),
    ("metrics.neck_gap.mean", 0.04, "neck_gap 0.04"),
    ("metrics.neck_gap.mean", 5.1, "neck_gap 5.1"),
    ("metrics.shoulder_width.mean", 1281.0, "shoulder_width 1281"),
    ("metrics.shoulder_width.mean", 3.0, "shoulder_width 3"),
    ("metrics.ear_width.mean", 1281.0, "ear_width 1281"),
    ("metrics.center_x.mean", 1281.0, "center_x 1281"),
    ("metrics.center_x.mean", -641.0, "center_x -641"),
    ("metrics.ear_y.mean", 961.0, "ear_y 961"),
    ("metrics.shoulder_y.mean", 961.0, "shoulder_y 961"),
    ("metrics.shoulder_y.mean", -481.0, "shoulder_y -481"),
])
def test_impossible_values_are_named(path: str, value: Any, problem: str) -> None:
    with pytest.raises(InvalidBaseline) as err:
        from_document(edited(path, value))
    assert str(err.value) == f"holds impossible values ({problem})"


def test_every_impossible_value_is_named_at_once() -> None:
    doc = edited("samples", 0)
    doc["resolution"] = [0, 0]
    with pytest.raises(InvalidBaseline) as err:
        from_document(doc)
    assert str(err.value) == "holds impossible values (resolution 0x0; samples 0; shoulder_width 200; ear_width 90; " \
        "center_x 320; ear_y 240; shoulder_y 400)"


@pytest.mark.parametrize("doc", [[1, 2], {"schema": 2}, {"schema": "1"}, None])
def test_another_format_version_is_named(doc: object) -> None:
    found = doc.get("schema") if isinstance(doc, dict) else None
    with pytest.raises(InvalidBaseline) as err:
        from_document(doc)
    assert str(err.value) == f"has format version {found!r}, this posture-watch reads version 1"
