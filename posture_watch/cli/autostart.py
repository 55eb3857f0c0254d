"""`posture-watch autostart enable | disable | status`: start the watcher at login, or not."""

from __future__ import annotations

import argparse
import shlex

from ..store import default_baseline_path
from . import common

EXAMPLES = """\
examples:
  posture-watch autostart enable    start `posture-watch run` at every login (this install, your settings file)
  posture-watch autostart status    whether it does, and what it starts
  posture-watch autostart disable   stop starting it at login (a running watcher keeps running)

Linux: ~/.config/autostart/posture-watch.desktop. macOS: ~/Library/LaunchAgents/posture-watch.plist.
Windows: the posture-watch value of HKEY_CURRENT_USER\\Software\\Microsoft\\Windows\\CurrentVersion\\Run.
"""


def add_command(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "autostart", help="start watching at login, or not", formatter_class=common.Formatter, epilog=EXAMPLES,
        description="Makes your desktop start `posture-watch run` when you log in. Nothing else ever sets this up. "
        "The watcher started at login reads its settings from the settings file (`posture-watch config`).")
    parser.add_argument("action", choices=("enable", "disable", "status"))
    parser.set_defaults(command=autostart_command)


def autostart_command(args: argparse.Namespace) -> int:
    from ..autostart import check_start_command, describe, for_this_system, start_command

    autostart = for_this_system()
    if args.action == "enable":
        argv = start_command()
        check_start_command(argv)
        autostart.enable(argv)
        print(f"on: {autostart.where} starts `{shlex.join(argv)}` at login")
        if not default_baseline_path().exists():
            common.say("posture-watch: note: there is no baseline yet, so the first start calibrates on whoever sits "
                       "there; `posture-watch calibrate` now makes one while you sit upright")
        return 0
    if args.action == "disable":
        print(f"off: {autostart.where} removed" if autostart.disable() else "off (it was not on)")
        return 0
    fine, text = describe(autostart)
    print(text)
    return 0 if fine else 1
