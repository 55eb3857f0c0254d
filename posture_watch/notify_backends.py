"""The notification backends behind `posture_watch.notify`: desktop-notifier and plyer.

A backend either delivers a notice or raises (at open or at send) with a reason `describe_failure` can put in
words; the chain in `notify.py` turns that into a fallback and one warning line. Every wait on the notification
server is bounded by `TIMEOUT_S` because the capture loop that calls us must not stall behind a wedged server.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import importlib
import logging
import os
import platform
import sys
import threading
import warnings
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from functools import cache
from importlib.resources import as_file, files
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from dbus_fast.aio import MessageBus

    from posture_watch.notify import Notice

APP_NAME = "posture-watch"
TIMEOUT_S = 2.0
IS_LINUX = sys.platform.startswith("linux")
URGENCY_BYTE = {"low": 0, "normal": 1, "critical": 2}  # the freedesktop spec's values for the "urgency" hint

T = TypeVar("T")


class BackendUnavailable(Exception):
    """This backend cannot deliver here; `str(exc)` says why, in words for the user."""


def describe_failure(exc: BaseException) -> str:
    """One short line saying why a backend failed, for the fallback warning and `posture-watch doctor`."""
    if isinstance(exc, BackendUnavailable):
        return str(exc)
    if isinstance(exc, TimeoutError):
        return f"the notification server did not answer within {TIMEOUT_S:g} s"
    return f"{type(exc).__name__}: {exc}".splitlines()[0]


_icon_files = contextlib.ExitStack()
atexit.register(_icon_files.close)


@cache
def app_icon_path() -> Path:
    """The bundled icon as a real file: servers load icons by path, so a zipped install gets a temporary copy."""
    return _icon_files.enter_context(as_file(files("posture_watch") / "assets" / "icon.png"))


def call_bounded(fn: Callable[[], T]) -> T:
    """Run a blocking call in a daemon thread and stop waiting for it (TimeoutError) after TIMEOUT_S."""
    future: Future[T] = Future()

    def work() -> None:
        try:
            future.set_result(fn())
        except Exception as exc:
            future.set_exception(exc)

    threading.Thread(target=work, name="posture-watch-notify", daemon=True).start()
    return future.result(TIMEOUT_S)


async def server_info() -> str:
    """Name and version of the notification server on the D-Bus session bus ("dunst 1.9.0"), or raise."""
    try:
        from dbus_fast import Message, MessageType
        from dbus_fast.aio import MessageBus
    except ImportError as exc:
        raise BackendUnavailable("cannot look for a notification server: dbus-fast is not installed") from exc
    try:
        bus = await MessageBus().connect()
    except Exception as exc:  # OSError or InvalidAddressError, depending on what the address points to
        raise BackendUnavailable("cannot connect to the D-Bus session bus") from exc
    try:
        reply = await bus.call(Message(
            destination="org.freedesktop.Notifications", path="/org/freedesktop/Notifications",
            interface="org.freedesktop.Notifications", member="GetServerInformation"))
    finally:
        await disconnect(bus)
    if reply.message_type == MessageType.ERROR:
        if reply.error_name == "org.freedesktop.DBus.Error.ServiceUnknown":
            raise BackendUnavailable("no notification server on the session bus")
        raise BackendUnavailable(f"the notification server answered {reply.error_name}")
    name, _vendor, version, _spec_version = reply.body
    return f"{name} {version}"


async def disconnect(bus: MessageBus) -> None:
    """Close a D-Bus connection now: dbus-fast only closes the socket once its reader sees the hang-up."""
    bus.disconnect()
    with contextlib.suppress(Exception):  # how the connection ended no longer matters
        await bus.wait_for_disconnect()


class LoopThread:
    """An asyncio loop in a daemon thread, so that synchronous callers can await with a time bound."""

    def __init__(self, name: str = "posture-watch-notify") -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(TIMEOUT_S)
        except TimeoutError:
            future.cancel()
            raise

    def stop(self) -> None:
        # Cancel what is still pending (the D-Bus reader) first, or asyncio complains about it at exit.
        with contextlib.suppress(Exception):
            self.run(_cancel_other_tasks())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(TIMEOUT_S)
        if not self._thread.is_alive():
            self._loop.close()


async def _cancel_other_tasks() -> None:
    tasks = asyncio.all_tasks() - {asyncio.current_task()}
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


class DesktopBackend:
    """desktop-notifier: native notifications with buttons (D-Bus on Linux, toasts on Windows). Button callbacks
    run on this backend's own thread."""

    name = "desktop"

    def __init__(self) -> None:
        try:
            from desktop_notifier import DesktopNotifier, Icon
        except ImportError as exc:
            raise BackendUnavailable("desktop-notifier is not installed") from exc
        # It logs a failed send as a warning with a traceback and carries on; we notice the failure ourselves
        # and report it in one line, so its record would only repeat that as a traceback on every alert.
        logging.getLogger("desktop_notifier").setLevel(logging.ERROR)
        self._notifier = DesktopNotifier(app_name=APP_NAME, app_icon=Icon(path=app_icon_path()))
        self._last_id: str | None = None
        self._loop = LoopThread()
        try:
            self.description = self._loop.run(self._check())
        except BaseException:
            self._loop.stop()
            raise

    async def _check(self) -> str:
        description = f"{await server_info()} via D-Bus" if IS_LINUX else f"{platform.system()} notifications"
        # The health check: get_capabilities raises when nobody listens, where send() would only log. An empty
        # answer is desktop-notifier's dummy backend (macOS outside an app bundle, BSD), which shows nothing.
        if not await self._notifier.get_capabilities():
            raise BackendUnavailable("desktop-notifier cannot show notifications on this platform")
        return description

    def send(self, notice: Notice) -> None:
        self._loop.run(self._send(notice))

    async def _send(self, notice: Notice) -> None:
        from desktop_notifier import Button, Urgency

        # A new alert replaces the previous one if it is still shown, rather than stacking up. desktop-notifier
        # has no replaces_id, so withdraw it; its list forgets notifications once they are clicked or closed.
        if self._last_id in await self._notifier.get_current_notifications():
            await self._notifier.clear(self._last_id)
        dispatched = threading.Event()
        self._last_id = await self._notifier.send(
            title=notice.title, message=notice.body, urgency=Urgency(notice.urgency),
            buttons=tuple(Button(title=b.label, on_pressed=b.on_press) for b in notice.buttons),
            on_dispatched=dispatched.set)
        if not dispatched.is_set():
            if IS_LINUX:
                await server_info()  # raises with the reason when the server is gone
            raise BackendUnavailable("the notification server did not accept the alert")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._loop.run(self._disconnect())
        self._loop.stop()

    async def _disconnect(self) -> None:
        # desktop-notifier cannot close its D-Bus connection (Linux only); without this the socket stays open.
        bus = getattr(self._notifier._backend, "bus", None)
        if bus is not None:
            await disconnect(bus)


