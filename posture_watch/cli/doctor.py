"""`posture-watch doctor`: checks that everything the watcher needs works, one line each."""

from __future__ import annotations

import argparse

from ..session import LiveClock
from ..settings import InvalidSettings, Settings
from . import common

EXAMPLES = """\
examples:
  posture-watch doctor                       check the model, camera 0, notifications and your baseline
  posture-watch doctor --camera 1            check another webcam
"""


def add_command(sub: argparse._SubParsersAction) -> None:
    doc = sub.add_parser(
        "doctor", parents=[common.camera_options(clip_options=False), common.model_options()],
        help="check that everything needed works", formatter_class=common.Formatter, epilog=EXAMPLES,
        description="Checks the pose model, the camera, notifications, the baseline, the settings file and whether "
        "posture-watch starts at login, one line each. Exits 1 if anything needs fixing.")
    doc.set_defaults(command=doctor_command)


def doctor_command(args: argparse.Namespace) -> int:
    from ..doctor import run_checks

    try:
        settings = common.effective_settings(args)
    except InvalidSettings:  # the settings check says what is wrong; the camera is checked with the defaults
        settings = Settings()
    checks = run_checks(args.model, lambda: common.camera_opener(settings, args, LiveClock())(0.0))
    for check in checks:
        print(f"{'ok     ' if check.ok else 'PROBLEM'}  {check.label}: {check.detail}")
    return 0 if all(check.ok for check in checks) else 1
