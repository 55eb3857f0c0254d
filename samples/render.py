"""Rendered sample clips: a posed MakeHuman body (samples/human_rig.py) rendered by Blender.

The numpy side poses and skins the body for every frame, writes the vertex frames and a
scene description to a scratch folder under /tmp, runs Blender headless on
samples/render_blender.py, then reads the PNG frames back and adds webcam-like sensor noise.
True angles (neck flexion, clavicle elevation) come from the posed joint positions.

Frames whose posed body is identical (a held pose) are rendered once and repeated with
fresh sensor noise and a sub-pixel camera shake, so holding a pose costs no render time.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import human_rig as hr
import numpy as np
from numpy.typing import NDArray

HERE = Path(__file__).resolve().parent
Arr = NDArray[np.float64]

BODIES: dict[str, hr.BodySpec] = {
    "mh_male": hr.BodySpec(
        1.0, (0.80, 0.60, 0.48), (0.16, 0.26, 0.45), (0.10, 0.07, 0.05), note="man, 25 y, average build"
    ),
    "mh_female": hr.BodySpec(
        0.0,
        (0.62, 0.43, 0.33),
        (0.55, 0.14, 0.14),
        (0.06, 0.045, 0.035),
        hair="long",
        note="woman, 25 y, average build, hair down the back of the neck",
    ),
    "m_old_heavy": hr.BodySpec(
        1.0,
        (0.86, 0.66, 0.58),
        (0.42, 0.47, 0.38),
        (0.62, 0.60, 0.58),
        age=0.80,
        muscle=0.35,
        weight=0.90,
        height=0.35,
        hair="receding",
        glasses=True,
        note="man, 64 y, heavy, short, grey receding hair, glasses",
    ),
    "f_young_tall": hr.BodySpec(
        0.0,
        (0.36, 0.24, 0.17),
        (0.80, 0.64, 0.20),
        (0.03, 0.025, 0.02),
        age=0.42,
        muscle=0.5,
        weight=0.25,
        height=0.60,
        race=(0.9, 0.0, 0.1),
        hair="ears",
        lips=(0.30, 0.16, 0.14),
        note="woman, 20 y, slim, tall, dark skin, hair over the ears",
    ),
    "m_mid_asian": hr.BodySpec(
        1.0,
        (0.78, 0.62, 0.46),
        (0.88, 0.88, 0.90),
        (0.03, 0.03, 0.03),
        age=0.65,
        muscle=0.6,
        weight=0.6,
        height=0.45,
        race=(0.0, 1.0, 0.0),
        note="man, 45 y, a little heavy, light shirt",
    ),
    "f_old_short": hr.BodySpec(
        0.0,
        (0.88, 0.72, 0.64),
        (0.36, 0.22, 0.45),
        (0.85, 0.84, 0.82),
        age=0.90,
        muscle=0.3,
        weight=0.65,
        height=0.30,
        hair="ears",
        glasses=True,
        note="woman, 77 y, short, white hair over the ears, glasses",
    ),
    "m_tall_muscular": hr.BodySpec(
        1.0,
        (0.30, 0.20, 0.14),
        (0.08, 0.08, 0.09),
        (0.02, 0.02, 0.02),
        age=0.55,
        muscle=0.90,
        weight=0.55,
        height=0.58,
        race=(1.0, 0.0, 0.0),
        lips=(0.28, 0.15, 0.13),
        note="man, 31 y, muscular, very tall, dark skin, black shirt",
    ),
    "f_heavy": hr.BodySpec(
        0.0,
        (0.80, 0.63, 0.50),
        (0.18, 0.45, 0.40),
        (0.05, 0.04, 0.03),
        age=0.60,
        muscle=0.4,
        weight=0.95,
        height=0.40,
        race=(0.0, 0.8, 0.2),
        hair="long",
        note="woman, 38 y, heavy, hair down the back",
    ),
    # more tune bodies: none near a check body's sliders, and inside the check bodies' extremes
    # (seated height, age), which stay held out
    "m_young_slim": hr.BodySpec(
        1.0,
        (0.85, 0.67, 0.56),
        (0.30, 0.40, 0.55),
        (0.36, 0.25, 0.14),
        age=0.44,
        muscle=0.35,
        weight=0.15,
        height=0.62,
        race=(0.1, 0.0, 0.9),
        hair="ears",
        note="man, 22 y, slim, tall, long hair over the ears",
    ),
    "m_mid_bearded": hr.BodySpec(
        1.0,
        (0.68, 0.50, 0.38),
        (0.18, 0.32, 0.20),
        (0.10, 0.075, 0.06),
        age=0.72,
        muscle=0.45,
        weight=0.72,
        height=0.50,
        race=(0.3, 0.2, 0.5),
        beard=True,
        note="man, 54 y, heavy-ish, full dark beard, green shirt",
    ),
    "f_mid_athletic": hr.BodySpec(
        0.0,
        (0.86, 0.69, 0.56),
        (0.10, 0.12, 0.26),
        (0.36, 0.15, 0.08),
        age=0.62,
        muscle=0.80,
        weight=0.35,
        height=0.55,
        proportions=0.8,
        race=(0.0, 0.3, 0.7),
        glasses=True,
        high_collar=True,
        note="woman, 41 y, athletic, navy high collar, short auburn hair, glasses",
    ),
    "f_small_young": hr.BodySpec(
        0.0,
        (0.58, 0.42, 0.31),
        (0.90, 0.84, 0.52),
        (0.03, 0.03, 0.035),
        age=0.48,
        muscle=0.45,
        weight=0.40,
        height=0.34,
        race=(0.5, 0.3, 0.2),
        hair="long",
        lips=(0.45, 0.24, 0.22),
        note="woman, 24 y, small, slim, brown skin, long black hair",
    ),
    "m_old_thin": hr.BodySpec(
        1.0,
        (0.50, 0.35, 0.25),
        (0.78, 0.72, 0.60),
        (0.80, 0.80, 0.78),
        age=0.86,
        muscle=0.20,
        weight=0.25,
        height=0.42,
        race=(0.6, 0.0, 0.4),
        hair="receding",
        lips=(0.38, 0.22, 0.20),
        note="man, 72 y, thin, white receding hair, cream shirt",
    ),
    # third round of tune bodies: builds the tune part lacked (an old woman, heavy women, a
    # stocky muscular man), each still away from every check body's sliders
    "f_old_heavy": hr.BodySpec(
        0.0,
        (0.84, 0.68, 0.58),
        (0.52, 0.30, 0.42),
        (0.70, 0.68, 0.66),
        age=0.82,
        muscle=0.40,
        weight=0.85,
        height=0.50,
        glasses=True,
        note="woman, 70 y, heavy, grey short hair, glasses, plum shirt",
    ),
    "m_stocky_muscular": hr.BodySpec(
        1.0,
        (0.72, 0.54, 0.40),
        (0.60, 0.12, 0.10),
        (0.05, 0.04, 0.03),
        age=0.68,
        muscle=0.78,
        weight=0.70,
        height=0.40,
        race=(0.2, 0.1, 0.7),
        note="man, 48 y, stocky and muscular, red shirt",
    ),
    "f_heavy_tall": hr.BodySpec(
        0.0,
        (0.45, 0.31, 0.22),
        (0.20, 0.55, 0.30),
        (0.04, 0.03, 0.03),
        age=0.55,
        muscle=0.55,
        weight=0.85,
        height=0.60,
        race=(0.8, 0.0, 0.2),
        hair="long",
        lips=(0.34, 0.18, 0.16),
        note="woman, 29 y, heavy, tall, dark skin, long black hair, green shirt",
    ),
    # second round of check bodies, rendered before the model was refitted with the bodies
    # above and never used to choose anything
    "m_young_heavy": hr.BodySpec(
        1.0,
        (0.80, 0.66, 0.50),
        (0.35, 0.35, 0.38),
        (0.06, 0.05, 0.04),
        age=0.53,
        muscle=0.45,
        weight=0.88,
        height=0.30,
        race=(0.1, 0.7, 0.2),
        glasses=True,
        note="man, 27 y, heavy, short, grey shirt, glasses",
    ),
    "f_mid_tall_slim": hr.BodySpec(
        0.0,
        (0.70, 0.52, 0.40),
        (0.85, 0.80, 0.70),
        (0.45, 0.30, 0.18),
        age=0.72,
        muscle=0.40,
        weight=0.18,
        height=0.72,
        race=(0.3, 0.0, 0.7),
        hair="ears",
        note="woman, 50 y, slim, very tall, brown hair over the ears, beige shirt",
    ),
}


@dataclass(frozen=True)
class Camera:
    """Blender-space camera (metres, Z up, the person at the origin facing -Y)."""

    loc: tuple[float, float, float]
    look_at: tuple[float, float, float]
    hfov_deg: float
    note: str


# the first rendered clips' cameras, fixed in the room; they see the body where MakeHuman
# puts it (hip joints not aligned to the chair)
CAMERAS = {
    # on top of a monitor: about eye height, ~65 cm away, tilted slightly down
    "monitor": Camera((0.0, -0.66, 0.80), (0.0, 0.0, 0.685), 60.0, "monitor, eye level, tilted ~9 deg down"),
    # laptop lid: ~25 cm below the eyes, ~55 cm away, looking up at the face
    "laptop": Camera((0.0, -0.72, 0.57), (0.0, 0.0, 0.645), 64.0, "laptop, ~22 cm below eyes, tilted ~6 deg up"),
}


@dataclass(frozen=True)
class CameraSpec:
    """A webcam placed relative to the seated user's eyes (upright pose).

    height_cm    camera above (+) or below (-) the eye midpoint
    distance_cm  horizontal distance from the eyes toward the screen
    offset_cm    sideways, + = toward the user's left (the image's right side)
    turn_deg     optical axis yawed away from the user, + = toward the user's right, so
                 the user sits right of the image centre (- = left of it)
    The camera looks at the user (offset included) and is tilted so the eyes sit a little
    above the image centre; its horizon stays level.
    """

    hfov_deg: float
    height_cm: float
    distance_cm: float
    offset_cm: float = 0.0
    turn_deg: float = 0.0
    note: str = ""


SEAT_HIP_Y = 1.15  # hip joints of new clips' bodies sit here (OBJ dm; the MakeHuman man's)
LEGACY_OFFSET = np.array([0.0, -0.3, 0.0])
DESK_TOP_Z = 0.2  # metres, Blender (the top of ROOM's desk)
SIZE = (480, 360)
FRAME_MARGIN = 0.02  # head and shoulders must sit this fraction of the frame inside its edges

ROOM = [
    dict(name="wall", center=[0, 1.1, 0.8], size=[6, 0.05, 4], rgb=[0.45, 0.40, 0.33], rough=0.9),
    dict(name="picture", center=[0.55, 1.07, 0.95], size=[0.5, 0.02, 0.36], rgb=[0.05, 0.10, 0.18], rough=0.5),
    dict(name="door", center=[-0.9, 1.07, 0.6], size=[0.8, 0.02, 2.2], rgb=[0.25, 0.12, 0.06], rough=0.6),
    dict(name="shelf", center=[-0.45, 1.0, 1.35], size=[0.6, 0.12, 0.03], rgb=[0.30, 0.22, 0.15], rough=0.6),
    dict(name="desk", center=[0, -0.55, 0.18], size=[1.6, 0.8, 0.04], rgb=[0.20, 0.12, 0.07], rough=0.5),
    dict(name="chair", center=[0, 0.22, 0.35], size=[0.48, 0.06, 0.55], rgb=[0.02, 0.02, 0.025], rough=0.8),
]


def lights(scale: Sequence[float], dim: float = 1.0, key_side: float = 1.0) -> dict:
    return dict(
        area=[
            dict(name="key", loc=[0.6 * key_side, -1.2, 1.6], energy=45.0 * dim, size=1.2, rgb=[1.0, 0.95, 0.88]),
            dict(name="fill", loc=[-1.2 * key_side, -0.8, 0.9], energy=15.0 * dim, size=1.0, rgb=[0.85, 0.9, 1.0]),
            dict(name="screen", loc=[0.0, -0.5, 0.5], energy=4.0, size=0.35, rgb=[0.8, 0.88, 1.0]),
        ],
        scale=[float(x) for x in scale],
        ambient=0.25 * dim,
        ambient_rgb=[0.6, 0.6, 0.65],
    )


def to_blender(p: Arr) -> Arr:
    """MakeHuman OBJ (dm, Y up, +Z toward the camera) -> Blender (m, Z up, -Y toward the camera)."""
    p = np.asarray(p, float)
    return np.stack([p[..., 0] * 0.1, -p[..., 2] * 0.1, p[..., 1] * 0.1], -1)


def project(cam: Camera, pts: Arr, size: tuple[int, int] = SIZE) -> Arr:
    """Pixel coordinates (x right, y down) of Blender-space points seen by ``cam``."""
    loc = np.asarray(cam.loc)
    f = np.asarray(cam.look_at) - loc
    f /= np.linalg.norm(f)
    r = np.cross(f, [0.0, 0.0, 1.0])
    r /= np.linalg.norm(r)
    u = np.cross(r, f)
    d = np.asarray(pts, float) - loc
    depth = d @ f
    fpx = size[0] / 2 / math.tan(math.radians(cam.hfov_deg) / 2)
    return np.stack([size[0] / 2 + fpx * (d @ r) / depth, size[1] / 2 - fpx * (d @ u) / depth], -1)


def framing_points(body: hr.Body, verts: Arr) -> Arr:
    """Blender points that a webcam must show: the head, the outer shoulders (deltoids) and
    the upper chest, from the posed (offset) vertices of the upright body."""
    V = verts[: len(body.rest)]
    eye_y = V[body.mesh.groups["helper-l-eye"], 1].mean()
    head = V[(V[:, 1] > eye_y - 1.5) & (np.abs(V[:, 0]) < 1.1)]
    sh = body.rest[body.mesh.groups["body"]]
    sh_y = body.rig.head["upperarm01.L"][1]
    shoulders = verts[body.mesh.groups["body"]][(np.abs(sh[:, 1] - sh_y) < 0.8) & (np.abs(sh[:, 0]) < 3.0)]
    return to_blender(np.concatenate([head, shoulders]))


class FramingError(ValueError):
    """A camera placement that cannot show the head and both shoulders."""


def place(spec: CameraSpec, body: hr.Body, verts: Arr, size: tuple[int, int] = SIZE) -> Camera:
    """The Blender camera for ``spec`` and this body's upright pose (``verts``: posed and
    offset, OBJ dm); raises FramingError if the head and shoulders cannot both fit."""
    eyes = to_blender(verts[np.r_[body.mesh.groups["helper-l-eye"], body.mesh.groups["helper-r-eye"]]].mean(0))
    loc = eyes + np.array([spec.offset_cm, -spec.distance_cm, spec.height_cm]) / 100
    pts = framing_points(body, verts)
    lo, hi = FRAME_MARGIN * np.array(size), (1 - FRAME_MARGIN) * np.array(size)
    turn = hr.rz(spec.turn_deg)  # yaw about the vertical (Blender Z)
    # aim ~9 cm below the eyes (more chest than ceiling in view), or as near that as fits
    for drop_cm in sorted(np.arange(-6.0, 30.0, 1.0), key=lambda d: abs(d - 9.0)):
        target = eyes - np.array([0.0, 0.0, drop_cm / 100])
        cam = Camera(
            tuple(float(x) for x in loc),
            tuple(float(x) for x in loc + turn @ (target - loc)),
            spec.hfov_deg,
            spec.note,
        )
        px = project(cam, pts, size)
        if (px >= lo).all() and (px <= hi).all():
            return cam
    raise FramingError(
        f"camera {spec} cannot show the head and both shoulders: x {px[:, 0].min():.0f}..{px[:, 0].max():.0f}, "
        f"y {px[:, 1].min():.0f}..{px[:, 1].max():.0f} px in a {size[0]}x{size[1]} frame"
    )


@dataclass(frozen=True)
class FrameSpec:
    """One frame: the pose, plus the props' state (human_rig.pose_frame)."""

    pose: hr.Pose
    chin_rest: float = 0.0
    drink: float = -1.0
    reach: float = 0.0
    reach_to: tuple[float, float, float] = (0.0, 0.0, 0.0)


