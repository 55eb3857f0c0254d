"""Rendered sample clips: a posed MakeHuman body (samples/human_rig.py) rendered by Blender.

The numpy side poses and skins the body for every frame, writes the vertex frames and a
scene description to a scratch folder under /tmp, runs Blender headless on
samples/render_blender.py, then reads the PNG frames back and adds webcam-like sensor noise.
True angles (neck flexion, clavicle elevation) come from the posed joint positions.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import human_rig as hr
import numpy as np
from numpy.typing import NDArray

HERE = Path(__file__).resolve().parent

# Body looks: (gender, skin, shirt, hair, long hair) in sRGB 0..1
BODIES: dict[
    str, tuple[str, tuple[float, float, float], tuple[float, float, float], tuple[float, float, float], bool]
] = {
    "mh_male": ("male", (0.80, 0.60, 0.48), (0.16, 0.26, 0.45), (0.10, 0.07, 0.05), False),
    "mh_female": ("female", (0.62, 0.43, 0.33), (0.55, 0.14, 0.14), (0.06, 0.045, 0.035), True),
}


@dataclass(frozen=True)
class Camera:
    """Blender-space camera (metres, Z up, the person at the origin facing -Y)."""

    loc: tuple[float, float, float]
    look_at: tuple[float, float, float]
    hfov_deg: float
    note: str


CAMERAS = {
    # on top of a monitor: about eye height, ~65 cm away, tilted slightly down
    "monitor": Camera((0.0, -0.66, 0.80), (0.0, 0.0, 0.685), 60.0, "monitor, eye level, tilted ~9 deg down"),
    # laptop lid: ~25 cm below the eyes, ~55 cm away, looking up at the face
    "laptop": Camera((0.0, -0.72, 0.57), (0.0, 0.0, 0.645), 64.0, "laptop, ~22 cm below eyes, tilted ~6 deg up"),
}

ROOM = [
    dict(name="wall", center=[0, 1.1, 0.8], size=[6, 0.05, 4], rgb=[0.45, 0.40, 0.33], rough=0.9),
    dict(name="picture", center=[0.55, 1.07, 0.95], size=[0.5, 0.02, 0.36], rgb=[0.05, 0.10, 0.18], rough=0.5),
    dict(name="door", center=[-0.9, 1.07, 0.6], size=[0.8, 0.02, 2.2], rgb=[0.25, 0.12, 0.06], rough=0.6),
    dict(name="shelf", center=[-0.45, 1.0, 1.35], size=[0.6, 0.12, 0.03], rgb=[0.30, 0.22, 0.15], rough=0.6),
    dict(name="desk", center=[0, -0.55, 0.18], size=[1.6, 0.8, 0.04], rgb=[0.20, 0.12, 0.07], rough=0.5),
    dict(name="chair", center=[0, 0.22, 0.35], size=[0.48, 0.06, 0.55], rgb=[0.02, 0.02, 0.025], rough=0.8),
]


def lights(scale: NDArray[np.float64], dim: float = 1.0) -> dict:
    return dict(
        area=[
            dict(name="key", loc=[0.6, -1.2, 1.6], energy=45.0 * dim, size=1.2, rgb=[1.0, 0.95, 0.88]),
            dict(name="fill", loc=[-1.2, -0.8, 0.9], energy=15.0 * dim, size=1.0, rgb=[0.85, 0.9, 1.0]),
            dict(name="screen", loc=[0.0, -0.5, 0.5], energy=4.0, size=0.35, rgb=[0.8, 0.88, 1.0]),
        ],
        scale=[float(x) for x in scale],
        ambient=0.25 * dim,
        ambient_rgb=[0.6, 0.6, 0.65],
    )


@dataclass
class RenderJob:
    name: str
    body: str  # key of BODIES
    camera: str  # key of CAMERAS
    poses: list[hr.Pose]
    fps: int
    size: tuple[int, int] = (480, 360)
    samples: int = 8
    seed: int = 0


def prepare(job: RenderJob, work: Path) -> NDArray[np.float64]:
    """Pose every frame, write the Blender inputs to ``work``; returns true angles (n, 2)
    = (neck flexion, clavicle elevation) in degrees relative to frame 0."""
    work.mkdir(parents=True, exist_ok=True)
    gender, skin, shirt, hair, long_hair = BODIES[job.body]
    body = hr.make_body(gender, skin, shirt, hair, long_hair=long_hair)
    n = len(job.poses)
    offset = np.array([0.0, -0.3, 0.0])
    angles = np.zeros((n, 2))
    digest = hashlib.sha256()
    with open(work / "p0_verts.f32", "wb") as fh:
        for f, p in enumerate(job.poses):
            G = body.rig.globals(hr.desk_pose(body.rig, p))
            verts = body.rig.skin(body.rest, G, offset).tobytes()
            fh.write(verts)
            digest.update(verts)
            a = hr.true_angles(body.rig, G)
            angles[f] = (a.neck_deg, a.shoulder_deg)
    body.colours.tofile(work / "p0_cols.f32")
    rng = np.random.default_rng(job.seed)
    cam = CAMERAS[job.camera]
    jitter = np.cumsum(rng.normal(0, 0.0015, (n, 3)), 0) * 0.3  # hand-held-free drift
    t = np.arange(n) / job.fps
    scene = dict(
        size=list(job.size),
        samples=job.samples,
        nframes=n,
        persons=[dict(nverts=len(body.rest), faces=body.mesh.faces, frames="p0_verts.f32", colours="p0_cols.f32")],
        room=ROOM,
        camera=dict(
            hfov_deg=cam.hfov_deg,
            look_at=list(cam.look_at),
            path=[[float(v) for v in np.add(cam.loc, j)] for j in jitter],
        ),
        lights=lights(1 + 0.06 * np.sin(2 * np.pi * t / 9.0)),
    )
    digest.update(json.dumps(scene).encode())
    # frames rendered for another scene must not be resumed from
    stamp = work / "scene.sha256"
    if not stamp.exists() or stamp.read_text() != digest.hexdigest():
        shutil.rmtree(work / "raw", ignore_errors=True)
    stamp.write_text(digest.hexdigest())
    with open(work / "scene.json", "w") as fh:
        json.dump(scene, fh)
    return angles - angles[0]


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


def frames(work: Path, n: int, seed: int = 0, noise_sd: float = 2.5) -> Iterator[NDArray[np.uint8]]:
    """Rendered PNGs with webcam-like sensor noise and a slight softening."""
    rng = np.random.default_rng(seed + 1000)
    for f in range(n):
        img = cv2.imread(str(work / "raw" / f"{f:04d}.png"))
        if img is None:
            raise FileNotFoundError(work / "raw" / f"{f:04d}.png")
        noisy = img.astype(np.float32) + rng.normal(0, noise_sd, img.shape)
        yield cv2.GaussianBlur(np.clip(noisy, 0, 255).astype(np.uint8), (3, 3), 0.6)
