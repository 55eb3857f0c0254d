"""The tray icon of a real watcher, under Xvfb, on a private D-Bus with a StatusNotifierWatcher: its menu is read
and clicked over D-Bus (com.canonical.dbusmenu), as a tray host does, and the commands must reach the session."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from jeepney import DBusAddress, MessageType, new_method_call
from jeepney.io.blocking import DBusConnection, open_dbus_connection

from posture_watch.report import STATE_COLOURS
from posture_watch.tray import Tray
from tests.desktop import next_line, read_line, stop_process
from tests.test_history import a_session, record

# Only looked up: importing pystray without a display fails (it picks its backend on import).
pytestmark = [pytest.mark.slow,  # a real watcher under Xvfb
              pytest.mark.skipif(not Tray.installed(), reason="needs the tray extra: pip install -e '.[tray]'")]

ROOT = Path(__file__).resolve().parent.parent
TESTS = Path(__file__).resolve().parent
CLIP = ROOT / "samples" / "hunch_slow.mp4"
TIMEOUT_S = 30.0


class TrayItem:
    """A tray host's view of a StatusNotifierItem: its properties and its menu, over D-Bus."""

    def __init__(self, bus: str, name: str, path: str) -> None:
        self._conn: DBusConnection = open_dbus_connection(bus)
        self._name, self._path = name, path

    def _call(self, path: str, interface: str, member: str, signature: str | None = None, *args: Any) -> Any:
        reply = self._send(path, interface, member, signature, *args)
        assert reply.header.message_type == MessageType.method_return, reply.body
        return reply.body

    def _send(self, path: str, interface: str, member: str, signature: str | None = None, *args: Any) -> Any:
        address = DBusAddress(path, bus_name=self._name, interface=interface)
        return self._conn.send_and_get_reply(new_method_call(address, member, signature, args), timeout=5)

    def prop(self, name: str) -> Any:
        return self._call(self._path, "org.freedesktop.DBus.Properties", "Get", "ss", "org.kde.StatusNotifierItem",
                          name)[0][1]

    def menu(self) -> list[tuple[int, str, bool]]:
        """(id, label, enabled) of each menu entry with a label, in order."""
        _revision, layout = self._call(self.prop("Menu"), "com.canonical.dbusmenu", "GetLayout", "iias", 0, -1, [])
        entries = []

        def walk(node: Any) -> None:
            entry_id, props, children = node
            if "label" in props:
                entries.append((entry_id, props["label"][1], props.get("enabled", ("b", True))[1]))
            for _signature, child in children:
                walk(child)

        walk(layout)
        return entries

    def click(self, label: str) -> None:
        # Ids change whenever the menu is rebuilt (its status line follows the state): look the entry up right
        # before clicking it, and again if it was rebuilt in between.
        for _ in range(5):
            (entry_id,) = [i for i, text, _ in self.menu() if text == label]
            reply = self._send(self.prop("Menu"), "com.canonical.dbusmenu", "Event", "isvu", entry_id, "clicked",
                               ("s", ""), 0)
            if reply.header.message_type == MessageType.method_return:
                return
        raise AssertionError(f"could not click {label!r}: {reply.body}")

    def wait_for(self, what: str, check: Any) -> Any:
        deadline = time.monotonic() + TIMEOUT_S
        while not (value := check()):
            assert time.monotonic() < deadline, f"the tray never showed {what}; title {self.prop('Title')!r}"
            time.sleep(0.1)
        return value

    def icon_colour(self) -> str:
        """The colour at the top of the icon's disc (the icon is a PNG file the item names)."""
        from PIL import Image

        with Image.open(self.prop("IconName")) as image:
            r, g, b, _a = image.convert("RGBA").getpixel((32, 5))
        return f"#{r:02x}{g:02x}{b:02x}"

    def close(self) -> None:
        self._conn.close()