@dataclass
class RenderJob:
    name: str
    body: str  # key of BODIES
    camera: Camera | CameraSpec  # fixed in the room (first clips) or relative to the eyes
    frames: list[FrameSpec]
    fps: int
    size: tuple[int, int] = SIZE
    samples: int = 8
    seed: int = 0
    key_side: float = 1.0  # -1 puts the key light on the other side
    light_drift: bool = True  # fixed cameras: lights breathe +-6 % (renders every frame)
    shake: bool = False  # relative cameras: sub-pixel camera shake and exposure drift added per frame


@dataclass
class Prepared:
    truth: Arr  # (n, 2) neck flexion, clavicle elevation (deg) relative to frame 0
    render_of: NDArray[np.int64]  # (n,) index of the rendered image each frame shows
    shoulder_px: Arr  # (n, 2) projected shoulder-joint midpoint (pixels)
    camera: Camera
    eye_cm: Arr  # eye midpoint of frame 0 (Blender, cm)
    extra: dict[str, float] = field(default_factory=dict)


def seat_offset(body: hr.Body) -> Arr:
    return np.array([0.0, SEAT_HIP_Y - body.hip_y - 0.3, 0.0])


def prepare(job: RenderJob, work: Path) -> Prepared:
    """Pose every frame, write the Blender inputs (one image per distinct pose) to ``work``."""
    work.mkdir(parents=True, exist_ok=True)
    body = hr.make_body(BODIES[job.body])
    legacy = isinstance(job.camera, Camera)
    offset = LEGACY_OFFSET if legacy else seat_offset(body)
    desk_y = DESK_TOP_Z * 10 - offset[1]
    _, mug_faces = hr.cylinder(hr.MUG_RADIUS, hr.MUG_HEIGHT)
    nbody = len(body.rest)
    n = len(job.frames)
    angles = np.zeros((n, 2))
    shoulder = np.zeros((n, 3))
    render_of = np.zeros(n, np.int64)
    uniques: dict[bytes, int] = {}
    all_verts: list[bytes] = []
    digest = hashlib.sha256()
    cam: Camera | None = job.camera if isinstance(job.camera, Camera) else None
    rng = np.random.default_rng(job.seed)
    jitter = np.cumsum(rng.normal(0, 0.0015, (n, 3)), 0) * 0.3 if legacy else np.zeros((n, 3))
    eye0 = np.zeros(3)
    has_mug = any(fs.drink >= 0 for fs in job.frames)
    for f, fs in enumerate(job.frames):
        G, mug = hr.pose_frame(body, fs.pose, desk_y, fs.chin_rest, fs.drink, fs.reach, fs.reach_to)
        verts = body.rig.skin(body.rest, G, offset)
        if has_mug:
            verts = np.concatenate([verts, (mug + offset).astype(np.float32)])
        if f == 0:
            eye0 = to_blender(verts[np.r_[body.mesh.groups["helper-l-eye"], body.mesh.groups["helper-r-eye"]]].mean(0))
        if cam is None:
            assert isinstance(job.camera, CameraSpec)
            cam = place(job.camera, body, verts.astype(np.float64), job.size)
        key = verts.tobytes() + jitter[f].tobytes()
        if key not in uniques:
            uniques[key] = len(uniques)
            all_verts.append(verts.tobytes())
            digest.update(key)
        render_of[f] = uniques[key]
        a = hr.true_angles(body.rig, G)
        angles[f] = (a.neck_deg, a.shoulder_deg)
        sh = (body.rig.joint(G, "upperarm01.L") + body.rig.joint(G, "upperarm01.R")) / 2 + offset
        shoulder[f] = to_blender(sh)
    assert cam is not None
    with open(work / "p0_verts.f32", "wb") as fh:
        for v in all_verts:
            fh.write(v)
    faces = body.mesh.faces + ([[nbody + i for i in q] for q in mug_faces] if has_mug else [])
    colours = body.colours
    if has_mug:
        mug_rgb = np.r_[np.power(hr.MUG_RGB, 2.2), 1.0].astype(np.float32)
        colours = np.concatenate([colours, np.tile(mug_rgb, (sum(len(q) for q in mug_faces), 1))])
    colours.tofile(work / "p0_cols.f32")
    nverts = len(all_verts[0]) // 12
    t = np.arange(n) / job.fps
    first = {r: int(np.argmax(render_of == r)) for r in range(len(uniques))}
    scale = 1 + 0.06 * np.sin(2 * np.pi * t / 9.0) if job.light_drift else np.ones(n)
    scene = dict(
        size=list(job.size),
        samples=job.samples,
        nframes=len(uniques),
        persons=[dict(nverts=nverts, faces=faces, frames="p0_verts.f32", colours="p0_cols.f32")],
        room=ROOM,
        camera=dict(
            hfov_deg=cam.hfov_deg,
            look_at=list(cam.look_at),
            path=[[float(v) for v in np.add(cam.loc, jitter[first[r]])] for r in range(len(uniques))],
        ),
        lights=lights([scale[first[r]] for r in range(len(uniques))], key_side=job.key_side),
    )
    digest.update(json.dumps(scene).encode())
    digest.update(colours.tobytes())  # a repainted body (beard, collar, shirt) must render again
    # frames rendered for another scene must not be resumed from
    stamp = work / "scene.sha256"
    if not stamp.exists() or stamp.read_text() != digest.hexdigest():
        shutil.rmtree(work / "raw", ignore_errors=True)
    stamp.write_text(digest.hexdigest())
    with open(work / "scene.json", "w") as fh:
        json.dump(scene, fh)
    return Prepared(angles - angles[0], render_of, project(cam, shoulder, job.size), cam, eye0 * 100)


