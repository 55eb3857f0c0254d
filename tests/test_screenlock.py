"""The screen-lock listener against real D-Bus daemons: a fake screen saver on a private session bus and a fake
logind on a second private bus standing in for the system bus (tests/fake_screen_lock.py). The screen is locked
and unlocked through those services' own methods, as a screen locker does."""

from __future__ import annotations

import contextlib
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from jeepney import DBusAddress, MessageType, new_method_call
from jeepney.io.blocking import open_dbus_connection

from posture_watch.core.events import Command, ScreenLock
from posture_watch.screenlock import UNDETECTABLE, ScreenLockWatch
from tests.desktop import SESSION_BUS_CONF, read_line, stop_process

FAKE = Path(__file__).resolve().parent / "fake_screen_lock.py"
SESSION_PATH = "/org/freedesktop/login1/session/_31"


class Locker:
    """Locks and unlocks the screen through a running fake service, the way a screen locker tells it."""

    def __init__(self, role: str, name: str, bus_address: str) -> None:
        self.process = subprocess.Popen([sys.executable, str(FAKE), role, name], stdout=subprocess.PIPE, text=True)
        assert read_line(self.process) == "READY"
        self._conn = open_dbus_connection(bus_address)
        if role == "logind":
            self._call = (DBusAddress(SESSION_PATH, "org.freedesktop.login1", "org.freedesktop.login1.Session"),
                          "SetLockedHint")
        else:
            path = "/org/gnome/ScreenSaver" if name == "org.gnome.ScreenSaver" else "/org/freedesktop/ScreenSaver"
            self._call = (DBusAddress(path, name, name), "SetActive")

    def set(self, locked: bool) -> None:
        address, member = self._call
        reply = self._conn.send_and_get_reply(new_method_call(address, member, "b", (locked,)), timeout=5)
        assert reply.header.message_type == MessageType.method_return, reply.body

    def stop(self) -> None:
        self._conn.close()
        stop_process(self.process)


@contextlib.contextmanager
def locker(role: str, bus_address: str, name: str = "org.freedesktop.ScreenSaver") -> Iterator[Locker]:
    service = Locker(role, name, bus_address)
    try:
        yield service
    finally:
        service.stop()


