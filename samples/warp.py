"""Photo-warp sample clips: one real photo, deformed frame by frame with a thin-plate spline.

The person is scikit-image's ``astronaut`` (NASA, public domain).  The pose landmarker finds
her landmarks and a person mask once; the person is cut out, placed in front of a clean
room plate (samples/assets/room_bg.png) and, for every frame, control points on the head,
shoulders, chest and arms are moved by a small 2.5-D model of the posture:

* the head is a rigid set of points with a depth each (nose and eyes in front of the ear
  axis), so a *pitch* (glance, nod) moves the nose and eyes down and foreshortens the face
  while the ears stay put; a *drop* or a *forward* move (bigger: nearer the camera) moves
  the whole head, ears included;
* shoulders rise (shrug), narrow (rounded back), tilt (fidget);
* the whole upper body leans sideways (roll about the hips, below the frame), toward the
  camera (zoom about the bottom of the frame) or walks out (translation).

A thin-plate spline through the moved control points (fixed anchors far outside the frame)
gives the backward map for ``cv2.remap``.  Camera effects follow: slow drift and roll,
auto-exposure wobble, vignetting, sensor noise.  Amplitudes are tuned so that MediaPipe's
neck gap ((shoulder-mid y - ear-mid y) / shoulder width) drops ~30 % at a strong hunch and
only a few % during a glance (see samples/README.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]

RING = 16


def smooth(x: F64 | float) -> F64:
    """Cosine ease of x clipped to [0, 1]."""
    return 0.5 - 0.5 * np.cos(np.pi * np.clip(x, 0.0, 1.0))


def leave_offset(level: F64 | float) -> tuple[F64, F64]:
    """Whole-body offset (fractions of frame width, height) while leaving, level 0..1:
    stands up a little (0-0.3), then walks out to the image right (0.2-1)."""
    lv = np.asarray(level, float)
    return 1.15 * smooth((lv - 0.2) / 0.8), -0.12 * smooth(lv / 0.3)


def analyse(rgb: NDArray[np.uint8], model: Path) -> tuple[F64, F32]:
    """Landmarks (33x2, px) and person mask of a photo, from the pose landmarker (IMAGE mode)."""
    import mediapipe as mp
    from mediapipe.tasks import python as mpt
    from mediapipe.tasks.python import vision

    opts = vision.PoseLandmarkerOptions(
        base_options=mpt.BaseOptions(model_asset_path=str(model)), output_segmentation_masks=True
    )
    with vision.PoseLandmarker.create_from_options(opts) as lm:
        r = lm.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb)))
    if not r.pose_landmarks:
        raise RuntimeError("no person found in the source photo")
    h, w = rgb.shape[:2]
    pts = np.array([[p.x * w, p.y * h] for p in r.pose_landmarks[0]])
    return pts, r.segmentation_masks[0].numpy_view()[..., 0].astype(np.float32).copy()


def tps_map(dst: F64, src: F64, size: tuple[int, int], step: int = 4) -> tuple[F32, F32]:
    """Backward map (for cv2.remap) of the thin-plate spline taking dst points to src points."""
    W, H = size

    def U(r2: F64) -> F64:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(r2 > 0, 0.5 * r2 * np.log(r2), 0.0)

    n = len(dst)
    K = U(((dst[:, None] - dst[None]) ** 2).sum(-1)) + np.eye(n) * 1e-3
    P = np.c_[np.ones(n), dst]
    A = np.zeros((n + 3, n + 3))
    A[:n, :n], A[:n, n:], A[n:, :n] = K, P, P.T
    coef = np.linalg.solve(A, np.r_[src, np.zeros((3, 2))])
    gx, gy = np.meshgrid(np.arange(0, W + step, step), np.arange(0, H + step, step))
    g = np.c_[gx.ravel(), gy.ravel()].astype(np.float64)
    m = U(((g[:, None] - dst[None]) ** 2).sum(-1)) @ coef[:n] + np.c_[np.ones(len(g)), g] @ coef[n:]

    def up(z: F64) -> F32:
        z32 = z.reshape(gx.shape).astype(np.float32)
        return cv2.resize(z32, (gx.shape[1] * step, gx.shape[0] * step), interpolation=cv2.INTER_LINEAR)[:H, :W]

    return up(m[:, 0]), up(m[:, 1])


@dataclass
class Layer:
    rgba: F32  # person layer, float RGB 0..255 + alpha 0..1, taller than the frame
    pts: F64  # 33 landmarks in canvas px


def person_layer(
    src: NDArray[np.uint8],
    pts: F64,
    mask: F32,
    size: tuple[int, int],
    sw_frac: float,
    shoulder_y: float,
    centre_x: float = 0.5,
) -> Layer:
    """Scale/place the photo so the shoulders span sw_frac of the width, shoulder line at
    shoulder_y (fraction of height); the layer extends below the frame (rows replicated)."""
    W, H = size
    scale = sw_frac * W / np.linalg.norm(pts[11] - pts[12])
    shm = (pts[11] + pts[12]) / 2
    M = np.array([[scale, 0, W * centre_x - scale * shm[0]], [0, scale, H * shoulder_y - scale * shm[1]]])
    HP = int(H * 1.6)
    pad = int(max(0.0, (HP - (M[1, 1] * src.shape[0] + M[1, 2])) / scale)) + 4
    alpha = cv2.GaussianBlur(np.clip((mask - 0.3) / 0.4, 0, 1), (5, 5), 0)
    src_p = cv2.copyMakeBorder(src, 0, pad, 0, 0, cv2.BORDER_REPLICATE).astype(np.float32)
    alpha_p = cv2.copyMakeBorder(alpha, 0, pad, 0, 0, cv2.BORDER_REPLICATE)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    rgba = cv2.warpAffine(np.dstack([src_p, alpha_p]), M, (W, HP), flags=interp)
    return Layer(rgba, pts @ M[:, :2].T + M[:, 2])


def over(frame: F32, layer: F32) -> F32:
    a = layer[..., 3:4]
    return frame * (1 - a) + layer[..., :3] * a


class Scene:
    """Renders frames of the astronaut at a desk from per-frame posture parameters."""

    def __init__(self, size: tuple[int, int], fps: int, seed: int, model: Path, plate: Path | None = None) -> None:
        import skimage.data

        self.W, self.H = size
        self.fps = fps
        self.rng = np.random.default_rng(seed)
        W, H = size
        src = skimage.data.astronaut()
        pts, mask = analyse(src, model)
        self.layer = person_layer(src, pts, mask, size, sw_frac=0.40, shoulder_y=0.76)
        P = self.layer.pts
        if plate is None:
            plate = Path(__file__).resolve().parent / "assets" / "room_bg.png"
        bg = cv2.imread(str(plate))
        if bg is None:
            raise FileNotFoundError(plate)
        bg = cv2.resize(bg, size, interpolation=cv2.INTER_CUBIC)
        self.bg = cv2.GaussianBlur(cv2.cvtColor(bg, cv2.COLOR_BGR2RGB), (0, 0), 1.2).astype(np.float32)
        self.skin = np.array([214.0, 160.0, 138.0], np.float32)  # hand holding the mug (RGB)

        # --- control points (canvas px) -------------------------------------------------
        self.ear_c = (P[7] + P[8]) / 2
        self.ear_d = float(np.linalg.norm(P[7] - P[8]))
        self.sw = float(np.linalg.norm(P[11] - P[12]))
        self.sh_mid = (P[11] + P[12]) / 2
        self.gap = float(self.sh_mid[1] - self.ear_c[1])  # upright neck gap (px)
        mouth_y = float((P[9, 1] + P[10, 1]) / 2)
        head_top = self._head_top()
        chin = mouth_y + 0.36 * (mouth_y - float(P[0, 1])) + 0.2 * (mouth_y - float((P[2, 1] + P[5, 1]) / 2))
        # head outline: an ellipse from the top of the hair to the chin
        cx, cy = float(self.ear_c[0]), (head_top + chin) / 2
        ax, ay = 1.0 * self.ear_d, (chin - head_top) / 2
        ang = np.linspace(0, 2 * np.pi, RING, endpoint=False)
        ring = np.c_[cx + ax * np.cos(ang), cy + ay * np.sin(ang)]
        # depth in front of the ear axis: silhouette 0 at and above the ears, jaw/chin in front
        below = np.clip((ring[:, 1] - self.ear_c[1]) / (chin - self.ear_c[1]), 0, 1)
        ring_z = 0.5 * self.ear_d * below**1.5
        # the face as the front of an ellipsoid: a point's depth in front of the ear axis
        # follows its place in the head outline, so a pitch moves the whole face together
        gx, gy = np.meshgrid(np.linspace(-0.72, 0.72, 7), np.linspace(-0.72, 0.72, 7))
        inside = gx**2 + gy**2 < 0.75
        grid = np.c_[cx + gx[inside] * ax, cy + gy[inside] * ay]

        def depth(q: F64) -> F64:
            r2 = ((q[:, 0] - cx) / ax) ** 2 + ((q[:, 1] - cy) / ay) ** 2
            return 0.72 * self.ear_d * np.sqrt(np.clip(1 - r2, 0, 1))

        feats = P[[0, 9, 10]]  # nose tip, mouth corners
        feats_z = depth(feats) + np.array([0.15, 0.0, 0.0]) * self.ear_d
        self.head = np.r_[feats, ring, grid]
        self.head_z = np.r_[feats_z, ring_z, depth(grid)]
        jaw_w = np.clip((self.head[:, 1] - mouth_y) / (chin - mouth_y), 0, 1)  # mouth and chin open
        jaw_w[1:3] = 0.5
        self.jaw = jaw_w
        # the head is its own layer drawn over the body, so it can drop in front of the collar
        yy, xx = np.mgrid[0 : self.layer.rgba.shape[0], 0:W]
        ell = ((xx - cx) / (ax * 1.02)) ** 2 + ((yy - cy) / (ay * 1.02)) ** 2 < 1
        m = cv2.GaussianBlur(ell.astype(np.float32), (0, 0), 3.0)
        self.head_rgba = self.layer.rgba.copy()
        self.head_rgba[..., 3] *= m
        self.body_rgba = self.layer.rgba.copy()
        self.body_rgba[..., 3] *= 1 - m
        L, R = P[11], P[12]
        out = (L - R) / np.linalg.norm(L - R)  # unit vector toward image right
        sw = self.sw
        self.shoulders = np.vstack(
            [
                L,
                R,
                L + np.array([0, -0.10 * sw]),
                R + np.array([0, -0.10 * sw]),
                L + out * 0.3 * sw,
                R - out * 0.3 * sw,
                L - out * 0.22 * sw + [0, -0.16 * sw],
                R + out * 0.22 * sw + [0, -0.16 * sw],
                [cx - 0.45 * ax, chin + 0.02 * sw],
                [cx + 0.45 * ax, chin + 0.02 * sw],
            ]
        )
        self.sh_side = np.array([1, -1, 1, -1, 1, -1, 1, -1, -1, 1])  # +1 image-right (person's left)
        self.sh_lift = np.array([1.0, 1.0, 1.25, 1.25, 0.8, 0.8, 1.1, 1.1, 0.9, 0.9])  # trapezius bunches up
        self.chest = np.array([[self.sh_mid[0] + dx * sw, self.sh_mid[1] + 0.30 * sw] for dx in (-0.45, 0, 0.45)])
        self.arms = np.vstack(
            [
                L + out * 0.15 * sw + [0, 0.35 * sw],
                R - out * 0.15 * sw + [0, 0.35 * sw],
                L + out * 0.15 * sw + [0, 0.75 * sw],
                R - out * 0.15 * sw + [0, 0.75 * sw],
            ]
        )
        self.anchors = np.array(
            [[x, 1.45 * H] for x in np.linspace(-0.3 * W, 1.3 * W, 8)]
            + [[-0.3 * W, y] for y in np.linspace(-0.3 * H, 1.2 * H, 5)]
            + [[1.3 * W, y] for y in np.linspace(-0.3 * H, 1.2 * H, 5)]
            + [[x, -0.3 * H] for x in np.linspace(-0.1 * W, 1.1 * W, 5)]
        )
        self.head_src = np.r_[self.head, self.anchors]
        self.body_src = np.r_[self.shoulders, self.chest, self.arms, self.anchors]

        # --- camera: slow drift + roll, vignette ------------------------------------------
        self.jit = np.zeros(2)
        yy, xx = np.mgrid[0:H, 0:W]
        self.vignette = (1 - 0.5 * (((xx - W / 2) / W) ** 2 + ((yy - H / 2) / H) ** 2))[..., None].astype(np.float32)
        self.passer = self._passer_layer(src, pts, mask)

    def _head_top(self) -> float:
        a = self.layer.rgba[..., 3]
        x = int(np.clip(self.ear_c[0], 0, self.W - 1))
        y = int(self.ear_c[1])
        while y > 0 and a[y, x] > 0.5:
            y -= 1
        return float(y)

    def _passer_layer(self, src: NDArray[np.uint8], pts: F64, mask: F32) -> Layer:
        """A second person: the photo mirrored, suit recoloured, smaller (further back)."""
        s2 = src[:, ::-1].copy()
        m2 = mask[:, ::-1].copy()
        p2 = pts.copy()
        p2[:, 0] = src.shape[1] - 1 - p2[:, 0]
        hsv = cv2.cvtColor(s2, cv2.COLOR_RGB2HSV)
        hsv[..., 0] = ((hsv[..., 0].astype(int) + 100) % 180).astype(np.uint8)
        suit = (m2[..., None] > 0.5) & (np.arange(s2.shape[0])[:, None, None] > p2[0, 1] + 40)
        s2 = np.where(suit, cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB), s2)
        return person_layer(s2, p2, m2, (self.W, self.H), sw_frac=0.24, shoulder_y=0.60, centre_x=0.5)

    # ------------------------------------------------------------------------------ model
    def _head_dst(self, dx: float, dy: float, scale: float, pitch: float, roll: float, jaw: float) -> F64:
        """Head control points, then the far anchors moved rigidly with the head."""
        ph, ro = math.radians(pitch), math.radians(roll)
        rel = self.head - self.ear_c
        y = rel[:, 1] * math.cos(ph) + self.head_z * math.sin(ph) + jaw * self.jaw * 0.10 * self.ear_d
        pts = np.r_[np.c_[rel[:, 0], y], self.anchors - self.ear_c]
        Rr = np.array([[math.cos(ro), -math.sin(ro)], [math.sin(ro), math.cos(ro)]])
        return pts @ Rr.T * scale + self.ear_c + [dx, dy]

    def deform(self, p: dict[str, float], t: float) -> F64:
        """Destination control points for posture parameters p at time t (s)."""
        g, sw = self.gap, self.sw
        hunch, fwd = p.get("hunch", 0.0), p.get("fwd_head", 0.0)
        shrug, rnd = p.get("shrug", 0.0), p.get("round_back", 0.0)
        lean_in = p.get("lean_in", 0.0)
        talk, nod, fidget = p.get("talk", 0.0), p.get("nod", 0.0), p.get("fidget", 0.0)
        breathe = math.sin(2 * np.pi * t / 4.2)

        # head: drop (px, + down), scale (nearer the camera), pitch (+ = face down), roll
        h_dy = 0.50 * hunch * g + 0.15 * fwd * g + 0.36 * rnd * g + 0.07 * lean_in * g
        h_scale = 1 + 0.13 * hunch + 0.18 * fwd + 0.08 * rnd + 0.05 * lean_in
        pitch = 6 * hunch - 4 * fwd + 6 * rnd + 4 * lean_in + p.get("pitch_deg", 0.0)
        h_dy += 0.02 * g * p.get("pitch_deg", 0.0) / 28  # a glance moves the ears only a little
        roll = -0.15 * p.get("lean_deg", 0.0)
        h_dx = 0.0
        jaw = 0.0
        if talk:
            jaw = talk * (0.5 + 0.5 * math.sin(2 * np.pi * 3.7 * t)) * (0.6 + 0.4 * math.sin(2 * np.pi * 1.1 * t))
            pitch += talk * 3 * math.sin(2 * np.pi * 1.6 * t)
            roll += talk * 1.5 * math.sin(2 * np.pi * 0.9 * t)
        if nod:
            pitch += nod * 11 * (0.5 - 0.5 * math.cos(2 * np.pi * t / 0.6))
        # a side lean also drops the shoulder on the leaning side (lateral trunk flexion)
        sh_tilt = -0.012 * g * p.get("lean_deg", 0.0)
        body_dx = 0.0
        body_roll = 0.0
        if fidget:
            sh_tilt += fidget * 0.10 * g * math.sin(2 * np.pi * 2.0 * t)
            body_dx = fidget * 0.05 * sw * math.sin(2 * np.pi * 1.3 * t)
            body_roll = fidget * 2.5 * math.sin(2 * np.pi * 1.0 * t + 1.0)
            roll += fidget * 3 * math.sin(2 * np.pi * 1.4 * t)
            h_dx += fidget * 0.04 * sw * math.sin(2 * np.pi * 1.8 * t)
        head = self._head_dst(h_dx, h_dy, h_scale, pitch, roll, jaw)

        # shoulders: lift (px, + up), narrowing toward the midline, tilt
        lift = (0.10 * hunch + 0.32 * shrug + 0.04 * rnd) * g + 0.012 * g * breathe
        narrow = 0.03 * hunch + 0.02 * shrug + 0.12 * rnd
        sh = self.shoulders.copy()
        sh[:, 1] -= lift * self.sh_lift + sh_tilt * self.sh_side
        sh[:, 0] = self.sh_mid[0] + (sh[:, 0] - self.sh_mid[0]) * (1 - narrow)
        chest = self.chest + np.array([0, -(0.02 * hunch + 0.05 * shrug) * g])
        arms = self.arms.copy()
        arms[:2, 1] -= 0.6 * lift
        arms[:, 0] = self.sh_mid[0] + (arms[:, 0] - self.sh_mid[0]) * (1 - 0.5 * narrow)
        dst = np.r_[head, sh, chest, arms, self.anchors]  # head part, then body part

        # whole upper body: toward the camera (zoom about the bottom centre), side lean (roll
        # about the hips, below the frame), fidget sway, walking out
        W, H = self.W, self.H
        zoom = 1 + 0.05 * hunch + 0.14 * lean_in + 0.01 * rnd
        th = math.radians(p.get("lean_deg", 0.0) + body_roll)
        # (the roll pivots at the lower chest, so the wide suit stays in view)
        piv = np.array([W / 2, 1.35 * H])
        dst = (dst - piv) * zoom + piv
        piv = np.array([W / 2, 0.95 * H])
        Rm = np.array([[math.cos(th), -math.sin(th)], [math.sin(th), math.cos(th)]])
        dst = (dst - piv) @ Rm.T + piv
        lx, ly = leave_offset(p.get("leave", 0.0))
        dst += [float(lx) * W + body_dx, float(ly) * H]
        return dst

    # ------------------------------------------------------------------------------ frames
    def _mug(self, frame: F32, level: float, dst: F64) -> None:
        """A mug (with a hand) raised to the chin; level 0 = below the frame, 1 = at the chin."""
        if level <= 0.01:
            return
        sw = self.sw
        mouth = (dst[1] + dst[2]) / 2
        cx = int(mouth[0] + 0.05 * sw)
        top = mouth[1] - 0.02 * sw  # rim just over the lower lip
        cy = int(self.H + (top - self.H) * level)
        hw, hh = int(0.15 * sw), int(0.42 * sw)
        ov = frame.copy()
        cv2.rectangle(ov, (cx - hw, cy), (cx + hw, cy + hh), (235, 235, 228), -1)  # white mug
        cv2.ellipse(ov, (cx, cy), (hw, int(0.03 * sw)), 0, 0, 360, (120, 90, 70), -1)  # coffee
        cv2.ellipse(
            ov,
            (cx + hw + int(0.04 * sw), cy + int(0.16 * sw)),
            (int(0.07 * sw), int(0.09 * sw)),
            0,
            0,
            360,
            (225, 225, 218),
            int(0.03 * sw),
        )  # handle
        cv2.ellipse(
            ov,
            (cx - hw + int(0.02 * sw), cy + int(0.25 * sw)),
            (int(0.10 * sw), int(0.14 * sw)),
            0,
            0,
            360,
            self.skin.tolist(),
            -1,
        )  # fingers
        cv2.line(ov, (cx, cy + hh), (cx - int(0.05 * sw), int(self.H * 1.2)), self.skin.tolist(), int(0.14 * sw))
        frame[:] = cv2.GaussianBlur(ov, (3, 3), 0.8)

    def frame(self, p: dict[str, float], f: int) -> NDArray[np.uint8]:
        """BGR uint8 frame f for posture parameters p."""
        W, H = self.W, self.H
        t = f / self.fps
        dst = self.deform(p, t)
        nh = len(self.head_src)
        layers = []
        for rgba, d, s in ((self.body_rgba, dst[nh:], self.body_src), (self.head_rgba, dst[:nh], self.head_src)):
            mx, my = tps_map(d, s, (W, H))
            layers.append(cv2.remap(rgba, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0))
        frame = self.bg.copy()
        px = p.get("passerby_x")
        if px is not None and -0.4 < px < 1.4:
            bob = 3.0 * abs(math.sin(2 * np.pi * 0.9 * t))
            M2 = np.float32([[1, 0, (px - 0.5) * W], [0, 1, -bob]])  # shoulder midpoint at px * W
            frame = over(frame, cv2.warpAffine(self.passer.rgba[:H], M2, (W, H)))
        for lay in layers:
            frame = over(frame, lay)
        self._mug(frame, p.get("mug", 0.0), dst)
        # camera: slow drift and roll, auto-exposure wobble, vignetting, light level, noise
        self.jit = 0.97 * self.jit + self.rng.normal(0, 0.25, 2)
        Mj = cv2.getRotationMatrix2D((W / 2, H / 2), 0.15 * math.sin(2 * np.pi * t / 6.3), 1.0)
        Mj[:, 2] += self.jit
        frame = cv2.warpAffine(frame, Mj, (W, H), borderMode=cv2.BORDER_REFLECT)
        light = p.get("light", 1.0)
        gain = light * (1 + 0.03 * math.sin(2 * np.pi * t / 8.0))
        frame = frame * self.vignette * gain
        noise = 2.0 + 6.0 * (1 - min(1.0, light)) if light > 0.2 else 2.5
        frame = frame + self.rng.normal(0, noise, frame.shape).astype(np.float32)
        return cv2.cvtColor(np.clip(frame, 0, 255).astype(np.uint8), cv2.COLOR_RGB2BGR)
