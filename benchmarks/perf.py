"""Performance benchmark: what posture-watch costs on the machine it runs on.

    python benchmarks/perf.py [--quick] [--json FILE] [--clip VIDEO] [--nobody VIDEO] [--runs N] [--window S]

The webcam is emulated by a labelled clip played at camera pace (30 fps, 640x480, `run --camera SEGMENT --loop`:
`read()` blocks until the next frame is due and only sampled frames are decoded). From the clip and its labels the
benchmark writes an upright-only and a slouching-only segment, and a segment with nobody in view; it calibrates on
the upright one with `posture-watch calibrate`, then measures:

- CPU of the monitoring process (% of one core, from /proc/PID/stat) over a window after a warm-up, for
  `--interval` 0.5, 1.5 (the default) and 3, upright and slouching; with the default settings also while paused
  (SIGUSR1) and while nobody is in view; with peak RSS (VmHWM) and the time from spawn to the first sample;
- the model floor (MediaPipe alone, lite model, VIDEO mode) and posture-watch's per-sample cost split into
  capture/decode, pose, metrics+policy, on the same frames (floor, posture-watch, floor again), in CPU time;
- `posture-watch replay` throughput, against the model-bound rate (1000 / floor ms), also in CPU time;
- the history's cost: the events of a watched hour (a sample every 1.5 s, changes of state, alerts, a snooze) fed
  one by one to the real history writer and its SQLite file, in CPU time of the whole process (both threads).

Every figure is the median of `--runs` rounds (min-max beside it). A round measures every configuration once, in an
order rotated from round to round, so that ratios hold on a busy machine. `--quick` (windows of a few seconds, one
round, replays of the clip's first 150 frames) exists for the test that checks every figure is reported.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import dataclasses
import json
import math
import os
import platform
import re
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import cv2
import mediapipe as mp
import numpy as np

import posture_watch
from posture_watch.core.baseline import Baseline
from posture_watch.core.events import AlertRaised, Event, Paused, Resumed, Sampled, StateChanged
from posture_watch.core.landmarks import Observation
from posture_watch.core.policy import Alert, Decision, State
from posture_watch.core.posture import Assessment
from posture_watch.core.watcher import Watcher
from posture_watch.history import History
from posture_watch.pose import PoseEstimator, brightness, load_angle_model, load_model, native_stderr_silenced
from posture_watch.session import ClipClock
from posture_watch.sources import PacedClipSource
from posture_watch.store import load_baseline

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
SIZE = (640, 480)
CAMERA_ARGS = ["--loop", "--fps", "30", "--resolution", f"{SIZE[0]}x{SIZE[1]}"]
INTERVALS = (0.5, 1.5, 3.0)
DEFAULT_INTERVAL = 1.5  # `run --interval`'s default: the CPU target is judged on it
JPEG_QUALITY = 90  # PacedClipSource holds the emulated camera's frames as JPEG of this quality
CALIBRATE_SECONDS = 2.0
STATE_LINE = re.compile(r"^\d\d:\d\d:\d\d (upright|slouching|away|uncertain)\b")
PAUSED_LINE = re.compile(r"^\d\d:\d\d:\d\d paused: camera off")
START_TIMEOUT = 120.0  # generous: a busy machine can take long to import MediaPipe
STOP_TIMEOUT = 20.0
PAUSE_SETTLE = 1.0  # the pause takes effect at the next sample; then the loop only sleeps
MODEL_WARMUP_FRAMES = 10  # the first inferences allocate buffers and (re)detect: not steady state
CLK_TCK = os.sysconf("SC_CLK_TCK")


class BenchmarkError(Exception):
    """A configuration could not be measured (the message says which and why)."""


@dataclasses.dataclass(frozen=True)
class Mode:
    runs: int
    window_s: float  # CPU measurement window of a monitoring process
    warmup_s: float  # after the first sample: the state settles and adaptive sampling returns to steady
    model_frames: int  # timed frames per round for the floor and the per-sample split
    replay_repeats: int  # the long replay input is the clip this many times
    replay_frames: int | None  # the replays' clip: its first frames only (None: all of it)
    history_minutes: float  # watched time whose events are fed to the history writer


FULL = Mode(runs=3, window_s=60.0, warmup_s=10.0, model_frames=300, replay_repeats=4, replay_frames=None,
            history_minutes=60.0)
QUICK = Mode(runs=1, window_s=3.0, warmup_s=2.0, model_frames=40, replay_repeats=2, replay_frames=150,
             history_minutes=10.0)


@dataclasses.dataclass(frozen=True)
class Config:
    """One way of running the monitor: which emulated camera, which --interval, paused or not."""

    key: str
    label: str
    segment: str  # "upright", "slouching" or "nobody"
    interval: float | None  # None: leave --interval at its default
    expect: str  # what the monitor should be doing during the window
    paused: bool = False


def configs() -> list[Config]:
    found = []
    for interval in INTERVALS:
        default = interval == DEFAULT_INTERVAL
        for posture in ("upright", "slouching"):
            found.append(Config(f"cpu_{posture}_{interval:g}s", f"CPU, {posture}, --interval {interval:g}"
                                f"{' (default)' if default else ''}", posture, None if default else interval,
                                posture))
    found.append(Config("cpu_paused", "CPU while paused (default settings)", "upright", None, "paused", paused=True))
    found.append(Config("cpu_nobody", "CPU with nobody in view (default settings)", "nobody", None, "away"))
    return found


@dataclasses.dataclass(frozen=True)
class MonitorRun:
    cpu_percent: float
    first_sample_s: float
    peak_rss_mb: float
    states: list[str]  # states in force during the window, in order


# ---- inputs: clips, labels, segments -----------------------------------------------------------------------


def labels_path(video: Path) -> Path:
    return video.with_name(video.stem + ".labels.csv")


def load_labels(video: Path) -> list[dict[str, str]]:
    path = labels_path(video)
    if not path.is_file():
        raise BenchmarkError(f"{video}: no labels beside it ({path.name})")
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def longest_run(labels: list[dict[str, str]], state: str) -> range | None:
    """Frame numbers of the longest steady stretch labelled `state`: no transient frame (glance, nod) and no event
    (a posture ramp, someone leaving or passing by: for `away`, only frames with nobody in view)."""
    best: range | None = None
    start: int | None = None
    for i, row in enumerate([*labels, None]):
        inside = (row is not None and row["expected_state"] == state and row.get("transient", "0") != "1"
                  and not row.get("event"))
        if inside and start is None:
            start = i
        elif not inside and start is not None:
            if best is None or i - start > len(best):
                best = range(start, i)
            start = None
    return best


def default_clip() -> Path:
    """The hunch clip in samples/ with the longest slouching stretch (the longest loop: the least repetitive
    camera), among those that also have an upright stretch to calibrate on."""
    candidates = []
    for video in sorted(SAMPLES.glob("*hunch*.mp4")):
        if labels_path(video).is_file():
            labels = load_labels(video)
            upright, slouching = longest_run(labels, "upright"), longest_run(labels, "slouching")
            if upright and slouching:
                candidates.append((len(slouching), video))
    if not candidates:
        raise BenchmarkError(f"no labelled hunch clip in {SAMPLES} (samples/*hunch*.mp4 + .labels.csv): pass --clip")
    return max(candidates, key=lambda c: c[0])[1]


def default_nobody() -> Path | None:
    """The first leave clip in samples/ with a stretch labelled `away`; None when there is none."""
    for video in sorted(SAMPLES.glob("*leave*.mp4")):
        if labels_path(video).is_file() and longest_run(load_labels(video), "away"):
            return video
    return None


def read_frames(video: Path) -> tuple[list[np.ndarray], float]:
    """Every frame at the emulated camera's size, and the clip's frame rate."""
    cap = cv2.VideoCapture(str(video))
    if not cap.isOpened():
        raise BenchmarkError(f"{video}: not a video OpenCV can read")
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    frames = []
    ok, image = cap.read()
    while ok:
        frames.append(image if image.shape[1::-1] == SIZE else cv2.resize(image, SIZE, interpolation=cv2.INTER_AREA))
        ok, image = cap.read()
    cap.release()
    if not frames:
        raise BenchmarkError(f"{video}: no frames could be decoded")
    return frames, fps


def stretch(video: Path, state: str, min_seconds: float = 1.0) -> tuple[list[np.ndarray], float]:
    frames, fps = read_frames(video)
    run = longest_run(load_labels(video), state)
    if run is None or len(run) < min_seconds * fps:
        raise BenchmarkError(f"{video}: no stretch of {min_seconds:g} s labelled {state!r}")
    return frames[run.start:run.stop], fps


def empty_room(frames: int = 30) -> list[np.ndarray]:
    """A desk with nobody at it (wall, window, desk, monitor), with sensor noise so no two frames are alike."""
    w, h = SIZE
    room = np.empty((h, w, 3), np.float32)
    room[:] = np.linspace(150, 200, h, dtype=np.float32)[:, None, None] * np.array([0.95, 1.0, 1.05], np.float32)
    room[40:220, 420:600] = (235, 225, 215)  # window
    room[330:, :] = (70, 95, 125)  # desk
    room[190:330, 180:420] = (30, 30, 35)  # monitor, seen from behind
    rng = np.random.default_rng(0)
    return [np.clip(room + rng.normal(0, 3, room.shape), 0, 255).astype(np.uint8) for _ in range(frames)]


def write_video(path: Path, frames: list[np.ndarray], fps: float, fourcc: str) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, SIZE)
    if not writer.isOpened():
        raise BenchmarkError(f"OpenCV cannot write {fourcc} video to {path}")
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def write_segment(path: Path, frames: list[np.ndarray], fps: float) -> Path:
    """An MJPG segment played forth then back, so the looping camera never jumps (a jump makes MediaPipe's
    tracker fall back to its detector, which a real sitter does not cause)."""
    return write_video(path, frames + frames[-2:0:-1], fps, "MJPG")


# ---- child processes ---------------------------------------------------------------------------------------


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "posture_watch", *args]


class StderrLog:
    """The lines a child writes to stderr, each with the time it arrived: the monitor reports samples there."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[tuple[float, str]] = []
        self._closed = False
        self._changed = threading.Condition()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            with self._changed:
                self.lines.append((time.monotonic(), line.rstrip("\n")))
                self._changed.notify_all()
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def wait_for(self, pattern: re.Pattern[str], timeout: float) -> float:
        """When the first line matching `pattern` arrived."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for when, line in self.lines:
                    if pattern.search(line):
                        return when
                remaining = deadline - time.monotonic()
                if self._closed or remaining <= 0:
                    why = "exited" if self._closed else f"gave nothing within {timeout:g} s"
                    raise BenchmarkError(f"the monitor {why} before a line like {pattern.pattern!r}:\n{self.tail()}")
                self._changed.wait(remaining)

    def states(self, start: float, end: float) -> list[str]:
        """The states in force between two instants: the last one reported before `start`, and changes until `end`."""
        with self._changed:
            found = [(when, m.group(1)) for when, line in self.lines if (m := STATE_LINE.search(line))]
        before = [state for when, state in found if when <= start][-1:]
        return before + [state for when, state in found if start < when <= end]

    def tail(self, n: int = 15) -> str:
        with self._changed:
            return "\n".join(line for _, line in self.lines[-n:])


def cpu_seconds(pid: int) -> float:
    """User + system CPU of every thread of the process so far (threads that ended included)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()  # the command name may contain spaces and parentheses
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime: fields 14 and 15 of proc(5)


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise BenchmarkError(f"no VmHWM in /proc/{pid}/status")