class Posted:
    """What the listener posts to the session's mailbox."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Command] = queue.SimpleQueue()

    def __call__(self, command: Command) -> None:
        self._queue.put(command)

    def next(self, timeout: float = 1.0) -> Command:
        return self._queue.get(timeout=timeout)

    def nothing_more(self, wait: float = 0.3) -> bool:
        time.sleep(wait)
        return self._queue.empty()


@pytest.mark.parametrize("name", ["org.freedesktop.ScreenSaver", "org.gnome.ScreenSaver"])
def test_the_screen_savers_lock_and_unlock_are_posted(private_bus: str, no_system_bus: None, name: str) -> None:
    posted, warnings = Posted(), []
    with locker("screensaver", private_bus, name) as screen, ScreenLockWatch(posted, warnings.append):
        screen.set(True)
        assert posted.next() == ScreenLock(True)
        screen.set(False)
        assert posted.next() == ScreenLock(False)
    assert warnings == []


def test_logind_locked_hint_is_posted(no_session_bus: str, private_system_bus: str) -> None:
    posted, warnings = Posted(), []
    with locker("logind", private_system_bus) as session, ScreenLockWatch(posted, warnings.append):
        session.set(True)
        assert posted.next() == ScreenLock(True)
        session.set(False)
        assert posted.next() == ScreenLock(False)
    assert warnings == []


def test_a_lock_both_sources_report_is_posted_once_and_the_latest_report_wins(
        private_bus: str, private_system_bus: str) -> None:
    posted = Posted()
    with locker("screensaver", private_bus) as screen, locker("logind", private_system_bus) as session, \
            ScreenLockWatch(posted, print):
        screen.set(True)
        session.set(True)
        assert posted.next() == ScreenLock(True)
        assert posted.nothing_more()
        session.set(False)  # the locker unlocked, and the screen saver forgot to say so: not locked for good
        assert posted.next() == ScreenLock(False)
        screen.set(False)
        assert posted.nothing_more()


def test_a_screen_locked_already_at_start_is_posted_at_once(private_bus: str, private_system_bus: str) -> None:
    posted = Posted()
    with locker("logind", private_system_bus) as session:
        session.set(True)
        with ScreenLockWatch(posted, print):
            assert posted.next(timeout=0) == ScreenLock(True)  # before `run` goes on to watch


@pytest.fixture
def no_system_bus(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """DBUS_SYSTEM_BUS_ADDRESS points at a socket that does not exist (this machine may have a real one)."""
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", f"unix:path={tmp_path / 'no-system-bus-here'}")


@pytest.mark.parametrize("setup", ["no bus at all", "buses without lock services"])
def test_nothing_to_listen_to_is_one_line_and_no_thread(
        setup: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if setup == "no bus at all":
        request.getfixturevalue("no_session_bus")
        request.getfixturevalue("no_system_bus")
    else:
        request.getfixturevalue("private_bus")
        request.getfixturevalue("private_system_bus")
    posted, warnings = Posted(), []
    before = threading.active_count()
    with ScreenLockWatch(posted, warnings.append):
        listening = threading.active_count() > before
    assert warnings == [UNDETECTABLE]
    # On an empty session bus a screen saver may still start later: its signals are listened for.
    assert listening == (setup == "buses without lock services")
    assert threading.active_count() == before and posted.nothing_more(0)


def _thread_counters(native_id: int) -> tuple[int, int]:
    """(voluntary context switches, CPU clock ticks) of one thread of this process."""
    task = Path(f"/proc/self/task/{native_id}")
    switches = next(int(line.split()[1]) for line in (task / "status").read_text().splitlines()
                    if line.startswith("voluntary_ctxt_switches"))
    fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
    return switches, int(fields[11]) + int(fields[12])  # utime + stime


@pytest.mark.slow
def test_listening_costs_nothing_while_idle(private_bus: str, private_system_bus: str) -> None:
    with locker("screensaver", private_bus), locker("logind", private_system_bus), ScreenLockWatch(print, print):
        listener = next(t for t in threading.enumerate() if t.name == "posture-watch-screen-lock")
        assert listener.native_id is not None
        time.sleep(0.2)  # let the subscription's last replies settle
        switches, ticks = _thread_counters(listener.native_id)
        time.sleep(3)
        switches_after, ticks_after = _thread_counters(listener.native_id)
    # A thread that polled (even every 100 ms) would have woken ~30 times; this one sleeps until a message comes.
    assert switches_after - switches == 0
    assert ticks_after - ticks == 0


def test_a_screen_saver_that_is_not_running_is_not_started(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           no_system_bus: None) -> None:
    """A session bus that can start org.freedesktop.ScreenSaver on demand, as desktops' buses can: asking whether
    the screen saver is active must not launch one."""
    services, started = tmp_path / "services", tmp_path / "started"
    services.mkdir()
    (services / "org.freedesktop.ScreenSaver.service").write_text(
        f"[D-BUS Service]\nName=org.freedesktop.ScreenSaver\nExec=/bin/touch {started}\n")
    conf = tmp_path / "bus.conf"
    conf.write_text(SESSION_BUS_CONF.read_text().replace("</busconfig>", f"  <servicedir>{services}</servicedir>\n"
                                                                         "</busconfig>"))
    bus = subprocess.Popen(["dbus-daemon", f"--config-file={conf}", "--nofork", "--print-address=1"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", read_line(bus))
        warnings: list[str] = []
        with ScreenLockWatch(Posted(), warnings.append):
            time.sleep(0.5)  # an activation would have run the Exec line by now
        assert not started.exists()
        assert warnings == [UNDETECTABLE]
    finally:
        stop_process(bus)
