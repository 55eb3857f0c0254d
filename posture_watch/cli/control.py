"""`posture-watch status | pause | resume | snooze | break | recalibrate | quit`: the running watcher, controlled
from another terminal (or a script, a keyboard shortcut) through its control socket."""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import Any

from ..core import thresholds as th
from ..core.advice import spoken_duration
from . import common

EXAMPLES = {
    "status": """\
examples:
  posture-watch status              how the running watcher is doing: state, today's times, last alert, camera
  posture-watch status --json       the same as one JSON document (for scripts and status bars)
""",
    "pause": """\
examples:
  posture-watch pause               pause until `posture-watch resume` (the camera goes off)
  posture-watch pause 1h            pause for an hour, e.g. during a video call
""",
    "resume": """\
examples:
  posture-watch resume              end a pause, snooze or break now
""",
    "snooze": """\
examples:
  posture-watch snooze 30m          no alerts (and no camera) for 30 minutes
  posture-watch snooze 90s
""",
    "break": f"""\
examples:
  posture-watch break               taking a break: the camera goes off for {spoken_duration(th.BREAK_S)} and the
                                    sitting clock starts afresh
  posture-watch break 15m           a longer one
""",
    "recalibrate": """\
examples:
  posture-watch recalibrate         sit upright and look at the screen: a new baseline from the next 5 s
""",
    "quit": """\
examples:
  posture-watch quit                stop the running watcher (as Ctrl-C in its terminal would)
""",
}


def add_commands(sub: argparse._SubParsersAction) -> None:
    def command(name: str, help_text: str, description: str) -> argparse.ArgumentParser:
        parser = sub.add_parser(name, help=help_text, description=description, epilog=EXAMPLES[name],
                                formatter_class=common.Formatter)
        parser.set_defaults(command=control_command, control=name)
        return parser

    status = command("status", "how the running watcher is doing",
                     "Asks the running watcher how it is doing: its state, the time in each state today, the last "
                     "alert, any pause or snooze and until when, whether the camera is open, and the baseline's "
                     "age. Exits 1 if no watcher is running.")
    status.add_argument("--json", action="store_true", help="print the status as one JSON document")
    pause = command("pause", "pause the running watcher (the camera goes off)",
                    "Pauses the running watcher: the camera closes at once and nothing alerts until it resumes.")
    pause.add_argument("duration", nargs="?", type=common.duration, metavar="DURATION",
                       help="how long, like 90s, 30m or 1h (default: until `posture-watch resume`)")
    command("resume", "end a pause, snooze or break",
            "Ends a pause, snooze or break now. Quiet hours and a locked screen still keep the camera off.")
    snooze = command("snooze", "no alerts for a while",
                     "Snoozes the running watcher: no alerts and no camera for DURATION.")
    snooze.add_argument("duration", type=common.duration, metavar="DURATION", help="how long, like 90s, 30m or 1h")
    pause_for_break = command("break", "taking a break now",
                              "Tells the running watcher you are taking a break: the camera goes off, and the "
                              "current slouch and the time sitting are forgotten.")
    pause_for_break.add_argument("duration", nargs="?", type=common.duration, metavar="DURATION",
                                 help=f"how long (default {spoken_duration(th.BREAK_S)})")
    command("recalibrate", "measure a new baseline now",
            "Asks the running watcher to calibrate again: sit upright, look at the screen and keep still for 5 s.")
    command("quit", "stop the running watcher", "Stops the running watcher, as Ctrl-C in its terminal would.")


def control_command(args: argparse.Namespace) -> int:
    from ..control import request

    if args.control == "recalibrate":
        common.say("Sit upright, look at the screen and keep still for 5 s ...")
    reply = request(args.control, getattr(args, "duration", None))
    if args.control == "status" and reply.get("ok") and isinstance(reply.get("status"), dict):
        status = reply["status"]
        print(json.dumps(status, indent=2) if args.json else status_text(status, datetime.now().astimezone()))
        return 0
    if not reply.get("ok"):
        common.say(f"posture-watch: {reply.get('message')}")
        return 1
    print(reply.get("message"))
    return 0


def status_text(status: dict[str, Any], now: datetime) -> str:
    """The status document as a few readable lines."""
    state = status.get("state")
    lines = [f"posture-watch {status.get('version')} (PID {status.get('pid')}): {status.get('phase')}"
             + (f", {state}" if state and status.get("phase") == "watching" else "")
             + (f" ({', '.join(status['faults'])})" if status.get("faults") else "")]
    for hold in status.get("holds") or []:
        reason = str(hold.get("reason", "")).replace("_", " ")
        until = _time(hold.get("until"))
        lines.append(f"{reason} until {until}" if until else
                     f"{reason} until resumed" if reason == "paused" else reason)
    camera = status.get("camera")
    lines.append(f"camera: {camera}" + (" (the lens looks covered)" if status.get("camera_covered") else ""))
    today = status.get("today") or {}
    spent = [f"{name} {spoken_duration(seconds)}" for name, seconds in today.items() if seconds]
    lines.append(f"today: {', '.join(spent) if spent else 'nothing measured yet'}")
    alert = status.get("last_alert")
    lines.append(f"last alert: {_time(alert.get('at'))}, {alert.get('title')}" if alert else "last alert: none yet")
    if status.get("break_due"):
        lines.append(f"break reminder at {_time(status['break_due'])}")
    baseline = status.get("baseline")
    if baseline:
        age = _age(baseline.get("created"), now)
        lines.append(f"baseline: {age + ' old' if age else baseline.get('created')} ({baseline.get('samples')} "
                     f"samples, {baseline.get('camera')})")
    else:
        lines.append("baseline: none yet")
    return "\n".join(lines)


def _time(iso: object) -> str | None:
    """A local ISO time as HH:MM, with the date when it is not today."""
    if not isinstance(iso, str):
        return None
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    today = datetime.now(moment.tzinfo).date()
    return f"{moment:%H:%M}" if moment.date() == today else f"{moment:%Y-%m-%d %H:%M}"


def _age(iso: object, now: datetime) -> str | None:
    if not isinstance(iso, str):
        return None
    try:
        created = datetime.fromisoformat(iso)
        seconds = (now - created).total_seconds()
    except (ValueError, TypeError):  # not ISO, or without a time zone
        return None
    days = seconds / 86400
    return f"{days:.0f} days" if days >= 2 else spoken_duration(max(seconds, 0))
