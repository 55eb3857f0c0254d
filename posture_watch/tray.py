"""The tray icon (optional: `pip install 'posture-watch[tray]'`, which brings pystray and PyGObject).

Its colour follows the state (upright, slouching, paused, away, not measurable); its title, which tray hosts show
as the tooltip, says the state and today's % upright; its menu pauses or resumes, snoozes, starts a break,
recalibrates, opens today's report and quits. Every entry but the report posts a command to the session's
mailbox, the path the terminal's signals, the notification buttons and the control socket take too.

It runs in a thread of its own (GTK's main loop, through pystray's AppIndicator backend). Where the extra is not
installed, or there is no display at all, it stays silent; on a desktop with no tray to show it in (nothing owns
org.kde.StatusNotifierWatcher on the session bus, and no X system tray) it says so once and the watcher runs on
without it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .core import thresholds as th
from .core.advice import spoken_duration
from .core.events import (
    USER_HOLDS,
    Command,
    Event,
    HoldReason,
    Pause,
    Paused,
    Quit,
    Recalibrate,
    Resume,
    Resumed,
    Sampled,
    Snooze,
    StateChanged,
    TakeBreak,
)
from .report import STATE_COLOURS

if TYPE_CHECKING:
    from PIL.Image import Image

    from .session import Clock

SNI_WATCHER = "org.kde.StatusNotifierWatcher"
ICON_SIZE = 64
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0
LABELS = {"upright": "upright", "slouching": "slouching", "away": "away from the desk",
          "uncertain": "not measurable", "paused": "paused", "snoozed": "snoozed", "break": "on a break",
          "quiet_hours": "outside working hours", "screen_locked": "screen locked"}


def _print_warning(message: str) -> None:
    with contextlib.suppress(OSError, ValueError):
        print(message, file=sys.stderr, flush=True)


def tray_host_missing() -> str | None:
    """Why no tray icon can be shown here, or None when a tray host is there: a StatusNotifierWatcher on the
    session bus (KDE, GNOME's AppIndicator extension, XFCE, ...), or an X system tray (XEmbed: trayer, tint2, i3bar
    ...), which AppIndicator falls back to. Needs PyGObject (and python-xlib, which pystray brings, for X)."""
    from gi.repository import Gio, GLib

    try:
        bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
        owned = bus.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                              "NameHasOwner", GLib.Variant("(s)", (SNI_WATCHER,)), GLib.VariantType("(b)"),
                              Gio.DBusCallFlags.NONE, 2000, None).unpack()[0]
    except GLib.Error as err:
        owned = False
        why = f"no session bus ({err.message})"
    else:
        why = f"no tray host (nothing owns {SNI_WATCHER} on the session bus, and no X system tray)"
    return None if owned or _x_system_tray() else why


def _x_system_tray() -> bool:
    """Whether an XEmbed system tray runs on the X display (someone owns the _NET_SYSTEM_TRAY_S<screen>
    selection)."""
    if not os.environ.get("DISPLAY"):
        return False
    try:
        from Xlib import X, display
        from Xlib.error import DisplayError

        screen = display.Display()
    except (ImportError, DisplayError, OSError):
        return False
    try:
        atom = screen.intern_atom(f"_NET_SYSTEM_TRAY_S{screen.get_default_screen()}")
        return screen.get_selection_owner(atom) != X.NONE
    finally:
        screen.close()


def draw_icon(colour: str, paused: bool) -> Image:
    """A disc in the state's colour, with a white head and shoulders (two bars while paused)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (ICON_SIZE, ICON_SIZE), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((1, 1, ICON_SIZE - 2, ICON_SIZE - 2), fill=colour)
    white = (255, 255, 255, 255)
    if paused:
        draw.rectangle((20, 18, 28, 46), fill=white)
        draw.rectangle((36, 18, 44, 46), fill=white)
    else:
        draw.ellipse((24, 12, 40, 28), fill=white)
        draw.pieslice((14, 32, 50, 64), 180, 360, fill=white)
    return image


