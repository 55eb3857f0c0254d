"""How you sat, drawn: a summary of the history (summary.py) as matplotlib figures, in PNG or one self-contained
HTML page, written to the user's reports folder and opened in the browser when asked.

Figures are drawn on matplotlib's Agg canvas directly (no pyplot, no backend to choose), so no display is ever
needed; matplotlib is imported only when something is drawn.
"""

from __future__ import annotations

import base64
import html
import io
import webbrowser
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .core import thresholds as th
from .core.minutes import STATES
from .errors import PostureWatchError
from .store import data_dir, shown, write_private_file
from .summary import Summary, duration_text, fault_lines, period_text

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# One colour per state, shared with the tray icon; readable by colour-blind people (blue/orange, not red/green).
STATE_COLOURS = {"upright": "#1b7837", "slouching": "#e66101", "away": "#c7c7c7", "uncertain": "#8e9fbf",
                 "paused": "#7f7f7f"}
ALERT_COLOUR = "#b2182b"
BREAK_COLOUR = "#2166ac"


# --- figures -----------------------------------------------------------------------------------------------------


def _hour(at: datetime) -> float:
    return at.hour + at.minute / 60 + at.second / 3600


def _pauses(summary: Summary) -> list[tuple[float, float, str]]:
    """(start hour, end hour, reason) of each time the camera was held off by the user or a lock."""
    spans = []
    held: dict[str, datetime] = {}
    for m in summary.moments:
        if m.kind == "pause":
            held.setdefault(m.state, m.at)
        elif m.kind == "resume" and m.state in held:
            spans.append((_hour(held.pop(m.state)), _hour(m.at), m.state))
        elif m.kind == "stop":
            spans += [(_hour(at), _hour(m.at), reason) for reason, at in held.items()]
            held.clear()
    return spans