def measure_monitor(config: Config, segments: dict[str, Path], baseline: Path, mode: Mode) -> MonitorRun:
    """Start `run` on the emulated camera, wait for the first sample and the warm-up, then measure a window."""
    args = ["run", "--camera", str(segments[config.segment]), *CAMERA_ARGS, "--baseline", str(baseline),
            "--notifier", "none"]
    if config.interval is not None:
        args += ["--interval", f"{config.interval:g}"]
    spawned = time.monotonic()
    proc = subprocess.Popen(command(*args), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    log = StderrLog(proc.stderr)
    try:
        first_sample = log.wait_for(STATE_LINE, START_TIMEOUT) - spawned
        time.sleep(mode.warmup_s)
        if config.paused:
            proc.send_signal(signal.SIGUSR1)
            log.wait_for(PAUSED_LINE, START_TIMEOUT)
            time.sleep(PAUSE_SETTLE)
        start, cpu_start = time.monotonic(), cpu_seconds(proc.pid)
        time.sleep(mode.window_s)
        end, cpu_end = time.monotonic(), cpu_seconds(proc.pid)
        if proc.poll() is not None:
            raise BenchmarkError(f"{config.label}: the monitor exited during the window:\n{log.tail()}")
        rss = peak_rss_mb(proc.pid)
        proc.send_signal(signal.SIGTERM)
        returncode = proc.wait(STOP_TIMEOUT)
    except (FileNotFoundError, ProcessLookupError):
        raise BenchmarkError(f"{config.label}: the monitor exited during the window:\n{log.tail()}") from None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if returncode != 0:
        raise BenchmarkError(f"{config.label}: the monitor exited with {returncode} on SIGTERM:\n{log.tail()}")
    states = ["paused"] if config.paused else log.states(start, end)
    if states != [config.expect]:
        # Still a measurement, but not of the configuration it is named after: say so rather than hide it.
        print(f"  warning: {config.label}: the monitor was {' → '.join(states)}, not only {config.expect}",
              file=sys.stderr)
    return MonitorRun(100 * (cpu_end - cpu_start) / (end - start), first_sample, rss, states)


def camera_load_s(segment: Path) -> float:
    """How long PacedClipSource takes to load a segment before its first frame: part of every monitor's start-up
    that is emulation (a webcam opens instead), shown beside the time to the first sample."""
    started = time.perf_counter()
    PacedClipSource(segment, DEFAULT_INTERVAL, 30.0, SIZE, loop=True).close()
    return time.perf_counter() - started


def calibrate(upright: Path, output: Path) -> Path:
    result = subprocess.run(command("calibrate", "--camera", str(upright), *CAMERA_ARGS, "--seconds",
                                    f"{CALIBRATE_SECONDS:g}", "--output", str(output)),
                            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=START_TIMEOUT)
    if result.returncode != 0:
        raise BenchmarkError(f"calibration on the upright segment failed:\n{result.stderr}")
    return output


@dataclasses.dataclass(frozen=True)
class ReplayRound:
    fps: float  # frames per CPU-second of the replay process: its rate on a core of its own
    wall_fps: float  # frames per second of wall-clock time on this machine as it was


def replay_once(video: Path) -> tuple[float, float, int]:
    """Wall time and CPU time of `posture-watch replay VIDEO --json`, and the frames it reports."""
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(command("replay", str(video), "--calibrate-first", f"{CALIBRATE_SECONDS:g}", "--json"),
                            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=3600)
    elapsed = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise BenchmarkError(f"replay of {video} failed:\n{result.stderr}")
    cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
    return elapsed, cpu, int(json.loads(result.stdout)["frames"])


def replay_round(short: Path, long: Path, order: int) -> ReplayRound:
    """Replay throughput with start-up (imports, model loading) left out: the long input's extra frames over
    the extra time they took."""
    first, second = (short, long) if order % 2 == 0 else (long, short)
    timed = {first: replay_once(first), second: replay_once(second)}
    (wall_short, cpu_short, n_short), (wall_long, cpu_long, n_long) = timed[short], timed[long]
    if wall_long <= wall_short or cpu_long <= cpu_short:
        raise BenchmarkError(f"replay of {n_long} frames took no longer than of {n_short}: too noisy to measure")
    return ReplayRound((n_long - n_short) / (cpu_long - cpu_short), (n_long - n_short) / (wall_long - wall_short))


# ---- in process: the model floor and the per-sample split --------------------------------------------------


def raw_landmarker() -> Any:
    """MediaPipe alone with the settings posture-watch uses: lite model, VIDEO mode, one person."""
    from mediapipe.tasks.python import BaseOptions
    from mediapipe.tasks.python.vision import PoseLandmarker, PoseLandmarkerOptions, RunningMode

    options = PoseLandmarkerOptions(base_options=BaseOptions(model_asset_buffer=load_model()),
                                    running_mode=RunningMode.VIDEO, num_poses=1)
    with native_stderr_silenced():
        return PoseLandmarker.create_from_options(options)


def decode(jpeg: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)


def floor_pass(jpegs: list[bytes], fps: float, frames: int) -> float:
    """CPU ms per frame of MediaPipe alone, from an RGB picture to landmarks."""
    landmarker = raw_landmarker()
    spent = 0.0
    try:
        for k in range(MODEL_WARMUP_FRAMES + frames):
            t = k / fps
            rgb = cv2.cvtColor(decode(jpegs[k % len(jpegs)]), cv2.COLOR_BGR2RGB)  # untimed: the floor starts here
            started = time.process_time()
            landmarker.detect_for_video(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb), int(t * 1000))
            if k >= MODEL_WARMUP_FRAMES:
                spent += time.process_time() - started
    finally:
        with native_stderr_silenced():
            landmarker.close()
    return 1000 * spent / frames


