"""posture_watch.notify against real D-Bus buses and real notification servers (see desktop.py)."""

import contextlib
import os
import queue
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlparse

import pytest

from posture_watch.errors import PostureWatchError
from posture_watch.notify import Button, Notice, Notifier, check_notifications, open_notifier
from posture_watch.notify_backends import app_icon_path
from tests.desktop import DunstServer, NotificationServer

HEAD = Notice("Head dropping forward", "Tuck your chin and lift the crown of your head.", "critical")
SHOULDERS = Notice("Shoulders rounding", "Squeeze your shoulder blades together for 5 s.")
LABELS = ("Snooze 30 min", "Taking a break")
TERMINAL_LINE = "posture-watch: Head dropping forward — Tuck your chin and lift the crown of your head.\n"
NO_SERVER = "no notification server on the session bus"
TO_TERMINAL = "printing alerts to the terminal instead"


@contextlib.contextmanager
def opened(backend: str = "auto", **kwargs: Callable[..., None]) -> Iterator[Notifier]:
    notifier = open_notifier(backend, **kwargs)
    try:
        yield notifier
    finally:
        notifier.close()


def with_buttons(notice: Notice, pressed: Callable[[str], None] = lambda _label: None) -> Notice:
    """The notice with the alert's two buttons; pressing one calls `pressed` with its label."""
    return Notice(notice.title, notice.body, notice.urgency,
                  tuple(Button(label, lambda label=label: pressed(label)) for label in LABELS))


