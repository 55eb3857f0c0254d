"""A thin wrapper around MediaPipe's PoseLandmarker (Tasks API, VIDEO mode).

It turns a frame into the core's `Observation`: every person found as a `Pose` in pixel coordinates, and the
frame's brightness. Frames are handed to MediaPipe in memory and never written anywhere.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import sys
import types
import zipfile
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .core.angles import AngleModel
from .core.landmarks import Observation, Pose
from .errors import PostureWatchError
from .store import read_limited, shown

if TYPE_CHECKING:
    from .sources import Frame

# MediaPipe's vision package imports Matplotlib (for its drawing helpers, which posture-watch does not use), and
# Matplotlib warns on stderr when the home folder is read-only ("created a temporary cache directory ...") and
# while it builds its font cache. Its errors still show; its warnings are about a library we never call.
logging.getLogger("matplotlib").setLevel(logging.ERROR)

BUNDLED_MODEL = "pose_landmarker_lite.task"
BUNDLED_SHA256 = "59929e1d1ee95287735ddd833b19cf4ac46d29bc7afddbbf6753c459690d574a"
# Google's official "full" bundle: not shipped (the lite one is), but its angle model is, for `--model`.
FULL_SHA256 = "4eaa5eb7a98365221087693fcc286334cf0858e2eb6e15b506aa4a7ecdcec4ad"
# Each angle model is fitted on one pose model's landmarks (benchmarks/fit_angles.py), which differ enough between
# pose models to cost degrees (README, "The full pose model"); a pose model is known by its bundle's sha256.
ANGLE_MODELS = {BUNDLED_SHA256: "angles.json", FULL_SHA256: "angles_full.json"}
MAX_ANGLE_MODEL_BYTES = 4 * 1024 * 1024
MAX_MODEL_BYTES = 256 * 1024 * 1024  # the heavy pose bundle is ~30 MB; a device like /dev/zero never ends


def packaged(name: str) -> Path:
    """A file of the package's models folder."""
    return Path(str(resources.files("posture_watch") / "models" / name))


def bundled_model_path() -> Path:
    return packaged(BUNDLED_MODEL)


def load_angle_model(pose_model_sha256: str = BUNDLED_SHA256) -> AngleModel:
    """The neck and shoulder angle model fitted on this pose model's landmarks (see core/angles.py); for a pose
    model none was fitted on, the bundled one's (`has_angle_model` tells which)."""
    fitted_for = pose_model_sha256 if has_angle_model(pose_model_sha256) else BUNDLED_SHA256
    path = packaged(ANGLE_MODELS[fitted_for])
    try:
        doc = json.loads(read_limited(path, MAX_ANGLE_MODEL_BYTES))
        if not isinstance(doc, dict) or doc.get("pose_model_sha256") != fitted_for:
            raise ValueError("it was not fitted on the pose model it is for")
        return AngleModel.from_document(doc)
    except OSError as err:
        raise PostureWatchError(f"cannot read the angle model {shown(path)}: {err.strerror}") from None
    except (ValueError, RecursionError) as err:  # JSONDecodeError is a ValueError
        raise PostureWatchError(f"the angle model {shown(path)} is damaged ({err}): reinstall posture-watch") from None


def pose_model_name(pose_model_sha256: str) -> str:
    """A pose model as a user would call it, from its bundle's sha256 ("" when a baseline did not record it)."""
    known = {BUNDLED_SHA256: "the bundled lite pose model", FULL_SHA256: "Google's full pose model"}
    if not pose_model_sha256:
        return "pose model not recorded"
    return known.get(pose_model_sha256, f"the pose model with sha256 {pose_model_sha256[:12]}…")


def has_angle_model(pose_model_sha256: str) -> bool:
    """Whether an angle model was fitted on this pose model's landmarks."""
    return pose_model_sha256 in ANGLE_MODELS


def load_model(path: str | Path | None = None) -> bytes:
    """The model bundle's bytes. The bundled model must match its published sha256; another one must be a
    readable `.task` bundle (a zip)."""
    model_path = Path(path) if path else bundled_model_path()
    try:
        data = read_limited(model_path, MAX_MODEL_BYTES)
    except OSError as err:
        raise PostureWatchError(f"cannot read the pose model {shown(model_path)}: {err.strerror}") from None
    if path is None:
        digest = hashlib.sha256(data).hexdigest()
        if digest != BUNDLED_SHA256:
            raise PostureWatchError(
                f"the bundled pose model {model_path} is damaged (sha256 {digest[:12]}…, expected "
                f"{BUNDLED_SHA256[:12]}…): reinstall posture-watch"
            )
    elif not zipfile.is_zipfile(io.BytesIO(data)):
        raise PostureWatchError(f"{shown(model_path)} is not a MediaPipe .task bundle")
    return data


class PoseModelError(PostureWatchError):
    """The pose model failed on one frame (it has not been seen to; fault injection makes sure it is survived)."""