def pipeline_pass(jpegs: list[bytes], fps: float, baseline: Baseline, frames: int) -> dict[str, float]:
    """CPU ms per frame of each part of one sample of `run`: PacedClipSource decodes the frame, then the
    estimator observes (pose) and the watcher judges (brightness, metrics, assessment, policy)."""
    spent = dict.fromkeys(("capture_decode", "pose", "metrics_policy"), 0.0)
    with PoseEstimator() as estimator:
        watcher = Watcher(baseline, load_angle_model())
        for k in range(MODEL_WARMUP_FRAMES + frames):
            t = k / fps
            t0 = time.process_time()
            image = decode(jpegs[k % len(jpegs)])
            t1 = time.process_time()
            poses = estimator.detect(image, t)
            t2 = time.process_time()
            watcher.observe(Observation(t, k, tuple(poses), brightness(image)))
            t3 = time.process_time()
            if k >= MODEL_WARMUP_FRAMES:
                spent["capture_decode"] += t1 - t0
                spent["pose"] += t2 - t1
                spent["metrics_policy"] += t3 - t2
    return {part: 1000 * seconds / frames for part, seconds in spent.items()}


def model_round(jpegs: list[bytes], fps: float, baseline: Baseline, frames: int) -> dict[str, float]:
    """The floor and posture-watch's per-sample split on the same frames with the same timestamps, consecutive as
    in replay. CPU time of the whole process (MediaPipe's threads included), not wall time: other jobs taking the
    core do not count. Each pass has the process to itself, as replay and the monitor do (two models alternating
    frame by frame evict each other's caches: that inflated the floor by 3-4 %); the floor is measured before and
    after posture-watch's pass and averaged, so a drift of the machine between passes cancels out."""
    before = floor_pass(jpegs, fps, frames)
    split = pipeline_pass(jpegs, fps, baseline, frames)
    after = floor_pass(jpegs, fps, frames)
    return {"floor": (before + after) / 2, **split}


