"""`posture-watch run` and `posture-watch calibrate`: the webcam commands."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..core.baseline import Baseline, CalibrationRefused
from ..core.events import (
    Calibrated,
    CalibrationFailed,
    CalibrationStarted,
    CameraChanged,
    Event,
    Paused,
    Resumed,
    SetupWarning,
    StateChanged,
)
from ..core.watcher import WatchSettings
from ..errors import PostureWatchError
from ..session import Clock, LiveClock, Mailbox, Session, SessionStopped
from ..store import load_baseline, save_baseline, shown
from . import common

RUN_EXAMPLES = """\
examples:
  posture-watch run                          watch through camera 0 (calibrates first if there is no baseline)
  posture-watch run --alert-after 120        alert only after two minutes of slouching
  posture-watch run --camera 1 --resolution 1280x720
  posture-watch run --camera clip.mp4 --loop a recorded clip stands in for the webcam, in real time
  posture-watch pause 30m                    (from another terminal) pause the running watcher; the camera goes off
  posture-watch config set watch.alert_after 120
                                             keep a setting in the settings file instead of typing the flag

Flags override the settings file (posture-watch config show), which overrides the defaults.
"""
CALIBRATE_EXAMPLES = """\
examples:
  posture-watch calibrate                    sit upright, look at the screen, keep still for 5 s
  posture-watch calibrate --seconds 10       a longer, steadier baseline
  posture-watch calibrate --camera clip.mp4 --output calibration/clip.json
                                             a baseline from the first 5 s of a recorded clip
