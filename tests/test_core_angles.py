"""The angle model: its inputs (each a change from the calibration, perspective undone), what a tree ensemble
computes, which model documents are refused and why, and the shipped model file."""

from __future__ import annotations

import copy
import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from posture_watch.core.angles import FEATURES, AngleModel, TreeEnsemble, features
from tests.synthetic import CLAVICLE, SHOULDERS, geometric_angle_model, metrics, upright_baseline

SHIPPED = Path(__file__).resolve().parent.parent / "posture_watch" / "models" / "angles.json"
BASE = upright_baseline(jitter=0)


def feature(name: str, **pose: float) -> float:
    return float(features(metrics(**pose), BASE)[FEATURES.index(name)])


def test_the_calibrated_posture_changes_nothing_and_carries_the_calibrations_shape() -> None:
    x = features(metrics(), BASE)
    assert dict(zip(FEATURES[:10], x[:10], strict=True)) == pytest.approx(dict.fromkeys(FEATURES[:10], 0.0),
                                                                          abs=1e-9)
    # How the camera looks at this face (above or below the eyes, lens, build): context for every camera.
    assert list(x[10:]) == [BASE.mean("nose_drop"), BASE.mean("neck_gap"), BASE.mean("head_ratio")]


def test_each_input_in_its_own_unit() -> None:
    # The whole body a quarter nearer: shoulders and ears 25 % wider, nothing else changed.
    assert (feature("shoulder_scale", width=250), feature("ear_scale", width=250)) == pytest.approx((0.25, 0.25))
    assert feature("head_ratio", width=250) == pytest.approx(0, abs=1e-9)
    # A 5 cm shrug: the shoulders 5/38 of a shoulder width higher, the 3D neck as much shorter.
    assert feature("shoulder_rise", shrug=0.05) == pytest.approx(0.05 / SHOULDERS)
    assert feature("world_shortening", shrug=0.05) == pytest.approx(0.05 / SHOULDERS)
    # A 30 degree hunch: MediaPipe's 3D neck tilts by as much, and the head reaches forward.
    assert feature("world_neck", flex_deg=30) == pytest.approx(30)
    assert feature("world_forward", flex_deg=30) == pytest.approx(0.17 * 0.5 / SHOULDERS)
    assert feature("head_ratio", flex_deg=30) == pytest.approx(metrics(flex_deg=30).head_ratio / BASE.mean(
        "head_ratio") - 1)
    assert feature("nose_drop", flex_deg=30) == pytest.approx(metrics(flex_deg=30).nose_drop - BASE.mean("nose_drop"))


def test_the_inputs_are_relative_to_a_calibration_that_is_not_zero() -> None:
    """A camera beside the screen, a face turned and tilted at calibration: the calibration is subtracted."""
    world = replace(metrics(), world_neck_deg=25.0, world_head_forward=0.3, nose_drop=0.2)
    tilted = replace(BASE, stats={**BASE.stats, "world_neck_deg": replace(BASE.stats["world_neck_deg"], mean=20.0),
                                  "world_head_forward": replace(BASE.stats["world_head_forward"], mean=0.1),
                                  "nose_drop": replace(BASE.stats["nose_drop"], mean=0.15)})
    x = dict(zip(FEATURES, features(world, tilted), strict=True))
    assert (x["world_neck"], x["world_forward"], x["nose_drop"]) == pytest.approx((5.0, 0.2, 0.05))


def test_a_sample_with_a_value_that_is_not_a_number_gets_no_angle() -> None:
    """No NaN angle (it would compare false with every threshold and hide a slouch): zero, and the sample goes on."""
    broken = replace(metrics(flex_deg=30, shrug=0.05), nose_drop=math.nan)
    assert geometric_angle_model().angles(broken, BASE) == (0.0, 0.0)


def test_the_geometric_stand_in_reads_whole_degrees() -> None:
    model = geometric_angle_model()
    assert model.angles(metrics(flex_deg=20), BASE) == (20.0, 0.0)
    assert model.angles(metrics(shrug=CLAVICLE * math.sin(math.radians(12.5))), BASE) == (0.0, 12.0)


def refusal(doc: Any, read: Any = TreeEnsemble.from_document) -> str:
    with pytest.raises(ValueError) as err:
        read(doc)
    return str(err.value)


