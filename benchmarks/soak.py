"""Soak: hours of the real watch loop at accelerated pace, watching for leaks.

    python benchmarks/soak.py [--hours 8] [--start 20:00] [--interval 1.5] [--json FILE]

The real `Session` runs the real pose model, watcher, notifier thread (alerts go to the "none" backend) and
status, on a simulated webcam: a playlist of sample clips (a double hunch, then leaving and coming back) played
20 times slower than recorded, so postures last minutes as at a real desk, and looped. Time is simulated: a frame
is handed out as soon as it is asked for, stamped `interval` seconds after the last one, and the session's clock
follows the frames (the replay's ClipClock), so hours pass in minutes and the walk from evening past midnight is
real for the `Today` tally. Every 20 simulated minutes the user pauses and resumes (the camera is closed and
opened again), and every 2 simulated hours recalibrates.

At every checkpoint it records the process's resident memory (VmRSS), open file descriptors, threads, and the size
of every list, dict, set and queue reachable from the session. It reports the growth after a warm-up, and any
container that is larger at the end than it ever was by half-time (an unbounded list grows all the time).
Targets (issue 8): RSS growth < 10 MB after warm-up; no fd or thread growth; no unbounded container.
"""

from __future__ import annotations

import argparse
import collections
import gc
import json
import os
import queue
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from posture_watch.core.events import Event, Quit, Recalibrate, Sampled, TogglePause
from posture_watch.core.policy import PolicySettings
from posture_watch.core.watcher import SamplingPlan, WatchSettings
from posture_watch.notify import EventNotifier, SilentNotifier
from posture_watch.pose import PoseEstimator
from posture_watch.session import ClipClock, Mailbox, Session
from posture_watch.sources import Frame
from posture_watch.store import load_baseline

ROOT = Path(__file__).resolve().parent.parent
PLAYLIST = (ROOT / "samples" / "hunch_repeat.mp4", ROOT / "samples" / "leave_return.mp4")
BASELINE = ROOT / "calibration" / "hunch_repeat.json"
SLOWER = 20.0  # a clip second lasts this many simulated seconds
PAUSE_EVERY_S = 20 * 60.0
RECALIBRATE_EVERY_S = 2 * 3600.0
CHECKPOINT_S = 10 * 60.0
# No container reachable from the session may ever hold more. An unbounded one would hold one entry per sample
# (tens of thousands), alert (dozens), pause or camera opening (24 each in 8 h); the largest bounded one is the
# baseline's 20 statistics.
MAX_CONTAINER = 32


class Playlist:
    """The clips' frames, held as JPEG like a MJPEG webcam's buffers (as PacedClipSource does)."""

    def __init__(self, paths: tuple[Path, ...] = PLAYLIST) -> None:
        self.jpegs: list[bytes] = []
        self.fps = 0.0
        for path in paths:
            cap = cv2.VideoCapture(str(path))
            self.fps = self.fps or cap.get(cv2.CAP_PROP_FPS)
            ok, image = cap.read()
            while ok:
                self.jpegs.append(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes())
                ok, image = cap.read(image)
            cap.release()
        self.size = (640, 480)

    def image(self, t: float) -> np.ndarray:
        index = int(t / SLOWER * self.fps) % len(self.jpegs)
        return cv2.imdecode(np.frombuffer(self.jpegs[index], np.uint8), cv2.IMREAD_COLOR)


class SimulatedCamera:
    """A webcam on simulated time: each read is the frame `interval` simulated seconds after the last one."""

    label = "simulated camera (looped sample clips)"
    ended = False

    def __init__(self, playlist: Playlist, start: float, interval: float) -> None:
        self.playlist = playlist
        self.size = playlist.size
        self.interval = interval
        self._next = start
        self._index = 0

    def read(self, interrupted: Callable[[], bool] = lambda: False) -> Frame | None:
        if interrupted():
            return None
        t, self._next = self._next, self._next + max(self.interval, 1 / 30)  # never faster than a 30 fps camera
        self._index += 1
        return Frame(t, self._index, self.playlist.image(t))

    def close(self) -> None:
        """Nothing to release: the frames belong to the playlist."""