"""
FIRST_RUN_CALIBRATION_S = 5.0


def add_commands(sub: argparse._SubParsersAction) -> None:
    camera, model, policy = common.camera_options(), common.model_options(), common.policy_options(running=True)
    run = sub.add_parser(
        "run", parents=[camera, model, policy, common.run_options()], help="watch your posture through the webcam",
        formatter_class=common.Formatter, epilog=RUN_EXAMPLES,
        description="Watch through the webcam and alert when a bad posture lasts. Starts with calibration if "
        "there is no baseline yet. One watcher runs per user; `posture-watch status`, `pause`, `resume`, "
        "`snooze`, `break`, `recalibrate` and `quit` control it. Ctrl-C (or SIGTERM, SIGHUP) stops in any phase; "
        "SIGUSR1 pauses and resumes. The camera is open only while sampling: it is closed while paused.")
    run.add_argument("--baseline", type=Path, metavar="FILE",
                     help=f"baseline to use (default {common.shown_default_baseline()})")
    run.add_argument("--no-history", action="store_true",
                     help="keep no history of this run (default: kept for `posture-watch report`, unless the "
                     "settings file says history.enabled = false)")
    run.add_argument("--no-tray", action="store_true",
                     help="no tray icon (default: shown when the tray extra is installed and a tray is there, "
                     "unless the settings file says tray.enabled = false)")
    run.set_defaults(command=run_command)

    cal = sub.add_parser(
        "calibrate", parents=[common.camera_options(), model], help="record your upright baseline",
        formatter_class=common.Formatter, epilog=CALIBRATE_EXAMPLES,
        description="Sit upright, look at the screen and keep still for a few seconds: the baseline measured now "
        "is what every later sample is compared with. At a terminal, a failed calibration offers a retry.")
    cal.add_argument("--seconds", type=common.calibration_seconds, default=FIRST_RUN_CALIBRATION_S,
                     help="how long to measure (default %(default)g)")
    cal.add_argument("--output", type=Path, metavar="FILE",
                     help=f"where to save it (default {common.shown_default_baseline()})")
    cal.set_defaults(command=calibrate_command)


def calibrate_command(args: argparse.Namespace) -> int:
    mailbox = Mailbox()
    common.stop_on_signals(mailbox)
    settings = common.effective_settings(args)
    common.check_camera_file(settings)
    clock = LiveClock()
    with common.pose_estimator(args) as estimator:
        session = Session(estimator, common.camera_opener(settings, args, clock), WatchSettings(),
                          clock=clock, mailbox=mailbox)
        session.subscribe(ConsoleReport(clock))
        try:
            baseline = calibrate_at_terminal(session, args.seconds)
        except SessionStopped as stop:
            raise Interrupted(f"interrupted by {stop.reason}: no baseline saved") from None
    path = common.baseline_path(args)
    save_baseline(baseline, path)
    common.say(f"Baseline saved to {shown(path)}.")
    return 0


class Interrupted(PostureWatchError):
    """A one-shot command was stopped by a signal before it finished (exit status 130)."""


def calibrate_at_terminal(session: Session, seconds: float, wait_for_camera: bool = False) -> Baseline:
    """Calibrate; at a terminal, a refused calibration offers a retry instead of giving up."""
    while True:
        try:
            return session.calibrate(seconds, wait_for_camera=wait_for_camera).baseline
        except CalibrationRefused as err:
            if not sys.stdin.isatty():
                raise
            print(f"posture-watch: {err}\nPress Enter to try again (Ctrl-C to stop) ", end="", file=sys.stderr,
                  flush=True)
            try:
                input()
            except (EOFError, OSError):  # end of input, or the terminal went away (EIO on a closed pty)
                print(file=sys.stderr)  # end the prompt's line
                raise err from None
            except KeyboardInterrupt:
                raise SessionStopped("SIGINT") from None


def run_command(args: argparse.Namespace) -> int:
    from ..control import serving
    from ..history import History, default_history_path
    from ..notify import EventNotifier, open_notifier
    from ..screenlock import ScreenLockWatch
    from ..tray import Tray, today_report_opener

    mailbox = Mailbox()
    common.stop_on_signals(mailbox, pause_toggle=True)  # before the model loads: a signal then is not fatal
    settings = common.effective_settings(args)  # an invalid settings file is refused before anything starts
    common.check_camera_file(settings)
    path = common.baseline_path(args)
    baseline = load_baseline(path) if args.baseline is not None or path.exists() else None
    clock = LiveClock()
    with serving(mailbox):  # a second watcher of the same user stops here, naming the first
        notifier = open_notifier(settings.watch.notifier)  # an unusable notifier is refused before anything slow
        alerts = EventNotifier(notifier, mailbox.post)
        history = (History(default_history_path(), clock, f"camera {settings.watch.camera}",
                           settings.history.retention_days, warn=common.say)
                   if settings.history.enabled and not args.no_history else None)
        tray: Tray | None = None
        try:
            # From here on a screen lock turns the camera off (after a first-run calibration, if one is under way).
            with common.pose_estimator(args) as estimator, ScreenLockWatch(mailbox.post, common.say):
                session = Session(estimator, common.camera_opener(settings, args, clock), settings.watch_settings(),
                                  baseline, clock=clock, mailbox=mailbox, schedule=settings.work_schedule())
                how = "`posture-watch pause` pauses, `posture-watch quit` or Ctrl-C stops"
                session.subscribe(ConsoleReport(clock, watching=f"Watching ({settings.watch.camera}); {how}."))
                session.subscribe(alerts)
                # Every calibration of the run is kept (the first one, and one asked for with `recalibrate`).
                session.subscribe(lambda event: keep_baseline(event.baseline, path)
                                  if isinstance(event, Calibrated) else None)
                if history is not None:
                    session.subscribe(history)
                if settings.tray.enabled and not args.no_tray and Tray.installed():
                    tray = Tray(mailbox.post, clock, lambda: session.today.seconds,
                                today_report_opener(default_history_path(), common.say), common.say)
                    session.subscribe(tray)
                    tray.start()
                try:
                    if baseline is None:
                        common.say("No baseline yet: calibrating first.")
                        # A first start at login may find a video call holding the camera: wait, as watching does.
                        session.use_baseline(calibrate_at_terminal(session, FIRST_RUN_CALIBRATION_S,
                                                                   wait_for_camera=True))
                    reason = session.run()
                except SessionStopped as stop:
                    reason = stop.reason
        finally:
            alerts.close()
            if history is not None:
                history.close()
            if tray is not None:
                tray.close()
    common.say(f"Stopped ({reason}).")
    return 0


def keep_baseline(baseline: Baseline, path: Path) -> None:
    """Save a first-run baseline; if it cannot be saved (read-only home), watch with it anyway and say so."""
    try:
        save_baseline(baseline, path)
    except PostureWatchError as err:
        common.say(f"posture-watch: {err}; watching with this calibration for now (it is lost when you stop)")
        return
    common.say(f"Baseline saved to {shown(path)}.")


# Holds that end by themselves, not by `resume`, say what ends them.
HELD_UNTIL = {"screen_locked": "until the screen is unlocked", "quiet_hours": "until working hours begin"}
RESUMED = {"screen_locked": "screen unlocked", "quiet_hours": "working hours begin"}


class ConsoleReport:
    """A session subscriber: what a running watcher says on the terminal, one line per change. `watching` is
    said when the camera first opens to watch (not before: a camera that cannot be opened is the only line)."""

    def __init__(self, clock: Clock, watching: str | None = None) -> None:
        self._clock = clock
        self._watching = watching

    def __call__(self, event: Event) -> None:
        if isinstance(event, CalibrationStarted):  # an instruction, not a report
            common.say(f"Calibrating: sit upright, look at the screen and keep still for {event.seconds:g} s ...")
            return
        if isinstance(event, CameraChanged) and event.status in ("open", "back") and self._watching:
            common.say(self._watching)  # "back": it was busy at first
            self._watching = None
        line = self._line(event)
        if line is not None:
            common.say(f"{self._clock.wall(event.t):%H:%M:%S} {line}")

    def _line(self, event: Event) -> str | None:
        match event:
            case StateChanged(state=state, faults=faults, reason=reason):
                detail = ", ".join(faults) or reason
                return f"{state} ({detail})" if detail else state
            case SetupWarning(text=text):
                return f"note: {text}"
            case Paused(reason=reason, until=until):
                when = HELD_UNTIL.get(reason, "until resumed") if until is None else \
                    f"until {self._clock.wall(until):%H:%M}"
                return f"{reason.replace('_', ' ')}: camera off {when}"
            case Resumed(reason=reason):
                return RESUMED.get(reason, f"{reason.replace('_', ' ')} over")
            case CameraChanged(status=status, detail=detail) if status != "closed" and status != "open":
                return f"camera {status}: {detail}" if detail else f"camera {status}"
            case Calibrated(baseline=baseline):
                return f"calibrated on {baseline.samples} samples"
            case CalibrationFailed(reason=reason):
                return reason
        return None
