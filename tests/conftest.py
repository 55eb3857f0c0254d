"""Shared fixtures: real private D-Bus buses, a recording notification server, and dunst under Xvfb (how each is
run: tests/desktop.py), and a control-socket folder of each test's own. Each fixture points the test's environment
at what it started."""

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.desktop import (
    DunstServer,
    NotificationServer,
    dunst_available,
    dunst_on,
    session_bus,
    start_notification_server,
    xvfb,
)
from tests.emulated_camera import HUNCH


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
    with session_bus() as address:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
        yield address


@pytest.fixture
def private_system_bus(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A second private bus standing in for the system bus (where logind lives): DBUS_SYSTEM_BUS_ADDRESS, which
    D-Bus libraries honour, points at it for the test. Yields the address."""
    with session_bus() as address:
        monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", address)
        yield address


@pytest.fixture
def notify_send() -> None:
    """Skips without notify-send: plyer's only way to the desktop on Linux without dbus-python."""
    if not shutil.which("notify-send"):
        pytest.skip("needs the Debian package libnotify-bin (notify-send, used by plyer)")


@pytest.fixture
def no_session_bus(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """DBUS_SESSION_BUS_ADDRESS points at a socket that does not exist. Yields that address."""
    address = f"unix:path={tmp_path / 'no-bus-here'}"
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
    return address


@pytest.fixture
def notification_server(private_bus: str) -> Iterator[NotificationServer]:
    """tests/notify_server.py running on `private_bus`, with a control client."""
    server = start_notification_server(private_bus)
    yield server
    server.stop()


@pytest.fixture
def xvfb_display(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh Xvfb screen; DISPLAY points at it for the test. Yields the display (":N"); skips without xvfb."""
    if not shutil.which("Xvfb"):
        pytest.skip("needs the Debian package xvfb")
    with xvfb() as display:
        monkeypatch.setenv("DISPLAY", display)
        yield display


@pytest.fixture
def dunst_server(private_bus: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[DunstServer]:
    """dunst on a fresh Xvfb display (DISPLAY set for the test) and `private_bus`; skips without xvfb/dunst."""
    if not dunst_available():
        pytest.skip("needs the Debian packages xvfb and dunst")
    with dunst_on(private_bus, tmp_path) as (server, display):
        monkeypatch.setenv("DISPLAY", display)
        yield server


@pytest.fixture(scope="session")
def hunch_camera(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hunch clip as this test process's own camera. A clip open as a camera is locked exclusively, as a
    webcam is, and pytest's workers (`-n auto`) run test files side by side: each worker needs its own camera."""
    return Path(shutil.copy(HUNCH, tmp_path_factory.mktemp("camera")))


@pytest.fixture(scope="session")
def empty_room(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 4 s clip of the samples' empty room: nobody to calibrate on, for 2 s after the 10 frames (1 s at 10 fps) a
    calibration lets a camera settle for."""
    import cv2

    room = cv2.imread(str(Path(__file__).resolve().parent.parent / "samples" / "assets" / "room_bg.png"))
    path = tmp_path_factory.mktemp("clips") / "empty_room.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (room.shape[1], room.shape[0]))
    for _ in range(40):
        writer.write(room)
    writer.release()
    return path