# ---- in process: the history's cost -------------------------------------------------------------------------


def watched_events(minutes: float) -> list[Event]:
    """What a watcher at its default pace emits in `minutes`: a sample every 1.5 s (angles that vary), a slouch
    for 2 of every 5 minutes with an alert in it, and a 2-minute snooze each half hour."""
    rng = np.random.default_rng(0)
    events: list[Event] = []
    state: State = "upright"
    t = 0.0
    while t < minutes * 60:
        cycle = t % 300
        if t % 1800 < DEFAULT_INTERVAL and t >= DEFAULT_INTERVAL:
            events += [Paused(t, "snoozed", t + 120), Resumed(t + 120, "snoozed")]
            t += 120 + DEFAULT_INTERVAL
            continue
        now: State = "slouching" if cycle >= 180 else "upright"
        if now != state:
            events.append(StateChanged(t, now, state, ("head_drop",) if now == "slouching" else (), ""))
            state = now
        neck = float(rng.normal(18 if state == "slouching" else 3, 2))
        assessment = Assessment("measured", scores={"head_drop": neck / 12}, neck_angle_deg=neck,
                                shoulder_angle_deg=float(rng.normal(1, 1)))
        events.append(Sampled(t, int(t * 30), assessment, Decision(state, (), None, False)))
        if state == "slouching" and 240 <= cycle < 240 + DEFAULT_INTERVAL:
            alert = Alert(t, ("head_drop",), 1, 60.0)
            events.append(AlertRaised(t, alert, "Head dropping toward the desk", "Lift your chest."))
        t += DEFAULT_INTERVAL
    return events


