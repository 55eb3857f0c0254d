"""A desktop for tests: private D-Bus session buses, the recording notification server (tests/notify_server.py)
with a client that reads what it received and clicks like a user, and dunst, a real notification daemon, under Xvfb.

Nothing here is mocked: the buses are real dbus-daemon processes (hermetic config, no service activation), the
servers are real processes, and tests inspect what actually crossed the bus. conftest.py makes fixtures of these;
tests import the client classes from here.
Needs Debian packages: dbus (dbus-daemon), libnotify-bin (notify-send, for plyer); xvfb and dunst for dunst.
"""

import contextlib
import json
import os
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest
from jeepney import DBusAddress, MessageType, new_method_call
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import DBusConnection, open_dbus_connection

TESTS = Path(__file__).resolve().parent
SESSION_BUS_CONF = TESTS / "session-bus.conf"
NOTIFICATIONS = "org.freedesktop.Notifications"
STARTUP_TIMEOUT_S = 10.0


def next_line(pipe: IO[Any], timeout: float) -> str | None:
    """The next line from a child's pipe, as readline() gives it ("" only at the end of the output), or None if no
    whole line came within `timeout`. Read byte by byte from the file descriptor, never through the file object's
    buffer: select() cannot see a line that an earlier readline() pulled into that buffer along with the one
    before it (two lines written together), and would wait for it in vain."""
    deadline = time.monotonic() + timeout
    line = b""
    while not line.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([pipe], [], [], left)[0]:
            return None
        byte = os.read(pipe.fileno(), 1)
        if not byte:
            break
        line += byte
    return line.decode()


def read_line(proc: subprocess.Popen[str], timeout: float = STARTUP_TIMEOUT_S) -> str:
    """The next line of a child's stdout, failing the test instead of hanging if none comes in time."""
    assert proc.stdout is not None
    line = next_line(proc.stdout, timeout)
    if line is None:
        proc.kill()
        raise AssertionError(f"{proc.args!r} printed nothing within {timeout:g} s")
    return line.strip()


def stop_process(proc: subprocess.Popen[Any]) -> None:
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


@contextlib.contextmanager
def session_bus() -> Iterator[str]:
    """A fresh, empty D-Bus bus (a dbus-daemon of its own, session-bus rules) while in use. Yields its address.
    Skips the test without dbus-daemon."""
    if not shutil.which("dbus-daemon"):
        pytest.skip("needs the Debian package dbus (dbus-daemon)")
    proc = subprocess.Popen(
        ["dbus-daemon", f"--config-file={SESSION_BUS_CONF}", "--nofork", "--print-address=1"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        address = read_line(proc)
        assert address.startswith("unix:"), address
        yield address
    finally:
        stop_process(proc)


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


def start_notification_server(bus_address: str) -> NotificationServer:
    """tests/notify_server.py on that bus (again, after a test stopped it: a restarted notification daemon), with a
    control client; `stop()` it when done."""
    proc = subprocess.Popen([sys.executable, str(TESTS / "notify_server.py")], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "DBUS_SESSION_BUS_ADDRESS": bus_address})
    try:
        assert read_line(proc) == "READY"
        return NotificationServer(proc, bus_address)
    except BaseException:
        stop_process(proc)
        raise


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


def dunst_available() -> bool:
    return all(shutil.which(tool) for tool in ("Xvfb", "dunst", "dunstctl"))


@contextlib.contextmanager
def xvfb() -> Iterator[str]:
    """A fresh Xvfb screen while in use; yields its display (":N")."""
    # -displayfd makes Xvfb pick a free display number and report it once it accepts connections.
    display_r, display_w = os.pipe()
    server = subprocess.Popen(["Xvfb", "-displayfd", str(display_w), "-screen", "0", "800x600x24", "-nolisten", "tcp"],
                              pass_fds=[display_w], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(display_w)
    with os.fdopen(display_r) as display_pipe:
        ready, _, _ = select.select([display_pipe], [], [], STARTUP_TIMEOUT_S)
        display = display_pipe.readline().strip() if ready else ""
    try:
        assert display, "Xvfb did not report its display"
        yield f":{display}"
    finally:
        stop_process(server)


@contextlib.contextmanager
def dunst_on(bus_address: str, workdir: Path) -> Iterator[tuple[DunstServer, str]]:
    """dunst on a fresh Xvfb display and the bus at `bus_address`; yields it and the display (":N") to set as
    DISPLAY. Its hook, menu script and log live in `workdir`."""
    log, pick = workdir / "dunst-shown.jsonl", workdir / "dmenu-pick"
    hook, dmenu, rc = workdir / "hook.sh", workdir / "dmenu.sh", workdir / "dunstrc"
    hook.write_text(HOOK.format(python=sys.executable, log=log))
    dmenu.write_text(DMENU.format(pick=pick))
    for script in (hook, dmenu):
        script.chmod(0o755)
    rc.write_text(DUNSTRC.format(hook=hook, dmenu=dmenu))
    with xvfb() as display:
        dunst: subprocess.Popen[bytes] | None = None
        try:
            with open(workdir / "dunst.log", "w") as dunst_log:  # kept for debugging a failure
                dunst = subprocess.Popen(["dunst", "-config", str(rc)], stdout=dunst_log, stderr=dunst_log,
                                         env={**os.environ, "DISPLAY": display,
                                              "DBUS_SESSION_BUS_ADDRESS": bus_address})
            _wait_for_name(bus_address, NOTIFICATIONS, dunst)
            yield DunstServer(log, pick), display
        finally:
            if dunst is not None:
                stop_process(dunst)
