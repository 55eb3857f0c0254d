"""Shared fixtures: real private D-Bus session buses, a recording notification server, and dunst under Xvfb.

Nothing here is mocked: the buses are real dbus-daemon processes (hermetic config, no service activation),
the servers are real processes, and tests inspect what actually crossed the bus.
Needs Debian packages: dbus (dbus-daemon), libnotify-bin (notify-send, for plyer); xvfb and dunst for `dunst_server`.
"""

import json
import os
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jeepney import DBusAddress, MessageType, new_method_call
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import DBusConnection, open_dbus_connection

TESTS = Path(__file__).resolve().parent
SESSION_BUS_CONF = TESTS / "session-bus.conf"
NOTIFICATIONS = "org.freedesktop.Notifications"
STARTUP_TIMEOUT_S = 10.0


def read_line(proc: subprocess.Popen[str], timeout: float = STARTUP_TIMEOUT_S) -> str:
    """The next line of a child's stdout, failing the test instead of hanging if none comes in time."""
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    if not ready:
        proc.kill()
        raise AssertionError(f"{proc.args!r} printed nothing within {timeout:g} s")
    return proc.stdout.readline().strip()


def stop_process(proc: subprocess.Popen[Any]) -> None:
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


@pytest.fixture(autouse=True)
def private_runtime_dir(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A control-socket folder of the test's own: a `run` started by a test never meets another test's watcher (or
    the user's), and the one-watcher-per-user lock is per test."""
    folder = tmp_path_factory.mktemp("run")
    monkeypatch.setenv("POSTURE_WATCH_RUNTIME_DIR", str(folder))
    return folder


@pytest.fixture(autouse=True)
def private_data_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test (and every process it starts) keeps its history in a folder of its own, never the user's."""
    folder = tmp_path_factory.mktemp("data")
    monkeypatch.setenv("POSTURE_WATCH_DATA_DIR", str(folder))
    return folder


@pytest.fixture
def private_bus(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh, empty D-Bus session bus; DBUS_SESSION_BUS_ADDRESS points at it for the test. Yields the address."""
    proc = subprocess.Popen(
        ["dbus-daemon", f"--config-file={SESSION_BUS_CONF}", "--nofork", "--print-address=1"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    address = read_line(proc)
    assert address.startswith("unix:"), address
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
    yield address
    stop_process(proc)


@pytest.fixture
def no_session_bus(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """DBUS_SESSION_BUS_ADDRESS points at a socket that does not exist. Yields that address."""
    address = f"unix:path={tmp_path / 'no-bus-here'}"
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
    return address


class NotificationServer:
    """Control client for tests/notify_server.py: read what it received, and act like the user on it."""

    CONTROL = "org.posturewatch.test.NotifyControl"

    def __init__(self, proc: subprocess.Popen[str], bus_address: str) -> None:
        self.process = proc
        self._conn: DBusConnection = open_dbus_connection(bus_address)
        self._object = DBusAddress("/org/freedesktop/Notifications", bus_name=NOTIFICATIONS, interface=self.CONTROL)

    def _call(self, member: str, signature: str | None = None, *args: Any) -> tuple[Any, ...]:
        reply = self._conn.send_and_get_reply(new_method_call(self._object, member, signature, args), timeout=5)
        assert reply.header.message_type == MessageType.method_return, reply.body
        return reply.body

    def calls(self) -> list[dict[str, Any]]:
        """Every Notify/CloseNotification call so far, oldest first (see notify_server.py for the fields)."""
        return json.loads(self._call("Calls")[0])

    def notifications(self) -> list[dict[str, Any]]:
        return [call for call in self.calls() if call["method"] == "Notify"]

    def wait_for_notifications(self, count: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
        """The Notify calls, once there are at least `count` of them."""
        deadline = time.monotonic() + timeout
        while len(received := self.notifications()) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} notification(s), the server got {self.calls()}")
            time.sleep(0.02)
        return received

    def shown(self) -> list[int]:
        """Ids of the notifications currently on screen."""
        return list(self._call("Shown")[0])

    def press(self, notification: dict[str, Any], label: str) -> None:
        """Click the button with this label, as the user would (ActionInvoked, then closed)."""
        key = next(key for key, text in notification["actions"].items() if text == label)
        self._call("InvokeAction", "us", notification["id"], key)

    def close(self, notification_id: int, reason: int = 2) -> None:
        """Emit NotificationClosed (2: dismissed by the user)."""
        self._call("Close", "uu", notification_id, reason)

    def hang(self, hang: bool = True) -> None:
        """While hanging, Notify calls get no answer (a wedged server)."""
        self._call("SetHang", "b", hang)

    def stop(self) -> None:
        """Quit the server, as when the desktop's notification daemon exits."""
        self._conn.close()
        stop_process(self.process)


@pytest.fixture
def notification_server(private_bus: str) -> Iterator[NotificationServer]:
    """tests/notify_server.py running on `private_bus`, with a control client."""
    proc = subprocess.Popen([sys.executable, str(TESTS / "notify_server.py")], stdout=subprocess.PIPE, text=True)
    assert read_line(proc) == "READY"
    server = NotificationServer(proc, private_bus)
    yield server
    server.stop()


DUNSTRC = """\
[global]
    font = Monospace 10
    dmenu = {dmenu}
    # no idle detection: Xvfb has no user input, and an "idle" user makes dunst keep alerts back
    idle_threshold = 0
    always_run_script = true
[log_everything]
    appname = "*"
    script = {hook}
"""
# dunst runs the hook for every notification it shows, with the details in DUNST_* variables.
HOOK = """#!/bin/sh
exec {python} - <<'EOF'
import json, os
with open("{log}", "a") as log:
    print(json.dumps({{k: v for k, v in os.environ.items() if k.startswith("DUNST_")}}), file=log)
EOF
"""
# dunst's context menu asks dmenu which action to run: answer with the label written to the pick file.
DMENU = """#!/bin/sh
grep -m1 -F -- "$(cat {pick})"
"""


class DunstServer:
    """dunst, a real notification daemon, on its own Xvfb display and private session bus."""

    def __init__(self, log: Path, pick: Path) -> None:
        self._log = log
        self._pick = pick

    def wait_for_shown(self, count: int = 1, timeout: float = 5.0) -> list[dict[str, str]]:
        """What dunst showed (one dict of DUNST_* variables each), once it has shown `count` notifications."""
        deadline = time.monotonic() + timeout
        while True:
            lines = self._log.read_text().splitlines() if self._log.exists() else []
            if len(lines) >= count:
                return [json.loads(line) for line in lines]
            if time.monotonic() > deadline:
                raise AssertionError(f"dunst showed {len(lines)} notification(s), expected {count}")
            time.sleep(0.05)

    def displayed(self) -> int:
        return int(subprocess.run(["dunstctl", "count", "displayed"], capture_output=True, text=True,
                                  check=True, timeout=5).stdout)

    def choose_action(self, label: str) -> None:
        """Pick an action from the top notification's context menu, as a user would."""
        self._pick.write_text(label)
        subprocess.run(["dunstctl", "context"], check=True, timeout=5)


def _wait_for_name(bus_address: str, name: str, proc: subprocess.Popen[Any]) -> None:
    conn = open_dbus_connection(bus_address)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not conn.send_and_get_reply(message_bus.NameHasOwner(name), timeout=5).body[0]:
            assert proc.poll() is None, f"{proc.args!r} exited with {proc.returncode}"
            assert time.monotonic() < deadline, f"nothing took {name} within {STARTUP_TIMEOUT_S:g} s"
            time.sleep(0.05)
    finally:
        conn.close()


@pytest.fixture
def xvfb_display(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh Xvfb screen; DISPLAY points at it for the test. Yields the display (":N"); skips without xvfb."""
    if not shutil.which("Xvfb"):
        pytest.skip("needs the Debian package xvfb")
    # -displayfd makes Xvfb pick a free display number and report it once it accepts connections.
    display_r, display_w = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(display_w), "-screen", "0", "800x600x24", "-nolisten", "tcp"],
                            pass_fds=[display_w], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(display_w)
    with os.fdopen(display_r) as display_pipe:
        ready, _, _ = select.select([display_pipe], [], [], STARTUP_TIMEOUT_S)
        display = display_pipe.readline().strip() if ready else ""
    try:
        assert display, "Xvfb did not report its display"
        monkeypatch.setenv("DISPLAY", f":{display}")
        yield f":{display}"
    finally:
        stop_process(xvfb)


@pytest.fixture
def dunst_server(private_bus: str, xvfb_display: str, tmp_path: Path) -> Iterator[DunstServer]:
    """dunst on `xvfb_display` (DISPLAY set for the test) and `private_bus`; skips without xvfb/dunst."""
    if not (shutil.which("dunst") and shutil.which("dunstctl")):
        pytest.skip("needs the Debian packages xvfb and dunst")
    log, pick = tmp_path / "dunst-shown.jsonl", tmp_path / "dmenu-pick"
    hook, dmenu, rc = tmp_path / "hook.sh", tmp_path / "dmenu.sh", tmp_path / "dunstrc"
    hook.write_text(HOOK.format(python=sys.executable, log=log))
    dmenu.write_text(DMENU.format(pick=pick))
    for script in (hook, dmenu):
        script.chmod(0o755)
    rc.write_text(DUNSTRC.format(hook=hook, dmenu=dmenu))
    dunst: subprocess.Popen[bytes] | None = None
    try:
        with open(tmp_path / "dunst.log", "w") as dunst_log:  # kept for debugging a failure
            dunst = subprocess.Popen(["dunst", "-config", str(rc)], stdout=dunst_log, stderr=dunst_log)
        _wait_for_name(private_bus, NOTIFICATIONS, dunst)
        yield DunstServer(log, pick)
    finally:
        if dunst is not None:
            stop_process(dunst)
