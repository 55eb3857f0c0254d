"""`posture-watch replay`: a recorded clip through the same session as the webcam, every frame."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import PostureWatchError
from ..session import Mailbox
from ..store import load_baseline, shown
from . import common
from .watch import Interrupted

EXAMPLES = """\
examples:
  posture-watch replay samples/hunch_slow.mp4 --alert-after 3
                                   a timeline of states and alerts (calibrates on the clip's first 2 s)
  posture-watch replay clip.mp4 --baseline calibration/clip.json --json
                                   one JSON document on stdout, judged against a saved baseline
  posture-watch replay clip.mp4 --notify
                                   also send the alerts as desktop notifications
"""
DEFAULT_CALIBRATE_FIRST_S = 2.0


def add_command(sub: argparse._SubParsersAction) -> None:
    rep = sub.add_parser(
        "replay", parents=[common.model_options(), common.policy_options()],
        help="analyse a recorded clip, every frame", formatter_class=common.Formatter, epilog=EXAMPLES,
        description="Replay a video through the same pipeline as the webcam and print a timeline of states and "
        "alerts. Sends no notifications unless --notify.")
    rep.add_argument("video", type=Path, help="the clip (mp4, avi, ...)")
    how = rep.add_mutually_exclusive_group()
    how.add_argument("--calibrate-first", type=common.seconds, metavar="SECONDS",
                     help=f"calibrate on the clip's first SECONDS (the default, with {DEFAULT_CALIBRATE_FIRST_S:g})")
    how.add_argument("--baseline", type=Path, metavar="FILE", help="judge against this baseline file instead")
    rep.add_argument("--json", action="store_true", help="print one JSON document on stdout instead")
    rep.add_argument("--notify", action="store_true", help="also send the alerts as desktop notifications")
    rep.set_defaults(command=replay_command)


def replay_command(args: argparse.Namespace) -> int:
    from ..notify import EventNotifier, open_notifier
    from ..pose import PoseEstimator
    from ..replay import replay, timeline_text, to_json
    from ..session import SessionStopped

    if not args.video.is_file():
        raise PostureWatchError(f"{shown(args.video)}: no such video file")
    if args.calibrate_first is not None and args.calibrate_first < common.th.CALIBRATION_MIN_SECONDS:
        raise PostureWatchError(f"--calibrate-first needs at least {common.th.CALIBRATION_MIN_SECONDS:g} s of the "
                                "clip to measure a baseline")
    baseline = (load_baseline(args.baseline) if args.baseline
                else DEFAULT_CALIBRATE_FIRST_S if args.calibrate_first is None else args.calibrate_first)
    mailbox = Mailbox()
    common.stop_on_signals(mailbox)
    subscribers = []
    alerts = EventNotifier(open_notifier("auto"), mailbox.post) if args.notify else None
    if alerts is not None:
        subscribers.append(alerts)
    progress = ProgressBar() if sys.stderr.isatty() else None
    try:
        with PoseEstimator(args.model) as estimator:
            report = replay(args.video, baseline, estimator, common.replay_settings(args), tuple(subscribers),
                            progress.update if progress else None, mailbox)
    except SessionStopped as stop:
        raise Interrupted(f"interrupted by {stop.reason}: the replay was not finished") from None
    finally:
        if progress:
            progress.done()
        if alerts:
            alerts.close()
    if args.json:
        json.dump(to_json(report), sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        print(timeline_text(report))
    return 0


class ProgressBar:
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