def stumps(depth: int, trees: int = 1) -> dict[str, Any]:
    """A valid document of `trees` complete trees of `depth` levels on feature 0, thresholds 0, leaves 0."""
    nodes = 2**depth
    return {"base": 0.0, "depth": depth, "feature": [[0] * (nodes - 1)] * trees,
            "threshold": [[0.0] * (nodes - 1)] * trees, "leaf": [[0.0] * nodes] * trees}


def test_a_depth_three_tree_reaches_each_of_its_eight_leaves() -> None:
    # Every node splits on feature k at 0, where k is the node's level: the sign of features 0, 1, 2 picks the leaf.
    trees = TreeEnsemble(0.5, 3, np.array([[0, 1, 1, 2, 2, 2, 2]]), np.zeros((1, 7)),
                         np.arange(8.0).reshape(1, 8))
    for leaf in range(8):
        x = np.zeros(len(FEATURES))
        x[:3] = [1.0 if leaf >> (2 - level) & 1 else -1.0 for level in range(3)]
        assert trees.predict(x) == 0.5 + leaf


def reference_walk(trees: TreeEnsemble, x: np.ndarray) -> float:
    """One tree at a time, one node at a time: the plainest reading of the stored layout."""
    total = trees.base
    for t in range(trees.leaf.shape[0]):
        node = 0
        while node < 2**trees.depth - 1:
            right = x[trees.feature[t, node]] > trees.threshold[t, node]
            node = 2 * node + (2 if right else 1)
        total += trees.leaf[t, node - (2**trees.depth - 1)]
    return float(total)


def shipped() -> AngleModel:
    return AngleModel.from_document(json.loads(SHIPPED.read_text()))


def test_the_shipped_trees_compute_what_they_store() -> None:
    model = shipped()
    samples = [features(metrics(**pose), BASE) for pose in (
        {}, {"flex_deg": 15}, {"flex_deg": 30, "closer": 0.1}, {"shrug": 0.04}, {"lean_deg": 6, "width": 230},
        {"camera_height": 0.2, "flex_deg": 25})]
    for x in samples:
        for trees in (model.neck, model.shoulder):
            assert trees.predict(x) == pytest.approx(reference_walk(trees, x), abs=1e-9)


def test_the_shipped_model_reads_a_hunch_and_a_shrug() -> None:
    model = shipped()
    calibrated = upright_baseline(jitter=0, angles=model)
    upright = model.angles(metrics(), calibrated)
    assert upright == pytest.approx((0, 0), abs=1)
    neck, _ = model.angles(metrics(flex_deg=30), calibrated)
    _, shoulder = model.angles(metrics(shrug=0.06), calibrated)
    assert neck > upright[0] + 5 and shoulder > upright[1] + 10


def test_a_document_names_which_tree_is_which() -> None:
    neck, shoulder = stumps(1), stumps(1)
    neck["base"], shoulder["base"] = 7.0, -3.0
    model = AngleModel.from_document({"features": list(FEATURES), "neck": neck, "shoulder": shoulder})
    assert model.angles(metrics(), BASE) == (7.0, -3.0)


def test_thresholds_are_read_and_null_means_every_sample_goes_left() -> None:
    doc = {"base": 0.0, "depth": 2, "feature": [[1, 2, 2]], "threshold": [[0.5, None, -1.0]],
           "leaf": [[1.0, 2.0, 3.0, 4.0]]}
    trees = TreeEnsemble.from_document(doc)

    def at(f1: float, f2: float) -> float:
        x = np.zeros(len(FEATURES))
        x[1], x[2] = f1, f2
        return trees.predict(x)

    assert (at(0.5, 1e300), at(0.6, -1.0), at(0.6, -0.9)) == (1.0, 3.0, 4.0)


@pytest.mark.parametrize(("depth", "ok"), [(0, False), (1, True), (8, True), (9, False)])
def test_trees_are_one_to_eight_levels_deep(depth: int, ok: bool) -> None:
    if ok:
        assert TreeEnsemble.from_document(stumps(depth)).depth == depth
    else:
        doc = stumps(max(depth, 1))
        doc["depth"] = depth
        assert refusal(doc) == "the tree arrays do not match the depth"


def test_nine_levels_are_refused_even_when_the_arrays_fit() -> None:
    assert refusal(stumps(9)) == "the tree arrays do not match the depth"