class PoseEstimator:
    """MediaPipe PoseLandmarker in VIDEO mode: tracks between frames, needs increasing timestamps."""

    def __init__(self, model: str | Path | None = None, max_people: int = 1) -> None:
        # One person by default: with num_poses=N MediaPipe re-runs its detector on every frame until it tracks N
        # people, which doubles the cost when the user sits alone. The tracker stays on the tracked person, and
        # the posture gate rejects anyone who is not where the user calibrated.
        # Imported here so that `--help`, `doctor` and the pure core start fast without loading MediaPipe.
        with pyplot_left_out():
            from mediapipe.tasks.python import BaseOptions
            from mediapipe.tasks.python.vision import PoseLandmarker, PoseLandmarkerOptions, RunningMode

        bundle = load_model(model)
        self.model_sha256 = hashlib.sha256(bundle).hexdigest()  # which angle model fits its landmarks
        options = PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_buffer=bundle),
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
        self._notices = NativeNoticeFilter()

    def observe(self, frame: Frame) -> Observation:
        """What the core needs of one frame: the people in it and its brightness. The picture is not kept."""
        return Observation(frame.t, frame.index, tuple(self.detect(frame.image, frame.t)), brightness(frame.image))

    def detect(self, image_bgr: np.ndarray, t: float) -> list[Pose]:
        """Everyone in the frame. `t` in seconds; equal or earlier timestamps are nudged forward."""
        import cv2
        import mediapipe as mp

        ms = max(int(t * 1000), self._last_ms + 1)
        self._last_ms = ms
        # cvtColor swaps the channels in ~0.04 ms at 640x480; numpy's copy of a reversed view took ~1 ms, 8 % of
        # the model's own time per frame.
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB))
        try:
            # The first inference logs its set-up notices; later ones, now and then, an alignment notice.
            with self._notices if self._warmed_up else native_stderr_silenced():
                result = self._landmarker.detect_for_video(image, ms)
            self._warmed_up = True
        except (RuntimeError, ValueError) as err:
            raise PoseModelError(f"the pose model failed on a frame ({err})") from None
        h, w = image_bgr.shape[:2]
        poses = []
        worlds = result.pose_world_landmarks or [None] * len(result.pose_landmarks)
        for landmarks, world in zip(result.pose_landmarks, worlds, strict=True):
            arr = np.array([(p.x * w, p.y * h, p.visibility or 0.0, p.presence or 0.0) for p in landmarks],
                           dtype=np.float64)
            xyz = None if world is None else np.array([(p.x, p.y, p.z) for p in world], dtype=np.float64)
            poses.append(Pose(arr[:, :2], arr[:, 2], (w, h), xyz, arr[:, 3]))
        return poses

    def close(self) -> None:
        with native_stderr_silenced():
            self._landmarker.close()
        self._notices.close()

    def __enter__(self) -> PoseEstimator:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


@contextlib.contextmanager
def pyplot_left_out() -> Iterator[None]:
    """While MediaPipe is imported, an empty module stands in for matplotlib.pyplot, which its drawing helpers
    import and posture-watch never calls: importing the landmarker took 1.2 s of CPU with it and 0.7 s without,
    at every start. The stand-in is taken away after, so the daily report still imports the real pyplot."""
    if "matplotlib.pyplot" in sys.modules:
        yield
        return
    stand_in = types.ModuleType("matplotlib.pyplot")
    sys.modules["matplotlib.pyplot"] = stand_in
    try:
        yield
    finally:
        if sys.modules.get("matplotlib.pyplot") is stand_in:
            del sys.modules["matplotlib.pyplot"]


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


class NativeNoticeFilter:
    """While an inference runs, file descriptor 2 points into a pipe; afterwards what arrived there goes on to the
    real stderr, except MediaPipe's notices, which it logs straight to fd 2 once each, at whichever frame first
    meets the case: that an input tensor was not aligned and was copied (seen after dozens of frames, with the
    full model), and that a region of interest is not square (the first time a person is found after a frame with
    nobody: a user who sits down after `run` has started). Neither says anything wrong. Hiding fd 2 instead would
    also hide what another thread writes meanwhile (the terminal's alerts)."""

    NOTICES = (b"Input tensor memory is not aligned", b"Using NORM_RECT without IMAGE_DIMENSIONS")

    def __init__(self) -> None:
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        self._saved = -1

    def __enter__(self) -> None:
        sys.stderr.flush()
        self._saved = os.dup(2)
        os.dup2(self._write, 2)

    def __exit__(self, *_exc: object) -> None:
        sys.stderr.flush()
        os.dup2(self._saved, 2)
        os.close(self._saved)
        chunks = []
        with contextlib.suppress(BlockingIOError):
            while chunk := os.read(self._read, 65536):
                chunks.append(chunk)
        kept = [line for line in b"".join(chunks).splitlines(keepends=True)
                if not any(notice in line for notice in self.NOTICES)]
        if kept:
            os.write(2, b"".join(kept))

    def close(self) -> None:
        os.close(self._read)
        os.close(self._write)


def brightness(image: np.ndarray) -> tuple[float, float]:
    """Mean and standard deviation of the grey level, on every 8th pixel (a full-frame pass costs ~1 ms)."""
    import cv2

    # The same pixels as image[::8, ::8], but OpenCV's pass is ~8x faster than numpy's on a strided view.
    sample = cv2.resize(image, (max(1, image.shape[1] // 8), max(1, image.shape[0] // 8)),
                        interpolation=cv2.INTER_NEAREST)
    mean, std = cv2.meanStdDev(sample.reshape(-1, 1))
    return float(mean[0, 0]), float(std[0, 0])
