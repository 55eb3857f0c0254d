"""Stand-ins for the services that know when the screen is locked, run as a subprocess on a private bus.

  fake_screen_lock.py screensaver [NAME]   org.freedesktop.ScreenSaver (or NAME, e.g. org.gnome.ScreenSaver) on
                                           $DBUS_SESSION_BUS_ADDRESS: GetActive() -> b, SetActive(b) -> b and the
                                           ActiveChanged(b) signal, as KDE's and GNOME's screen savers have them
  fake_screen_lock.py logind               org.freedesktop.login1 on $DBUS_SYSTEM_BUS_ADDRESS: the Manager's
                                           GetSession(s) -> o (for "auto", "self" or "1") and session "1" with the
                                           LockedHint property and SetLockedHint(b), which emits PropertiesChanged

Tests lock and unlock the screen through these services' real methods (SetActive, SetLockedHint), as a screen
locker does. Prints "READY" on stdout once it owns its name; exits cleanly on SIGTERM/SIGINT.
"""

import asyncio
import os
import sys

from dbus_fast import DBusError
from dbus_fast.aio import MessageBus
from dbus_fast.annotations import DBusBool, DBusObjectPath, DBusStr
from dbus_fast.constants import PropertyAccess
from dbus_fast.service import ServiceInterface, dbus_property, method
from dbus_fast.service import signal as dbus_signal
from dbus_service import own_name_and_serve  # this folder: the services run as scripts

LOGIND = "org.freedesktop.login1"
SESSION_PATH = "/org/freedesktop/login1/session/_31"  # session "1", escaped as logind does


class ScreenSaver(ServiceInterface):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.active = False

    @method()
    def GetActive(self) -> DBusBool:
        return self.active

    @method()
    def SetActive(self, active: DBusBool) -> DBusBool:
        if active != self.active:
            self.active = active
            self.ActiveChanged(active)
        return True

    @dbus_signal()
    def ActiveChanged(self, active: bool) -> DBusBool:
        return active


class Manager(ServiceInterface):
    def __init__(self) -> None:
        super().__init__("org.freedesktop.login1.Manager")

    @method()
    def GetSession(self, session_id: DBusStr) -> DBusObjectPath:
        if session_id not in ("auto", "self", "1"):
            raise DBusError("org.freedesktop.login1.NoSuchSession", f"No session '{session_id}' known")
        return SESSION_PATH


class Session(ServiceInterface):
    def __init__(self) -> None:
        super().__init__("org.freedesktop.login1.Session")
        self.locked = False

    @dbus_property(access=PropertyAccess.READ)
    def LockedHint(self) -> DBusBool:
        return self.locked

    @method()
    def SetLockedHint(self, locked: DBusBool) -> None:
        self.locked = locked
        self.emit_properties_changed({"LockedHint": locked})


async def serve(role: str, name: str) -> int:
    if role == "logind":
        bus = await MessageBus(bus_address=os.environ["DBUS_SYSTEM_BUS_ADDRESS"]).connect()
        bus.export("/org/freedesktop/login1", Manager())
        bus.export(SESSION_PATH, Session())
        name = LOGIND
    else:
        bus = await MessageBus().connect()
        path = "/org/gnome/ScreenSaver" if name == "org.gnome.ScreenSaver" else "/org/freedesktop/ScreenSaver"
        bus.export(path, ScreenSaver(name))
    return await own_name_and_serve(bus, name)


if __name__ == "__main__":
    sys.exit(asyncio.run(serve(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "org.freedesktop.ScreenSaver")))
