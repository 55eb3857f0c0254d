"""A StatusNotifierWatcher for tests: the registry a desktop's tray host runs (org.kde.StatusNotifierWatcher), so
that an AppIndicator tray icon registers on a private session bus. It shows nothing; it prints
"ITEM <bus name> <object path>" for each registered item, so a test can read the item's properties and its
com.canonical.dbusmenu menu, and click it. Prints READY once it owns its name; SIGTERM stops it."""

import asyncio
import signal
from typing import Annotated

from dbus_fast import Message, MessageType
from dbus_fast.aio import MessageBus
from dbus_fast.annotations import DBusBool, DBusInt32, DBusSignature, DBusStr
from dbus_fast.constants import NameFlag, PropertyAccess
from dbus_fast.service import ServiceInterface, dbus_property, method
from dbus_fast.service import signal as dbus_signal

NAME = "org.kde.StatusNotifierWatcher"
StrList = Annotated[list[str], DBusSignature("as")]  # dbus-fast reads the D-Bus signatures from annotations


class StatusNotifierWatcher(ServiceInterface):
    def __init__(self) -> None:
        super().__init__(NAME)
        self.items: list[str] = []

    @method()
    def RegisterStatusNotifierItem(self, service: DBusStr) -> None:
        """Registration is recorded from the raw message (it needs the sender), in `on_message`."""

    @method()
    def RegisterStatusNotifierHost(self, service: DBusStr) -> None:
        """Hosts are not tracked: this watcher pretends one is there."""

    @dbus_property(access=PropertyAccess.READ)
    def RegisteredStatusNotifierItems(self) -> StrList:
        return self.items

    @dbus_property(access=PropertyAccess.READ)
    def IsStatusNotifierHostRegistered(self) -> DBusBool:
        return True

    @dbus_property(access=PropertyAccess.READ)
    def ProtocolVersion(self) -> DBusInt32:
        return 0

    @dbus_signal()
    def StatusNotifierItemRegistered(self, item: str) -> DBusStr:
        return item


async def main() -> None:
    bus = await MessageBus().connect()
    watcher = StatusNotifierWatcher()

    def on_message(message: Message) -> None:
        if message.message_type == MessageType.METHOD_CALL and message.member == "RegisterStatusNotifierItem":
            argument = message.body[0]
            # An item names either its object path (on the caller's unique name) or a bus name (default path).
            name, path = (message.sender, argument) if argument.startswith("/") else (argument, "/StatusNotifierItem")
            watcher.items.append(f"{name}{path}")
            print(f"ITEM {name} {path}", flush=True)
            asyncio.get_running_loop().call_soon(watcher.StatusNotifierItemRegistered, f"{name}{path}")

    bus.add_message_handler(on_message)
    bus.export("/StatusNotifierWatcher", watcher)
    await bus.request_name(NAME, NameFlag.DO_NOT_QUEUE)
    print("READY", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