def history_round(minutes: float) -> float:
    """CPU (% of one core) of keeping the history of `minutes` of watching: each event handed to the subscriber
    on its own, as the session does (so each one wakes the writer thread), and the file closed at the end. The
    pauses between events are not CPU; the loop that makes them is counted, which errs on the high side."""
    events = watched_events(minutes)
    with tempfile.TemporaryDirectory(prefix="posture-history-") as folder:
        clock = ClipClock(datetime.now().astimezone())
        started = time.process_time()
        history = History(Path(folder) / "history.sqlite3", clock, "benchmark", warn=lambda line: print(
            f"  history: {line}", file=sys.stderr))
        for event in events:
            clock.last = event.t
            history(event)
            time.sleep(0.0002)  # the writer takes each event alone, as it does at a live pace
        history.close()
        spent = time.process_time() - started
        if not history.on:
            raise BenchmarkError("the history stopped during its benchmark")
    return 100 * spent / (minutes * 60)


# ---- figures, targets, report ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Target:
    figure: str
    text: str  # as printed beside the figure
    check: Callable[[float], bool]


TARGETS = [
    Target(f"cpu_upright_{DEFAULT_INTERVAL:g}s", "≤ 2 %", lambda v: v <= 2.0),
    Target(f"cpu_slouching_{DEFAULT_INTERVAL:g}s", "≤ 2 %", lambda v: v <= 2.0),
    Target("cpu_paused", "≈ 0 % (≤ 0.1 %)", lambda v: v <= 0.1),
    Target("sample_ratio_to_floor", "≤ 1.15x", lambda v: v <= 1.15),
    Target("replay_ratio_to_model_bound", "≥ 0.85x", lambda v: v >= 0.85),
    Target("peak_rss_mb", "≤ 250 MB", lambda v: v <= 250.0),
    Target("first_sample_s", "≤ 1.5 s", lambda v: v <= 1.5),
    Target("history_cpu_percent", "< 0.1 %", lambda v: v < 0.1),
]

