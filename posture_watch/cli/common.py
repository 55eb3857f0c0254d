"""What the commands share: argument types (which validate), option groups, and how they become settings."""

from __future__ import annotations

import argparse
import contextlib
import math
import re
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from ..core import thresholds as th
from ..core.events import Quit, TogglePause
from ..core.policy import PolicySettings
from ..core.watcher import SamplingPlan, WatchSettings
from ..session import LiveClock, Mailbox
from ..sources import MAX_FRAME_SIZE, MIN_FRAME_SIZE, CameraSource, FrameSource, PacedClipSource
from ..store import default_baseline_path, shown

MAX_SECONDS = 7 * 24 * 3600.0
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h)?\s*$", re.IGNORECASE)
_UNIT = {None: 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}


class Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the hand-wrapped descriptions and examples as written."""


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not (math.isfinite(value) and 0 <= value <= MAX_SECONDS):
        raise argparse.ArgumentTypeError(f"{text} is out of range (0 to {MAX_SECONDS:g} seconds)")
    return value


def positive_seconds(text: str) -> float:
    value = seconds(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} must be more than 0 seconds")
    return value


def duration(text: str) -> float:
    """'90s', '30m', '1h', '45' (seconds) -> seconds."""
    match = _DURATION.match(text)
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 90s, 30m or 1h")
    value = float(match.group(1)) * _UNIT[match.group(2) and match.group(2).lower()]
    if not 0 < value <= MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"{text} is out of range (more than 0, at most 7 days)")
    return value


def frame_rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a frame rate") from None
    if not 1 <= value <= 240:
        raise argparse.ArgumentTypeError("the frame rate goes from 1 to 240")
    return value


def sensitivity(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    low, high = th.SENSITIVITY_RANGE
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"sensitivity goes from {low:g} (only big slouches) to {high:g} (every "
                                         "small one)")
    return value


def resolution(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not WIDTHxHEIGHT, e.g. 640x480") from None
    if not (MIN_FRAME_SIZE[0] <= width <= MAX_FRAME_SIZE[0] and MIN_FRAME_SIZE[1] <= height <= MAX_FRAME_SIZE[1]):
        raise argparse.ArgumentTypeError(
            f"{text} is out of range ({MIN_FRAME_SIZE[0]}x{MIN_FRAME_SIZE[1]} to {MAX_FRAME_SIZE[0]}x"
            f"{MAX_FRAME_SIZE[1]})")
    return width, height


def model_options() -> argparse.ArgumentParser:
    group = argparse.ArgumentParser(add_help=False)
    group.add_argument("--model", type=Path, metavar="PATH",
                       help="another MediaPipe pose .task bundle (default: the bundled lite model)")
    return group


def policy_options() -> argparse.ArgumentParser:
    defaults = PolicySettings()
    group = argparse.ArgumentParser(add_help=False)
    group.add_argument("--alert-after", type=seconds, default=defaults.alert_after, metavar="SECONDS",
                       help="how long a bad posture must last before an alert (default %(default)g)")
    group.add_argument("--cooldown", type=seconds, default=defaults.cooldown, metavar="SECONDS",
                       help="least time between two alerts (default %(default)g)")
    group.add_argument("--sensitivity", type=sensitivity, default=1.0, metavar="X",
                       help="above 1 alerts on smaller deviations, below 1 only on bigger ones (default 1)")
    return group


def camera_options(clip_options: bool = True) -> argparse.ArgumentParser:
    group = argparse.ArgumentParser(add_help=False)
    group.add_argument("--camera", default="0", metavar="INDEX|VIDEO",
                       help="webcam number, or a video file that plays as if it were a webcam (default 0)")
    group.add_argument("--resolution", type=resolution, metavar="WxH",
                       help="webcam resolution to ask for (default 640x480); a clip is scaled to it")
    if clip_options:
        group.add_argument("--fps", type=frame_rate, metavar="N",
                           help="frame rate to ask the webcam for; a clip is delivered at this rate (default: the "
                           "camera's or the clip's own)")
        group.add_argument("--loop", action="store_true", help="play a clip used as the camera over and over")
    return group


def watch_settings(args: argparse.Namespace, interval: float = th.STEADY_INTERVAL_S,
                   break_after: float | None = None) -> WatchSettings:
    return WatchSettings(PolicySettings(alert_after=args.alert_after, cooldown=args.cooldown), args.sensitivity,
                         SamplingPlan(steady=interval), break_after)


def camera_opener(args: argparse.Namespace, clock: LiveClock) -> Callable[[float], FrameSource]:
    """Opens the camera (or the clip standing in for it) on the session's timeline."""

    def open_camera(interval: float) -> FrameSource:
        if args.camera.isdigit():
            return CameraSource(int(args.camera), args.resolution or (640, 480), interval, clock.origin,
                                getattr(args, "fps", None))
        return PacedClipSource(args.camera, interval, getattr(args, "fps", None), args.resolution,
                               getattr(args, "loop", False), clock.origin)

    return open_camera


def baseline_path(args: argparse.Namespace) -> Path:
    return getattr(args, "baseline", None) or getattr(args, "output", None) or default_baseline_path()


def shown_default_baseline() -> str:
    return shown(default_baseline_path())


STOP_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")


def stop_on_signals(mailbox: Mailbox, pause_toggle: bool = False) -> None:
    """SIGINT, SIGTERM and SIGHUP post a Quit (in every phase: loading, calibrating, watching, paused), and
    SIGUSR1 toggles the pause, so a signal is never fatal and never half-way: the session stops at its next step.
    Windows has neither SIGHUP nor SIGUSR1; there Ctrl-C still stops."""

    def stop(signum: int, _frame: object) -> None:
        mailbox.post(Quit(signal.Signals(signum).name))

    for name in STOP_SIGNALS:
        with contextlib.suppress(AttributeError, ValueError):  # unknown on this OS, or not the main thread
            signal.signal(getattr(signal, name), stop)
    if pause_toggle and hasattr(signal, "SIGUSR1"):
        signal.signal(signal.SIGUSR1, lambda _s, _f: mailbox.post(TogglePause()))


def say(message: str) -> None:
    """One line for the user on stderr (stdout is kept for results: JSON, timelines, status)."""
    with contextlib.suppress(OSError, ValueError):
        print(message, file=sys.stderr, flush=True)