def draw_timeline(ax: Axes, summary: Summary) -> str:
    """Each minute as a bar split by the share of it spent in each state; pauses shaded; alerts and breaks
    marked above. Returns the alt text."""
    width = 1 / 60
    x = [_hour(m.start) for m in summary.minutes]
    bottom = [0.0] * len(x)
    for state in STATES:
        heights = [getattr(m, f"{state}_s") / 60 for m in summary.minutes]
        ax.bar(x, heights, width, bottom, align="edge", color=STATE_COLOURS[state], label=state, linewidth=0)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    for n, (start, end, _reason) in enumerate(_pauses(summary)):
        ax.axvspan(start, end, 0, 1 / 1.25, color=STATE_COLOURS["paused"], alpha=0.25, hatch="//", linewidth=0,
                   label="paused, snoozed or break" if n == 0 else None)
    alerts = [_hour(m.at) for m in summary.moments if m.kind == "alert"]
    breaks = [_hour(m.at) for m in summary.moments if m.kind == "pause" and m.state == "break"]
    if alerts:
        ax.plot(alerts, [1.1] * len(alerts), "v", color=ALERT_COLOUR, markersize=8, label="alert")
    if breaks:
        ax.plot(breaks, [1.1] * len(breaks), "D", color=BREAK_COLOUR, markersize=6, label="break taken")
    first, last = min(x), max(x) + width
    ax.set_xlim(int(first), max(int(first) + 1, -(-last // 1)))
    ax.set_ylim(0, 1.25)
    ax.set_yticks([0, 0.5, 1], ["0", "½", "1"])
    ax.set_ylabel("share of the minute")
    ax.set_xlabel("hour of the day")
    ax.set_title(f"Timeline, {period_text(summary)}")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=7, fontsize="small", frameon=False)
    _hour_ticks(ax)
    s = summary.seconds
    percent = summary.upright_percent
    shares = ", ".join(f"{state} {duration_text(s[state])}" for state in STATES if s[state] > 0)
    return (f"Timeline of {period_text(summary)} from {summary.minutes[0].start:%H:%M} to "
            f"{summary.minutes[-1].start + timedelta(minutes=1):%H:%M}: {shares}"
            + ("" if percent is None else f"; {percent:.0f} % of the measured time upright")
            + f"; {len(alerts)} alert{'' if len(alerts) == 1 else 's'}"
            + (f" (at {', '.join(f'{m.at:%H:%M}' for m in summary.moments if m.kind == 'alert')})" if alerts else "")
            + f"; {len(breaks)} break{'' if len(breaks) == 1 else 's'} taken.")


def draw_hours(ax: Axes, summary: Summary) -> str:
    """% upright for each hour of the day with measured time."""
    hours = summary.hours
    bars = ax.bar([h.hour + 0.5 for h in hours], [h.percent for h in hours], 0.8, color=STATE_COLOURS["upright"])
    ax.bar_label(bars, [f"{h.percent:.0f}" for h in hours], fontsize="small")
    ax.set_ylim(0, 110)
    ax.set_ylabel("% upright")
    ax.set_xlabel("hour of the day")
    ax.set_title("Upright per hour" + (" (all week)" if summary.first != summary.last else ""))
    if hours:
        ax.set_xlim(hours[0].hour, hours[-1].hour + 1)
    _hour_ticks(ax)
    listed = ", ".join(f"{h.hour:02d}:00 {h.percent:.0f} %" for h in hours)
    return f"Bar chart of the percentage of measured time spent upright, per hour of the day: {listed}."


def draw_neck(ax: Axes, summary: Summary) -> str:
    """The minutes' median neck angle against the guide line."""
    measured = [m for m in summary.minutes if m.neck_deg is not None]
    for slouched, colour, label in ((False, STATE_COLOURS["upright"], "mostly upright minute"),
                                    (True, STATE_COLOURS["slouching"], "mostly slouching minute")):
        chosen = [m for m in measured if (m.slouching_s > m.upright_s) == slouched]
        ax.plot([_hour(m.start) + 1 / 120 for m in chosen], [m.neck_deg for m in chosen], "o", color=colour,
                markersize=3, label=label)
    ax.axhline(th.NECK_FLOOR_DEG, color=ALERT_COLOUR, linestyle="--", linewidth=1,
               label=f"≈ where a hunch starts to count ({th.NECK_FLOOR_DEG:g}°)")
    ax.set_ylabel("neck angle (° forward)")
    ax.set_xlabel("hour of the day")
    ax.set_title("Neck angle, median of each minute")
    if measured:
        first, last = _hour(measured[0].start), _hour(measured[-1].start)
        ax.set_xlim(int(first), max(int(first) + 1, -(-(last + 1 / 60) // 1)))
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=3, fontsize="small", frameon=False)
    _hour_ticks(ax)
    angles = sorted(m.neck_deg for m in measured if m.neck_deg is not None)
    over = sum(a > th.NECK_FLOOR_DEG for a in angles)
    if not angles:
        return "Neck angle over the day: no minute was measured."
    return (f"Neck angle over the day, one point per measured minute: from {angles[0]:.0f}° to {angles[-1]:.0f}° "
            f"forward of the calibrated upright posture, median {angles[len(angles) // 2]:.0f}°; {over} of "
            f"{len(angles)} minutes above the {th.NECK_FLOOR_DEG:g}° guide line.")


def draw_trend(ax: Axes, days: list[Summary]) -> str:
    """% upright per day of the week, with the alerts of each day."""
    labels = [f"{d.first:%a}\n{d.first:%d %b}" for d in days]
    values = [d.upright_percent or 0.0 for d in days]
    bars = ax.bar(range(len(days)), values, 0.7, color=STATE_COLOURS["upright"])
    ax.bar_label(bars, ["no data" if d.upright_percent is None else f"{d.upright_percent:.0f} %\n{d.alerts} "
                        f"alert{'' if d.alerts == 1 else 's'}" for d in days], fontsize="small")
    ax.set_xticks(range(len(days)), labels)
    ax.set_ylim(0, 125)
    ax.set_yticks([0, 25, 50, 75, 100])
    ax.set_ylabel("% upright")
    ax.set_title("Daily trend")
    listed = "; ".join(f"{d.first:%a %d %b}: " + ("no data" if d.upright_percent is None
                                                  else f"{d.upright_percent:.0f} % upright, {d.alerts} alerts")
                       for d in days)
    return f"Bar chart of the percentage of measured time spent upright on each day of the week: {listed}."


def _hour_ticks(ax: Axes) -> None:
    low, high = ax.get_xlim()
    ticks = list(range(int(low), int(-(-high // 1)) + 1))
    step = max(1, len(ticks) // 12)
    ax.set_xticks(ticks[::step], [f"{t % 24:02d}" for t in ticks[::step]])


Plot = Callable[["Axes"], str]


def plots(summary: Summary, days: list[Summary] | None) -> list[tuple[str, Plot]]:
    """The report's plots, with their headings: a day's, or with `days` a week's."""
    if days is not None:
        return [("Daily trend", lambda ax: draw_trend(ax, days)),
                ("Upright per hour", lambda ax: draw_hours(ax, summary))]
    return [("Timeline", lambda ax: draw_timeline(ax, summary)),
            ("Upright per hour", lambda ax: draw_hours(ax, summary)),
            ("Neck angle", lambda ax: draw_neck(ax, summary))]


def _figure(rows: int) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(10, 3.4 * rows), dpi=100, layout="constrained")


def _png(figure: Figure) -> bytes:
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()


# --- files -------------------------------------------------------------------------------------------------------


def render_png(summary: Summary, days: list[Summary] | None) -> bytes:
    chosen = plots(summary, days)
    figure = _figure(len(chosen))
    for ax, (_heading, draw) in zip(figure.subplots(len(chosen), 1, squeeze=False)[:, 0], chosen, strict=True):
        draw(ax)
    return _png(figure)


PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font: 16px/1.5 system-ui, sans-serif; margin: 0; color: #1d1d1d; background: #fafafa; }}
main {{ max-width: 62rem; margin: 0 auto; padding: 1.5rem; }}
h1 {{ font-size: 1.6rem; margin-bottom: 0.2rem; }}
dl {{ display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 1.2rem; }}
dt {{ font-weight: 600; }}
dd {{ margin: 0; }}
figure {{ margin: 1rem 0; }}
img {{ max-width: 100%; height: auto; background: #fff; }}
table {{ border-collapse: collapse; }}
th, td {{ padding: 0.2rem 0.8rem; text-align: right; border-bottom: 1px solid #ddd; }}
.advice {{ background: #fff; border-left: 4px solid {upright}; padding: 0.6rem 1rem; }}
footer {{ color: #666; font-size: 0.85rem; margin-top: 2rem; }}
</style>
</head>
<body>
<main>
<h1>{title}</h1>
<p>{lead}</p>
<dl id="summary">
{summary}
</dl>
{advice}
{sections}
<footer>Made by posture-watch {version} on {made} from {source}. Numbers only: no picture was ever kept.
"% upright" is the share of the measured time (upright + slouching) spent upright.</footer>
</main>
</body>
</html>
"""


def render_html(summary: Summary, days: list[Summary] | None, source: Path) -> str:
    """One self-contained page: the summary, each plot inline (PNG data: URI, with alt text) and the numbers
    behind the plots as tables."""
    esc = html.escape
    s = summary.seconds
    percent = summary.upright_percent
    entries = [("Upright", "upright_s", s["upright"], duration_text(s["upright"])
                + ("" if percent is None else f" ({percent:.0f} % of the measured time)")),
               ("Slouching", "slouching_s", s["slouching"], duration_text(s["slouching"])),
               ("Away", "away_s", s["away"], duration_text(s["away"])),
               ("Not measurable", "uncertain_s", s["uncertain"], duration_text(s["uncertain"]))]
    if summary.longest_slouch is not None:
        start, end = summary.longest_slouch
        seconds = (end - start).total_seconds()
        entries.append(("Longest slouch", "longest_slouch_s", seconds,
                        f"{duration_text(seconds)} (from {start:%H:%M})"))
    entries += [("Alerts", "alerts", summary.alerts, str(summary.alerts)),
                ("Breaks taken", "breaks", summary.breaks, str(summary.breaks)),
                ("Break reminders", "break_reminders", summary.break_reminders, str(summary.break_reminders)),
                ("Snoozes", "snoozes", summary.snoozes, str(summary.snoozes))]
    rows = "\n".join(f'<dt>{esc(label)}</dt><dd data-key="{key}" data-value="{round(value, 1):g}">{esc(text)}</dd>'
                     for label, key, value, text in entries)
    fault = fault_lines(summary)
    advice = ("" if fault is None else
              f'<section><h2>Most common</h2><p class="advice" id="advice"><strong>{esc(fault[0])}</strong><br>'
              f"{esc(fault[1])}</p></section>")
    sections = []
    for heading, draw in plots(summary, days):
        figure = _figure(1)
        alt = draw(figure.subplots())
        image = base64.b64encode(_png(figure)).decode("ascii")
        sections.append(f'<section><h2>{esc(heading)}</h2><figure><img src="data:image/png;base64,{image}" '
                        f'alt="{esc(alt)}"></figure>'
                        + (_hours_table(summary) if heading == "Upright per hour" else "")
                        + (_days_table(days) if days is not None and heading == "Daily trend" else "")
                        + "</section>")
    title = f"posture-watch: your posture on {period_text(summary)}"
    measured = duration_text(summary.measured_s)
    lead = (f"{measured} measured at the desk" + ("" if percent is None else f", {percent:.0f} % of it upright")
            + f"; {summary.alerts} alert{'' if summary.alerts == 1 else 's'}.")
    return PAGE.format(title=esc(title), lead=esc(lead), summary=rows, advice=advice, sections="\n".join(sections),
                       version=esc(__version__), made=esc(f"{datetime.now():%Y-%m-%d %H:%M}"),
                       source=esc(shown(source)), upright=STATE_COLOURS["upright"])


def _hours_table(summary: Summary) -> str:
    rows = "".join(f'<tr data-hour="{h.hour}"><td>{h.hour:02d}:00</td><td>{duration_text(h.upright_s)}</td>'
                   f'<td>{duration_text(h.slouching_s)}</td><td data-value="{h.percent:.1f}">{h.percent:.0f} %</td>'
                   "</tr>" for h in summary.hours)
    return ('<table id="hours"><thead><tr><th>hour</th><th>upright</th><th>slouching</th><th>% upright</th></tr>'
            f"</thead><tbody>{rows}</tbody></table>")


def _days_table(days: list[Summary]) -> str:
    rows = "".join(f'<tr data-day="{d.first}"><td>{d.first:%a %d %b}</td>'
                   + ("<td>no data</td><td></td>" if d.upright_percent is None else
                      f'<td data-value="{d.upright_percent:.1f}">{d.upright_percent:.0f} %</td>'
                      f"<td>{d.alerts}</td>") + "</tr>" for d in days)
    return ('<table id="days"><thead><tr><th>day</th><th>% upright</th><th>alerts</th></tr></thead>'
            f"<tbody>{rows}</tbody></table>")


def write_report(summary: Summary, days: list[Summary] | None, out: Path, source: Path) -> None:
    """Write the report as HTML or PNG, by `out`'s extension, readable by the user only."""
    check_report_path(out)
    content: str | bytes = (render_png(summary, days) if out.suffix.lower() == ".png"
                            else render_html(summary, days, source))
    try:
        write_private_file(out, content)
    except OSError as err:
        raise PostureWatchError(f"cannot write the report to {shown(out)}: {err.strerror}") from None


def check_report_path(out: Path) -> None:
    if out.suffix.lower() not in (".html", ".htm", ".png"):
        raise PostureWatchError(f"{shown(out)}: the report is written as .html or .png")


def default_report_path(first: date, last: date) -> Path:
    """Where a report goes when no file was named: the reports folder beside the history."""
    name = f"posture-{first}.html" if first == last else f"posture-{first}-to-{last}.html"
    return data_dir() / "reports" / name


def open_in_browser(path: Path) -> bool:
    """Show the report in the user's browser; False when there is none to show it in."""
    return webbrowser.open(path.resolve().as_uri())
