"""Another program's view of the emulated webcam (sources.PacedClipSource): while a watcher has the clip open it
holds an exclusive flock on it, so taking that lock is how a test checks that the camera was released, and holding
it is how a test plays the video call that has the camera."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np


def camera_free(clip: Path) -> bool:
    """Whether another program could take the camera now (the lock is tried and let go at once)."""
    fd = os.open(clip, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def seconds_until_free(clip: Path, since: float, limit: float = 5.0) -> float:
    """How long after `since` (a time.monotonic() value) the camera became free; fails after `limit`."""
    while not camera_free(clip):
        assert time.monotonic() - since < limit, "the watcher kept the camera"
        time.sleep(0.01)
    return time.monotonic() - since


@contextlib.contextmanager
def another_program_holds(clip: Path) -> Iterator[None]:
    """A video call, say: holds the camera exclusively until the block ends."""
    fd = os.open(clip, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield
    finally:
        os.close(fd)


HUNCH = Path(__file__).resolve().parent.parent / "samples" / "hunch_slow.mp4"  # upright until 6 s, hunched 6-17 s
HUNCH_FPS = 15


def hunch_frames(start: float, end: float) -> list[np.ndarray]:
    """The hunch clip's frames from `start` to `end` seconds."""
    capture = cv2.VideoCapture(str(HUNCH))
    frames = []
    for index in range(round(end * HUNCH_FPS)):
        ok, image = capture.read()
        assert ok, f"the hunch clip ends before {index / HUNCH_FPS:g} s"
        if index >= round(start * HUNCH_FPS):
            frames.append(image)
    capture.release()
    return frames


def write_clip(path: Path, frames: list[np.ndarray], fps: float = HUNCH_FPS) -> Path:
    """Frames as an MJPG .avi: a clip made for a test from pieces of the samples."""
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
    for image in frames:
        writer.write(image)
    writer.release()
    return path
