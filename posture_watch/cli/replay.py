"""`posture-watch replay`: a recorded clip through the same session as the webcam, every frame (or, with
--run-pace, the frames `run` would sample)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path

from ..errors import PostureWatchError
from ..session import Mailbox
from ..sources import check_video_file
from ..store import load_baseline
from . import common
from .history import local_time
from .watch import Interrupted

EXAMPLES = """\
examples:
  posture-watch replay samples/hunch_slow.mp4 --alert-after 3
                                   a timeline of states and alerts (calibrates on the clip's first 2 s)
  posture-watch replay clip.mp4 --baseline calibration/clip.json --json
                                   one JSON document on stdout, judged against a saved baseline
  posture-watch replay clip.mp4 --run-pace
                                   only the frames `posture-watch run` would have looked at: what it would say
  posture-watch replay clip.mp4 --notify
                                   also send the alerts as desktop notifications
  posture-watch replay clip.mp4 --record day.sqlite3 --start 2026-03-02T09:30
                                   keep what it saw in a history database, as if watched from 09:30
                                   (then: posture-watch report --history day.sqlite3 --day 2026-03-02)
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
    how.add_argument("--calibrate-first", type=common.calibration_seconds, metavar="SECONDS",
                     help=f"calibrate on the clip's first SECONDS (the default, with {DEFAULT_CALIBRATE_FIRST_S:g})")
    how.add_argument("--baseline", type=Path, metavar="FILE", help="judge against this baseline file instead")
    rep.add_argument("--run-pace", action="store_true",
                     help="take the frames as `run` samples a webcam (every 0.2 s while calibrating, then every "
                     "1.5 s, 0.3 s while a change is being confirmed), on the clip's time, instead of every frame")
    rep.add_argument("--json", action="store_true", help="print one JSON document on stdout instead")
    rep.add_argument("--notify", action="store_true", help="also send the alerts as desktop notifications")
    rep.add_argument("--record", type=Path, metavar="DB",
                     help="also keep what the replay saw in this history database (created if missing; no "
                     "retention is applied to it)")
    rep.add_argument("--start", type=local_time, metavar="ISO-TIME",
                     help="with --record: the local time the clip's first frame is said to be from (default now)")
    rep.set_defaults(command=replay_command)


def replay_command(args: argparse.Namespace) -> int:
    from ..history import History
    from ..notify import EventNotifier, open_notifier
    from ..replay import replay, timeline_text, to_json
    from ..session import ClipClock, SessionStopped

    check_video_file(args.video)
    if args.start is not None and args.record is None:
        raise PostureWatchError("--start goes with --record: it says when the recorded replay happened")
    baseline = (load_baseline(args.baseline) if args.baseline
                else DEFAULT_CALIBRATE_FIRST_S if args.calibrate_first is None else args.calibrate_first)
    mailbox = Mailbox()
    common.stop_on_signals(mailbox)
    subscribers = []
    alerts = EventNotifier(open_notifier("auto"), mailbox.post) if args.notify else None
    if alerts is not None:
        subscribers.append(alerts)
    clock = ClipClock(args.start or datetime.now().astimezone())
    history = (History(args.record, clock, f"replay of {args.video.name}", retention_days=None, warn=common.say)
               if args.record is not None else None)
    if history is not None:
        subscribers.append(history)
    progress = ProgressBar() if sys.stderr.isatty() else None
    try:
        with common.pose_estimator(args) as estimator:
            report = replay(args.video, baseline, estimator, common.replay_settings(args), tuple(subscribers),
                            progress.update if progress else None, mailbox, clock, sampled=args.run_pace)
    except SessionStopped as stop:
        raise Interrupted(f"interrupted by {stop.reason}: the replay was not finished") from None
    finally:
        if progress:
            progress.done()
        if alerts:
            alerts.close()
        if history is not None:
            history.close()
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