def wait_for(get: Callable[[], object], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not get():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


# --- desktop-notifier through the recording server


@pytest.mark.parametrize(("urgency", "byte"), [("low", 0), ("normal", 1), ("critical", 2)])
def test_desktop_delivers_title_body_icon_urgency_and_buttons(
    notification_server: NotificationServer, urgency: Literal["low", "normal", "critical"], byte: int
) -> None:
    with opened() as notifier:
        assert notifier.name == "desktop"
        notifier.send(with_buttons(Notice(HEAD.title, HEAD.body, urgency)))
    (sent,) = notification_server.wait_for_notifications()
    assert (sent["app_name"], sent["summary"], sent["body"]) == ("posture-watch", HEAD.title, HEAD.body)
    icon = Path(unquote(urlparse(sent["app_icon"]).path))
    assert icon == app_icon_path() and icon.stat().st_size > 0
    assert sent["hints"]["urgency"] == {"signature": "y", "value": byte}
    assert {"Snooze 30 min", "Taking a break"} <= set(sent["actions"].values())


def test_buttons_report_the_users_answer(notification_server: NotificationServer) -> None:
    answers: queue.SimpleQueue[str] = queue.SimpleQueue()
    with opened() as notifier:
        notifier.send(with_buttons(HEAD, answers.put))
        notification_server.press(notification_server.wait_for_notifications(1)[-1], "Snooze 30 min")
        assert answers.get(timeout=3) == "Snooze 30 min"
        notifier.send(with_buttons(SHOULDERS, answers.put))
        notification_server.press(notification_server.wait_for_notifications(2)[-1], "Taking a break")
        assert answers.get(timeout=3) == "Taking a break"
    assert answers.empty()


def test_notices_without_buttons_have_none(notification_server: NotificationServer) -> None:
    with opened() as notifier:
        notifier.send(HEAD)
    (sent,) = notification_server.wait_for_notifications()
    assert not {"Snooze 30 min", "Taking a break"} & set(sent["actions"].values())


def test_a_new_alert_replaces_the_one_still_shown(notification_server: NotificationServer) -> None:
    with opened() as notifier:
        notifier.send(with_buttons(HEAD))
        notifier.send(with_buttons(SHOULDERS))
        first, second = notification_server.wait_for_notifications(2)
        assert [(c["method"], c["id"]) for c in notification_server.calls()] == [
            ("Notify", first["id"]), ("CloseNotification", first["id"]), ("Notify", second["id"])]
        assert notification_server.shown() == [second["id"]]


def test_a_failing_action_handler_is_reported_in_one_line(notification_server: NotificationServer) -> None:
    def broken(label: str) -> None:
        raise RuntimeError("queue is gone")

    warnings: list[str] = []
    with opened(warn=warnings.append) as notifier:
        notifier.send(with_buttons(HEAD, broken))
        notification_server.press(notification_server.wait_for_notifications()[0], "Snooze 30 min")
        wait_for(lambda: warnings)
    assert warnings == ["posture-watch: handling 'Snooze 30 min' failed: RuntimeError: queue is gone"]


# --- plyer


def test_plyer_delivers_through_notify_send(notification_server: NotificationServer, notify_send: None) -> None:
    with opened("plyer") as notifier:
        assert notifier.name == "plyer"
        notifier.send(HEAD)
    (sent,) = notification_server.wait_for_notifications()
    assert (sent["app_name"], sent["summary"], sent["body"]) == ("posture-watch", HEAD.title, HEAD.body)


def test_plyer_sends_urgency_as_a_byte_through_dbus_python(notification_server: NotificationServer) -> None:
    pytest.importorskip("dbus", reason="plyer takes its dbus-python path only when dbus-python is installed")
    with opened("plyer") as notifier:
        notifier.send(HEAD)
    (sent,) = notification_server.wait_for_notifications()
    assert sent["hints"]["urgency"] == {"signature": "y", "value": 2}
    assert Path(sent["app_icon"]) == app_icon_path()


# --- no server, no bus, a server that quits or hangs


SEND_ONE = f"""
from posture_watch.notify import Notice, open_notifier
notifier = open_notifier("auto")
print(notifier.name)
notifier.send(Notice({HEAD.title!r}, {HEAD.body!r}))
notifier.close()
"""


@pytest.mark.parametrize(("setup", "reason"), [
    ("empty bus", NO_SERVER),
    ("bus address pointing nowhere", "cannot connect to the D-Bus session bus"),
    ("no bus address", "cannot connect to the D-Bus session bus"),
])
def test_without_a_server_alerts_go_to_the_terminal_after_one_warning(
    setup: str, reason: str, request: pytest.FixtureRequest
) -> None:
    # A fresh interpreter, so that its whole stderr, exit included, can be checked for stray output.
    env = {k: v for k, v in os.environ.items() if k not in ("DBUS_SESSION_BUS_ADDRESS", "DISPLAY")}
    if setup == "empty bus":
        env["DBUS_SESSION_BUS_ADDRESS"] = request.getfixturevalue("private_bus")
    elif setup == "bus address pointing nowhere":
        env["DBUS_SESSION_BUS_ADDRESS"] = request.getfixturevalue("no_session_bus")
    done = subprocess.run([sys.executable, "-c", SEND_ONE], env=env, capture_output=True, text=True, timeout=30)
    assert (done.returncode, done.stdout) == (0, "console\n"), done.stderr
    assert done.stderr == f"posture-watch: desktop notifications unavailable ({reason}); {TO_TERMINAL}\n" + (
        TERMINAL_LINE)


def test_when_the_server_quits_alerts_move_to_the_terminal_once(
    notification_server: NotificationServer, capfd: pytest.CaptureFixture[str]
) -> None:
    warnings: list[str] = []
    with opened(warn=warnings.append) as notifier:
        notifier.send(with_buttons(SHOULDERS))
        notification_server.wait_for_notifications()
        notification_server.stop()
        notifier.send(HEAD)
        notifier.send(HEAD)
        assert notifier.name == "console"
    assert warnings == [f"posture-watch: desktop notifications unavailable ({NO_SERVER}); {TO_TERMINAL}"]
    assert capfd.readouterr().err == TERMINAL_LINE * 2


def test_a_wedged_server_does_not_stall_the_caller(
    notification_server: NotificationServer, capfd: pytest.CaptureFixture[str]
) -> None:
    warnings: list[str] = []
    with opened("desktop", warn=warnings.append) as notifier:
        notification_server.hang()
        started = time.monotonic()
        notifier.send(HEAD)
        assert time.monotonic() - started < 3
    assert warnings == ["posture-watch: desktop notifications unavailable "
                        f"(the notification server did not answer within 2 s); {TO_TERMINAL}"]
    assert capfd.readouterr().err == TERMINAL_LINE


@pytest.mark.parametrize("backend", ["desktop", "plyer"])
def test_a_backend_asked_for_by_name_that_cannot_work_is_an_error(private_bus: str, backend: str,
                                                                  request: pytest.FixtureRequest) -> None:
    if backend == "plyer":
        request.getfixturevalue("notify_send")  # without it, plyer fails for another reason than the missing server
    with pytest.raises(PostureWatchError, match=f"^{backend} notifications unavailable: {NO_SERVER}$"):
        open_notifier(backend)


def test_an_unknown_backend_is_an_error() -> None:
    with pytest.raises(PostureWatchError, match="unknown notifier 'growl'"):
        open_notifier("growl")


def test_console_and_none_backends(no_session_bus: str, capfd: pytest.CaptureFixture[str]) -> None:
    for backend in ("console", "none"):
        with opened(backend, warn=pytest.fail) as notifier:
            assert notifier.name == backend
            notifier.send(HEAD)
    assert capfd.readouterr() == ("", TERMINAL_LINE)


# --- posture-watch doctor


def test_check_notifications_names_the_server(notification_server: NotificationServer) -> None:
    assert check_notifications() == (True, "desktop notifications through recording-notify-server 1.0 via D-Bus")


def test_check_notifications_without_a_server(private_bus: str) -> None:
    assert check_notifications() == (False, f"{NO_SERVER}: alerts will be printed to the terminal")


def test_check_notifications_without_a_bus(no_session_bus: str) -> None:
    assert check_notifications() == (
        False, "cannot connect to the D-Bus session bus: alerts will be printed to the terminal")


# --- a real notification daemon


@pytest.mark.slow  # a real notification daemon on a virtual X screen
def test_dunst_shows_alerts_replaces_them_and_reports_buttons(dunst_server: DunstServer) -> None:
    ok, description = check_notifications()
    assert ok and description.startswith("desktop notifications through dunst 1.")
    assert description.endswith(" via D-Bus")
    answers: queue.SimpleQueue[str] = queue.SimpleQueue()
    with opened(warn=pytest.fail) as notifier:
        notifier.send(with_buttons(HEAD, answers.put))
        (shown,) = dunst_server.wait_for_shown(1)
        assert (shown["DUNST_APP_NAME"], shown["DUNST_SUMMARY"], shown["DUNST_BODY"]) == (
            "posture-watch", HEAD.title, HEAD.body)
        assert (shown["DUNST_URGENCY"], shown["DUNST_ICON_PATH"]) == ("CRITICAL", str(app_icon_path()))
        notifier.send(with_buttons(SHOULDERS, answers.put))
        assert dunst_server.wait_for_shown(2)[1]["DUNST_SUMMARY"] == SHOULDERS.title
        wait_for(lambda: dunst_server.displayed() == 1)
        dunst_server.choose_action("Taking a break")
        assert answers.get(timeout=5) == "Taking a break"