UNITS = {"%": "{:.2f} %", "% of a core": "{:.4f} %", "ms": "{:.2f} ms", "fps": "{:.1f} fps", "x": "{:.3f}x",
         "MB": "{:.0f} MB", "s": "{:.2f} s"}


def figure(label: str, unit: str, values: list[float]) -> dict[str, Any]:
    return {"label": label, "unit": unit, "median": statistics.median(values), "min": min(values),
            "max": max(values), "runs": values}


def figures(monitor: dict[str, list[MonitorRun]], models: list[dict[str, float]], replays: list[ReplayRound],
            camera_loads: list[float], histories: list[float]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for config in configs():
        out[config.key] = figure(config.label, "%", [r.cpu_percent for r in monitor[config.key]])
    floors = [m["floor"] for m in models]
    totals = [m["capture_decode"] + m["pose"] + m["metrics_policy"] for m in models]
    out["model_floor_ms"] = figure("Model floor: MediaPipe alone, lite, VIDEO mode (CPU ms/frame)", "ms", floors)
    out["sample_capture_decode_ms"] = figure("Per sample: capture/decode (CPU)", "ms",
                                             [m["capture_decode"] for m in models])
    out["sample_pose_ms"] = figure("Per sample: pose (CPU)", "ms", [m["pose"] for m in models])
    out["sample_metrics_policy_ms"] = figure("Per sample: metrics + policy (CPU)", "ms",
                                             [m["metrics_policy"] for m in models])
    out["sample_total_ms"] = figure("Per sample: total (CPU)", "ms", totals)
    # Ratios are taken round by round (both sides measured side by side), then summarised.
    out["sample_ratio_to_floor"] = figure("Per-sample cost / model floor", "x",
                                          [t / f for t, f in zip(totals, floors, strict=True)])
    out["replay_fps"] = figure("Replay throughput, `posture-watch replay` (frames per CPU-second)", "fps",
                               [r.fps for r in replays])
    out["replay_wall_fps"] = figure("Replay throughput, wall clock on this machine as it was", "fps",
                                    [r.wall_fps for r in replays])
    out["model_bound_fps"] = figure("Model-bound rate (1000 / floor ms)", "fps", [1000 / f for f in floors])
    out["replay_ratio_to_model_bound"] = figure("Replay / model-bound rate", "x",
                                                [r.fps * f / 1000 for r, f in zip(replays, floors, strict=True)])
    runs = [r for rs in monitor.values() for r in rs]
    out["peak_rss_mb"] = figure("Peak RSS of the monitor (VmHWM, every run)", "MB", [r.peak_rss_mb for r in runs])
    # Start-up is taken where the user starts: upright, in front of the camera (every config on that segment;
    # the interval does not matter before the first sample). The other segments are longer to load.
    upright = [r for c in configs() if c.segment == "upright" for r in monitor[c.key]]
    out["first_sample_s"] = figure("Start to first sample (spawn to first state line, upright)", "s",
                                   [r.first_sample_s for r in upright])
    out["camera_load_s"] = figure("of which the emulated camera loading its clip", "s", camera_loads)
    out["history_cpu_percent"] = figure("History: writing a watched hour's events (CPU, both threads)",
                                        "% of a core", histories)
    return out


def verdicts(figs: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"figure": t.figure, "target": t.text, "value": figs[t.figure]["median"],
             "pass": t.check(figs[t.figure]["median"])} for t in TARGETS]


