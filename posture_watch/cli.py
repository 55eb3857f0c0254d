"""The `posture-watch` command: run, calibrate, replay, doctor.

This is the only place that prints for the user and chooses exit codes: 0 done, 1 a problem the message
explains, 2 a usage error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from . import __version__, offline
from .baseline import Baseline, default_baseline_path, load_baseline, save_baseline
from .errors import PostureWatchError
from .policy import PolicySettings

if TYPE_CHECKING:
    from .monitor import Monitor
    from .pose import PoseEstimator
    from .sources import FrameSource

DEFAULTS = PolicySettings()
EPILOG = """\
examples:
  posture-watch calibrate                 sit upright for 5 s; saves your baseline
  posture-watch run                       watch through camera 0 and alert after a lasting hunch
  posture-watch run --camera clip.mp4     use a recorded clip as the webcam (plays in real time)
  posture-watch replay clip.mp4 --alert-after 3
                                          analyse every frame of a clip and print a timeline
  posture-watch doctor                    check the model, camera, notifications and baseline
"""


def main(argv: list[str] | None = None) -> int:
    guard = offline.block_network()  # first, before MediaPipe is loaded: see offline.py
    if guard.warning:
        print(f"posture-watch: network access {guard.warning}", file=sys.stderr)
    args = _parser().parse_args(argv)
    try:
        return int(args.command(args) or 0)
    except PostureWatchError as err:
        print(f"posture-watch: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("posture-watch: interrupted", file=sys.stderr)
        return 130


# ---- arguments ---------------------------------------------------------------------------------------------


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 <= value < 1e6:
        raise argparse.ArgumentTypeError(f"{text} is out of range (0 to 1e6 seconds)")
    return value


def _frame_rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a frame rate") from None
    if not 1 <= value <= 240:
        raise argparse.ArgumentTypeError("the frame rate goes from 1 to 240")
    return value


def _sensitivity(text: str) -> float:
    value = _seconds(text)
    if not 0.2 <= value <= 5:
        raise argparse.ArgumentTypeError("sensitivity goes from 0.2 (only big slouches) to 5 (every small one)")
    return value


def _resolution(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not WIDTHxHEIGHT, e.g. 640x480") from None
    return width, height


def _parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="posture-watch",
        description="Watches your posture through the webcam and nudges you when a hunch lasts. "
        "Pictures stay in memory on this machine; nothing is saved or sent.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    top.add_argument("--version", action="version", version=f"posture-watch {__version__}")
    sub = top.add_subparsers(title="commands", required=True, metavar="COMMAND")

    model = argparse.ArgumentParser(add_help=False)
    model.add_argument("--model", type=Path, metavar="PATH",
                       help="another MediaPipe pose .task bundle (default: the bundled lite model)")
    policy = argparse.ArgumentParser(add_help=False)
    policy.add_argument("--alert-after", type=_seconds, default=DEFAULTS.alert_after, metavar="SECONDS",
                        help="how long a bad posture must last before an alert (default %(default)g)")
    policy.add_argument("--cooldown", type=_seconds, default=DEFAULTS.cooldown, metavar="SECONDS",
                        help="least time between two alerts (default %(default)g)")
    policy.add_argument("--sensitivity", type=_sensitivity, default=1.0, metavar="X",
                        help="above 1 alerts on smaller deviations, below 1 only on bigger ones (default 1)")
    camera = argparse.ArgumentParser(add_help=False)
    camera.add_argument("--camera", default="0", metavar="INDEX|VIDEO",
                        help="webcam number, or a video file that plays as if it were a webcam (default 0)")
    camera.add_argument("--resolution", type=_resolution, metavar="WxH",
                        help="webcam resolution to ask for (default 640x480); a clip is scaled to it")
    camera.add_argument("--fps", type=_frame_rate, metavar="N",
                        help="frame rate to ask the webcam for; a clip is delivered at this rate (default: "
                        "the camera's or the clip's own)")
    camera.add_argument("--loop", action="store_true", help="play a clip used as the camera over and over")

    run = sub.add_parser("run", parents=[camera, model, policy], help="watch your posture through the webcam",
                         description="Watch through the webcam and alert when a bad posture lasts. Starts with "
                         "calibration if there is no baseline yet. Ctrl-C stops; SIGUSR1 pauses and resumes "
                         "(the camera is closed while paused).")
    run.add_argument("--baseline", type=Path, metavar="FILE", help=f"baseline to use (default {_shown_path()})")
    run.add_argument("--notifier", choices=("auto", "desktop", "plyer", "console", "none"), default="auto",
                     help="where alerts go (default auto: desktop notification, else the terminal)")
    run.add_argument("--interval", type=_seconds, default=1.5, metavar="SECONDS",
                     help="seconds between samples while nothing changes (default %(default)g)")
    run.set_defaults(command=_cmd_run)

    cal = sub.add_parser("calibrate", parents=[camera, model], help="record your upright baseline",
                         description="Sit upright, look at the screen and keep still for a few seconds: the "
                         "baseline measured now is what every later sample is compared with.")
    cal.add_argument("--seconds", type=_seconds, default=5.0, help="how long to measure (default %(default)g)")
    cal.add_argument("--output", type=Path, metavar="FILE", help=f"where to save it (default {_shown_path()})")
    cal.set_defaults(command=_cmd_calibrate)

    rep = sub.add_parser("replay", parents=[model, policy], help="analyse a recorded clip, every frame",
                         description="Replay a video through the same pipeline as the webcam and print a "
                         "timeline of states and alerts. Sends no notifications unless --notify.")
    rep.add_argument("video", type=Path, help="the clip (mp4, avi, ...)")
    how = rep.add_mutually_exclusive_group()
    how.add_argument("--calibrate-first", type=_seconds, metavar="SECONDS",
                     help="calibrate on the clip's first SECONDS (the default, with 2 s)")
    how.add_argument("--baseline", type=Path, metavar="FILE", help="judge against this baseline file instead")
    rep.add_argument("--json", action="store_true", help="print one JSON document on stdout instead")
    rep.add_argument("--notify", action="store_true", help="also send the alerts as desktop notifications")
    rep.set_defaults(command=_cmd_replay)

    doc = sub.add_parser("doctor", parents=[camera, model], help="check that everything needed works",
                         description="Checks the pose model, the camera, notifications and the baseline, one "
                         "line each. Exits 1 if anything needs fixing.")
    doc.set_defaults(command=_cmd_doctor)
    return top


def _shown_path() -> str:
    return str(default_baseline_path()).replace(str(Path.home()), "~")


def _settings(args: argparse.Namespace) -> PolicySettings:
    return PolicySettings(alert_after=args.alert_after, cooldown=args.cooldown)


# ---- commands ----------------------------------------------------------------------------------------------


def _open_source(args: argparse.Namespace, interval: float, clock_origin: float | None = None) -> FrameSource:
    from .sources import CameraSource, PacedClipSource

    if args.camera.isdigit():
        return CameraSource(int(args.camera), args.resolution or (640, 480), interval, clock_origin, args.fps)
    return PacedClipSource(args.camera, interval, args.fps, args.resolution, args.loop, clock_origin)


def _calibrate(args: argparse.Namespace, estimator: PoseEstimator, output: Path) -> Baseline:
    from .calibrate import baseline_from, collect

    while True:
        source = _open_source(args, interval=0.2)
        print(f"Calibrating: sit upright, look at the screen and keep still for {args.seconds:g} s ...",
              file=sys.stderr)
        try:
            observations = collect(source, estimator, args.seconds)
        finally:
            source.close()  # the camera goes off as soon as we have what we need
        try:
            baseline = baseline_from(observations, source.label, source.size)
            break
        except PostureWatchError as err:
            if not sys.stdin.isatty():
                raise
            print(f"posture-watch: {err}\nPress Enter to try again (Ctrl-C to stop) ", end="", file=sys.stderr,
                  flush=True)
            try:
                input()
            except (EOFError, OSError):  # end of input, or the terminal went away (EIO on a closed pty)
                print(file=sys.stderr)  # end the prompt's line
                raise err from None
    save_baseline(baseline, output)
    print(f"Baseline saved to {output} ({baseline.samples} samples).", file=sys.stderr)
    return baseline


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from .pose import PoseEstimator

    with PoseEstimator(args.model) as estimator:
        _calibrate(args, estimator, args.output or default_baseline_path())
    return 0


def _cmd_replay(args: argparse.Namespace) -> int:
    from .notify import open_notifier
    from .pose import PoseEstimator
    from .replay import replay, timeline_text, to_json

    if not args.video.is_file():
        raise PostureWatchError(f"{args.video}: no such video file")
    if args.calibrate_first is not None and args.calibrate_first < 0.5:
        raise PostureWatchError("--calibrate-first needs at least 0.5 s of the clip to measure a baseline")
    baseline: Baseline | float = (
        load_baseline(args.baseline) if args.baseline else 2.0 if args.calibrate_first is None else args.calibrate_first
    )
    notifier = open_notifier("auto") if args.notify else None
    progress = _ProgressBar() if sys.stderr.isatty() else None
    try:
        with PoseEstimator(args.model) as estimator:
            report = replay(args.video, baseline, estimator, _settings(args), args.sensitivity, notifier,
                            progress.update if progress else None)
    finally:
        if progress:
            progress.done()
        if notifier:
            notifier.close()
    if args.json:
        json.dump(to_json(report), sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        print(timeline_text(report))
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from .monitor import Monitor, SamplingPlan
    from .notify import open_notifier
    from .policy import AlertPolicy
    from .pose import PoseEstimator

    path = args.baseline or default_baseline_path()
    baseline = None if args.baseline is None and not path.exists() else load_baseline(path)
    with PoseEstimator(args.model) as estimator:
        if baseline is None:
            print("No baseline yet: calibrating first.", file=sys.stderr)
            args.seconds = 5.0
            baseline = _calibrate(args, estimator, path)
        monitor = Monitor(estimator, baseline, AlertPolicy(_settings(args)), sensitivity=args.sensitivity,
                          plan=SamplingPlan(steady=args.interval))
        monitor.notifier = open_notifier(args.notifier, on_action=monitor.on_action)
        try:
            return _watch(args, monitor)
        finally:
            monitor.notifier.close()


def _watch(args: argparse.Namespace, monitor: Monitor) -> int:
    """The webcam loop. The camera is open only while sampling: a pause or a long snooze closes it."""
    running = threading.Event()  # cleared while paused (SIGUSR1 toggles)
    running.set()
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGUSR1, lambda _s, _f: running.clear() if running.is_set() else running.set())
    origin = time.monotonic()
    print(f"Watching ({args.camera}); Ctrl-C to stop, SIGUSR1 to pause.", file=sys.stderr)
    try:
        while True:
            source = _open_source(args, args.interval, origin)
            if source.size != monitor.baseline.resolution:
                print(f"posture-watch: the baseline was measured at {monitor.baseline.resolution[0]}x"
                      f"{monitor.baseline.resolution[1]}, the camera now gives {source.size[0]}x{source.size[1]}: "
                      "run `posture-watch calibrate` again if alerts seem wrong", file=sys.stderr)
            try:
                last_state = None
                for sample in monitor.run(source):
                    state = sample.decision.state
                    if state != last_state:
                        faults = f" ({', '.join(sample.decision.faults)})" if sample.decision.faults else ""
                        print(f"{time.strftime('%H:%M:%S')} {state}{faults}", file=sys.stderr)
                        last_state = state
                    if sample.setup_warning:
                        print(f"posture-watch: {sample.setup_warning}", file=sys.stderr)
                    if not running.is_set() or monitor.policy.snoozed(sample.t + 60):
                        break
                else:
                    return 0  # a clip used as the camera has ended
            finally:
                source.close()
            if not running.is_set():
                print("Paused: camera closed (SIGUSR1 again resumes).", file=sys.stderr)
                running.wait()
                print("Resumed.", file=sys.stderr)
            else:
                print("Snoozed: camera closed until the snooze ends.", file=sys.stderr)
                while monitor.policy.snoozed(time.monotonic() - origin) and running.is_set():
                    time.sleep(1.0)
    except KeyboardInterrupt:
        print("Stopped.", file=sys.stderr)
        return 0


def _raise_interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _cmd_doctor(args: argparse.Namespace) -> int:
    from .doctor import run_checks

    checks = run_checks(args.model, lambda: _open_source(args, interval=0.0))
    for ok, line in checks:
        print(f"{'ok     ' if ok else 'PROBLEM'}  {line}")
    return 0 if all(ok for ok, _ in checks) else 1


class _ProgressBar:
    """A one-line progress bar on stderr for replays (only when stderr is a terminal)."""

    def __init__(self) -> None:
        self._last = -1

    def update(self, done: int, total: int) -> None:
        if total <= 0:
            return
        percent = min(100, 100 * done // total)
        if percent != self._last:
            bar = "#" * (percent // 4)
            sys.stderr.write(f"\r  [{bar:<25}] {percent:3d}%  {done}/{total} frames")
            sys.stderr.flush()
            self._last = percent

    def done(self) -> None:
        if self._last >= 0:
            sys.stderr.write("\n")
