"""Screen lock: the camera goes off while the screen is locked and comes back on at unlock (Linux, over D-Bus).

Two sources, whichever the desktop provides (GNOME and KDE provide both):
- the screen saver's `ActiveChanged(b)` signal on the session bus: `org.freedesktop.ScreenSaver` (KDE, Xfce, LXQt
  and others) and `org.gnome.ScreenSaver` (GNOME);
- the `LockedHint` property of the user's login session, on the system bus (`org.freedesktop.login1`, which screen
  lockers set when they lock).
The latest report wins, so a source that misses an unlock cannot keep the camera off for good, and a lock that both
report is posted once.

The listener is an asyncio loop in a thread of its own that sleeps in the kernel until a message arrives: it never
polls. It uses dbus-fast, which is already installed on Linux (desktop-notifier talks to the notification server
through it, and so do our notification backends); jeepney is only a test tool here, and dbus-python needs a
compiler and system headers to install.
"""

from __future__ import annotations

import contextlib
import socket
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .core.events import Command, ScreenLock
from .notify_backends import LoopThread, disconnect

if TYPE_CHECKING:
    from dbus_fast import BusType, Message
    from dbus_fast.aio import MessageBus

SCREEN_SAVERS = {  # interface (also its bus name) -> object path
    "org.freedesktop.ScreenSaver": "/org/freedesktop/ScreenSaver",
    "org.gnome.ScreenSaver": "/org/gnome/ScreenSaver",
}
LOGIND = "org.freedesktop.login1"
LOGIND_SESSION = "org.freedesktop.login1.Session"
PROPERTIES = "org.freedesktop.DBus.Properties"
UNDETECTABLE = ("posture-watch: cannot tell when the screen locks (no logind session or screen saver on D-Bus); "
                "the camera stays on while it is locked unless you pause")


class ScreenLockWatch:
    """While entered, posts `ScreenLock(True)` through `post` when the screen locks and `ScreenLock(False)` when it
    unlocks (and `ScreenLock(True)` at once if it is locked already). Where nothing can tell (no D-Bus, no logind
    session, no screen saver), it says so in one line through `warn` and the watcher runs on without it."""

    def __init__(self, post: Callable[[Command], None], warn: Callable[[str], None]) -> None:
        self._post = post
        self._warn = warn
        self._locked = False
        self._session_path: str | None = None
        self._buses: list[MessageBus] = []
        self._loop: LoopThread | None = None

    def __enter__(self) -> ScreenLockWatch:
        # D-Bus (and the screen savers and logind on it) is a Linux desktop's, over Unix sockets.
        if not (sys.platform.startswith("linux") and hasattr(socket, "AF_UNIX")):
            return self
        self._loop = LoopThread("posture-watch-screen-lock")
        try:
            # Subscribed before `run` says "Watching": a lock from then on is never missed.
            found = self._loop.run(self._subscribe())
        except Exception:  # TimeoutError: a bus that takes the connection and then never answers
            found = False
        if not found:
            self._warn(UNDETECTABLE)
        if not self._buses:  # nothing to listen to: no thread left behind
            self._stop()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop()

    def _stop(self) -> None:
        if self._loop is not None:
            with contextlib.suppress(Exception):  # how the buses went away no longer matters
                self._loop.run(self._disconnect())
            self._loop.stop()
            self._loop = None

    def _report(self, locked: bool) -> None:
        if locked != self._locked:
            self._locked = locked
            self._post(ScreenLock(locked))

    # --- on the listener's own thread ---------------------------------------------------------------------------

    async def _subscribe(self) -> bool:
        """Subscribe to every source there is; True if one of them answered. Each subscription comes before the
        question about the current state, so no change can fall between the two."""
        from dbus_fast import BusType

        locked, found = False, False
        session = await _connect(BusType.SESSION)
        if session is not None:
            self._buses.append(session)
            session.add_message_handler(self._on_session_bus)
            for interface, path in SCREEN_SAVERS.items():
                await _add_match(session, f"type='signal',interface='{interface}',member='ActiveChanged'")
                active = await _call(session, interface, path, interface, "GetActive")
                if active is not None:
                    found, locked = True, locked or bool(active[0])
        system = await _connect(BusType.SYSTEM)
        if system is not None:
            reply = await _call(system, LOGIND, "/org/freedesktop/login1", "org.freedesktop.login1.Manager",
                                "GetSession", "s", ["auto"])  # ours, or the user's graphical one if we are outside
            if reply is None:
                await disconnect(system)
            else:
                self._session_path = reply[0]
                self._buses.append(system)
                system.add_message_handler(self._on_system_bus)
                await _add_match(system, f"type='signal',sender='{LOGIND}',path='{self._session_path}',"
                                         f"interface='{PROPERTIES}',member='PropertiesChanged',arg0='{LOGIND_SESSION}'")
                hint = await _call(system, LOGIND, self._session_path, PROPERTIES, "Get", "ss",
                                   [LOGIND_SESSION, "LockedHint"])
                found, locked = True, locked or bool(hint is not None and hint[0].value)
        self._report(locked)
        return found

    def _on_session_bus(self, message: Message) -> None:
        if message.member == "ActiveChanged" and message.interface in SCREEN_SAVERS and message.signature == "b":
            self._report(bool(message.body[0]))

    def _on_system_bus(self, message: Message) -> None:
        if (message.member == "PropertiesChanged" and message.path == self._session_path
                and message.signature == "sa{sv}as" and message.body[0] == LOGIND_SESSION):
            hint = message.body[1].get("LockedHint")
            if hint is not None:
                self._report(bool(hint.value))

    async def _disconnect(self) -> None:
        for bus in self._buses:
            await disconnect(bus)
        self._buses.clear()


async def _connect(bus_type: BusType) -> MessageBus | None:
    from dbus_fast.aio import MessageBus

    try:
        return await MessageBus(bus_type=bus_type).connect()
    except Exception:  # no address, nobody listening there, or refused: this source is not available
        return None


async def _add_match(bus: MessageBus, rule: str) -> None:
    await _call(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus", "AddMatch", "s", [rule])


async def _call(bus: MessageBus, destination: str, path: str, interface: str, member: str, signature: str = "",
                body: list[Any] | None = None) -> list[Any] | None:
    """A method call's reply body, or None when it is an error (no such service, object or session). A service that
    is not running is not started for us: asking whether a screen saver is active must not launch one."""
    from dbus_fast import Message, MessageFlag, MessageType

    reply = await bus.call(Message(destination=destination, path=path, interface=interface, member=member,
                                   signature=signature, body=body or [], flags=MessageFlag.NO_AUTOSTART))
    return reply.body if reply.message_type == MessageType.METHOD_RETURN else None
