"""The upright baseline: each metric's mean and spread while the user sat upright, saved as JSON.

Format (see calibration/README.md): {"schema": 1, "created": ISO time, "camera": str, "resolution": [w, h],
"samples": n, "metrics": {name: {"mean": float, "sd": float}, ...}} with one entry per `BodyMetrics` field.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, fields
from pathlib import Path

from .errors import PostureWatchError
from .metrics import BodyMetrics
from .userfiles import config_dir, write_private_file

SCHEMA = 1
METRIC_NAMES = tuple(f.name for f in fields(BodyMetrics))

# Calibration quality limits: what "sitting still, upright, facing the screen" looks like.
MIN_SEEN_FRACTION = 0.8
MIN_VISIBILITY = 0.5
MAX_FACE_TURN_DEG = 20.0
MAX_NECK_GAP_SD = 0.05  # shoulder widths
MAX_SHIFT_SD = 0.15  # shoulder widths, side to side


@dataclass(frozen=True)
class MetricStats:
    mean: float
    sd: float


@dataclass(frozen=True)
class Baseline:
    stats: dict[str, MetricStats]
    camera: str
    resolution: tuple[int, int]
    samples: int
    created: str

    def mean(self, name: str) -> float:
        return self.stats[name].mean

    def sd(self, name: str) -> float:
        return self.stats[name].sd


def default_baseline_path() -> Path:
    return config_dir() / "baseline.json"


def build_baseline(samples: list[BodyMetrics | None], camera: str, resolution: tuple[int, int],
                   created: str) -> Baseline:
    """A baseline from the samples taken while the user sat upright; raises with what to do differently when
    the samples do not show one person sitting still and facing the camera."""
    seen = [m for m in samples if m is not None]
    if not samples or len(seen) < MIN_SEEN_FRACTION * len(samples) or len(seen) < 3:
        share = 100 * len(seen) // max(len(samples), 1)
        raise PostureWatchError(
            f"calibration failed: a person was in view in only {share}% of the frames; sit in front of the "
            "camera, head and shoulders in the picture, and try again"
        )
    if statistics.fmean(m.visibility for m in seen) < MIN_VISIBILITY:
        raise PostureWatchError(
            "calibration failed: ears and shoulders were hard to see; improve the light or move back so both "
            "shoulders are in the picture, and try again"
        )
    if statistics.median(m.face_turn_deg for m in seen) > MAX_FACE_TURN_DEG:
        raise PostureWatchError("calibration failed: your face was turned away; look at the screen and try again")
    stats = {
        name: MetricStats(statistics.fmean(values), statistics.pstdev(values))
        for name in METRIC_NAMES
        for values in [[float(getattr(m, name)) for m in seen]]
    }
    width = stats["shoulder_width"].mean
    if stats["neck_gap"].sd > MAX_NECK_GAP_SD or stats["center_x"].sd > MAX_SHIFT_SD * width:
        raise PostureWatchError("calibration failed: you moved too much; sit still and upright, and try again")
    return Baseline(stats, camera, resolution, len(seen), created)


def save_baseline(baseline: Baseline, path: Path) -> None:
    doc = {
        "schema": SCHEMA,
        "created": baseline.created,
        "camera": baseline.camera,
        "resolution": list(baseline.resolution),
        "samples": baseline.samples,
        "metrics": {name: {"mean": s.mean, "sd": s.sd} for name, s in baseline.stats.items()},
    }
    try:
        write_private_file(path, json.dumps(doc, indent=2) + "\n")
    except OSError as err:
        raise PostureWatchError(f"cannot save the baseline to {path}: {err.strerror}") from None


def load_baseline(path: Path) -> Baseline:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PostureWatchError(f"no baseline at {path}: run `posture-watch calibrate` first") from None
    except OSError as err:
        raise PostureWatchError(f"cannot read the baseline {path}: {err.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise PostureWatchError(
            f"the baseline {path} is not valid JSON (damaged?): run `posture-watch calibrate` to make a new one"
        ) from None
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA:
        found = doc.get("schema") if isinstance(doc, dict) else None
        raise PostureWatchError(
            f"the baseline {path} has format version {found!r}, this posture-watch reads version {SCHEMA}: "
            "run `posture-watch calibrate` to make a new one"
        )
    try:
        metrics = doc["metrics"]
        stats = {name: MetricStats(float(metrics[name]["mean"]), float(metrics[name]["sd"])) for name in METRIC_NAMES}
        width, height = (int(v) for v in doc["resolution"])
        baseline = Baseline(stats, str(doc["camera"]), (width, height), int(doc["samples"]), str(doc["created"]))
    except (KeyError, TypeError, ValueError):
        raise PostureWatchError(
            f"the baseline {path} is missing fields or has wrong values: run `posture-watch calibrate` again"
        ) from None
    if baseline.mean("shoulder_width") <= 0 or baseline.mean("neck_gap") <= 0:
        raise PostureWatchError(f"the baseline {path} holds impossible values: run `posture-watch calibrate` again")
    return baseline