class Watcher:
    """`posture-watch run` in a subprocess, with its stderr read line by line."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: list[str] = []

    def wait_for(self, pattern: str) -> str:
        assert self.proc.stderr is not None
        for line in self.lines:
            if re.search(pattern, line):
                self.lines.remove(line)
                return line
        while True:
            line = next_line(self.proc.stderr, TIMEOUT_S)
            assert line is not None, f"the watcher said nothing for {TIMEOUT_S:g} s; unmatched so far: {self.lines}"
            assert line, f"the watcher ended before a line like {pattern!r}: {self.lines}"
            if re.search(pattern, line):
                return line
            self.lines.append(line)


@pytest.fixture
def sni_watcher(private_bus: str) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen([sys.executable, str(TESTS / "sni_watcher.py")], stdout=subprocess.PIPE, text=True)
    assert read_line(proc) == "READY"
    yield proc
    stop_process(proc)


def test_the_tray_menu_drives_the_session(hunch_camera: Path, private_bus: str, xvfb_display: str,
                                         sni_watcher: subprocess.Popen[str], private_data_dir: Path,
                                         tmp_path: Path) -> None:
    # Earlier today, in the history: what "Open today's report" shows.
    record(private_data_dir / "history.sqlite3", a_session(), datetime.now().astimezone() - timedelta(hours=1))
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.sh"
    browser.write_text(f'#!/bin/sh\necho "$1" > "{opened}"\n')
    browser.chmod(0o755)
    env = {**os.environ, "POSTURE_WATCH_CONFIG_DIR": str(tmp_path), "BROWSER": str(browser), "NO_AT_BRIDGE": "1"}
    # A copy: the menu's Recalibrate keeps the new baseline where the watcher's came from.
    baseline = shutil.copy(ROOT / "calibration" / "hunch_slow.json", tmp_path / "baseline.json")
    proc = subprocess.Popen([sys.executable, "-m", "posture_watch", "run", "--camera", str(hunch_camera), "--loop",
                             "--baseline", str(baseline), "--notifier", "none"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=ROOT)
    watcher = Watcher(proc)
    item: TrayItem | None = None
    try:
        _, name, path = read_line(sni_watcher, TIMEOUT_S).split()
        item = TrayItem(private_bus, name, path)
        assert item.prop("Id") == "posture-watch"
        # Registered while still hidden ("Passive"), shown once pystray's loop runs.
        item.wait_for("the icon shown", lambda: item.prop("Status") == "Active")
        watcher.wait_for(r"^\d\d:\d\d:\d\d upright")
        title = item.wait_for("the upright state", lambda: "upright" in item.prop("Title") and item.prop("Title"))
        assert re.fullmatch(r"posture-watch: upright( · \d+ % upright today)?", title), title
        assert item.icon_colour() == STATE_COLOURS["upright"]
        labels = [text for _, text, _ in item.menu()]
        assert labels[1:] == ["Pause", "Snooze 30 min", "Take a break (10 min)", "Recalibrate",
                              "Open today's report", "Quit"]
        status_line = item.menu()[0]
        assert status_line[1].startswith("upright") and status_line[2] is False  # a status line, not a button

        item.click("Pause")
        watcher.wait_for(r"paused: camera off until resumed")
        item.wait_for("the pause", lambda: item.prop("Title").startswith("posture-watch: paused"))
        assert item.icon_colour() == STATE_COLOURS["paused"]
        item.wait_for("Resume in the menu", lambda: "Resume" in [text for _, text, _ in item.menu()])
        item.click("Resume")
        watcher.wait_for(r"paused over")

        item.click("Recalibrate")
        watcher.wait_for(r"calibrated on \d+ samples")

        item.click("Snooze 30 min")
        snoozed = watcher.wait_for(r"snoozed: camera off until \d\d:\d\d")
        until = snoozed.split()[-1]
        item.wait_for("the snooze", lambda: item.prop("Title").startswith(f"posture-watch: snoozed until {until}"))
        item.click("Resume")
        watcher.wait_for(r"snoozed over")

        item.click("Take a break (10 min)")
        watcher.wait_for(r"break: camera off until")

        item.click("Open today's report")
        page = item.wait_for("the report opened", lambda: opened.exists() and opened.read_text().strip())
        assert page == (private_data_dir / "reports" / f"posture-{datetime.now().astimezone().date()}.html").as_uri()

        item.click("Quit")
        assert proc.wait(TIMEOUT_S) == 0
        watcher.wait_for(r"^Stopped \(quit from the tray\)\.$")
    finally:
        if item is not None:
            item.close()
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        assert proc.stderr is not None
        proc.stderr.close()


def test_without_a_tray_host_it_says_so_once_and_watches_on(hunch_camera: Path, private_bus: str, xvfb_display: str,
                                                             tmp_path: Path) -> None:
    env = {**os.environ, "POSTURE_WATCH_CONFIG_DIR": str(tmp_path), "NO_AT_BRIDGE": "1"}
    done = subprocess.run([sys.executable, "-m", "posture_watch", "run", "--camera", str(hunch_camera), "--fps", "30",
                           "--baseline", str(ROOT / "calibration" / "hunch_slow.json"), "--notifier", "none"],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert [line for line in lines if "tray" in line] == [
        "posture-watch: no tray host (nothing owns org.kde.StatusNotifierWatcher on the session bus, and no X system "
        "tray): watching without the tray icon"]
    assert any(re.match(r"^\d\d:\d\d:\d\d slouching", line) for line in lines)  # it watched the clip to its end
    assert lines[-1] == "Stopped (the clip has ended)."
