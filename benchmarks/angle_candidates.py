"""Which way of turning landmarks into angles holds on cameras and bodies it was not tuned on: the evidence behind
posture_watch/core/angles.py.

    pip install -e '.[fit]'
    python -m benchmarks.angle_candidates [--samples DIR] [--cache DIR]

Every rendered angle sweep of the library (one body, one camera, held poses of known neck flexion and shoulder
elevation) is measured as a replay measures it (calibrated on its first 2 s), and each candidate's angle is
compared with the truth, as benchmarks/accuracy.py scores sweeps: the median absolute error over frames whose true
angle is at least 5 degrees, pooled over each part of the library and for its worst sweep. The candidates:

- pinhole, 62° assumed: what posture-watch did before. The head coming forward grows in the picture relative to
  the shoulders; with the shoulders' distance from a guessed focal length that gives the forward reach, and the
  angle is atan(reach / neck gap). The shoulder angle: arcsin(2 h) for a rise of h shoulder widths beyond the ears.
- pinhole, the true lens: the same with the lens each clip was rendered with: the best that estimating the
  user's camera (say, from their body at calibration) could do.
- height lost (arccos): the ear-to-shoulder height as a share of the calibrated one, perspective undone.
- MediaPipe 3D neck: the tilt of the neck in MediaPipe's world landmarks (metres), against calibration.
- linear fit: least squares over the model's features (core/angles.py), fitted on the tune part.
- trees (shipped): posture_watch/models/angles.json, gradient-boosted trees over the same features, fitted on the
  tune part by benchmarks/fit_angles.py.

The check part is what no candidate was fitted or chosen on. The choice between the fitted ones was made inside
the tune part: a second table refits each with one body (then one camera placement) of the tune part left out and
scores it on that body's (camera's) sweeps, which shows how a fit carries to a body or camera it has not seen. It
also refits the trees with other losses than the shipped squared error (absolute error, Huber).
"""

from __future__ import annotations

import argparse
import csv
import math
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.accuracy import MIN_TRUE_ANGLE, NECK_EVENTS, SHOULDER_EVENTS
from benchmarks.fit_angles import ROOT, default_cache, fit, measured, samples, tune_clips
from posture_watch.core.angles import features
from posture_watch.core.baseline import Baseline
from posture_watch.core.metrics import BodyMetrics
from posture_watch.pose import BUNDLED_SHA256, load_angle_model

Frame = tuple[BodyMetrics, Baseline]


def pinhole_neck(hfov_deg: float | None) -> Callable[[BodyMetrics, Baseline], float]:
    def angle(m: BodyMetrics, b: Baseline) -> float:
        lens = 62.0 if hfov_deg is None else hfov_deg
        distance = 0.5 / math.tan(math.radians(lens / 2)) * b.resolution[0] / m.shoulder_width  # shoulder widths
        forward = distance * (1.0 - b.mean("head_ratio") / m.head_ratio)
        return math.degrees(math.atan2(forward, max(m.neck_gap, 1e-6)))
    return angle


def old_shoulder(m: BodyMetrics, b: Baseline) -> float:
    width0 = b.mean("shoulder_width")
    rise = (b.mean("shoulder_y") - m.shoulder_y) / width0 - max(0.0, (b.mean("ear_y") - m.ear_y) / width0)
    return math.degrees(math.asin(max(-1.0, min(1.0, 2 * rise))))


def height_lost(m: BodyMetrics, b: Baseline) -> float:
    return math.degrees(math.acos(max(-1.0, min(1.0, 1.0 - float(features(m, b)[0])))))


def world_neck(m: BodyMetrics, b: Baseline) -> float:
    return m.world_neck_deg - b.mean("world_neck_deg")


Training = list[tuple[np.ndarray, np.ndarray, np.ndarray]]  # (features, true neck, true shoulder) per clip


def fit_linear(parts: Training, column: int) -> Any:
    from sklearn.linear_model import LinearRegression

    return LinearRegression().fit(np.vstack([p[0] for p in parts]), np.concatenate([p[column] for p in parts]))


def fit_trees(loss: str) -> Callable[[Training, int], Any]:
    def fitter(parts: Training, column: int) -> Any:
        return fit(np.vstack([p[0] for p in parts]), np.concatenate([p[column] for p in parts]), loss)
    return fitter


