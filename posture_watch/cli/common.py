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
from typing import NoReturn

from ..core import thresholds as th
from ..core.events import Quit, TogglePause
from ..core.policy import PolicySettings
from ..core.watcher import SamplingPlan, WatchSettings
from ..session import LiveClock, Mailbox
from ..sources import CameraSource, FrameSource, PacedClipSource, check_video_file
from ..store import default_baseline_path, shown

MAX_SECONDS = 7 * 24 * 3600.0
MAX_CAMERA_INDEX = 255  # Linux numbers video devices from 0 up; OpenCV overflows on indexes past 2**31
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h)?\s*$", re.IGNORECASE)
_UNIT = {None: 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}
_INDEX = re.compile(r"\d+", re.ASCII)  # str.isdigit() also takes '²', which int() refuses


class Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the hand-wrapped descriptions and examples as written."""


class Parser(argparse.ArgumentParser):
    """A usage error is one line (what is wrong, and where the help is) and exit status 2, not the whole usage."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not (math.isfinite(value) and 0 <= value <= MAX_SECONDS):
        raise argparse.ArgumentTypeError(f"{text} is out of range (0 to {MAX_SECONDS:g} seconds)")
    return value


def seconds_at_least(low: float, why: str) -> Callable[[str], float]:
    """An argument type: seconds, at least `low` (`why` says why, in the error message)."""

    def checked(text: str) -> float:
        value = seconds(text)
        if value < low:
            raise argparse.ArgumentTypeError(f"{text} is less than {low:g} s: {why}")
        return value

    return checked


calibration_seconds = seconds_at_least(th.CALIBRATION_MIN_SECONDS, "a baseline needs a few frames to measure")
run_cooldown = seconds_at_least(th.MIN_COOLDOWN_S, "a running watcher would replace its notices before they are "
                                "read")


def interval(text: str) -> float:
    value = seconds(text)
    low, high = th.INTERVAL_RANGE_S
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"{text} is out of range ({low:g} to {high:g} seconds between samples)")
    return value


def camera(text: str) -> str:
    """A webcam number (0 to 255) or a video file's path; the file itself is checked by `check_camera_file`."""
    if _INDEX.fullmatch(text) and int(text) > MAX_CAMERA_INDEX:
        raise argparse.ArgumentTypeError(f"camera {text} is out of range (0 to {MAX_CAMERA_INDEX})")
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty camera: give a webcam number or a video file")
    return text


def camera_index(text: str) -> int | None:
    """The webcam number `--camera` names, or None for a video file."""
    return int(text) if _INDEX.fullmatch(text) else None


def check_camera_file(args: argparse.Namespace) -> None:
    """A clip named as the camera must exist: said at once, not after loading the pose model."""
    if camera_index(args.camera) is None:
        check_video_file(Path(args.camera))


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
    (min_w, min_h), (max_w, max_h) = th.MIN_FRAME_SIZE, th.MAX_FRAME_SIZE
    if not (min_w <= width <= max_w and min_h <= height <= max_h):
        raise argparse.ArgumentTypeError(f"{text} is out of range ({min_w}x{min_h} to {max_w}x{max_h})")
    return width, height


def model_options() -> argparse.ArgumentParser:
    group = argparse.ArgumentParser(add_help=False)
    group.add_argument("--model", type=Path, metavar="PATH",
                       help="another MediaPipe pose .task bundle (default: the bundled lite model)")
    return group


def policy_options(running: bool = False) -> argparse.ArgumentParser:
    """`running`: for a watcher that sends notifications, whose cooldown has a floor."""
    defaults = PolicySettings()
    group = argparse.ArgumentParser(add_help=False)
    group.add_argument("--alert-after", type=seconds, default=defaults.alert_after, metavar="SECONDS",
                       help="how long a bad posture must last before an alert (default %(default)g)")
    floor = f", at least {th.MIN_COOLDOWN_S:g}" if running else ""
    group.add_argument("--cooldown", type=run_cooldown if running else seconds, default=defaults.cooldown,
                       metavar="SECONDS", help=f"least time between two alerts (default %(default)g{floor})")
    group.add_argument("--sensitivity", type=sensitivity, default=1.0, metavar="X",
                       help="above 1 alerts on smaller deviations, below 1 only on bigger ones (default 1)")
    return group


def camera_options(clip_options: bool = True) -> argparse.ArgumentParser:
    group = argparse.ArgumentParser(add_help=False)
    group.add_argument("--camera", type=camera, default="0", metavar="INDEX|VIDEO",
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
        index = camera_index(args.camera)
        if index is not None:
            return CameraSource(index, args.resolution or (640, 480), interval, clock.origin,
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
    """SIGINT, SIGTERM and SIGHUP post a Quit (in every phase: loading, calibrating, watching, paused), so a signal
    is never fatal and never half-way: the session stops at its next step. SIGUSR1 toggles the pause of a
    watcher (`pause_toggle`; queued until the watching starts) and is ignored by the one-shot commands, so a
    `pkill -USR1 posture-watch` meant for the watcher never kills a calibration. Windows has neither SIGHUP nor
    SIGUSR1; there Ctrl-C still stops."""

    def stop(signum: int, _frame: object) -> None:
        mailbox.post(Quit(signal.Signals(signum).name))

    for name in STOP_SIGNALS:
        _handle(name, stop)
    _handle("SIGUSR1", (lambda _s, _f: mailbox.post(TogglePause())) if pause_toggle else signal.SIG_IGN)


def interrupt_on_signals() -> None:
    """For a one-shot command with no session (doctor): SIGTERM and SIGHUP interrupt it as Ctrl-C does (exit
    status 130, one line), and SIGUSR1 is ignored."""
    for name in STOP_SIGNALS:
        _handle(name, signal.default_int_handler)
    _handle("SIGUSR1", signal.SIG_IGN)


def _handle(name: str, handler: Callable[[int, object], None] | signal.Handlers) -> None:
    with contextlib.suppress(AttributeError, ValueError):  # unknown on this OS, or not the main thread
        signal.signal(getattr(signal, name), handler)


def say(message: str) -> None:
    """One line for the user on stderr (stdout is kept for results: JSON, timelines, status)."""
    with contextlib.suppress(OSError, ValueError):
        print(message, file=sys.stderr, flush=True)
