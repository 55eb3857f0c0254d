"""Accuracy benchmark: replay every labelled clip of the sample library and score posture-watch against the labels,
separately for the library's *tune* part (what thresholds were chosen on) and its *check* part (bodies and
cameras no threshold was tuned on).

    python benchmarks/accuracy.py [--samples DIR] [--json FILE] [--alert-after-1] [--jobs N] [--model PATH]
                                  [--run-pace] [CLIP ...]

The library is listed in samples/library.csv (clip, part, kind, body, camera geometry). Two kinds of clip:

- scenario clips: a story with labelled states. Per clip: slouch episodes caught (an alert between alert-after -
  0.5 s after the episode starts and 1.5 s after it ends), false alerts (any other alert), state accuracy on frames
  more than 0.7 s from a label change (frames marked transient are scored for alerts only, except that where the
  label lists acceptable states, `upright|uncertain`, the state must be one of them), seconds until `away` after
  the person leaves, and the angle errors where the labels hold the true angles.
- sweep clips: one body and one camera, held poses of known neck flexion and shoulder elevation. Scored for the
  angles only: median absolute error over frames whose true neck flexion (hunch, forward head) or shoulder
  elevation (shrug) is at least 5 degrees.

Settings: each clip calibrates on its first 2 s; alert-after 3 s (and, with --alert-after-1, a second table at
1 s, where only what a posture looks like can tell a glance or a stretch from a hunch); cooldown 10 s.

Every frame is analysed, as `replay` does. `posture-watch run` samples a webcam every 0.2 s while calibrating,
then every 1.5 s, or 0.3 s while it confirms a change of state. --run-pace scores the library as `run` would see
it: a scenario clip's frames are taken as `run` takes them (the state between two samples is the earlier one's);
a sweep's held poses last 1.5 s each, so instead every frame is analysed with the pose model told that the frames
are as far apart as `run`'s samples (MediaPipe tracks and smooths the landmarks by their timestamps): a person
holding each pose twelve times as long.
"""

from __future__ import annotations

import argparse
import bisect
import csv
import functools
import json
import multiprocessing
import os
import statistics
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from posture_watch.core.baseline import CalibrationRefused
from posture_watch.core.events import Sampled
from posture_watch.core.landmarks import Pose
from posture_watch.core.policy import PolicySettings
from posture_watch.core.watcher import SamplingPlan, WatchSettings
from posture_watch.pose import PoseEstimator
from posture_watch.replay import ReplayReport, replay
from posture_watch.session import CALIBRATION_INTERVAL_S

ROOT = Path(__file__).resolve().parent.parent
CALIBRATE_FIRST = 2.0
COOLDOWN = 10.0
CATCH_EARLY, CATCH_LATE = 0.5, 1.5
STATE_MARGIN = 0.7
MIN_TRUE_ANGLE = 5.0
RUN_PLAN = SamplingPlan()  # how `run` samples a webcam once calibrated (the defaults)
NECK_EVENTS = {"hunch", "forward_head", "ramp", ""}
SHOULDER_EVENTS = {"shrug", "ramp", ""}


@dataclass(frozen=True)
class Clip:
    name: str  # path under samples/ without the extension
    part: str  # tune | check
    kind: str  # scenario | sweep
    body: str
    camera: str
    video: Path
    labels: Path


@dataclass
class ClipScore:
    clip: str
    part: str
    kind: str
    body: str
    camera: str
    seconds: float
    episodes: int
    caught: int
    false_alerts: int
    state_accuracy: float | None  # share of scored frames, None when no frame is scored
    scored_frames: int
    away_delay_s: float | None  # worst delay over the clip's departures
    departures: int
    neck_error_deg: float | None  # median absolute error over frames with true flexion >= 5 degrees
    neck_frames: int
    shoulder_error_deg: float | None
    shoulder_frames: int
    neck_errors: list[float]  # every scored frame's error, for pooling
    shoulder_errors: list[float]
    refused: str | None = None  # why the clip's calibration was refused (then nothing was measured)