def predict_one(fitted: Any, m: BodyMetrics, b: Baseline) -> float:
    return float(fitted.predict(features(m, b)[None, :])[0])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=Path, default=ROOT / "samples", help="the library folder")
    ap.add_argument("--cache", type=Path, default=default_cache(BUNDLED_SHA256),
                    help="the bundled pose model's outputs per clip, shared with fit_angles.py")
    args = ap.parse_args()

    with (args.samples / "library.csv").open(newline="") as fh:
        library = {row["clip"]: row for row in csv.DictReader(fh)}
    sweeps = [row for row in library.values() if row["kind"] == "sweep"]
    # (part, clip) -> the clip's scored frames for each angle, with the truth
    frames: dict[tuple[str, str], dict[str, list[tuple[Frame, float]]]] = {}
    for row in sweeps:
        baseline, measurements = measured(args.samples, row["clip"], args.cache, None)
        scored: dict[str, list[tuple[Frame, float]]] = {"neck": [], "shoulder": []}
        for m, labels in measurements:
            for angle, events in (("neck", NECK_EVENTS), ("shoulder", SHOULDER_EVENTS)):
                truth = float(labels[f"true_{angle}_deg"])
                if truth >= MIN_TRUE_ANGLE and labels["event"] in events:
                    scored[angle].append(((m, baseline), truth))
        frames[(row["part"], row["clip"])] = scored
        print(f"  measured {row['clip']}", file=sys.stderr)

    model = load_angle_model()
    lens = {row["clip"]: float(row["hfov_deg"]) for row in sweeps}
    training = {clip: samples(args.samples, clip, args.cache, None) for clip in tune_clips(args.samples)}
    linear = {angle: fit_linear(list(training.values()), column)
              for angle, column in (("neck", 1), ("shoulder", 2))}
    candidates: dict[str, dict[str, Callable[[str, BodyMetrics, Baseline], float]]] = {
        "neck": {
            "pinhole, 62° assumed (before)": lambda clip, m, b: pinhole_neck(None)(m, b),
            "pinhole, the true lens": lambda clip, m, b: pinhole_neck(lens[clip])(m, b),
            "height lost (arccos)": lambda clip, m, b: height_lost(m, b),
            "MediaPipe 3D neck": lambda clip, m, b: world_neck(m, b),
            "linear fit (tune)": lambda clip, m, b: predict_one(linear["neck"], m, b),
            "trees (shipped)": lambda clip, m, b: model.angles(m, b)[0],
        },
        "shoulder": {
            "arcsin of the rise (before)": lambda clip, m, b: old_shoulder(m, b),
            "linear fit (tune)": lambda clip, m, b: predict_one(linear["shoulder"], m, b),
            "trees (shipped)": lambda clip, m, b: model.angles(m, b)[1],
        },
    }
    print("| angle | candidate | tune: pooled, worst sweep | check: pooled, worst sweep |\n|---|---|---|---|")
    for angle, named in candidates.items():
        for name, predict in named.items():
            cells = []
            for part in ("tune", "check"):
                per_clip = [[abs(predict(clip, m, b) - truth) for (m, b), truth in s[angle]]
                            for (p, clip), s in frames.items() if p == part and s[angle]]
                pooled = statistics.median(e for errors in per_clip for e in errors)
                worst = max(statistics.median(errors) for errors in per_clip)
                cells.append(f"{pooled:.1f}°, {worst:.1f}°")
            print(f"| {angle} | {name} | {cells[0]} | {cells[1]} |")
    print("\nInside the tune part, one group left out of the fit at a time\n\n"
          "| angle | fit | a body left out: pooled, worst sweep | a camera left out: pooled, worst sweep |\n"
          "|---|---|---|---|")
    for angle, column in (("neck", 1), ("shoulder", 2)):
        # The trees' loss: squared error is shipped; the absolute error fits the median that the targets score.
        for name, fitter in (("linear", fit_linear), ("trees", fit_trees("squared_error")),
                             ("trees, absolute-error loss", fit_trees("absolute_error")),
                             ("trees, Huber loss", fit_trees("huber"))):
            cells = []
            for key in ("body", "camera"):
                per_clip = []
                for left_out in sorted({library[clip][key] for clip in training}):
                    fitted = fitter([s for clip, s in training.items() if library[clip][key] != left_out], column)
                    per_clip += [[abs(predict_one(fitted, m, b) - truth) for (m, b), truth in s[angle]]
                                 for (p, clip), s in frames.items()
                                 if p == "tune" and library[clip][key] == left_out and s[angle]]
                pooled = statistics.median(e for errors in per_clip for e in errors)
                cells.append(f"{pooled:.1f}°, {max(statistics.median(e) for e in per_clip):.1f}°")
            print(f"| {angle} | {name} | {cells[0]} | {cells[1]} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