def table(result: dict[str, Any]) -> str:
    m = result["machine"]
    lines = [f"posture-watch {m['posture_watch']} ({m['commit'] or 'no git'}) on {m['cpu']}, {m['cores']} cores; "
             f"Python {m['python']}, mediapipe {m['mediapipe']}, OpenCV {m['opencv']}; {m['date']}",
             f"load average {m['load_average_start'][0]:.2f} at start, {m['load_average_end'][0]:.2f} at end; "
             f"{result['settings']['runs']} run(s), {result['settings']['window_s']:g} s windows; "
             f"clip {result['settings']['clip']}", "",
             "| figure | median | min-max | target | |", "|---|---|---|---|---|"]
    by_figure = {v["figure"]: v for v in result["targets"]}
    for key, f in result["figures"].items():
        fmt = UNITS[f["unit"]]
        verdict = by_figure.get(key)
        target = verdict["target"] if verdict else ""
        mark = ("pass" if verdict["pass"] else "**miss**") if verdict else ""
        lines.append(f"| {f['label']} | {fmt.format(f['median'])} | {fmt.format(f['min'])} - {fmt.format(f['max'])} "
                     f"| {target} | {mark} |")
    lines += ["", "CPU: % of one core over the window. ms: CPU time per frame of the process (other jobs on the "
              "machine do not count). Replay ratio: frames per CPU-second against 1000 / floor ms."]
    return "\n".join(lines)


def shown(path: Path) -> str:
    """A path as the results should show it: relative to the repository when inside it (no machine's layout)."""
    path = path.resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def git_commit() -> str | None:
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        return subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True,
                              text=True, check=True).stdout.strip()
    return None


def machine() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")),
               platform.processor() or "unknown")
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "mediapipe": mp.__version__, "opencv": cv2.__version__, "kernel": platform.release(),
            "posture_watch": posture_watch.__version__, "commit": git_commit(),
            "date": datetime.now(UTC).isoformat(timespec="seconds"), "load_average_start": os.getloadavg()}


# ---- the benchmark -----------------------------------------------------------------------------------------