class PlyerBackend:
    """plyer: the cross-platform fallback, without buttons.

    On Linux plyer shells out to notify-send and ignores its exit status (unless dbus-python is installed), so a
    notification server must answer on the session bus before we trust it, at open and before each alert.
    """

    name = "plyer"

    def __init__(self) -> None:
        try:
            from plyer.facades import Notification
            from plyer.utils import platform as plyer_platform

            # Import plyer's platform module ourselves: its lazy proxy prints a traceback when that fails.
            module = importlib.import_module(f"plyer.platforms.{plyer_platform}.notification")
        except Exception as exc:  # pyobjus missing on macOS fails with ImportError, other setups otherwise
            raise BackendUnavailable(f"plyer cannot notify here ({describe_failure(exc)})") from exc
        if IS_LINUX and os.path.isdir("/app") and not os.path.exists("/.flatpak-info"):
            raise BackendUnavailable("a /app directory makes plyer think it runs in Flatpak and lose alerts")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # its advice to install dbus-python; notify-send serves as well
            self._impl = module.instance()
        if type(self._impl) is Notification:
            raise BackendUnavailable("plyer found no way to notify (on Linux, install notify-send)")
        self._dbus_python = IS_LINUX and isinstance(self._impl, module.NotifyDbus)
        self.description = f"{self._check_server()} via plyer" if IS_LINUX else "plyer"

    @staticmethod
    def _check_server() -> str:
        return call_bounded(lambda: asyncio.run(server_info()))

    def send(self, notice: Notice) -> None:
        if IS_LINUX:
            self._check_server()
        # Windows wants an .ico file here, so it keeps its default icon.
        icon = "" if sys.platform == "win32" else str(app_icon_path())
        call_bounded(lambda: self._impl.notify(
            title=notice.title, message=notice.body, app_name=APP_NAME, app_icon=icon, hints=self._hints(notice)))

    def _hints(self, notice: Notice) -> dict[str, Any]:
        if not self._dbus_python:
            return {}  # only plyer's dbus-python path passes hints on
        import dbus

        return {"urgency": dbus.Byte(URGENCY_BYTE[notice.urgency])}  # a plain int goes out as int32: ignored

    def close(self) -> None:
        """Nothing to release: plyer keeps no connection."""
