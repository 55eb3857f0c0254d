"""Frame sources: a webcam, a video file, and a clip played at camera pace.

All three are iterables of `Frame` with the same two knobs, so the monitor loop cannot tell them apart except
by the clock:

- `interval` (seconds): the source hands out at most one frame per interval and never decodes the frames in
  between. The monitor changes it on the fly (adaptive sampling).
- `close()`: releases the device or file. Frames are only ever held in memory.

Cameras: `grab()` only dequeues a buffer from the driver (no pixel work), `retrieve()` converts/decodes it. We
grab every frame so the driver's queue never holds stale frames, and retrieve only the frames we analyse.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .errors import PostureWatchError

# OpenCV and FFmpeg print warnings of their own for every camera or file they cannot open; we say it in one line.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)


@dataclass(frozen=True)
class Frame:
    """One analysed picture. `t` is seconds since the source started (clip time for files)."""

    t: float
    index: int
    image: np.ndarray  # BGR, uint8, H x W x 3; only valid until the source yields the next frame


class VideoFileSource:
    """Yields a video file's frames with their file timestamps, as fast as they can be decoded (replay)."""

    def __init__(self, path: str | Path, interval: float = 0.0) -> None:
        self.path = Path(path)
        self.interval = interval
        self._cap = _open_video(self.path)
        self.fps = _clip_fps(self._cap)
        self.frame_count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT))
        self.size = (int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        self.frames_read = 0
        self.label = str(self.path)

    def __iter__(self) -> Iterator[Frame]:
        next_due = 0.0
        image: np.ndarray | None = None
        index = -1
        while self._cap.grab():
            index += 1
            self.frames_read = index + 1
            t = index / self.fps
            if t + 1e-9 < next_due:
                continue  # grabbed (the container must be read in order) but never converted
            ok, image = self._cap.retrieve(image)
            if not ok:
                continue
            next_due = t + self.interval
            yield Frame(t, index, image)

    def close(self) -> None:
        self._cap.release()


class CameraSource:
    """A webcam, sampled at `interval` seconds. Only the sampled frames are decoded.

    `t` counts from `clock_origin` (a time.monotonic() value) when given, so that a camera closed during a
    pause and opened again continues the same timeline."""

    def __init__(self, index: int, size: tuple[int, int] = (640, 480), interval: float = 1.0,
                 clock_origin: float | None = None, fps: float | None = None) -> None:
        self.interval = interval
        self._origin = clock_origin
        self.label = f"camera {index}"
        self._cap = cv2.VideoCapture(index)
        if not self._cap.isOpened():
            self._cap.release()
            raise PostureWatchError(
                f"cannot open camera {index}: no such device, or another program is using it "
                "(try --camera with another index, or close the other program)"
            )
        self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, size[0])
        self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, size[1])
        self._cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        if fps:
            self._cap.set(cv2.CAP_PROP_FPS, fps)
        self.size = (int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))

    def __iter__(self) -> Iterator[Frame]:
        origin = time.monotonic() if self._origin is None else self._origin
        next_due = 0.0
        image: np.ndarray | None = None
        index = -1
        failures = 0
        while True:
            if not self._cap.grab():  # blocks until the driver has the next frame: no busy waiting
                failures += 1
                if failures >= 30:
                    raise PostureWatchError(f"{self.label} stopped delivering frames (unplugged or taken over?)")
                time.sleep(0.1)
                continue
            failures = 0
            index += 1
            now = time.monotonic() - origin
            if now < next_due:
                continue
            ok, image = self._cap.retrieve(image)
            if ok:
                next_due = now + self.interval
                yield Frame(now, index, image)

    def close(self) -> None:
        self._cap.release()


class PacedClipSource:
    """A video clip standing in for a webcam: frames arrive at `fps` in real time, looping if asked.

    The clip is held in memory as JPEG (like an MJPEG webcam's buffers), so a skipped frame costs only the wait
    for it, as a driver's dequeue does, and an analysed frame costs one JPEG decode. Used by `run --camera VIDEO`,
    the tests and the benchmarks.
    """

    def __init__(self, path: str | Path, interval: float = 1.0, fps: float | None = None,
                 size: tuple[int, int] | None = None, loop: bool = False, clock_origin: float | None = None) -> None:
        self.path = Path(path)
        self._origin = clock_origin
        self.interval = interval
        self.loop = loop
        self.label = f"{self.path} (at camera pace)"
        self._closed = threading.Event()
        cap = _open_video(self.path)
        try:
            self._clip_fps = _clip_fps(cap)
            self.fps = fps or self._clip_fps
            self._jpegs: list[bytes] = []
            ok, image = cap.read()
            while ok:
                if size is not None and (image.shape[1], image.shape[0]) != size:
                    image = cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)
                self._jpegs.append(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes())
                self.size = (image.shape[1], image.shape[0])
                ok, image = cap.read(image)
        finally:
            cap.release()
        if not self._jpegs:
            raise PostureWatchError(f"{self.path}: no frames could be decoded (corrupt or empty video)")

    def __iter__(self) -> Iterator[Frame]:
        start = time.monotonic()
        offset = 0.0 if self._origin is None else start - self._origin  # reported t continues across reopenings
        next_due = 0.0
        index = 0
        while not self._closed.is_set():
            t = index / self.fps
            clip_index = int(t * self._clip_fps)
            if clip_index >= len(self._jpegs):
                if not self.loop:
                    return
                clip_index %= len(self._jpegs)
            wait = start + t - time.monotonic()
            if wait > 0 and self._closed.wait(wait):  # the "driver" blocks until the frame is due
                return
            if t + 1e-9 >= next_due:
                image = cv2.imdecode(np.frombuffer(self._jpegs[clip_index], np.uint8), cv2.IMREAD_COLOR)
                next_due = t + self.interval
                yield Frame(offset + t, index, image)
            index += 1

    def close(self) -> None:
        self._closed.set()


FrameSource = VideoFileSource | CameraSource | PacedClipSource


def _open_video(path: Path) -> cv2.VideoCapture:
    if not path.is_file():
        raise PostureWatchError(f"{path}: no such video file")
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        cap.release()
        raise PostureWatchError(f"{path}: not a video OpenCV can read (corrupt file or unsupported format)")
    return cap


def _clip_fps(cap: cv2.VideoCapture) -> float:
    fps = cap.get(cv2.CAP_PROP_FPS)
    # Some containers report 0 or absurd rates; 30 is what a webcam clip most likely had.
    return fps if 1.0 <= fps <= 240.0 else 30.0