@dataclass
class Checkpoint:
    hours: float
    wall: str
    rss_mb: float
    fds: int
    threads: int
    samples: int
    containers: dict[str, int] = field(repr=False)


@dataclass
class SoakReport:
    hours: float
    start: str
    interval: float
    samples: int
    alerts: int
    pauses: int
    camera_opens: int
    recalibrations: int
    elapsed_s: float
    checkpoints: list[Checkpoint]
    warmup_hours: float
    rss_growth_mb: float = 0.0
    fd_growth: int = 0
    thread_growth: int = 0
    largest: dict[str, int] = field(default_factory=dict)  # the largest containers and their largest size
    over_bound: dict[str, int] = field(default_factory=dict)  # containers that ever held more than MAX_CONTAINER
    today: dict[str, Any] = field(default_factory=dict)


def proc_status(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def container_sizes(root: object, name: str = "session", depth: int = 4,
                    seen: set[int] | None = None) -> dict[str, int]:
    """len() of every list, dict, set, deque and queue reachable from `root` through posture-watch objects (tuples
    are values, such as a sample's faults, not collections that could accumulate)."""
    seen = set() if seen is None else seen
    if id(root) in seen or depth < 0:
        return {}
    seen.add(id(root))
    sizes: dict[str, int] = {}
    if isinstance(root, list | dict | set | collections.deque):
        sizes[name] = len(root)
        items = root.items() if isinstance(root, dict) else enumerate(root)
        for key, value in items:
            if _is_ours(value):
                sizes |= container_sizes(value, f"{name}[{key!r}]", depth - 1, seen)
        return sizes
    if isinstance(root, queue.SimpleQueue | queue.Queue):
        return {name: root.qsize()}
    if not _is_ours(root):
        return {}
    for attr, value in vars(root).items():
        if isinstance(value, PoseEstimator | np.ndarray | Playlist):
            continue  # MediaPipe's own state, pictures: not posture-watch's bookkeeping
        sizes |= container_sizes(value, f"{name}.{attr}", depth - 1, seen)
    return sizes


def _is_ours(value: object) -> bool:
    module = type(value).__module__
    return isinstance(value, list | dict | set | collections.deque | queue.SimpleQueue) or (
        module.startswith(("posture_watch", "benchmarks", "__main__")) and hasattr(value, "__dict__"))


def soak(hours: float, start: datetime, interval: float = 1.5, warmup_hours: float = 0.5,
         checkpoint_s: float = CHECKPOINT_S, pause_every: float = PAUSE_EVERY_S,
         recalibrate_every: float = RECALIBRATE_EVERY_S,
         progress: Callable[[Checkpoint], None] | None = None) -> SoakReport:
    playlist = Playlist()
    clock = ClipClock(start)
    mailbox = Mailbox()
    counts = collections.Counter()

    def open_camera(wanted: float) -> SimulatedCamera:
        counts["camera_opens"] += 1
        return SimulatedCamera(playlist, clock.now() + 1 / 30, wanted)

    settings = WatchSettings(PolicySettings(), 1.0, SamplingPlan(steady=interval))
    checkpoints: list[Checkpoint] = []
    end = hours * 3600.0
    started = time.monotonic()
    with PoseEstimator() as estimator:
        session = Session(estimator, open_camera, settings, load_baseline(BASELINE), clock=clock, mailbox=mailbox)
        notices = EventNotifier(SilentNotifier(), mailbox.post)
        session.subscribe(notices)
        due = {"checkpoint": 0.0, "pause": pause_every, "recalibrate": recalibrate_every}

        def drive(event: Event) -> None:
            """The user and the stopwatch, as a subscriber: acts on simulated time."""
            kind = type(event).__name__
            counts[kind] += 1
            if not isinstance(event, Sampled):
                return
            t = event.t
            if t >= due["checkpoint"]:
                due["checkpoint"] += checkpoint_s
                session.status()  # what `posture-watch status` asks for, every time
                gc.collect()
                point = Checkpoint(round(t / 3600, 3), clock.wall(t).strftime("%a %H:%M"),
                                   round(proc_status("VmRSS") / 1024, 1), len(os.listdir("/proc/self/fd")),
                                   proc_status("Threads"), counts["Sampled"], container_sizes(session))
                checkpoints.append(point)
                if progress is not None:
                    progress(point)
            if t >= due["pause"]:
                due["pause"] += pause_every
                mailbox.post(TogglePause())  # pause (the camera closes) ...
                mailbox.post(TogglePause())  # ... and resume (it opens again)
            if t >= due["recalibrate"]:
                due["recalibrate"] += recalibrate_every
                mailbox.post(Recalibrate(5.0))
            if t >= end:
                mailbox.post(Quit("soak over"))

        session.subscribe(drive)
        session.run()
        notices.close()
    report = SoakReport(hours, start.isoformat(timespec="minutes"), interval, counts["Sampled"],
                        counts["AlertRaised"], counts["Paused"], counts["camera_opens"],
                        counts["Calibrated"] + counts["CalibrationFailed"],
                        round(time.monotonic() - started, 1), checkpoints, warmup_hours,
                        today={"day": str(session.today.day), "seconds": dict(session.today.seconds)})
    return summarise(report)


def summarise(report: SoakReport) -> SoakReport:
    after = [c for c in report.checkpoints if c.hours >= report.warmup_hours]
    if len(after) < 2:
        raise ValueError("too short a soak: fewer than two checkpoints after the warm-up")
    first = after[0]
    report.rss_growth_mb = round(max(c.rss_mb for c in after) - first.rss_mb, 1)
    report.fd_growth = max(c.fds for c in after) - first.fds
    report.thread_growth = max(c.threads for c in after) - first.threads
    most: dict[str, int] = {}
    for point in report.checkpoints:
        for name, size in point.containers.items():
            most[name] = max(size, most.get(name, 0))
    report.largest = dict(sorted(most.items(), key=lambda kv: -kv[1])[:5])
    report.over_bound = {name: size for name, size in most.items() if size > MAX_CONTAINER}
    return report


def main() -> int:
    args = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    args.add_argument("--hours", type=float, default=8.0)
    args.add_argument("--start", default="20:00", help="local time the soak starts at (default 20:00: it crosses "
                      "midnight)")
    args.add_argument("--interval", type=float, default=1.5, help="steady sampling interval (default 1.5, as run)")
    args.add_argument("--json", type=Path, help="also write the report here")
    opts = args.parse_args()
    hour, minute = (int(v) for v in opts.start.split(":"))
    start = datetime.now().astimezone().replace(hour=hour, minute=minute, second=0, microsecond=0)
    print("  hours  local time  RSS MB  fds  threads  samples", flush=True)

    def show(c: Checkpoint) -> None:
        print(f"{c.hours:7.2f}  {c.wall:>10}  {c.rss_mb:6.1f}  {c.fds:3d}  {c.threads:7d}  {c.samples:7d}", flush=True)

    report = soak(opts.hours, start, opts.interval, progress=show)
    print(f"{report.samples} samples, {report.alerts} alerts, {report.pauses} pauses, {report.camera_opens} camera "
          f"openings, {report.recalibrations} recalibrations in {report.elapsed_s:.0f} s")
    print(f"after the first {report.warmup_hours:g} h: RSS growth {report.rss_growth_mb} MB (target < 10), "
          f"fd growth {report.fd_growth}, thread growth {report.thread_growth} (targets 0)")
    print(f"today's tally at the end ({report.today['day']}): "
          + ", ".join(f"{k} {v / 60:.0f} min" for k, v in report.today["seconds"].items()))
    print(f"largest containers reachable from the session (target <= {MAX_CONTAINER} entries): "
          + ", ".join(f"{k} {v}" for k, v in report.largest.items()))
    if opts.json:
        doc = asdict(report)
        for point in doc["checkpoints"]:
            point.pop("containers")
        opts.json.write_text(json.dumps(doc, indent=1) + "\n")
    ok = report.rss_growth_mb < 10 and report.fd_growth == 0 and report.thread_growth == 0 and not report.over_bound
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
