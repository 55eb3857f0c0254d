"""What the fake D-Bus services run as subprocesses by the tests share: own a well-known name, say READY, and
serve until SIGTERM or SIGINT. (Imported by path: the services are started as scripts from this folder.)"""

from __future__ import annotations

import asyncio
import signal
import sys

from dbus_fast.aio import MessageBus
from dbus_fast.constants import NameFlag, RequestNameReply


async def own_name_and_serve(bus: MessageBus, name: str) -> int:
    """Serve the objects exported on `bus` under `name` until stopped; 1 if another process owns the name."""
    reply = await bus.request_name(name, NameFlag.DO_NOT_QUEUE)
    if reply != RequestNameReply.PRIMARY_OWNER:
        print(f"cannot own {name}: {reply.name}", file=sys.stderr)
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    print("READY", flush=True)
    await stop.wait()
    bus.disconnect()
    return 0