@pytest.mark.parametrize("damage", [
    {"feature": [[0, 0]]},  # two nodes for a tree of depth 2 (three)
    {"threshold": [[0.0, 0.0]]},
    {"leaf": [[0.0, 0.0, 0.0]]},
    {"leaf": [[0.0] * 4, [0.0] * 4]},  # two trees of leaves, one of nodes
])
def test_arrays_that_do_not_fit_the_depth_are_refused(damage: dict[str, Any]) -> None:
    assert refusal({**stumps(2), **damage}) == "the tree arrays do not match the depth"


@pytest.mark.parametrize("damage", [
    {"base": math.inf}, {"base": math.nan}, {"leaf": [[0.0, math.inf, 0.0, 0.0]]},
    {"threshold": [[0.0, math.nan, 0.0]]},
])
def test_values_that_are_not_numbers_are_refused(damage: dict[str, Any]) -> None:
    assert refusal({**stumps(2), **damage}) == "the trees hold values that are not numbers"


@pytest.mark.parametrize("damage", [
    {"base": "0.5"}, {"base": True}, {"depth": "2"}, {"depth": 2.0},  # numpy and int() would take these
    {"leaf": [["1.0", 0.0, 0.0, 0.0]]}, {"threshold": [[0.0, "0.5", 0.0]]}, {"leaf": [[True, 0.0, 0.0, 0.0]]},
])
def test_only_json_numbers_are_numbers(damage: dict[str, Any]) -> None:
    assert refusal({**stumps(2), **damage}) == "the trees hold values that are not numbers"


@pytest.mark.parametrize("index", ["0", 0.5, 1.0, True, None])
def test_a_feature_index_is_a_whole_number(index: Any) -> None:
    assert refusal({**stumps(1), "feature": [[index]]}) == "the trees use features the model does not have"


@pytest.mark.parametrize(("damage", "message"), [
    ({"leaf": [[0.0] * 4, [0.0] * 3]}, "the tree arrays do not match the depth"),  # ragged
    ({"leaf": [0.0] * 4}, "the tree arrays are not tables"),
    ({"feature": "0,0,0"}, "the tree arrays are not tables"),
    ({"threshold": None}, "the tree arrays are not tables"),
])
def test_tree_arrays_are_tables(damage: dict[str, Any], message: str) -> None:
    assert refusal({**stumps(2), **damage}) == message


@pytest.mark.parametrize(("index", "ok"), [(-1, False), (0, True), (len(FEATURES) - 1, True),
                                           (len(FEATURES), False)])
def test_a_tree_may_use_only_the_models_features(index: int, ok: bool) -> None:
    doc = {**stumps(1), "feature": [[index]]}
    if ok:
        assert TreeEnsemble.from_document(doc).feature[0, 0] == index
    else:
        assert refusal(doc) == "the trees use features the model does not have"


MODEL_DOC = {"features": list(FEATURES), "neck": stumps(2), "shoulder": stumps(2)}


REFIT = "the model was fitted on other features: refit it with benchmarks/fit_angles.py"


@pytest.mark.parametrize(("damage", "message"), [
    ({"features": list(FEATURES[:-1])}, REFIT),
    ({"features": list(reversed(FEATURES))}, REFIT),
    ({"neck": {k: v for k, v in stumps(2).items() if k != "leaf"}}, "the angle model is incomplete ('leaf')"),
])
def test_a_damaged_model_document_says_what_is_wrong(damage: dict[str, Any], message: str) -> None:
    assert refusal({**copy.deepcopy(MODEL_DOC), **damage}, AngleModel.from_document) == message


@pytest.mark.parametrize("damage", [{"features": None}, {"shoulder": None}, {"neck": [1, 2]}])
def test_a_model_document_of_the_wrong_shape_is_incomplete(damage: dict[str, Any]) -> None:
    said = refusal({**copy.deepcopy(MODEL_DOC), **damage}, AngleModel.from_document)
    assert said.startswith("the angle model is incomplete (") and "\n" not in said


@pytest.mark.parametrize("missing", ["features", "neck", "shoulder"])
def test_a_model_document_without_a_part_is_incomplete(missing: str) -> None:
    doc = {k: v for k, v in MODEL_DOC.items() if k != missing}
    assert refusal(doc, AngleModel.from_document) == f"the angle model is incomplete ('{missing}')"
