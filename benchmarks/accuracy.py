"""Accuracy benchmark: replay every labelled clip in samples/ and score posture-watch against the labels.

    python benchmarks/accuracy.py [--samples DIR] [--json FILE] [CLIP_NAME ...]

Per clip: slouch episodes caught (an alert between alert-after - 0.5 s after the episode starts and 1.5 s after
it ends), false alerts (any other alert), state accuracy on frames more than 0.7 s from a label change
(transient frames, e.g. glances, are not scored for state, only for alerts), seconds until `away` after the
person leaves, and the median absolute error of the angles where the clip's labels hold the truth.
Settings: each clip calibrates on its first 2 s; alert-after 3 s; cooldown 10 s (clips are short).
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from posture_watch.core.policy import PolicySettings
from posture_watch.core.watcher import WatchSettings
from posture_watch.pose import PoseEstimator
from posture_watch.replay import ReplayReport, replay

ROOT = Path(__file__).resolve().parent.parent
CALIBRATE_FIRST = 2.0
SETTINGS = PolicySettings(alert_after=3.0, cooldown=10.0)
CATCH_EARLY, CATCH_LATE = 0.5, 1.5
STATE_MARGIN = 0.7
VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv")


@dataclass
class ClipScore:
    clip: str
    seconds: float
    episodes: int
    caught: int
    false_alerts: int
    state_accuracy: float | None  # share of scored frames, None when no frame is scored
    scored_frames: int
    away_delay_s: float | None  # worst delay over the clip's departures
    departures: int
    neck_error_deg: float | None
    shoulder_error_deg: float | None


def load_labels(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def episodes(labels: list[dict[str, str]]) -> list[tuple[float, float]]:
    """(start, end) seconds of each run of `slouching` frames."""
    runs: list[tuple[float, float]] = []
    start = None
    for i, row in enumerate(labels):
        bad = row["expected_state"] == "slouching"
        if bad and start is None:
            start = float(row["t"])
        if start is not None and (not bad or i == len(labels) - 1):
            runs.append((start, float(row["t"])))
            start = None
    return runs


def score_clip(name: str, labels: list[dict[str, str]], report: ReplayReport) -> ClipScore:
    by_frame = {s.frame_index: s for s in report.samples}
    alerts = [a.t for a in report.alerts]
    runs = episodes(labels)
    caught = sum(any(a0 + SETTINGS.alert_after - CATCH_EARLY <= t <= a1 + CATCH_LATE for t in alerts)
                 for a0, a1 in runs)
    false_alerts = sum(not any(a0 <= t <= a1 + CATCH_LATE for a0, a1 in runs) for t in alerts)

    changes = [float(labels[i]["t"]) for i in range(1, len(labels))
               if (labels[i]["expected_state"], labels[i]["transient"])
               != (labels[i - 1]["expected_state"], labels[i - 1]["transient"])]
    hits = scored = 0
    for row in labels:
        t = float(row["t"])
        sample = by_frame.get(int(row["frame"]))
        if sample is None or row["transient"] == "1" or any(abs(t - c) <= STATE_MARGIN for c in changes):
            continue
        scored += 1
        hits += sample.decision.state == row["expected_state"]

    delays = []
    for i in range(1, len(labels)):
        if labels[i]["expected_state"] == "away" and labels[i - 1]["expected_state"] != "away":
            left = float(labels[i]["t"])
            seen = [s.t for s in report.samples if s.t >= left and s.decision.state == "away"]
            delays.append(seen[0] - left if seen else float("inf"))

    def angle_error(truth_key: str, attr: str) -> float | None:
        errors = []
        for row in labels:
            sample = by_frame.get(int(row["frame"]))
            value = getattr(sample.assessment, attr) if sample else None
            if row.get(truth_key) and value is not None:
                errors.append(abs(value - float(row[truth_key])))
        return round(statistics.median(errors), 2) if errors else None

    return ClipScore(
        clip=name, seconds=round(report.frames / report.fps, 1), episodes=len(runs), caught=caught,
        false_alerts=false_alerts, state_accuracy=round(hits / scored, 4) if scored else None,
        scored_frames=scored, away_delay_s=round(max(delays), 2) if delays else None, departures=len(delays),
        neck_error_deg=angle_error("true_neck_deg", "neck_angle_deg"),
        shoulder_error_deg=angle_error("true_shoulder_deg", "shoulder_angle_deg"),
    )


def clips(folder: Path, names: list[str]) -> list[tuple[str, Path, Path]]:
    found = []
    for labels in sorted(folder.glob("*.labels.csv")):
        name = labels.name.removesuffix(".labels.csv")
        video = next((folder / f"{name}{s}" for s in VIDEO_SUFFIXES if (folder / f"{name}{s}").exists()), None)
        if video is not None and (not names or name in names):
            found.append((name, video, labels))
    return found


def run(folder: Path, names: list[str] | None = None) -> dict:
    scores = []
    for name, video, labels in clips(folder, names or []):
        estimator = PoseEstimator()  # a fresh tracker per clip, as a fresh start of the program would have
        try:
            report = replay(video, CALIBRATE_FIRST, estimator, WatchSettings(SETTINGS))
        finally:
            estimator.close()
        scores.append(score_clip(name, load_labels(labels), report))
        print(f"  scored {name}", file=sys.stderr)
    return {"settings": {"calibrate_first_s": CALIBRATE_FIRST, **asdict(SETTINGS)},
            "clips": [asdict(s) for s in scores], "totals": totals(scores)}


def totals(scores: list[ClipScore]) -> dict:
    scored = sum(s.scored_frames for s in scores)
    hits = sum(round((s.state_accuracy or 0) * s.scored_frames) for s in scores)
    neck = [s.neck_error_deg for s in scores if s.neck_error_deg is not None]
    delays = [s.away_delay_s for s in scores if s.away_delay_s is not None]
    return {
        "episodes": sum(s.episodes for s in scores),
        "caught": sum(s.caught for s in scores),
        "false_alerts": sum(s.false_alerts for s in scores),
        "state_accuracy": round(hits / scored, 4) if scored else None,
        "worst_away_delay_s": max(delays) if delays else None,
        "worst_neck_error_deg": max(neck) if neck else None,
    }


def table(result: dict) -> str:
    def fmt(v: object, pattern: str = "{}") -> str:
        return "-" if v is None else pattern.format(v)

    lines = ["| clip | s | slouches caught | false alerts | state accuracy | away after | neck err | shoulder err |",
             "|---|---|---|---|---|---|---|---|"]
    for c in result["clips"]:
        acc = None if c["state_accuracy"] is None else 100 * c["state_accuracy"]
        lines.append(f"| {c['clip']} | {c['seconds']} | {c['caught']}/{c['episodes']} | {c['false_alerts']} | "
                     f"{fmt(acc, '{:.1f} %')} | {fmt(c['away_delay_s'], '{:.1f} s')} | "
                     f"{fmt(c['neck_error_deg'], '{:.1f}°')} | {fmt(c['shoulder_error_deg'], '{:.1f}°')} |")
    t = result["totals"]
    acc = None if t["state_accuracy"] is None else 100 * t["state_accuracy"]
    lines.append(f"| **all** | | {t['caught']}/{t['episodes']} | {t['false_alerts']} | {fmt(acc, '{:.1f} %')} | "
                 f"{fmt(t['worst_away_delay_s'], '≤ {:.1f} s')} | {fmt(t['worst_neck_error_deg'], '≤ {:.1f}°')} | |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", help="only these clips (names without extension)")
    ap.add_argument("--samples", type=Path, default=ROOT / "samples", help="folder of clips and labels")
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "accuracy.json",
                    help="where to write the machine-readable results (default %(default)s)")
    args = ap.parse_args()
    result = run(args.samples, args.names)
    if not result["clips"]:
        print(f"no labelled clips in {args.samples}", file=sys.stderr)
        return 1
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    print(table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