def load_labels(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def library(folder: Path, names: list[str]) -> list[Clip]:
    """The clips of samples/library.csv (every clip, when the manifest is missing: a folder of older clips)."""
    manifest = folder / "library.csv"
    if manifest.exists():
        rows = load_labels(manifest)
    else:
        rows = [{"clip": p.name.removesuffix(".labels.csv"), "part": "tune", "kind": "scenario"}
                for p in sorted(folder.glob("*.labels.csv"))]
    clips = []
    for row in rows:
        video = folder / f"{row['clip']}.mp4"
        labels = folder / f"{row['clip']}.labels.csv"
        if video.exists() and labels.exists() and (not names or row["clip"] in names):
            clips.append(Clip(row["clip"], row["part"], row["kind"], row.get("body", ""),
                              row.get("camera", "") or "", video, labels))
    return clips


def episodes(labels: list[dict[str, str]]) -> list[tuple[float, float]]:
    """(start, end) seconds of each run of frames that must be `slouching`."""
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


def score(clip: Clip, labels: list[dict[str, str]], report: ReplayReport, alert_after: float,
          sampled: bool = False) -> ClipScore:
    """`sampled`: the replay took only some frames, as `run` samples; a frame between two samples has the earlier
    sample's state and no angle, and a change of state can only be seen at the next sample, so frames within the
    plan's longest wait between samples (while nobody is there) more of a label change are not scored for the
    state."""
    by_frame = {s.frame_index: s for s in report.samples}
    sampled_frames = sorted(by_frame)

    def state_sample(frame: int) -> Sampled | None:
        if not sampled:
            return by_frame.get(frame)
        before = bisect.bisect_right(sampled_frames, frame) - 1
        return by_frame[sampled_frames[before]] if before >= 0 else None

    alerts = [a.t for a in report.alerts]
    runs = episodes(labels) if clip.kind == "scenario" else []
    caught = sum(any(a0 + alert_after - CATCH_EARLY <= t <= a1 + CATCH_LATE for t in alerts) for a0, a1 in runs)
    # On a sweep every held pose is short and marked transient: an alert there is not scored either way.
    false_alerts = 0 if clip.kind == "sweep" else sum(
        not any(a0 <= t <= a1 + CATCH_LATE for a0, a1 in runs) for t in alerts)

    changes = [float(labels[i]["t"]) for i in range(1, len(labels))
               if (labels[i]["expected_state"], labels[i]["transient"])
               != (labels[i - 1]["expected_state"], labels[i - 1]["transient"])]
    hits = scored = 0
    margin = STATE_MARGIN + (max(RUN_PLAN.steady, RUN_PLAN.confirming, RUN_PLAN.away) if sampled else 0.0)
    for row in labels:
        sample = state_sample(int(row["frame"]))
        acceptable = row["expected_state"].split("|")
        # A transient frame with one expected state is scored for alerts only (a glance may or may not flip it);
        # one that lists several acceptable states must be one of them.
        if (clip.kind == "sweep" or sample is None or (row["transient"] == "1" and len(acceptable) == 1)
                or any(abs(float(row["t"]) - c) <= margin for c in changes)):
            continue
        scored += 1
        hits += sample.decision.state in acceptable

    delays = []
    for i in range(1, len(labels)):
        if labels[i]["expected_state"] == "away" and labels[i - 1]["expected_state"] != "away":
            left = float(labels[i]["t"])
            seen = [s.t for s in report.samples if s.t >= left and s.decision.state == "away"]
            delays.append(seen[0] - left if seen else float("inf"))

    def angle_errors(truth_key: str, attr: str, events: set[str]) -> list[float]:
        errors = []
        for row in labels:
            sample = by_frame.get(int(row["frame"]))
            if sample is None and sampled:
                continue  # not a frame `run` would have looked at
            value = getattr(sample.assessment, attr) if sample else None
            if row.get(truth_key) and float(row[truth_key]) >= MIN_TRUE_ANGLE and row["event"] in events:
                # A frame the watcher could not measure counts as the worst error it can make: the whole angle.
                errors.append(abs((value or 0.0) - float(row[truth_key])))
        return errors

    neck = angle_errors("true_neck_deg", "neck_angle_deg", NECK_EVENTS)
    shoulder = angle_errors("true_shoulder_deg", "shoulder_angle_deg", SHOULDER_EVENTS)
    return ClipScore(
        clip=clip.name, part=clip.part, kind=clip.kind, body=clip.body, camera=clip.camera,
        seconds=round(report.frames / report.fps, 1) if report.frames else 0.0, episodes=len(runs), caught=caught,
        false_alerts=false_alerts,
        state_accuracy=round(hits / scored, 4) if scored else None, scored_frames=scored,
        away_delay_s=round(max(delays), 2) if delays else None, departures=len(delays),
        neck_error_deg=_median(neck), neck_frames=len(neck),
        shoulder_error_deg=_median(shoulder), shoulder_frames=len(shoulder),
        neck_errors=[round(e, 2) for e in neck], shoulder_errors=[round(e, 2) for e in shoulder],
    )


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None


class RunPacedEstimator(PoseEstimator):
    """The pose model, told that a clip's frames are as far apart as `posture-watch run` samples a webcam: every
    CALIBRATION_INTERVAL_S over the calibration, every RUN_PLAN.steady after it. Only the model's timestamps
    change; the watcher keeps the clip's own time."""

    def __init__(self, model: Path | None, frame_s: float) -> None:
        super().__init__(model)
        self.calibration_frames = round(CALIBRATE_FIRST / frame_s)
        self.frame_s = frame_s

    def detect(self, image_bgr: np.ndarray, t: float) -> list[Pose]:
        frame = round(t / self.frame_s)
        calibrating = min(frame, self.calibration_frames - 1)
        paced = calibrating * CALIBRATION_INTERVAL_S + (frame - calibrating) * RUN_PLAN.steady
        return super().detect(image_bgr, paced)


def replay_and_score(clip: Clip, alert_after: float, model: Path | None = None, run_pace: bool = False) -> ClipScore:
    """`run_pace`: as `run` would see the clip: a scenario clip sampled, a sweep's frames spaced out for the pose
    model (RunPacedEstimator)."""
    settings = WatchSettings(PolicySettings(alert_after=alert_after, cooldown=COOLDOWN), break_after=None)
    labels = load_labels(clip.labels)
    spaced, sampled = run_pace and clip.kind == "sweep", run_pace and clip.kind == "scenario"
    try:
        # A fresh tracker per clip, as a fresh start of the program has.
        with (RunPacedEstimator(model, float(labels[1]["t"]) - float(labels[0]["t"])) if spaced
              else PoseEstimator(model)) as estimator:
            report = replay(clip.video, CALIBRATE_FIRST, estimator, settings, sampled=sampled)
    except CalibrationRefused as refused:
        # A refused calibration measures nothing: every slouch counts as missed and every angle frame as lost.
        empty = score(clip, labels, ReplayReport(str(clip.video)), alert_after)
        return replace(empty, refused=str(refused))
    return score(clip, labels, report, alert_after, sampled)


def run(folder: Path, names: list[str] | None = None, alert_after: float = 3.0,
        kinds: tuple[str, ...] = ("scenario", "sweep"), jobs: int | None = None,
        model: Path | None = None, run_pace: bool = False) -> dict[str, Any]:
    """Replay and score the library's clips, ``jobs`` at a time (default: one per usable core; the pose model
    runs on one core, and each clip is replayed on its own, so the results do not depend on it), with the
    bundled pose model or ``model``."""
    clips = [clip for clip in library(folder, names or []) if clip.kind in kinds]
    jobs = jobs or len(os.sched_getaffinity(0))
    scores = []
    # spawn, not fork: the caller (a test session, say) may already hold threads and the pose runtime
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        replay_one = functools.partial(replay_and_score, alert_after=alert_after, model=model, run_pace=run_pace)
        for clip, clip_score in zip(clips, pool.map(replay_one, clips), strict=True):
            scores.append(clip_score)
            print(f"  scored {clip.name}", file=sys.stderr)
    parts = {part: totals([s for s in scores if s.part == part]) for part in ("tune", "check")}
    pace = ({"run_pace": {"calibrating_s": CALIBRATION_INTERVAL_S, "steady_s": RUN_PLAN.steady,
                          "confirming_s": RUN_PLAN.confirming, "away_s": RUN_PLAN.away,
                          "scenario": "frames sampled", "sweep": "every frame, spaced out for the pose model"}}
            if run_pace else {})
    return {"settings": {"calibrate_first_s": CALIBRATE_FIRST, "alert_after_s": alert_after, "cooldown_s": COOLDOWN,
                         **pace},
            # The per-frame errors make the pooled medians above; the clips keep their own medians only.
            "clips": [{k: v for k, v in asdict(s).items() if k not in ("neck_errors", "shoulder_errors")}
                      for s in scores],
            "totals": {**parts, "all": totals(scores)}}


def totals(scores: list[ClipScore]) -> dict[str, Any]:
    scored = sum(s.scored_frames for s in scores)
    hits = sum(round((s.state_accuracy or 0) * s.scored_frames) for s in scores)
    accuracies = [s.state_accuracy for s in scores if s.state_accuracy is not None]
    delays = [s.away_delay_s for s in scores if s.away_delay_s is not None]
    sweeps = [s for s in scores if s.kind == "sweep"]
    return {
        "clips": len(scores),
        "refused_calibrations": sum(s.refused is not None for s in scores),
        "episodes": sum(s.episodes for s in scores),
        "caught": sum(s.caught for s in scores),
        "false_alerts": sum(s.false_alerts for s in scores),
        "state_accuracy": round(hits / scored, 4) if scored else None,
        "worst_clip_state_accuracy": min(accuracies) if accuracies else None,
        "worst_away_delay_s": max(delays) if delays else None,
        "neck_error_pooled_deg": _median([e for s in scores for e in s.neck_errors]),
        "worst_sweep_neck_error_deg": max((s.neck_error_deg for s in sweeps if s.neck_error_deg is not None),
                                          default=None),
        "shoulder_error_pooled_deg": _median([e for s in scores for e in s.shoulder_errors]),
        "worst_sweep_shoulder_error_deg": max(
            (s.shoulder_error_deg for s in sweeps if s.shoulder_error_deg is not None), default=None),
    }


def _fmt(value: object, pattern: str = "{}") -> str:
    return "-" if value is None else pattern.format(value)


def scenario_table(result: dict[str, Any]) -> str:
    lines = ["| part | clip | s | slouches caught | false alerts | state accuracy | away after | neck err | "
             "shoulder err |", "|---|---|---|---|---|---|---|---|---|"]
    for c in result["clips"]:
        if c["kind"] != "scenario":
            continue
        acc = None if c["state_accuracy"] is None else 100 * c["state_accuracy"]
        lines.append(f"| {c['part']} | {c['clip']} | {c['seconds']} | {c['caught']}/{c['episodes']} | "
                     f"{c['false_alerts']} | {_fmt(acc, '{:.1f} %')} | {_fmt(c['away_delay_s'], '{:.1f} s')} | "
                     f"{_fmt(c['neck_error_deg'], '{:.1f}°')} | {_fmt(c['shoulder_error_deg'], '{:.1f}°')} |")
    for part, t in result["totals"].items():
        acc = None if t["state_accuracy"] is None else 100 * t["state_accuracy"]
        worst = None if t["worst_clip_state_accuracy"] is None else 100 * t["worst_clip_state_accuracy"]
        clips = sum(c["kind"] == "scenario" and part in ("all", c["part"]) for c in result["clips"])
        lines.append(f"| **{part}** | {clips} clips | | {t['caught']}/{t['episodes']} | {t['false_alerts']} | "
                     f"{_fmt(acc, '{:.1f} %')} (worst {_fmt(worst, '{:.1f} %')}) | "
                     f"{_fmt(t['worst_away_delay_s'], '≤ {:.1f} s')} | | |")
    return "\n".join(lines)


def sweep_table(result: dict[str, Any]) -> str:
    lines = ["| part | body | camera | neck err (frames) | shoulder err (frames) |", "|---|---|---|---|---|"]
    for c in result["clips"]:
        if c["kind"] == "sweep":
            lines.append(f"| {c['part']} | {c['body']} | {c['camera']} | "
                         f"{_fmt(c['neck_error_deg'], '{:.1f}°')} ({c['neck_frames']}) | "
                         f"{_fmt(c['shoulder_error_deg'], '{:.1f}°')} ({c['shoulder_frames']}) |")
    for part, t in result["totals"].items():
        lines.append(f"| **{part}** | | | pooled {_fmt(t['neck_error_pooled_deg'], '{:.1f}°')}, worst "
                     f"{_fmt(t['worst_sweep_neck_error_deg'], '{:.1f}°')} | pooled "
                     f"{_fmt(t['shoulder_error_pooled_deg'], '{:.1f}°')}, worst "
                     f"{_fmt(t['worst_sweep_shoulder_error_deg'], '{:.1f}°')} |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", help="only these clips (as in library.csv: name without extension)")
    ap.add_argument("--samples", type=Path, default=ROOT / "samples", help="the library folder")
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "accuracy.json",
                    help="where to write the machine-readable results (default %(default)s)")
    ap.add_argument("--alert-after-1", action="store_true",
                    help="also replay the scenario clips at alert-after 1 s and print that table")
    ap.add_argument("--jobs", type=int, default=None, metavar="N",
                    help="clips replayed at once (default: one per usable core)")
    ap.add_argument("--model", type=Path, default=None, metavar="PATH",
                    help="another MediaPipe pose .task bundle (default: the bundled lite model, which the angle "
                         "model was fitted on)")
    ap.add_argument("--run-pace", action="store_true",
                    help=f"score the library as `run` would see it ({CALIBRATION_INTERVAL_S:g} s between samples "
                         f"while calibrating, then {RUN_PLAN.steady:g} s): scenario clips sampled, sweeps spaced "
                         "out for the pose model; writes benchmarks/accuracy_run_pace.json unless --json is given")
    args = ap.parse_args()
    if args.jobs is not None and args.jobs < 1:
        ap.error("--jobs must be at least 1")
    if args.run_pace and args.json == ap.get_default("json"):
        args.json = ROOT / "benchmarks" / "accuracy_run_pace.json"
    result = run(args.samples, args.names, jobs=args.jobs, model=args.model, run_pace=args.run_pace)
    if not result["clips"]:
        print(f"no labelled clips in {args.samples}", file=sys.stderr)
        return 1
    doc: dict[str, Any] = {"alert_after_3": result}
    print("Scenario clips, alert-after 3 s\n\n" + scenario_table(result) + "\n\nAngle sweep\n\n" + sweep_table(result))
    if args.alert_after_1:
        quick = run(args.samples, args.names, alert_after=1.0, kinds=("scenario",), jobs=args.jobs,
                    model=args.model, run_pace=args.run_pace)
        doc["alert_after_1"] = quick
        print("\nScenario clips, alert-after 1 s\n\n" + scenario_table(quick))
    args.json.write_text(json.dumps(doc, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
