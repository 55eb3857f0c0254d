"""Fit the neck and shoulder angle model on the *tune* part of the sample library, and write it for the package.

    pip install -e '.[fit]'
    python benchmarks/fit_angles.py [--model PATH] [--samples DIR] [--out FILE] [--cache DIR]

Every tune clip whose labels hold the true angles (the rendered sweeps and scenario clips) is run through the
pose model exactly as a replay does: calibrated on its first 2 s, each frame's main person measured by the core,
the core's angle features computed against that baseline (posture_watch.core.angles.features). Two gradient-
boosted tree ensembles (scikit-learn) learn the true neck flexion and shoulder elevation from them; the trees are
written as plain arrays, which the package evaluates with numpy alone. The check part is never read here:
benchmarks/accuracy.py judges the model on it.

Each pose model's landmarks get their own angle model: by default the bundled lite one's, written to
posture_watch/models/angles.json; with `--model` Google's official full bundle, written to angles_full.json (the
package picks the file by the bundle's sha256, posture_watch.pose.ANGLE_MODELS; another bundle needs an entry
there first).

The pose model's outputs are cached per pose model and clip (--cache, default /tmp/posture-watch-fit/<sha256>) so
a refit after changing the fitting settings takes seconds; the cache is keyed by the clip's size and time, so new
footage is re-run.
"""

from __future__ import annotations

import argparse
import csv
import functools
import hashlib
import json
import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from posture_watch.core.angles import FEATURES, AngleModel, TreeEnsemble, features
from posture_watch.core.baseline import Baseline, CalibrationRefused, baseline_from_observations
from posture_watch.core.landmarks import Observation, Pose, main_person
from posture_watch.core.metrics import BodyMetrics, measure
from posture_watch.errors import PostureWatchError
from posture_watch.pose import ANGLE_MODELS, PoseEstimator, load_model
from posture_watch.sources import VideoFileSource

ROOT = Path(__file__).resolve().parent.parent
CALIBRATE_FIRST = 2.0  # as the accuracy benchmark and replay's default
TREES, DEPTH, RATE, SUBSAMPLE = 150, 3, 0.05, 0.8
_NO_TREES = TreeEnsemble(0.0, DEPTH, np.zeros((0, 2**DEPTH - 1), dtype=np.intp), np.zeros((0, 2**DEPTH - 1)),
                         np.zeros((0, 2**DEPTH)))
NO_MODEL = AngleModel(_NO_TREES, _NO_TREES)  # says 0 degrees to everything


