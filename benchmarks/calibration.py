"""How steady is a calibration? The spreads posture-watch's calibration rules look at, measured on every clip of the
sample library (its first 2 s, where the person sits still and upright) and on windows where the person moves
(a glance, a nod, a hunch starting, a lean, a shrug), which a calibration must refuse.

    python benchmarks/calibration.py [--samples DIR] [--json FILE]

The limits in posture_watch/core/thresholds.py (CALIBRATION_MAX_*) are set from this table's *tune* rows: above
every steady calibration, below the moving windows. The *check* rows show whether that holds for bodies and
cameras the limits were not set on.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from posture_watch.core import thresholds as th
from posture_watch.core.baseline import CalibrationRefused, measure_baseline, unsteady
from posture_watch.core.landmarks import Observation, main_person
from posture_watch.core.metrics import measure
from posture_watch.pose import PoseEstimator, load_angle_model
from posture_watch.sources import VideoFileSource

ROOT = Path(__file__).resolve().parent.parent
STEADY_WINDOW = (0.0, 2.0)
# (clip, start, end, what happens): 2 s windows of the tune clips in which the person is not still.
MOVING_WINDOWS = (
    ("hunch_slow", 4.5, 6.5, "a hunch starting"),
    ("glances", 4.8, 6.8, "a glance at the keyboard"),
    ("talk_nod_fidget", 7.3, 9.3, "nodding"),
    ("talk_nod_fidget", 9.8, 11.8, "fidgeting"),
    ("side_lean", 4.0, 6.0, "leaning sideways"),
    ("shrug", 4.0, 6.0, "shrugging"),
    ("forward_head", 4.0, 6.0, "the head coming forward"),
    ("lean_in_read", 4.8, 6.8, "leaning in to read"),
)


@dataclass
class Window:
    clip: str
    part: str
    what: str
    samples: int
    neck_wobble_deg: float | None
    shoulder_wobble_deg: float | None
    width_wobble: float | None  # share of the shoulder width
    neck_gap_sd: float | None
    shift_sd: float | None  # side to side, in shoulder widths
    head_tilt_sd: float | None  # the ear line's tilt, degrees
    verdict: str  # "accepted" or why it is refused


def observe(video: Path, end: float) -> list[Observation]:
    source = VideoFileSource(video)
    observations = []
    with PoseEstimator() as estimator:
        for frame in source:
            if frame.t >= end:
                break
            observations.append(estimator.observe(frame))
    source.close()
    return observations


def judge(clip: str, part: str, what: str, observations: list[Observation]) -> Window:
    samples = [measure(p) if (p := main_person(o.poses)) is not None else None for o in observations]
    try:
        baseline = measure_baseline(samples, clip, (0, 0), "study", load_angle_model())
    except CalibrationRefused as err:
        return Window(clip, part, what, 0, None, None, None, None, None, None,
                      str(err).removeprefix("calibration failed: "))
    steady, width = baseline.steadiness, baseline.mean("shoulder_width")
    return Window(clip, part, what, baseline.samples, round(steady.neck_deg, 2), round(steady.shoulder_deg, 2),
                  round(steady.width, 4), round(baseline.sd("neck_gap"), 4), round(baseline.sd("center_x") / width, 4),
                  round(baseline.sd("head_roll_deg"), 2), unsteady(baseline) or "accepted")


def run(folder: Path) -> list[Window]:
    with (folder / "library.csv").open(newline="") as fh:
        library = list(csv.DictReader(fh))
    windows = []
    for row in library:
        obs = [o for o in observe(folder / f"{row['clip']}.mp4", STEADY_WINDOW[1]) if o.t >= STEADY_WINDOW[0]]
        windows.append(judge(row["clip"], row["part"], "sitting still (the first 2 s)", obs))
        print(f"  {row['clip']}: {windows[-1].verdict}", file=sys.stderr)
    parts = {row["clip"]: row["part"] for row in library}
    for clip, start, end, what in MOVING_WINDOWS:
        obs = [o for o in observe(folder / f"{clip}.mp4", end) if o.t >= start]
        windows.append(judge(clip, parts.get(clip, "tune"), what, obs))
        print(f"  {clip} {what}: {windows[-1].verdict}", file=sys.stderr)
    return windows


def table(windows: list[Window]) -> str:
    def fmt(v: float | None) -> str:
        return "-" if v is None else f"{v:g}"

    lines = ["| part | clip | window | neck wobble ° | shoulder wobble ° | width wobble | gap sd | shift sd | "
             "head tilt sd ° | verdict |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for w in windows:
        lines.append(f"| {w.part} | {w.clip} | {w.what} | {fmt(w.neck_wobble_deg)} | {fmt(w.shoulder_wobble_deg)} | "
                     f"{fmt(w.width_wobble)} | {fmt(w.neck_gap_sd)} | {fmt(w.shift_sd)} | {fmt(w.head_tilt_sd)} | "
                     f"{w.verdict} |")
    angle = th.CALIBRATION_MAX_ANGLE_WOBBLE_DEG
    lines.append(f"| | | **limits** | {angle:g} | {angle:g} | {th.CALIBRATION_MAX_WIDTH_WOBBLE:g} | "
                 f"{th.CALIBRATION_MAX_NECK_GAP_SD:g} | "
                 f"{th.CALIBRATION_MAX_SHIFT_SD:g} | {th.CALIBRATION_MAX_HEAD_TILT_SD_DEG:g} | |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=Path, default=ROOT / "samples")
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "calibration.json")
    args = ap.parse_args()
    windows = run(args.samples)
    args.json.write_text(json.dumps([asdict(w) for w in windows], indent=1) + "\n")
    print(table(windows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