def run_blender(work: Path, log: Path) -> float:
    """Render all frames (resumable); returns seconds spent."""
    blender = shutil.which("blender")
    if blender is None:
        raise RuntimeError("blender not found: apt-get install -y blender (Debian 3.4.1 works)")
    t0 = time.time()
    with open(log, "w") as fh:
        subprocess.run(
            [blender, "-b", "--factory-startup", "--python", str(HERE / "render_blender.py"), "--", str(work)],
            check=True,
            stdout=fh,
            stderr=subprocess.STDOUT,
        )
    return time.time() - t0


def frames(
    work: Path, render_of: Sequence[int], seed: int = 0, noise_sd: float = 2.5, shake: bool = False, fps: int = 8
) -> Iterator[NDArray[np.uint8]]:
    """Rendered PNGs with webcam-like sensor noise and a slight softening; with ``shake``,
    also a sub-pixel camera shake (random walk, ~0.3 px) and a slow +-3 % exposure drift."""
    rng = np.random.default_rng(seed + 1000)
    shake_rng = np.random.default_rng(seed + 2000)
    pos = np.zeros(2)
    for f, r in enumerate(render_of):
        img = cv2.imread(str(work / "raw" / f"{r:04d}.png"))
        if img is None:
            raise FileNotFoundError(work / "raw" / f"{r:04d}.png")
        if shake:
            pos = 0.8 * pos + shake_rng.normal(0, 0.2, 2)
            m = np.float32([[1, 0, pos[0]], [0, 1, pos[1]]])
            img = cv2.warpAffine(img, m, (img.shape[1], img.shape[0]), borderMode=cv2.BORDER_REFLECT)
            gain = 1 + 0.03 * math.sin(2 * math.pi * f / fps / 9.0)
            img = np.clip(img.astype(np.float32) * gain, 0, 255).astype(np.uint8)
        noisy = img.astype(np.float32) + rng.normal(0, noise_sd, img.shape)
        yield cv2.GaussianBlur(np.clip(noisy, 0, 255).astype(np.uint8), (3, 3), 0.6)