def run(clip: Path, nobody: Path | None, mode: Mode, quick: bool) -> dict[str, Any]:
    info = machine()
    frames, fps = read_frames(clip)
    jpegs = [cv2.imencode(".jpg", f, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])[1].tobytes() for f in frames]
    with tempfile.TemporaryDirectory(prefix="posture-perf-") as tmp:
        folder = Path(tmp)
        # The watchers measured here read no settings file of the user's and do not meet the user's own watcher.
        os.environ["POSTURE_WATCH_CONFIG_DIR"] = str(folder / "config")
        os.environ["POSTURE_WATCH_RUNTIME_DIR"] = str(folder / "run")
        os.environ["POSTURE_WATCH_DATA_DIR"] = str(folder / "data")  # the monitors' history: not the user's
        segments = {posture: write_segment(folder / f"{posture}.avi", *stretch(clip, posture))
                    for posture in ("upright", "slouching")}
        if nobody is None:
            segments["nobody"] = write_segment(folder / "nobody.avi", empty_room(), 15.0)
        else:
            segments["nobody"] = write_segment(folder / "nobody.avi", *stretch(nobody, "away"))
        replayed = frames[:mode.replay_frames]
        short = write_video(folder / "replay_short.mp4", replayed, fps, "mp4v")
        long = write_video(folder / "replay_long.mp4", replayed * mode.replay_repeats, fps, "mp4v")
        baseline_file = calibrate(segments["upright"], folder / "baseline.json")
        baseline = load_baseline(baseline_file)

        every = configs()
        monitor: dict[str, list[MonitorRun]] = {c.key: [] for c in every}
        models: list[dict[str, float]] = []
        replays: list[ReplayRound] = []
        camera_loads: list[float] = []
        histories: list[float] = []
        for round_no in range(mode.runs):
            print(f"round {round_no + 1}/{mode.runs}", file=sys.stderr)
            shift = round_no % len(every)
            for config in every[shift:] + every[:shift]:
                result = measure_monitor(config, segments, baseline_file, mode)
                monitor[config.key].append(result)
                print(f"  {config.label}: {result.cpu_percent:.2f} %, first sample {result.first_sample_s:.2f} s, "
                      f"peak RSS {result.peak_rss_mb:.0f} MB", file=sys.stderr)
            camera_loads.append(camera_load_s(segments["upright"]))
            models.append(model_round(jpegs, fps, baseline, mode.model_frames))
            print(f"  floor {models[-1]['floor']:.2f} ms/frame, posture-watch "
                  f"{sum(models[-1].values()) - models[-1]['floor']:.2f} ms/sample (CPU)", file=sys.stderr)
            replays.append(replay_round(short, long, round_no))
            print(f"  replay {replays[-1].fps:.1f} fps per CPU-second, {replays[-1].wall_fps:.1f} fps wall",
                  file=sys.stderr)
            histories.append(history_round(mode.history_minutes))
            print(f"  history {histories[-1]:.4f} % of a core", file=sys.stderr)

    info["load_average_end"] = os.getloadavg()
    figs = figures(monitor, models, replays, camera_loads, histories)
    return {
        "machine": info,
        "settings": {"mode": "quick" if quick else "full", "runs": mode.runs, "window_s": mode.window_s,
                     "warmup_s": mode.warmup_s, "model_frames": mode.model_frames,
                     "replay_frames": [len(replayed), len(replayed) * mode.replay_repeats],
                     "history_minutes": mode.history_minutes,
                     "clip": shown(clip), "nobody": shown(nobody) if nobody else "empty-room picture",
                     "camera": f"{SIZE[0]}x{SIZE[1]} at 30 fps (clip at camera pace, MJPEG-like)"},
        "figures": figs,
        "targets": verdicts(figs),
        "states": {key: [r.states for r in runs] for key, runs in monitor.items()},
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="windows of a few seconds, one round (for tests)")
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "perf.json",
                    help="where to write the results (default %(default)s)")
    ap.add_argument("--clip", type=Path, help="labelled clip with upright and slouching stretches "
                    "(default: the first samples/*hunch*.mp4 that has both)")
    ap.add_argument("--nobody", type=Path, help="labelled clip with an `away` stretch (default: the first "
                    "samples/*leave*.mp4 that has one, else a picture of an empty room)")
    ap.add_argument("--runs", type=int, help="rounds (default 3, 1 with --quick)")
    ap.add_argument("--window", type=float, help="CPU window in seconds (default 60, 3 with --quick)")
    args = ap.parse_args()
    mode = QUICK if args.quick else FULL
    mode = dataclasses.replace(mode, runs=args.runs or mode.runs, window_s=args.window or mode.window_s)
    try:
        clip = args.clip or default_clip()
        nobody = args.nobody or default_nobody()
        result = run(clip, nobody, mode, args.quick)
    except (BenchmarkError, subprocess.SubprocessError) as err:
        print(f"perf: {err}", file=sys.stderr)
        return 1
    bad = [k for k, f in result["figures"].items() if not all(map(math.isfinite, f["runs"]))]
    if bad:
        print(f"perf: not finite: {', '.join(bad)}", file=sys.stderr)
        return 1
    args.json.write_text(json.dumps(result, indent=1) + "\n")
    print(table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