def tune_clips(folder: Path) -> list[str]:
    with (folder / "library.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    clips = []
    for row in rows:
        if row["part"] != "tune":
            continue
        labels = folder / f"{row['clip']}.labels.csv"
        with labels.open(newline="") as fh:
            first = next(csv.DictReader(fh), {})
        if first.get("true_neck_deg"):  # rendered: the true angles are known
            clips.append(row["clip"])
    return clips


def cached(video: Path, cache: Path, model: Path | None) -> Path:
    """The cache file of the pose model's outputs on every frame of `video`, made now if there is none."""
    stat = video.stat()
    key = cache / f"{video.stem}-{stat.st_size}-{int(stat.st_mtime)}.npz"
    if not key.exists():
        source = VideoFileSource(video)
        xy, vis, world, t, bright = [], [], [], [], []
        with PoseEstimator(model) as estimator:
            for frame in source:
                obs = estimator.observe(frame)
                person = obs.poses[0] if obs.poses else None
                xy.append(person.xy if person else np.full((33, 2), np.nan))
                vis.append(person.visibility if person else np.zeros(33))
                world.append(person.world if person is not None and person.world is not None
                             else np.full((33, 3), np.nan))
                t.append(obs.t)
                bright.append(obs.brightness)
        source.close()
        cache.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(key, xy=xy, vis=vis, world=world, t=t, bright=bright, size=source.size)
    return key


def observations(video: Path, cache: Path, model: Path | None) -> list[Observation]:
    """Every frame's observation, from the pose model or from the cache of an earlier run."""
    data = np.load(cached(video, cache, model))
    size = (int(data["size"][0]), int(data["size"][1]))
    result = []
    for k in range(len(data["t"])):
        seen = not np.isnan(data["xy"][k]).any()
        poses = (Pose(data["xy"][k], data["vis"][k], size, data["world"][k]),) if seen else ()
        result.append(Observation(float(data["t"][k]), k, poses, tuple(data["bright"][k])))
    return result


def measured(folder: Path, clip: str, cache: Path, model: Path | None,
             ) -> tuple[Baseline, list[tuple[BodyMetrics, dict[str, str]]]]:
    """The clip's baseline (its first 2 s, as replay calibrates) and every measurable frame's metrics with its
    labels row."""
    obs = observations(folder / f"{clip}.mp4", cache, model)
    # The features only use the baseline's metric means; its angle spread (which would need a model) is not used.
    size = next((o.poses[0].image_size for o in obs if o.poses), (0, 0))
    baseline: Baseline = baseline_from_observations([o for o in obs if o.t < CALIBRATE_FIRST], clip, size, "fit",
                                                    NO_MODEL)
    with (folder / f"{clip}.labels.csv").open(newline="") as fh:
        labels = list(csv.DictReader(fh))
    frames = []
    for o, row in zip(obs, labels, strict=False):
        person = main_person(o.poses, baseline.mean("center_x"))
        m = measure(person) if person is not None else None
        if m is not None:
            frames.append((m, row))
    return baseline, frames


def samples(folder: Path, clip: str, cache: Path, model: Path | None,
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features, true neck, true shoulder) of every measurable frame of one clip."""
    baseline, frames = measured(folder, clip, cache, model)
    x, neck, shoulder = [], [], []
    for m, row in frames:
        f = features(m, baseline)
        if np.isfinite(f).all():
            x.append(f)
            neck.append(float(row["true_neck_deg"]))
            shoulder.append(float(row["true_shoulder_deg"]))
    return np.array(x), np.array(neck), np.array(shoulder)


def fit(x: np.ndarray, y: np.ndarray, loss: str = "squared_error") -> Any:
    """The shipped settings; `loss` (scikit-learn's name) for benchmarks/angle_candidates.py's comparison."""
    from sklearn.ensemble import GradientBoostingRegressor

    return GradientBoostingRegressor(n_estimators=TREES, max_depth=DEPTH, learning_rate=RATE, subsample=SUBSAMPLE,
                                     loss=loss, random_state=0).fit(x, y)


def export(model: Any) -> dict[str, Any]:
    """The fitted ensemble as complete trees of DEPTH levels (a leaf above the bottom is pushed down unchanged:
    its node gets threshold +inf, so every sample goes left, and both children repeat its value)."""
    internal, leaves = 2**DEPTH - 1, 2**DEPTH
    feature = np.zeros((len(model.estimators_), internal), dtype=int)
    threshold = np.full((len(model.estimators_), internal), np.inf)
    leaf = np.zeros((len(model.estimators_), leaves))
    for t, (estimator,) in enumerate(model.estimators_):
        tree = estimator.tree_

        def place(node: int, slot: int, level: int, tree: Any = tree, t: int = t) -> None:
            if level == DEPTH:
                leaf[t, slot - internal] = RATE * tree.value[node][0][0]
                return
            is_leaf = tree.children_left[node] == -1
            if not is_leaf:
                feature[t, slot] = tree.feature[node]
                threshold[t, slot] = tree.threshold[node]
            place(node if is_leaf else tree.children_left[node], 2 * slot + 1, level + 1)
            place(node if is_leaf else tree.children_right[node], 2 * slot + 2, level + 1)

        place(0, 0, 0)
    # sklearn sends a sample left when feature <= threshold; the package goes right when feature > threshold.
    return {"base": float(model.init_.constant_[0][0]), "depth": DEPTH, "feature": feature.tolist(),
            "threshold": [[None if not np.isfinite(v) else round(float(v), 6) for v in row] for row in threshold],
            "leaf": [[round(float(v), 6) for v in row] for row in leaf]}


def default_cache(pose_model_sha256: str) -> Path:
    """Where the pose model's outputs are cached: a folder per pose model, named by its bundle's sha256."""
    return Path("/tmp/posture-watch-fit") / pose_model_sha256[:16]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, help="the pose .task bundle whose landmarks to fit on (default: bundled)")
    ap.add_argument("--samples", type=Path, default=ROOT / "samples")
    ap.add_argument("--out", type=Path, help="default: the package's file for that pose model")
    ap.add_argument("--cache", type=Path, help="default: /tmp/posture-watch-fit/<the bundle's sha256>")
    args = ap.parse_args()
    try:
        pose_sha256 = hashlib.sha256(load_model(args.model)).hexdigest()
    except PostureWatchError as err:
        ap.error(str(err))
    if args.out is None and pose_sha256 not in ANGLE_MODELS:
        ap.error(f"{args.model} is not a pose model posture_watch.pose.ANGLE_MODELS names: give --out")
    out = args.out or ROOT / "posture_watch" / "models" / ANGLE_MODELS[pose_sha256]
    cache = args.cache or default_cache(pose_sha256)
    tune = tune_clips(args.samples)
    # The pose model runs on one core: one clip per usable core (spawned: the pose runtime holds threads).
    with ProcessPoolExecutor(len(os.sched_getaffinity(0)), mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(functools.partial(cached, cache=cache, model=args.model),
                      [args.samples / f"{clip}.mp4" for clip in tune]))
    clips, refused, parts = [], {}, []
    for clip in tune:
        try:
            parts.append(samples(args.samples, clip, cache, args.model))
        except CalibrationRefused as err:
            # posture-watch measures no angle without a baseline, so this clip's frames would teach nothing true
            refused[clip] = str(err)
            print(f"  {clip}: left out, {err}", file=sys.stderr)
            continue
        clips.append(clip)
        print(f"  {clip}: {len(parts[-1][0])} frames", file=sys.stderr)
    x = np.vstack([p[0] for p in parts])
    doc = {
        "about": "posture-watch's neck and shoulder angle model: gradient-boosted trees over the features of "
                 "posture_watch/core/angles.py, fitted by benchmarks/fit_angles.py on the tune part of the sample "
                 "library (samples/library.csv), measured by the pose model whose bundle has pose_model_sha256.",
        "pose_model_sha256": pose_sha256,
        "fitted": datetime.now(UTC).isoformat(timespec="seconds"),
        "clips": clips,
        "refused_calibrations": refused,
        "frames": len(x),
        "settings": {"trees": TREES, "depth": DEPTH, "learning_rate": RATE, "subsample": SUBSAMPLE},
        "features": list(FEATURES),
    }
    for name, column in (("neck", 1), ("shoulder", 2)):
        doc[name] = export(fit(x, np.concatenate([p[column] for p in parts])))
    out.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    print(f"wrote {out} ({len(clips)} clips, {len(x)} frames)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
