"""A recording org.freedesktop.Notifications server for tests, run as a subprocess on a private bus.

It implements the freedesktop notification spec (1.2) on $DBUS_SESSION_BUS_ADDRESS and records every
Notify/CloseNotification call, so tests check what really went over D-Bus instead of mocking a library.
Tests drive it through a second interface on the same object, `org.posturewatch.test.NotifyControl`:

  Calls() -> s                JSON list of recorded calls (hints keep their D-Bus signature: urgency is "y")
  Shown() -> au               ids of notifications currently on screen
  InvokeAction(u id, s key)   what a click does on a real server: ActionInvoked, then NotificationClosed(id, 2)
  Close(u id, u reason)       NotificationClosed(id, reason): 1 expired, 2 dismissed by the user
  SetHang(b hang)             while true, Notify never answers (a wedged server)

Prints "READY" on stdout once it owns the name; exits cleanly on SIGTERM/SIGINT.
"""

import asyncio
import json
import sys
from typing import Annotated, Any

from dbus_fast import Variant
from dbus_fast.aio import MessageBus
from dbus_fast.annotations import DBusBool, DBusDict, DBusInt32, DBusSignature, DBusStr, DBusUInt32
from dbus_fast.service import ServiceInterface, method
from dbus_fast.service import signal as dbus_signal
from dbus_service import own_name_and_serve  # this folder: the services run as scripts

BUS_NAME = "org.freedesktop.Notifications"
OBJECT_PATH = "/org/freedesktop/Notifications"
SERVER_INFO = ["recording-notify-server", "posture-watch tests", "1.0", "1.2"]
CAPABILITIES = ["actions", "body", "icon-static", "persistence"]
CLOSED_DISMISSED, CLOSED_BY_CALL = 2, 3

# dbus-fast reads each method's D-Bus signature from these annotations.
StrList = Annotated[list[str], DBusSignature("as")]
IdList = Annotated[list[int], DBusSignature("au")]
ServerInfo = Annotated[list[str], DBusSignature("ssss")]
IdAndReason = Annotated[list[int], DBusSignature("uu")]
IdAndKey = Annotated[list[int | str], DBusSignature("us")]


def to_json(value: Any) -> Any:
    """Make D-Bus values JSON-friendly while keeping each variant's signature (tests check urgency is a byte)."""
    if isinstance(value, Variant):
        return {"signature": value.signature, "value": to_json(value.value)}
    if isinstance(value, bytes | bytearray):
        return {"bytes": len(value)}
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    return value


class Notifications(ServiceInterface):
    def __init__(self) -> None:
        super().__init__(BUS_NAME)
        self.calls: list[dict[str, Any]] = []
        self.shown: set[int] = set()
        self.last_id = 0
        self.unhang = asyncio.Event()
        self.unhang.set()

    @method()
    def GetCapabilities(self) -> StrList:
        return CAPABILITIES

    @method()
    def GetServerInformation(self) -> ServerInfo:
        return SERVER_INFO

    @method()
    async def Notify(self, app_name: DBusStr, replaces_id: DBusUInt32, app_icon: DBusStr, summary: DBusStr,
                     body: DBusStr, actions: StrList, hints: DBusDict, expire_timeout: DBusInt32) -> DBusUInt32:
        await self.unhang.wait()
        if replaces_id in self.shown:
            nid = replaces_id
        else:
            self.last_id += 1
            nid = self.last_id
        self.shown.add(nid)
        self.calls.append({
            "method": "Notify", "id": nid, "app_name": app_name, "replaces_id": replaces_id,
            "app_icon": app_icon, "summary": summary, "body": body,
            # actions arrive as a flat [key, label, key, label, ...] list
            "actions": dict(zip(actions[0::2], actions[1::2], strict=True)),
            "hints": to_json(hints), "expire_timeout": expire_timeout,
        })
        return nid

    @method()
    def CloseNotification(self, id: DBusUInt32) -> None:
        self.calls.append({"method": "CloseNotification", "id": id})
        self.close(id, CLOSED_BY_CALL)

    def close(self, nid: int, reason: int) -> None:
        self.shown.discard(nid)
        self.NotificationClosed(nid, reason)

    @dbus_signal()
    def NotificationClosed(self, id: int, reason: int) -> IdAndReason:
        return [id, reason]

    @dbus_signal()
    def ActionInvoked(self, id: int, action_key: str) -> IdAndKey:
        return [id, action_key]


class Control(ServiceInterface):
    def __init__(self, server: Notifications) -> None:
        super().__init__("org.posturewatch.test.NotifyControl")
        self.server = server

    @method()
    def Calls(self) -> DBusStr:
        return json.dumps(self.server.calls)

    @method()
    def Shown(self) -> IdList:
        return sorted(self.server.shown)

    @method()
    def InvokeAction(self, id: DBusUInt32, key: DBusStr) -> None:
        self.server.ActionInvoked(id, key)
        self.server.close(id, CLOSED_DISMISSED)

    @method()
    def Close(self, id: DBusUInt32, reason: DBusUInt32) -> None:
        self.server.close(id, reason)

    @method()
    def SetHang(self, hang: DBusBool) -> None:
        if hang:
            self.server.unhang.clear()
        else:
            self.server.unhang.set()


async def serve() -> int:
    bus = await MessageBus().connect()
    server = Notifications()
    bus.export(OBJECT_PATH, server)
    bus.export(OBJECT_PATH, Control(server))
    return await own_name_and_serve(bus, BUS_NAME)


if __name__ == "__main__":
    sys.exit(asyncio.run(serve()))
