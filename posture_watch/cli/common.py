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
from typing import TYPE_CHECKING, NoReturn

from ..core import thresholds as th
from ..core.events import Quit, TogglePause
from ..core.policy import PolicySettings
from ..core.watcher import WatchSettings
from ..errors import PostureWatchError
from ..session import LiveClock, Mailbox
from ..settings import KEYS, NOTIFIERS, Settings, load_settings
from ..sources import CameraSource, FrameSource, PacedClipSource, probe_clip
from ..store import default_baseline_path, shown

if TYPE_CHECKING:
    from ..pose import PoseEstimator

MAX_SECONDS = 7 * 24 * 3600.0
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


def camera_index(camera: str) -> int | None:
    """The webcam number a camera setting names, or None for a video file."""
    return int(camera) if _INDEX.fullmatch(camera) else None


def check_camera_file(settings: Settings) -> None:
    """A clip named as the camera must be one: said at once, not after loading the pose model."""
    if camera_index(settings.watch.camera) is None:
        probe_clip(Path(settings.watch.camera))


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


def setting(path: str) -> Callable[[str], object]:
    """The argparse type of the flag that overrides the setting `path`: the settings model checks it."""
    kind = KEYS[path].kind

    def parse(text: str) -> object:
        try:
            return kind.from_text(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    parse.__name__ = path  # argparse names the type in some messages
    return parse


def model_options() -> argparse.ArgumentParser:
    group = argparse.ArgumentParser(add_help=False)
    group.add_argument("--model", type=Path, metavar="PATH",
                       help="another MediaPipe pose .task bundle (default: the bundled lite model). The neck and "
                            "shoulder angles are learned on each pose model's own landmarks: on the bundled one "
                            "and on Google's official full one (pose_landmarker_full.task); with any other they "
                            "read less accurately")
    return group


OTHER_MODEL_NOTE = ("posture-watch: note: the neck and shoulder angles were learned on the landmarks of the bundled "
                    "lite model and Google's full one, not this one; with it they read less accurately")


def pose_estimator(args: argparse.Namespace) -> PoseEstimator:
    """The pose model the user chose. One that no angle model was fitted on loads with a note, once it has loaded
    (how much that costs was measured with the full model on the lite model's angles: README)."""
    from ..pose import PoseEstimator, has_angle_model  # here, so that commands that run no model start fast

    estimator = PoseEstimator(args.model)
    if not has_angle_model(estimator.model_sha256):
        say(OTHER_MODEL_NOTE)
    return estimator


# Flags that override a setting of the settings file: argparse destination -> dotted key. Their argparse default is
# None ("not given"), so that the file's value applies.
FLAG_SETTINGS = {"alert_after": "watch.alert_after", "cooldown": "watch.cooldown", "sensitivity": "watch.sensitivity",
                 "interval": "watch.interval", "camera": "watch.camera", "resolution": "watch.resolution",
                 "notifier": "watch.notifier"}


def policy_options(running: bool = False) -> argparse.ArgumentParser:
    """`running`: for a watcher that sends notifications, whose cooldown has a floor (a replay may list every
    alert)."""
    defaults = PolicySettings()
    group = argparse.ArgumentParser(add_help=False)
    group.add_argument("--alert-after", type=setting("watch.alert_after"), metavar="SECONDS",
                       help=f"how long a bad posture must last before an alert (default {defaults.alert_after:g})")
    floor = f", at least {th.MIN_COOLDOWN_S:g}" if running else ""
    group.add_argument("--cooldown", type=setting("watch.cooldown") if running else seconds, metavar="SECONDS",
                       help=f"least time between two alerts (default {defaults.cooldown:g}{floor})")
    group.add_argument("--sensitivity", type=setting("watch.sensitivity"), metavar="X",
                       help="above 1 alerts on smaller deviations, below 1 only on bigger ones (default 1)")
    return group


def run_options() -> argparse.ArgumentParser:
    group = argparse.ArgumentParser(add_help=False)
    group.add_argument("--notifier", choices=NOTIFIERS,
                       help="where alerts go (default auto: desktop notification, else the terminal)")
    group.add_argument("--interval", type=setting("watch.interval"), metavar="SECONDS",
                       help=f"seconds between samples while nothing changes (default {th.STEADY_INTERVAL_S:g})")
    return group


def camera_options(clip_options: bool = True) -> argparse.ArgumentParser:
    group = argparse.ArgumentParser(add_help=False)
    group.add_argument("--camera", type=setting("watch.camera"), metavar="INDEX|VIDEO",
                       help="webcam number, or a video file that plays as if it were a webcam (default 0)")
    group.add_argument("--resolution", type=setting("watch.resolution"), metavar="WxH",
                       help="webcam resolution to ask for (default 640x480); a clip is scaled to it")
    if clip_options:
        group.add_argument("--fps", type=frame_rate, metavar="N",
                           help="frame rate to ask the webcam for; a clip is delivered at this rate (default: the "
                           "camera's or the clip's own)")
        group.add_argument("--loop", action="store_true", help="play a clip used as the camera over and over")
    return group


def replay_settings(args: argparse.Namespace) -> WatchSettings:
    """A replay's settings: its flags over the built-in defaults (the settings file is for the running watcher;
    a replay gives the same answer on every machine)."""
    defaults = PolicySettings()
    policy = PolicySettings(alert_after=defaults.alert_after if args.alert_after is None else args.alert_after,
                            cooldown=defaults.cooldown if args.cooldown is None else args.cooldown)
    return WatchSettings(policy, 1.0 if args.sensitivity is None else args.sensitivity, break_after=None)


def effective_settings(args: argparse.Namespace) -> Settings:
    """The settings file's values over the defaults, and the flags given over both. An invalid file, or a flag
    value the running watcher cannot take, raises PostureWatchError (InvalidSettings: one line per problem)."""
    settings = load_settings()
    given: dict[str, object] = {}
    for dest, path in FLAG_SETTINGS.items():
        value = getattr(args, dest, None)
        if value is None:
            continue
        try:
            KEYS[path].kind.check(value)
        except ValueError as err:
            raise PostureWatchError(f"{KEYS[path].flag}: {err}") from None
        given[path] = value
    return settings.with_values(given, "flag")


def camera_opener(settings: Settings, args: argparse.Namespace, clock: LiveClock) -> Callable[[float], FrameSource]:
    """Opens the camera (or the clip standing in for it) on the session's timeline."""
    camera = settings.watch.camera
    # A clip keeps its own size unless a resolution was asked for; a webcam is always asked for one.
    resolution = settings.watch.resolution if settings.given("watch.resolution") else None

    def open_camera(interval: float) -> FrameSource:
        index = camera_index(camera)
        if index is not None:
            return CameraSource(index, settings.watch.resolution, interval, clock.origin,
                                getattr(args, "fps", None))
        return PacedClipSource(camera, interval, getattr(args, "fps", None), resolution,
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
