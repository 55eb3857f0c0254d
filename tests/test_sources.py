"""Frame sources on real clips: file timestamps, skipped frames never decoded, camera pace in real time."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import pytest

from posture_watch.errors import PostureWatchError
from posture_watch.sources import CameraSource, PacedClipSource, VideoFileSource

CLIP = Path(__file__).resolve().parent.parent / "samples" / "hunch_slow.mp4"  # 15 fps, 20 s


def test_file_source_yields_every_frame_with_its_timestamp() -> None:
    source = VideoFileSource(CLIP)
    frames = [(f.index, f.t) for f in source]
    source.close()
    assert len(frames) == source.frame_count == 300
    assert frames[15] == (15, pytest.approx(1.0))


def test_file_source_interval_skips_frames() -> None:
    source = VideoFileSource(CLIP, interval=1.0)
    times = [f.t for f in source]
    source.close()
    assert times == pytest.approx([float(s) for s in range(20)])
    assert source.frames_read == 300  # read through, but only 20 were converted


def test_paced_source_delivers_at_camera_pace_and_adapts_its_interval(hunch_camera: Path) -> None:
    source = PacedClipSource(hunch_camera, interval=0.5, fps=30, size=(320, 240))
    started = time.monotonic()
    times = []
    for frame in source:
        assert frame.image.shape == (240, 320, 3)
        times.append(frame.t)
        if len(times) == 4:
            source.interval = 0.1  # the monitor speeds up to confirm a change
        if len(times) == 10:
            break
    elapsed = time.monotonic() - started
    source.close()
    gaps = [round(b - a, 2) for a, b in itertools.pairwise(times)]
    assert gaps[:3] == [0.5, 0.5, 0.5] and all(g == pytest.approx(0.1, abs=0.04) for g in gaps[4:])
    assert elapsed == pytest.approx(times[-1], abs=0.3)  # real time, not as fast as possible


def test_closing_a_paced_source_stops_it_at_once(hunch_camera: Path) -> None:
    source = PacedClipSource(hunch_camera, interval=5.0, loop=True)
    frames = iter(source)
    next(frames)
    source.close()
    started = time.monotonic()
    assert next(frames, None) is None
    assert time.monotonic() - started < 0.5


def test_missing_camera_is_a_clear_error() -> None:
    with pytest.raises(PostureWatchError, match="cannot open camera 9"):
        CameraSource(9)
