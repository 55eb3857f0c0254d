"""Frame sources: a webcam, a video file, and a clip played at camera pace.

All three hand out `Frame`s through `read()` with the same two knobs, so the session cannot tell them apart
except by the clock:

- `interval` (seconds): the source hands out at most one frame per interval and never decodes the frames in
  between. The watcher changes it on the fly (adaptive sampling); a change counts from the last frame handed out,
  so a watcher that asks for the next frame sooner gets it sooner.
- `close()`: releases the device or file. Frames are only ever held in memory.

`read(interrupted)` returns None at the end of a clip (`ended` is then True) or as soon as `interrupted()` is
true while it waits for the next frame it wants, so a command (pause, quit) never waits for a frame.

Cameras: `grab()` only dequeues a buffer from the driver (no pixel work), `retrieve()` converts/decodes it. We
grab every frame so the driver's queue never holds stale frames, and retrieve only the frames we analyse.
"""

from __future__ import annotations

import math
import os
import stat
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .core.thresholds import MAX_FRAME_SIZE, MIN_FRAME_SIZE
from .errors import PostureWatchError
from .store import shown

try:
    import fcntl
except ImportError:  # Windows: a clip used as a camera is not locked
    fcntl = None  # type: ignore[assignment]

# OpenCV and FFmpeg print warnings of their own for every camera or file they cannot open; we say it in one line.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)

LOST_AFTER_FAILED_GRABS = 30  # ~3 s of a camera giving nothing: unplugged or taken over
# A clip played as a camera is held in memory as JPEG: ~34 kB a frame at 640x480 (a 20 s sample is 10 MB), so
# this is ~15 minutes of 15 fps video; an hour-long recording would otherwise take gigabytes.
MAX_CLIP_BYTES = 512 * 2**20


@dataclass(frozen=True)
class Frame:
    """One analysed picture. `t` is seconds since the source started (clip time for files)."""

    t: float
    index: int
    image: np.ndarray  # BGR, uint8, H x W x 3; only valid until the source reads the next frame


class CameraUnavailable(PostureWatchError):
    """The camera cannot be opened. `busy`: it exists but another program holds it (worth retrying)."""

    def __init__(self, message: str, busy: bool) -> None:
        super().__init__(message)
        self.busy = busy


class CameraLost(PostureWatchError):
    """The camera stopped delivering frames mid-run (unplugged, or taken over)."""


def never() -> bool:
    return False


def check_frame_size(size: tuple[int, int], what: str) -> None:
    width, height = size
    if width < MIN_FRAME_SIZE[0] or height < MIN_FRAME_SIZE[1]:
        raise PostureWatchError(f"{what} gives {width}x{height} pictures: too small to see a person (at least "
                                f"{MIN_FRAME_SIZE[0]}x{MIN_FRAME_SIZE[1]})")
    if width > MAX_FRAME_SIZE[0] or height > MAX_FRAME_SIZE[1]:
        raise PostureWatchError(f"{what} gives {width}x{height} pictures: larger than posture-watch handles "
                                f"({MAX_FRAME_SIZE[0]}x{MAX_FRAME_SIZE[1]} at most)")


class _Source(ABC):
    """What every source shares: iteration over `read()`."""

    ended = False

    @abstractmethod
    def read(self, interrupted: Callable[[], bool] = never) -> Frame | None:
        """The next frame; None at the end of a clip, or when `interrupted()` says to stop waiting."""

    def __iter__(self) -> Iterator[Frame]:
        while (frame := self.read()) is not None:
            yield frame


