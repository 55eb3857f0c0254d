"""`posture-watch history export` and `posture-watch history forget`: the posture history, out or gone."""

from __future__ import annotations

import argparse
import io
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

from ..errors import PostureWatchError
from ..store import shown
from . import common

EXAMPLES = """\
examples:
  posture-watch history export --csv                    every minute recorded, as CSV on stdout
  posture-watch history export --csv --events --out events.csv
                                                        every alert, change of state and pause, to a file
  posture-watch history forget --before 2026-01-01      delete everything recorded before that day
  posture-watch history forget --all --yes              delete the whole history
"""


def local_time(text: str) -> datetime:
    """'2026-03-02T09:30' (local time) or with an offset ('...+01:00') -> an aware datetime."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date and time like 2026-03-02T09:30") from None
    return value if value.tzinfo is not None else value.astimezone()


def day(text: str) -> date:
    """'2026-03-02', 'today' or 'yesterday' -> a date."""
    today = datetime.now().astimezone().date()
    named = {"today": today, "yesterday": today - timedelta(days=1)}
    if text.lower() in named:
        return named[text.lower()]
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-03-02 (or today, yesterday)") from None


def history_option(group: argparse.ArgumentParser) -> None:
    from ..history import default_history_path

    group.add_argument("--history", type=Path, metavar="DB",
                       help=f"the history database (default {shown(default_history_path())})")


def history_path(args: argparse.Namespace) -> Path:
    from ..history import default_history_path

    return args.history or default_history_path()


def add_command(sub: argparse._SubParsersAction) -> None:
    hist = sub.add_parser(
        "history", help="export or forget your posture history", formatter_class=common.Formatter,
        epilog=EXAMPLES,
        description="While `posture-watch run` watches, it keeps a history: per minute, the time upright, "
        "slouching, away and unmeasurable, the median neck and shoulder angles and the alerts, snoozes and breaks; "
        "and every alert (with its advice), change of state and pause. Never a picture. Days older than 90 are "
        "deleted as it goes. `posture-watch report` shows it.")
    actions = hist.add_subparsers(title="actions", required=True, metavar="ACTION")

    export = actions.add_parser("export", help="write the history as CSV", formatter_class=common.Formatter,
                                epilog=EXAMPLES, description="Write the history as CSV: one row per minute "
                                "(per watcher, when two ran at once), or with --events one row per event. Times "
                                "are local, with their UTC offset.")
    export.add_argument("--csv", action="store_true", help="CSV, the export's format (the default)")
    export.add_argument("--events", action="store_true", help="the events instead of the per-minute totals")
    export.add_argument("--out", type=Path, metavar="FILE", help="write to FILE (readable by you only) instead of "
                        "stdout")
    history_option(export)
    export.set_defaults(command=export_command)

    forget = actions.add_parser("forget", help="delete some or all of the history",
                                formatter_class=common.Formatter, epilog=EXAMPLES,
                                description="Delete the history of the days before a date, or all of it. The "
                                "deleted rows are wiped from the file, not only unlinked.")
    which = forget.add_mutually_exclusive_group(required=True)
    which.add_argument("--all", action="store_true", help="delete everything (asks first, unless --yes)")
    which.add_argument("--before", type=day, metavar="DATE", help="delete the days before DATE (YYYY-MM-DD)")
    forget.add_argument("--yes", action="store_true", help="do not ask before deleting everything")
    history_option(forget)
    forget.set_defaults(command=forget_command)


def export_command(args: argparse.Namespace) -> int:
    from ..history import HistoryFile
    from ..store import write_private_file

    with HistoryFile(history_path(args)) as history:
        if args.out is None:
            history.export_csv(sys.stdout, args.events)
            return 0
        text = io.StringIO()
        rows = history.export_csv(text, args.events)
    try:
        write_private_file(args.out, text.getvalue())
    except OSError as err:
        raise PostureWatchError(f"cannot write {shown(args.out)}: {err.strerror}") from None
    common.say(f"Exported {rows} {'event' if args.events else 'minute'}{'' if rows == 1 else 's'} to "
               f"{shown(args.out)}.")
    return 0


def forget_command(args: argparse.Namespace) -> int:
    from ..history import HistoryFile

    path = history_path(args)
    with HistoryFile(path, write=True) as history:
        reach = history.reach(args.before)
        if reach.minutes == 0 and reach.events == 0:
            common.say("Nothing to forget" + ("." if args.before is None else f" before {args.before}."))
            return 0
        what = (f"{reach.minutes} minute{'' if reach.minutes == 1 else 's'} and {reach.events} "
                f"event{'' if reach.events == 1 else 's'} ({_days(reach.first, reach.last)})")
        if args.all and not args.yes and not _confirmed(f"Delete all the history in {shown(path)}: {what}?"):
            common.say("Nothing deleted.")
            return 1
        forgotten = history.forget(args.before)
    common.say(f"Deleted {forgotten.minutes} minute{'' if forgotten.minutes == 1 else 's'} and {forgotten.events} "
               f"event{'' if forgotten.events == 1 else 's'} ({_days(forgotten.first, forgotten.last)}).")
    return 0


def _days(first: date | None, last: date | None) -> str:
    return f"{first}" if first == last else f"{first} to {last}"


def _confirmed(question: str) -> bool:
    """Ask at a terminal; without one, deleting everything needs --yes."""
    if not sys.stdin.isatty():
        raise PostureWatchError("--all deletes the whole history: add --yes to confirm (there is no terminal to "
                                "ask at)")
    print(f"{question} [y/N] ", end="", file=sys.stderr, flush=True)
    try:
        answer = input()
    except (EOFError, OSError):
        print(file=sys.stderr)
        return False
    return answer.strip().lower() in ("y", "yes")