class Tray:
    """A session subscriber that keeps the icon up to date, and the icon's thread. `post` hands a command to the
    session; `open_report` writes and opens today's report (it runs on a thread of its own)."""

    def __init__(self, post: Callable[[Command], None], clock: Clock, today: Callable[[], dict[str, float]],
                 open_report: Callable[[], None], warn: Callable[[str], None] = _print_warning) -> None:
        self._post = post
        self._clock = clock
        self._today = today
        self._open_report = open_report
        self._warn = warn
        self._state = "uncertain"
        self._holds: dict[HoldReason, float | None] = {}
        self._icon: Any = None
        self._shown_state = ""
        self._images: dict[str, Image] = {}
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="posture-watch-tray", daemon=True)

    @staticmethod
    def installed() -> bool:
        return importlib.util.find_spec("pystray") is not None and importlib.util.find_spec("gi") is not None

    def start(self) -> None:
        """Show the icon, on its own thread; returns once it is up or has said why it cannot be."""
        self._thread.start()
        self._ready.wait(START_TIMEOUT_S)

    def close(self) -> None:
        icon = self._icon
        if icon is not None:
            with contextlib.suppress(Exception):  # the tray host may be gone already
                icon.stop()
        self._thread.join(STOP_TIMEOUT_S)

    # --- the session's side: on its thread, quick ---------------------------------------------------------------

    def __call__(self, event: Event) -> None:
        match event:
            case StateChanged(state=state):
                self._state = state
            # The holds are replaced, never changed in place: the menu reads them from the icon's thread.
            case Paused(reason=reason, until=until):
                self._holds = {**self._holds, reason: until}
            case Resumed(reason=reason):
                self._holds = {r: until for r, until in self._holds.items() if r != reason}
                if not self._holds:
                    self._state = "uncertain"  # the watcher judges afresh after a pause
            case Sampled():
                pass  # today's share may have moved
            case _:
                return
        self._show()

    def _show(self) -> None:
        icon = self._icon
        if icon is None:
            return
        key = "paused" if self._holds else self._state
        image = self._images.get(key)
        if image is not None and icon.icon is not image:
            icon.icon = image
        state = self.state_text()
        if state != self._shown_state:
            self._shown_state = state
            icon.update_menu()  # the status line, and "Pause" or "Resume" (rebuilt only when they change)
        title = f"posture-watch: {state}{self.today_text()}"
        if title != icon.title:
            icon.title = title

    def state_text(self) -> str:
        """'slouching', 'snoozed until 10:30', ..."""
        if self._holds:
            reason, until = next(iter(self._holds.items()))
            return LABELS[reason] + ("" if until is None else f" until {self._clock.wall(until):%H:%M}")
        return LABELS[self._state]

    def today_text(self) -> str:
        """' · 82 % upright today' (of the measured time), or nothing before anything was measured."""
        seconds = self._today()
        measured = seconds.get("upright", 0.0) + seconds.get("slouching", 0.0)
        return "" if measured <= 0 else f" · {100 * seconds.get('upright', 0.0) / measured:.0f} % upright today"

    # --- the icon's thread ------------------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            icon = self._create()
        except Exception as err:  # GTK, AppIndicator or their typelibs missing or unusable
            self._warn(f"posture-watch: the tray icon is unavailable ({err}); watching without it")
            icon = None
        finally:
            self._ready.set()
        if icon is None:
            return
        with contextlib.suppress(Exception):  # leaving GTK's loop at exit may fail on a host already gone
            icon.run(setup=self._setup)

    def _create(self) -> Any:
        if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            return None  # no desktop at all (a server, a terminal over SSH): nothing to miss, nothing to say
        missing = tray_host_missing()
        if missing is not None:
            self._warn(f"posture-watch: {missing}: watching without the tray icon")
            return None
        import pystray
        self._images = {key: draw_icon(colour, key == "paused") for key, colour in STATE_COLOURS.items()}
        item = pystray.MenuItem
        menu = pystray.Menu(
            item(lambda _item: self.state_text(), None, enabled=False),
            pystray.Menu.SEPARATOR,
            item(lambda _item: "Resume" if self._user_held() else "Pause", self._pause_or_resume),
            item(f"Snooze {spoken_duration(th.SNOOZE_S)}", self._command(Snooze())),
            item(f"Take a break ({spoken_duration(th.BREAK_S)})", self._command(TakeBreak())),
            item("Recalibrate", self._command(Recalibrate())),
            pystray.Menu.SEPARATOR,
            item("Open today's report", self._report),
            item("Quit", self._command(Quit("quit from the tray"))))
        self._icon = pystray.Icon("posture-watch", self._images[self._state], "posture-watch", menu)
        return self._icon

    def _setup(self, icon: Any) -> None:
        icon.visible = True
        self._show()

    def _user_held(self) -> bool:
        return any(reason in self._holds for reason in USER_HOLDS)

    def _pause_or_resume(self) -> None:
        self._post(Resume() if self._user_held() else Pause())

    def _command(self, command: Command) -> Callable[[], None]:
        def send() -> None:  # a function of no arguments: pystray passes none to those
            self._post(command)

        return send

    def _report(self) -> None:
        threading.Thread(target=self._open_report, name="posture-watch-report", daemon=True).start()


def today_report_opener(history_path: Path, warn: Callable[[str], None] = _print_warning) -> Callable[[], None]:
    """What the menu's "Open today's report" does: write today's HTML report beside the history and open it."""

    def open_today() -> None:
        from .errors import PostureWatchError
        from .history import HistoryFile
        from .report import default_report_path, open_in_browser, write_report
        from .summary import day_summary, no_data

        day = datetime.now().astimezone().date()
        try:
            with HistoryFile(history_path) as history:
                summary = day_summary(history, day)
                if summary.empty:
                    raise no_data(history, day, day)
            out = default_report_path(day, day)
            write_report(summary, None, out, history_path)
        except PostureWatchError as err:
            warn(f"posture-watch: {err}")
            return
        if not open_in_browser(out):
            warn(f"posture-watch: no browser to open {out} with; open it yourself")

    return open_today
