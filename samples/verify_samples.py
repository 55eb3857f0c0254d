"""Check the sample clips with MediaPipe and print a Markdown table (used in README.md).

    python samples/verify_samples.py [NAME ...] [--model PATH_TO_pose_landmarker_lite.task]

For every clip: the labels file matches the video (one row per frame, exact columns), the
main person is detected in the frames where they are present and visible, nobody (or only
the passer-by) in the absent frames, nothing in the dark frames, and the neck gap
((shoulder-mid y - ear-mid y) / shoulder width, ears = landmarks 7/8, shoulders 11/12)
falls in slouching frames (fails below 10 %) and not much in glances (90th percentile;
fails above 12 %).  Lite model, VIDEO mode, num_poses=2, the main person = the widest
shoulders.  Exits non-zero if a check fails.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from make_samples import COLUMNS  # noqa: E402

PACKAGED_LITE = Path(__file__).resolve().parent.parent / "posture_watch/models/pose_landmarker_lite.task"
DEFAULT_LITE = Path(os.environ.get("POSE_MODEL_LITE", PACKAGED_LITE))


@dataclass
class FrameResult:
    n_poses: int
    neck: float = math.nan  # neck gap / shoulder width of the main person
    ear_w: float = math.nan  # ear-to-ear distance / shoulder width
    nose: float = math.nan  # (shoulder-mid y - nose y) / shoulder width
    tilt: float = math.nan  # shoulder line angle (deg)
    head_tilt: float = math.nan  # ear line angle (deg)
    brightness: float = 0.0


def analyse(clip: Path, model: Path) -> list[FrameResult]:
    import mediapipe as mp
    from mediapipe.tasks import python as mpt
    from mediapipe.tasks.python import vision

    opts = vision.PoseLandmarkerOptions(
        base_options=mpt.BaseOptions(model_asset_path=str(model)), running_mode=vision.RunningMode.VIDEO, num_poses=2
    )
    cap = cv2.VideoCapture(str(clip))
    fps = cap.get(cv2.CAP_PROP_FPS) or 15.0
    out: list[FrameResult] = []
    with vision.PoseLandmarker.create_from_options(opts) as lm:
        f = 0
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            h, w = bgr.shape[:2]
            rgb = np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            r = lm.detect_for_video(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb), int(f * 1000 / fps))
            res = FrameResult(len(r.pose_landmarks), brightness=float(bgr.mean()))
            best = -1.0
            for pose in r.pose_landmarks:
                p = np.array([[q.x * w, q.y * h] for q in pose])
                sw = float(np.linalg.norm(p[11] - p[12]))
                if sw > best:
                    best = sw
                    shm, ear = (p[11] + p[12]) / 2, (p[7] + p[8]) / 2
                    res.neck = float((shm[1] - ear[1]) / sw)
                    res.ear_w = float(np.linalg.norm(p[7] - p[8]) / sw)
                    res.nose = float((shm[1] - p[0][1]) / sw)
                    res.tilt = math.degrees(math.atan2(p[11][1] - p[12][1], p[11][0] - p[12][0]))
                    res.head_tilt = math.degrees(math.atan2(p[7][1] - p[8][1], p[7][0] - p[8][0]))
            out.append(res)
            f += 1
    cap.release()
    return out


def pct(x: float) -> str:
    return "-" if math.isnan(x) else f"{100 * x:+.0f} %"


def check(name: str, model: Path) -> tuple[str, list[str]]:
    clip, lab_path = HERE / f"{name}.mp4", HERE / f"{name}.labels.csv"
    with open(lab_path, newline="") as fh:
        rd = csv.DictReader(fh)
        header = rd.fieldnames
        labels = list(rd)
    res = analyse(clip, model)
    problems: list[str] = []
    if header != COLUMNS:
        problems.append(f"columns {header}")
    if len(labels) != len(res):
        problems.append(f"{len(labels)} label rows for {len(res)} frames")
    n = min(len(labels), len(res))
    labels, res = labels[:n], res[:n]
    state = np.array([r["expected_state"] for r in labels])
    present = np.array([int(r["present"]) for r in labels])
    transient = np.array([int(r["transient"]) for r in labels])
    event = np.array([r["event"] for r in labels])
    npose = np.array([r.n_poses for r in res])
    neck = np.array([r.neck for r in res])
    fps = n / (float(labels[-1]["t"]) + float(labels[1]["t"]))
    base_n = max(1, int(2 * fps))
    base = float(np.nanmedian(neck[:base_n]))
    drop = 1 - neck / base

    visible = (present == 1) & (state != "uncertain")
    det_rate = float((npose[visible] > 0).mean()) if visible.any() else math.nan
    absent = present == 0
    dark = state == "uncertain"
    hold = (state == "slouching") & (event != "ramp")
    steady = (state == "upright") & (transient == 0) & (event != "ramp") & visible
    cells = [f"`{name}`", f"{100 * det_rate:.0f} %" if visible.any() else "-"]
    if absent.any():
        alone = absent & (event != "passerby")
        passing = absent & (event == "passerby")
        cell = f"empty room: {int((npose[alone] > 0).sum())}/{int(alone.sum())} frames with a pose"
        if passing.any():
            cell += f"; passer-by only: {int((npose[passing] > 0).sum())}/{int(passing.sum())} with a pose"
        cells.append(cell)
    elif dark.any():
        cells.append(
            f"dark: {int((npose[dark] > 0).sum())}/{int(dark.sum())} with a pose, "
            f"mean {np.mean([r.brightness for r, d in zip(res, dark, strict=True) if d]):.1f}/255"
        )
    else:
        cells.append("-")
    cells.append(pct(float(np.nanmedian(drop[steady]))) if steady.any() else "-")
    segs = []
    for k in range(n):  # one median per held slouch (contiguous run)
        if hold[k] and (k == 0 or not hold[k - 1]):
            e = k
            while e < n and hold[e]:
                e += 1
            segs.append(pct(float(np.nanmedian(drop[k:e]))))
    cells.append(" / ".join(segs) if segs else "-")
    tr = transient == 1
    cells.append(pct(float(np.nanpercentile(drop[tr], 90))) if tr.any() and np.isfinite(drop[tr]).any() else "-")
    extra = []
    if hold.any():
        ew = np.array([r.ear_w for r in res])
        extra.append(f"ear width {pct(float(np.nanmedian(ew[hold]) / np.nanmedian(ew[:base_n]) - 1))}")
        tl = np.array([r.tilt for r in res])
        extra.append(f"shoulder tilt {np.nanmedian(tl[hold]) - np.nanmedian(tl[:base_n]):+.1f}°")
        ht = np.array([r.head_tilt for r in res])
        extra.append(f"ear-line tilt {np.nanmedian(ht[hold]) - np.nanmedian(ht[:base_n]):+.1f}°")
    glance = (transient == 1) & (event == "glance")
    if glance.any():
        nose = np.array([r.nose for r in res])
        nose_drop = 1 - nose / float(np.nanmedian(nose[:base_n]))
        extra.append(f"glances: nose gap drop {pct(float(np.nanpercentile(nose_drop[glance], 90)))} (90th pct)")
    if labels[0]["true_neck_deg"]:
        tn = np.array([float(r["true_neck_deg"]) for r in labels])
        ts = np.array([float(r["true_shoulder_deg"]) for r in labels])
        ok = np.isfinite(neck)
        for nm, v in (("neck", tn), ("shoulder", ts)):
            if np.ptp(v) > 1 and ok.sum() > 3:
                extra.append(f"corr(true_{nm}, gap) {np.corrcoef(v[ok], neck[ok])[0, 1]:+.2f}")
        if hold.any():
            extra.append(f"true neck {np.median(tn[hold]):.1f}°, shoulder {np.median(ts[hold]):.1f}° held")
    cells.append("; ".join(extra))
    # pass/fail rules
    if visible.any() and det_rate < 0.95:
        problems.append(f"main person detected in only {100 * det_rate:.0f} % of visible frames")
    # the tracker may hold on for a frame or two after the lights go out
    if dark.any() and (npose[dark] > 0).sum() > 2:
        problems.append("a pose was detected in dark frames")
    gap_faults = {"head_drop", "shoulders_raised"}
    if (
        hold.any()
        and not float(np.nanmedian(drop[hold])) >= 0.10
        and any(gap_faults & set(r["faults"].split(";")) for r in labels)
    ):
        problems.append("neck gap drops < 10 % in slouching frames")
    if tr.any() and (event[tr] == "glance").any():
        g = drop[tr & (event == "glance")]
        if np.nanpercentile(g, 90) > 0.12:
            problems.append("glances move the neck gap by > 12 %")
    return "| " + " | ".join(cells) + " |", problems


def check_library(row: dict[str, str], model: Path) -> tuple[str, list[str]]:
    """Detection of the desk person in one clip of the rendered library (samples/library.csv)."""
    name = row["clip"]
    with open(HERE / f"{name}.labels.csv", newline="") as fh:
        rd = csv.DictReader(fh)
        header = rd.fieldnames
        labels = list(rd)
    res = analyse(HERE / f"{name}.mp4", model)
    problems: list[str] = []
    if header != COLUMNS:
        problems.append(f"columns {header}")
    if len(labels) != len(res):
        problems.append(f"{len(labels)} label rows for {len(res)} frames")
    n = min(len(labels), len(res))
    labels, res = labels[:n], res[:n]
    found = np.array([r.n_poses > 0 for r in res])
    present = np.array([r["present"] == "1" for r in labels])
    transient = np.array([r["transient"] == "1" for r in labels])
    event = np.array([r["event"] for r in labels])
    t = np.array([float(r["t"]) for r in labels])
    calib = present & (t < 2.5)

    def rate(m: NDArray[np.bool_]) -> str:
        return f"{100 * found[m].mean():.0f} %" if m.any() else "-"

    by_event = []
    for ev in sorted(set(event[transient & present]) - {""}):
        by_event.append(f"{ev} {rate(transient & present & (event == ev))}")
    absent = ~present
    # does the plain 2-D neck gap follow the true neck angle here (hunch and forward head)?
    neck = np.array([r.neck for r in res])
    true_neck = np.array([float(r["true_neck_deg"]) for r in labels])
    bent = np.isin(event, ["", "hunch", "forward_head"]) & np.isfinite(neck) & present
    varied = bent.sum() > 3 and np.ptp(true_neck[bent]) > 1
    corr = float(np.corrcoef(true_neck[bent], neck[bent])[0, 1]) if varied else math.nan
    cells = [
        f"`{name}`",
        row["part"],
        rate(present),
        rate(calib),
        ", ".join(by_event) or "-",
        f"{int(found[absent].sum())}/{int(absent.sum())}" if absent.any() else "-",
        "-" if math.isnan(corr) else f"{corr:+.2f}",
    ]
    # standing up takes the head out of the top of the frame: not counted against detection
    counted = present & (event != "stand")
    if counted.any() and found[counted].mean() < 0.95:
        problems.append(f"desk person detected in only {100 * found[counted].mean():.0f} % of the frames")
    return "| " + " | ".join(cells) + " |", problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", help="clip names (default: every samples/*.labels.csv)")
    ap.add_argument("--model", type=Path, default=DEFAULT_LITE)
    ap.add_argument(
        "--library", action="store_true", help="instead: detection in the rendered library's clips (library.csv)"
    )
    ap.add_argument("--part", choices=["tune", "check"], help="with --library: only this part")
    a = ap.parse_args(argv)
    if a.library:
        with open(HERE / "library.csv", newline="") as fh:
            rows = [r for r in csv.DictReader(fh) if "/" in r["clip"] and a.part in (None, r["part"])]
        if a.names:
            rows = [r for r in rows if r["clip"] in a.names]
        print(
            "| clip | part | detected (person in view) | detected, first 2.5 s | detected during movement / held "
            "poses | frames with a pose while out of view | corr(true neck, neck gap) |"
        )
        print("|---|---|---|---|---|---|---|")
        failed = []
        for r in rows:
            line, problems = check_library(r, a.model)
            print(line, flush=True)
            failed += [f"{r['clip']}: {p}" for p in problems]
        for p in failed:
            print("FAIL", p, file=sys.stderr)
        return 1 if failed else 0
    names = a.names or sorted(p.name[: -len(".labels.csv")] for p in HERE.glob("*.labels.csv"))
    print(
        "| clip | detected (present, visible frames) | absent / dark frames | neck-gap drop, steady upright "
        "| drop, slouch held (median) | drop, transient (90th pct) | other |"
    )
    print("|---|---|---|---|---|---|---|")
    failed = []
    for nm in names:
        row, problems = check(nm, a.model)
        print(row, flush=True)
        failed += [f"{nm}: {p}" for p in problems]
    for p in failed:
        print("FAIL", p, file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
