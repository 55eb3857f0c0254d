"""A thin wrapper around MediaPipe's PoseLandmarker (Tasks API, VIDEO mode).

It returns every person found as a `Pose` in pixel coordinates; `main_person` picks the user among them.
Frames are handed to MediaPipe in memory and never written anywhere.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from .errors import PostureWatchError

BUNDLED_MODEL = "pose_landmarker_lite.task"
BUNDLED_SHA256 = "59929e1d1ee95287735ddd833b19cf4ac46d29bc7afddbbf6753c459690d574a"

# Landmark indices of the BlazePose topology that a frontal desk camera sees reliably.
NOSE, LEFT_EYE, RIGHT_EYE, LEFT_EAR, RIGHT_EAR, LEFT_SHOULDER, RIGHT_SHOULDER = 0, 2, 5, 7, 8, 11, 12


@dataclass(frozen=True)
class Pose:
    """One person: `xy` is (33, 2) in pixels, `visibility` is (33,) in 0..1, in a picture `image_width` wide."""

    xy: np.ndarray
    visibility: np.ndarray
    image_width: int

    @property
    def shoulder_width(self) -> float:
        return float(np.linalg.norm(self.xy[LEFT_SHOULDER] - self.xy[RIGHT_SHOULDER]))

    @property
    def shoulder_mid(self) -> np.ndarray:
        return (self.xy[LEFT_SHOULDER] + self.xy[RIGHT_SHOULDER]) / 2


def bundled_model_path() -> Path:
    return Path(str(resources.files("posture_watch") / "models" / BUNDLED_MODEL))


def load_model(path: str | Path | None = None) -> bytes:
    """The model bundle's bytes. The bundled model must match its published sha256; another one must be a
    readable `.task` bundle (a zip)."""
    model_path = Path(path) if path else bundled_model_path()
    try:
        data = model_path.read_bytes()
    except OSError as err:
        raise PostureWatchError(f"cannot read the pose model {model_path}: {err.strerror}") from None
    if path is None:
        digest = hashlib.sha256(data).hexdigest()
        if digest != BUNDLED_SHA256:
            raise PostureWatchError(
                f"the bundled pose model {model_path} is damaged (sha256 {digest[:12]}…, expected "
                f"{BUNDLED_SHA256[:12]}…): reinstall posture-watch"
            )
    elif not zipfile.is_zipfile(io.BytesIO(data)):
        raise PostureWatchError(f"{model_path} is not a MediaPipe .task bundle")
    return data


class PoseEstimator:
    """MediaPipe PoseLandmarker in VIDEO mode: tracks between frames, needs increasing timestamps."""

    def __init__(self, model: str | Path | None = None, max_people: int = 1) -> None:
        # One person by default: with num_poses=N MediaPipe re-runs its detector on every frame until it tracks N
        # people, which doubles the cost when the user sits alone. The tracker stays on the tracked person, and
        # the posture gate rejects anyone who is not where the user calibrated.
        # Imported here so that `--help`, `doctor` and the pure core start fast without loading MediaPipe.
        from mediapipe.tasks.python import BaseOptions
        from mediapipe.tasks.python.vision import PoseLandmarker, PoseLandmarkerOptions, RunningMode

        options = PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_buffer=load_model(model)),
            running_mode=RunningMode.VIDEO,
            num_poses=max_people,
            min_pose_detection_confidence=0.5,
            min_pose_presence_confidence=0.5,
            min_tracking_confidence=0.5,
        )
        try:
            with native_stderr_silenced():
                self._landmarker = PoseLandmarker.create_from_options(options)
        except (RuntimeError, ValueError) as err:
            raise PostureWatchError(f"the pose model could not be loaded: {err}") from None
        self._last_ms = -1
        self._warmed_up = False

    def detect(self, image_bgr: np.ndarray, t: float) -> list[Pose]:
        """Everyone in the frame. `t` in seconds; equal or earlier timestamps are nudged forward."""
        import cv2
        import mediapipe as mp

        ms = max(int(t * 1000), self._last_ms + 1)
        self._last_ms = ms
        # cvtColor swaps the channels in ~0.04 ms at 640x480; numpy's copy of a reversed view took ~1 ms, 8 % of
        # the model's own time per frame.
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB))
        if self._warmed_up:
            result = self._landmarker.detect_for_video(image, ms)
        else:
            with native_stderr_silenced():  # the first inference logs a one-off memory-alignment notice
                result = self._landmarker.detect_for_video(image, ms)
            self._warmed_up = True
        h, w = image_bgr.shape[:2]
        poses = []
        for landmarks in result.pose_landmarks:
            arr = np.array([(p.x * w, p.y * h, p.visibility or 0.0) for p in landmarks], dtype=np.float64)
            poses.append(Pose(arr[:, :2], arr[:, 2], w))
        return poses

    def close(self) -> None:
        with native_stderr_silenced():
            self._landmarker.close()

    def __enter__(self) -> PoseEstimator:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def main_person(poses: list[Pose], expected_x: float | None = None) -> Pose | None:
    """The user among the people found: the widest shoulders (the closest person), and when a calibrated
    position is known, the one nearest to it among those at least half as wide."""
    if not poses:
        return None
    widest = max(p.shoulder_width for p in poses)
    candidates = [p for p in poses if p.shoulder_width >= 0.5 * widest]
    if expected_x is None:
        return max(candidates, key=lambda p: p.shoulder_width)
    return min(candidates, key=lambda p: abs(float(p.shoulder_mid[0]) - expected_x))


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """MediaPipe's C++ code logs model-loading chatter straight to file descriptor 2, and its log-level
    environment variables are read before Python can set them; so hide fd 2 while it loads and unloads."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
