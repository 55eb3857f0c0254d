"""`posture-watch report`: how you sat on a day or in a week, on the terminal and as an HTML page or a PNG."""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path

from ..store import shown
from . import common
from .history import day, history_option, history_path

EXAMPLES = """\
examples:
  posture-watch report                          today, in words on the terminal
  posture-watch report --day yesterday --open   yesterday's report in the browser
  posture-watch report --week --out week.html   the last 7 days as one self-contained HTML page
  posture-watch report --day 2026-03-02 --out day.png
"""


def add_command(sub: argparse._SubParsersAction) -> None:
    rep = sub.add_parser(
        "report", help="how you sat today (or on a day, or in a week)", formatter_class=common.Formatter,
        epilog=EXAMPLES,
        description="Sum up the posture history of a day or a week: time upright, slouching and away, the longest "
        "slouch, alerts and breaks, the most common fault and what helps with it. With --out, also the plots: "
        "the day's timeline with alerts and breaks, % upright per hour and the neck angle over the day (for a "
        "week, the daily trend), as one self-contained HTML page (readable offline) or a PNG.")
    when = rep.add_mutually_exclusive_group()
    when.add_argument("--day", type=day, metavar="DATE", help="the day to report (YYYY-MM-DD, today, yesterday; "
                      "default today)")
    when.add_argument("--week", nargs="?", const=datetime.now().astimezone().date(), type=day, metavar="LAST-DAY",
                      help="the 7 days ending today (or on LAST-DAY)")
    rep.add_argument("--out", type=Path, metavar="FILE.html|FILE.png", help="also write the report with its plots")
    rep.add_argument("--open", action="store_true", help="open the HTML report in the browser (written to "
                     "--out, or to the reports folder beside the history)")
    history_option(rep)
    rep.set_defaults(command=report_command)


def report_command(args: argparse.Namespace) -> int:
    from ..history import HistoryFile
    from ..report import check_report_path, default_report_path, open_in_browser, write_report
    from ..summary import day_summary, no_data, summary_lines, week_summaries

    source = history_path(args)
    if args.out is not None:
        check_report_path(args.out)  # before anything is printed
    last = args.week or args.day or datetime.now().astimezone().date()
    with HistoryFile(source) as history:
        if args.week is not None:
            summary, days = week_summaries(history, last)
        else:
            summary, days = day_summary(history, last), None
        if summary.empty:
            raise no_data(history, summary.first, summary.last)
    print("\n".join(summary_lines(summary)), flush=True)
    out = args.out or (default_report_path(summary.first, last) if args.open else None)
    if out is not None:
        write_report(summary, days, out, source)
        common.say(f"Report written to {shown(out)}.")
    if args.open and out is not None and not open_in_browser(out):
        common.say(f"posture-watch: no browser to open {shown(out)} with; open it yourself")
    return 0
