"""The neck and shoulder angles: how far the shoulder-to-ear chain has tilted forward, and how far the collarbones
have risen, in degrees from the calibrated upright posture.

No single measurement from a frontal webcam gives these on every camera. The head coming forward makes the ears
drop in the picture on a camera at eye level, rise on a laptop camera below the chin and drop twice as fast on
one above the screen; the head's growth in the picture depends on the lens; MediaPipe's own 3D estimate sees a
hunch but only half of a forward head. So the angle is a learned combination of all of them, relative to the
baseline, with the baseline's own shape (how the camera looks at this face) as context: a small ensemble of
regression trees (gradient boosting), fitted by `benchmarks/fit_angles.py` on the *tune* part of the sample
library, where rendered bodies have known angles, and judged on the *check* part. The fitted trees are data
(`posture_watch/models/angles.json`), loaded by an adapter and validated here.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .baseline import Baseline
from .metrics import BodyMetrics

# The model's inputs, in order. Changing them means refitting (benchmarks/fit_angles.py), which rewrites the file.
FEATURES = (
    "gap_shrink",  # share of the calibrated ear-to-shoulder height lost, perspective undone
    "ear_drop",  # ears lower than at calibration (perspective undone), in calibrated shoulder widths
    "shoulder_rise",  # shoulders higher than at calibration (perspective undone), in calibrated shoulder widths
    "world_neck",  # MediaPipe's 3D neck tilt, degrees from calibration
    "head_ratio",  # growth of the ear width relative to the shoulder width
    "world_forward",  # the 3D head's forward reach beyond calibration, in 3D shoulder widths
    "world_shortening",  # the 3D neck's shortening (shoulders rising toward the ears)
    "nose_drop",  # the nose lower relative to the ears than at calibration (the face pitching)
    "shoulder_scale",  # shoulders wider (nearer) than at calibration
    "ear_scale",  # ears wider (nearer) than at calibration
    "base_nose_drop",  # at calibration: how far below the ears the nose appears (camera above or below the eyes)
    "base_neck_gap",  # at calibration: the ear-to-shoulder height in shoulder widths (neck length, camera height)
    "base_head_ratio",  # at calibration: ear width over shoulder width (build, lens)
)


def features(m: BodyMetrics, b: Baseline) -> np.ndarray:
    """The model's inputs for one sample against the baseline."""
    ws0, we0 = b.mean("shoulder_width"), b.mean("ear_width")
    # Each point's height from the optical axis, scaled back to the depth it had at calibration: a point coming
    # nearer moves away from the image centre, which is perspective, not posture.
    ear_y = m.ear_y * we0 / m.ear_width
    shoulder_y = m.shoulder_y * ws0 / m.shoulder_width
    height0 = b.mean("shoulder_y") - b.mean("ear_y")
    return np.array([
        1.0 - (shoulder_y - ear_y) / height0,
        (ear_y - b.mean("ear_y")) / ws0,
        (b.mean("shoulder_y") - shoulder_y) / ws0,
        m.world_neck_deg - b.mean("world_neck_deg"),
        m.head_ratio / b.mean("head_ratio") - 1.0,
        m.world_head_forward - b.mean("world_head_forward"),
        b.mean("world_neck_length") - m.world_neck_length,
        m.nose_drop - b.mean("nose_drop"),
        m.shoulder_width / ws0 - 1.0,
        m.ear_width / we0 - 1.0,
        b.mean("nose_drop"),
        b.mean("neck_gap"),
        b.mean("head_ratio"),
    ])


@dataclass(frozen=True)
class TreeEnsemble:
    """Gradient-boosted regression trees, each a complete binary tree of `depth` levels stored breadth-first:
    internal node k has children 2k+1 and 2k+2; `feature` and `threshold` are (trees, 2**depth - 1), `leaf` is
    (trees, 2**depth) and already scaled by the learning rate. A sample goes right where its feature is above the
    threshold."""

    base: float
    depth: int
    feature: np.ndarray
    threshold: np.ndarray
    leaf: np.ndarray

    def __post_init__(self) -> None:
        trees = self.leaf.shape[0]
        if not (1 <= self.depth <= 8 and self.feature.shape == self.threshold.shape == (trees, 2**self.depth - 1)
                and self.leaf.shape == (trees, 2**self.depth)):
            raise ValueError("the tree arrays do not match the depth")
        if not (math.isfinite(self.base) and np.isfinite(self.leaf).all() and not np.isnan(self.threshold).any()):
            raise ValueError("the trees hold values that are not numbers")
        if self.feature.size and not (self.feature.min() >= 0 and self.feature.max() < len(FEATURES)):
            raise ValueError("the trees use features the model does not have")

    def predict(self, x: np.ndarray) -> float:
        rows = np.arange(self.leaf.shape[0])
        node = np.zeros(len(rows), dtype=np.intp)
        for _ in range(self.depth):
            node = 2 * node + 1 + (x[self.feature[rows, node]] > self.threshold[rows, node])
        return self.base + float(self.leaf[rows, node - (2**self.depth - 1)].sum())

    @classmethod
    def from_document(cls, doc: Any) -> TreeEnsemble:
        """The trees of a parsed document; raises ValueError saying what is wrong. Only JSON numbers are read as
        numbers: numpy would also turn the text "3" into 3, which no fitted model writes."""
        if not (_is_number(doc["base"]) and _is_index(doc["depth"])):
            raise ValueError("the trees hold values that are not numbers")
        feature = _table(doc["feature"], _is_index, "the trees use features the model does not have")
        # JSON has no infinity: a node that sends every sample left (a leaf pushed down) has threshold null.
        threshold = _table(doc["threshold"], lambda v: v is None or _is_number(v))
        leaf = _table(doc["leaf"], _is_number)
        return cls(float(doc["base"]), doc["depth"], np.asarray(feature, dtype=np.intp),
                   np.asarray([[math.inf if v is None else v for v in row] for row in threshold], dtype=np.float64),
                   np.asarray(leaf, dtype=np.float64))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_index(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _table(rows: Any, valid: Callable[[Any], bool], problem: str = "the trees hold values that are not numbers",
           ) -> list[list[Any]]:
    """`rows` checked to be a list of equally long lists whose every value is `valid`."""
    if not (isinstance(rows, list) and all(isinstance(row, list) for row in rows)):
        raise ValueError("the tree arrays are not tables")
    if len({len(row) for row in rows}) > 1:
        raise ValueError("the tree arrays do not match the depth")
    if not all(valid(v) for row in rows for v in row):
        raise ValueError(problem)
    return rows


@dataclass(frozen=True)
class AngleModel:
    neck: TreeEnsemble
    shoulder: TreeEnsemble

    def angles(self, m: BodyMetrics, b: Baseline) -> tuple[float, float]:
        """(neck flexion, shoulder elevation) in degrees from the calibrated posture; positive is worse."""
        x = features(m, b)
        if not np.isfinite(x).all():
            return 0.0, 0.0  # a degenerate baseline; the gates in posture.py never let one get this far
        return self.neck.predict(x), self.shoulder.predict(x)

    @classmethod
    def from_document(cls, doc: Any) -> AngleModel:
        """Validate a parsed model document; raises ValueError saying what is wrong."""
        try:
            if tuple(doc["features"]) != FEATURES:
                raise ValueError("the model was fitted on other features: refit it with benchmarks/fit_angles.py")
            return cls(TreeEnsemble.from_document(doc["neck"]), TreeEnsemble.from_document(doc["shoulder"]))
        except (KeyError, TypeError, IndexError) as err:
            raise ValueError(f"the angle model is incomplete ({err})") from None