class VideoFileSource(_Source):
    """A video file's frames with their file timestamps, as fast as they can be decoded (replay)."""

    def __init__(self, path: str | Path, interval: float = 0.0) -> None:
        self.path = Path(path)
        self.interval = interval
        self._cap = _open_video(self.path)
        self.fps = _clip_fps(self._cap)
        self.frame_count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT))
        self.size = (int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        try:
            if self.size[0] and self.size[1]:  # some containers only know the size once decoding
                check_frame_size(self.size, shown(self.path))
        except PostureWatchError:
            self._cap.release()
            raise
        self.frames_read = 0
        self.label = str(self.path)
        self._last_t = -math.inf
        self._image: np.ndarray | None = None

    def read(self, interrupted: Callable[[], bool] = never) -> Frame | None:
        while self._cap.grab():
            index = self.frames_read
            self.frames_read += 1
            t = index / self.fps
            if t + 1e-9 < self._last_t + self.interval:
                continue  # grabbed (the container must be read in order) but never converted
            ok, self._image = self._cap.retrieve(self._image)
            if ok:
                self._last_t = t
                return Frame(t, index, self._image)
        self.ended = True
        return None

    def close(self) -> None:
        self._cap.release()


class CameraSource(_Source):
    """A webcam, sampled at `interval` seconds. Only the sampled frames are decoded.

    `t` counts from `clock_origin` (a time.monotonic() value) when given, so that a camera closed during a
    pause and opened again continues the same timeline."""

    def __init__(self, index: int, size: tuple[int, int] = (640, 480), interval: float = 1.0,
                 clock_origin: float | None = None, fps: float | None = None) -> None:
        self.interval = interval
        self.label = f"camera {index}"
        self._origin = time.monotonic() if clock_origin is None else clock_origin
        self._cap = cv2.VideoCapture(index)
        if not self._cap.isOpened():
            self._cap.release()
            raise _unavailable(index)
        self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, size[0])
        self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, size[1])
        self._cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        if fps:
            self._cap.set(cv2.CAP_PROP_FPS, fps)
        self.size = (int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        try:
            check_frame_size(self.size, self.label)
        except PostureWatchError:
            self._cap.release()
            raise
        self._last_t = -math.inf
        self._index = -1
        self._image: np.ndarray | None = None

    def read(self, interrupted: Callable[[], bool] = never) -> Frame | None:
        failures = 0
        while not interrupted():
            if not self._cap.grab():  # blocks until the driver has the next frame: no busy waiting
                failures += 1
                if failures >= LOST_AFTER_FAILED_GRABS:
                    raise CameraLost(f"{self.label} stopped delivering frames (unplugged or taken over?)")
                time.sleep(0.1)
                continue
            failures = 0
            self._index += 1
            now = time.monotonic() - self._origin
            if now < self._last_t + self.interval:
                continue
            ok, self._image = self._cap.retrieve(self._image)
            if ok:
                self._last_t = now
                return Frame(now, self._index, self._image)
        return None

    def close(self) -> None:
        self._cap.release()


def _unavailable(index: int) -> CameraUnavailable:
    # Linux names its cameras: a device node that exists but will not open is held by another program.
    device = Path(f"/dev/video{index}")
    if device.exists():
        return CameraUnavailable(f"camera {index} is busy: another program is using it", busy=True)
    return CameraUnavailable(
        f"cannot open camera {index}: no such device, or another program is using it (try --camera with another "
        "index, or close the other program)", busy=False)


class PacedClipSource(_Source):
    """A video clip standing in for a webcam: frames arrive at `fps` in real time, looping if asked.

    It behaves like a webcam in the ways that matter to the session: one program at a time (an exclusive lock on
    the file, so a second user sees it busy), and removing the file while it plays unplugs it. The clip is held in
    memory as JPEG (like an MJPEG webcam's buffers), so a skipped frame costs only the wait for it, as a driver's
    dequeue does, and an analysed frame costs one JPEG decode. Used by `run --camera VIDEO`, the tests and the
    benchmarks.
    """

    def __init__(self, path: str | Path, interval: float = 1.0, fps: float | None = None,
                 size: tuple[int, int] | None = None, loop: bool = False, clock_origin: float | None = None) -> None:
        self.path = Path(path)
        self.interval = interval
        self.loop = loop
        self.label = f"{self.path} (at camera pace)"
        self._closed = threading.Event()
        if size is not None:
            check_frame_size(size, "--resolution")
        self._lock = _lock_device(self.path)
        try:
            self._load(size)
            self.fps = fps or self._clip_fps
        except BaseException:
            os.close(self._lock)
            raise
        self._start = time.monotonic()
        # Reported t continues across reopenings (after a pause) when a clock origin is given.
        self._offset = 0.0 if clock_origin is None else self._start - clock_origin
        self._last_t = -math.inf
        self._index = 0

    def _load(self, size: tuple[int, int] | None) -> None:
        cap = _open_video(self.path)
        try:
            self._clip_fps = _clip_fps(cap)
            self._jpegs: list[bytes] = []
            held = 0
            ok, image = cap.read()
            if ok:
                self.size = size or (image.shape[1], image.shape[0])
                check_frame_size(self.size, shown(self.path))
            while ok:
                if (image.shape[1], image.shape[0]) != self.size:
                    image = cv2.resize(image, self.size, interpolation=cv2.INTER_LINEAR)
                self._jpegs.append(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes())
                held += len(self._jpegs[-1])
                if held > MAX_CLIP_BYTES:
                    raise PostureWatchError(
                        f"{shown(self.path)} is too long to play as a camera (more than {MAX_CLIP_BYTES // 2**20} MB "
                        "of pictures to hold): use a shorter clip, or `posture-watch replay` it")
                ok, image = cap.read(image)
        finally:
            cap.release()
        if not self._jpegs:
            raise PostureWatchError(f"{shown(self.path)}: no frames could be decoded (corrupt or empty video)")

    def read(self, interrupted: Callable[[], bool] = never) -> Frame | None:
        frame_period = 1.0 / self.fps
        while not self._closed.is_set():
            t = self._index / self.fps
            clip_index = int(t * self._clip_fps)
            if clip_index >= len(self._jpegs):
                if not self.loop:
                    self.ended = True
                    return None
                clip_index %= len(self._jpegs)
            # The "driver" blocks until the frame is due, waking at least once a frame period for commands.
            while (wait := self._start + t - time.monotonic()) > 0:
                if self._closed.wait(min(wait, frame_period)):
                    return None
                if interrupted():
                    return None
            if interrupted():
                return None
            self._index += 1
            if t + 1e-9 >= self._last_t + self.interval:
                if not self.path.exists():
                    raise CameraLost(f"{self.label} stopped delivering frames (unplugged: the clip is gone)")
                image = cv2.imdecode(np.frombuffer(self._jpegs[clip_index], np.uint8), cv2.IMREAD_COLOR)
                self._last_t = t
                return Frame(self._offset + t, self._index - 1, image)
        return None

    def close(self) -> None:
        if not self._closed.is_set():
            self._closed.set()
            os.close(self._lock)


def _lock_device(path: Path) -> int:
    """Hold the clip like a driver holds a webcam: exclusively, while open."""
    try:
        # O_NONBLOCK: a named pipe would otherwise block the open until a writer came, deaf to every signal.
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise CameraUnavailable(f"{shown(path)}: no such video file", busy=False) from None
    except OSError as err:
        raise CameraUnavailable(f"cannot open {shown(path)}: {err.strerror}", busy=False) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise CameraUnavailable(f"{shown(path)} is not a video file", busy=False)
    if fcntl is None:
        return fd
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise CameraUnavailable(f"{shown(path)} is busy: another program is using it as a camera", busy=True) from None
    except OSError:
        pass  # a file system without locks: behave like a camera that does not care
    return fd


FrameSource = VideoFileSource | CameraSource | PacedClipSource


def check_video_file(path: Path) -> None:
    """Refuse at once what cannot be a clip: a missing path, a folder, a device or a pipe."""
    if not path.exists():
        raise PostureWatchError(f"{shown(path)}: no such video file")
    if not path.is_file():
        raise PostureWatchError(f"{shown(path)} is not a video file")


def probe_clip(path: Path) -> None:
    """Refuse at once a clip that cannot serve as a camera: not a video, or pictures of a size posture-watch does
    not handle. Only the container's header is read."""
    cap = _open_video(path)
    try:
        size = (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    finally:
        cap.release()
    if size[0] and size[1]:  # some containers only know the size once decoding
        check_frame_size(size, shown(path))


def _open_video(path: Path) -> cv2.VideoCapture:
    check_video_file(path)
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        cap.release()
        raise PostureWatchError(f"{shown(path)}: not a video OpenCV can read (corrupt file or unsupported format)")
    return cap


def _clip_fps(cap: cv2.VideoCapture) -> float:
    fps = cap.get(cv2.CAP_PROP_FPS)
    # Some containers report 0 or absurd rates; 30 is what a webcam clip most likely had.
    return fps if 1.0 <= fps <= 240.0 else 30.0

