"""The `posture-watch` command. It only parses arguments and prints; the work is done by the session and the
modules around it.

Exit status: 0 done (and a watcher stopped by Ctrl-C, SIGTERM or SIGHUP in any phase), 1 a problem the message
explains, 2 a usage error, 130 a one-shot command (calibrate, replay, doctor) stopped before it finished.
"""

from __future__ import annotations

import argparse
import os
import sys

from .. import __version__, offline
from ..errors import PostureWatchError
from . import autostart, common, config, control, doctor, history, replay, report, watch

EPILOG = """\
examples:
  posture-watch calibrate                 sit upright for 5 s; saves your baseline
  posture-watch run                       watch through camera 0 and alert after a lasting hunch
  posture-watch run --camera clip.mp4     use a recorded clip as the webcam (plays in real time)
  posture-watch replay clip.mp4 --alert-after 3
                                          analyse every frame of a clip and print a timeline
  posture-watch status                    how the running watcher is doing (also: pause, resume, snooze,
                                          break, recalibrate, quit)
  posture-watch config set watch.alert_after 120
                                          keep a setting in the settings file
  posture-watch autostart enable          start watching at login
  posture-watch doctor                    check the model, camera, notifications and baseline
  posture-watch report --open             how you sat today: summary, timeline and plots in the browser
  posture-watch history export --csv      your posture history, minute by minute

Every command has its own --help with examples.
"""


def main(argv: list[str] | None = None) -> int:
    guard = offline.block_network()  # first, before MediaPipe is loaded: see offline.py
    if guard.warning:
        common.say(f"posture-watch: network access {guard.warning}")
    args = parser().parse_args(argv)
    try:
        return int(args.command(args) or 0)
    except watch.Interrupted as err:
        common.say(f"posture-watch: {err}")
        return 130
    except PostureWatchError as err:
        for line in str(err).splitlines():  # several problems (an invalid settings file): one line each
            common.say(f"posture-watch: {line}")
        return 1
    except BrokenPipeError:  # `posture-watch status | head -1`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing more to flush at exit
        return 0
    except KeyboardInterrupt:  # a Ctrl-C before the command installed its own handling
        common.say("posture-watch: interrupted")
        return 130


def parser() -> argparse.ArgumentParser:
    top = common.Parser(
        prog="posture-watch",
        description="Watches your posture through the webcam and nudges you when a hunch lasts. "
        "Pictures stay in memory on this machine; nothing is saved or sent.",
        epilog=EPILOG, formatter_class=common.Formatter)
    top.add_argument("--version", action="version", version=f"posture-watch {__version__}")
    sub = top.add_subparsers(title="commands", required=True, metavar="COMMAND")
    watch.add_commands(sub)
    control.add_commands(sub)
    replay.add_command(sub)
    config.add_command(sub)
    autostart.add_command(sub)
    doctor.add_command(sub)
    history.add_command(sub)
    report.add_command(sub)
    return top


if __name__ == "__main__":
    sys.exit(main())
