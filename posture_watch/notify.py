"""Desktop notifications for posture alerts, behind a fallback chain that never stops the watcher.

`open_notifier()` picks the first backend that works here: desktop-notifier (native notifications with buttons,
such as "Snooze 30 min" and "Taking a break"), then plyer (cross-platform, no buttons), then the terminal. If the
backend in use stops working mid-run (the notification server quits, say), alerts move down the chain and the
user is told once, in one line. Before each later alert the backends above are tried again, so when the server
comes back (a desktop restarted, or one that started after us at login) alerts go back to the desktop, and the
user is told that too. Alerts are minutes apart, so the retry costs nothing that matters.
"""

import contextlib
import queue
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import Literal, Protocol

from posture_watch import notify_backends as backends
from posture_watch.core import thresholds as th
from posture_watch.core.advice import spoken_duration
from posture_watch.core.events import (
    AlertRaised,
    BreakReminderDue,
    Command,
    Event,
    RemindLater,
    Snooze,
    TakeBreak,
)
from posture_watch.errors import PostureWatchError


@dataclass(frozen=True)
class Button:
    """A notification button. `on_press` runs on the notifier's own thread, so it must be thread-safe (handing a
    command to the session is)."""

    label: str
    on_press: Callable[[], None]


@dataclass(frozen=True)
class Notice:
    """One alert: the fault as the title, the fix or stretch as the body, and the user's possible answers."""

    title: str
    body: str
    urgency: Literal["low", "normal", "critical"] = "normal"
    buttons: tuple[Button, ...] = ()

# What the warning says when alerts move to this backend.
_INSTEAD = {"plyer": "sending alerts through plyer instead", "console": "printing alerts to the terminal instead"}
BACK = "posture-watch: the notification server is back; alerts go to the desktop again"


class Notifier(Protocol):
    name: str

    def send(self, notice: Notice) -> None:
        """Deliver the notice; never raises for delivery problems."""

    def close(self) -> None:
        """Release the backend (threads, connections)."""


def _print_warning(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class ConsoleNotifier:
    """One line per alert on stderr: the last resort, and the choice for terminal-only use."""

    name = "console"

    def send(self, notice: Notice) -> None:
        with contextlib.suppress(OSError, ValueError):  # a closed or broken terminal must not stop the watcher
            print(f"posture-watch: {notice.title} — {notice.body}", file=sys.stderr, flush=True)

    def close(self) -> None:
        """Nothing to release."""


class SilentNotifier:
    """Drops alerts: for runs that only record posture."""

    name = "none"

    def send(self, notice: Notice) -> None:
        """Deliberately nothing."""

    def close(self) -> None:
        """Nothing to release."""


class _FallbackNotifier:
    """Sends through the first working backend of a chain and moves down the chain when that one fails.

    The terminal comes after every chain: it cannot fail, so the watcher always gets its alerts out somewhere.
    """

    def __init__(self, chain: list[Callable[[], Notifier]], warn: Callable[[str], None]) -> None:
        self._chain = chain
        self._warn = warn
        self._rank, self._backend, self.first_failure = self._first_working(0, len(chain))
        self.name = self._backend.name

    def _first_working(self, start: int, stop: int) -> tuple[int, Notifier, str | None]:
        """Open the first backend of chain[start:stop] that works, with its rank in the chain (the terminal,
        ranked after the chain, if none does), and why the first one tried did not."""
        first_failure = None
        for rank in range(start, stop):
            try:
                return rank, self._chain[rank](), first_failure
            except Exception as exc:
                first_failure = first_failure or backends.describe_failure(exc)
        return len(self._chain), ConsoleNotifier(), first_failure

    def warn_fallback(self, failed: str, reason: str) -> None:
        self._warn(f"posture-watch: {failed} notifications unavailable ({reason}); {_INSTEAD[self.name]}")

    def send(self, notice: Notice) -> None:
        notice = replace(notice, buttons=tuple(self._guarded(b) for b in notice.buttons))
        if self._rank > 0:
            self._try_better()
        while True:
            try:
                self._backend.send(notice)
                return
            except Exception as exc:
                failed, reason = self._backend.name, backends.describe_failure(exc)
                self._use(*self._first_working(self._rank + 1, len(self._chain))[:2])
                self.warn_fallback(failed, reason)

    def _try_better(self) -> None:
        """Move back up the chain if a backend above the one in use works again."""
        rank, backend, _ = self._first_working(0, self._rank)
        if rank < self._rank:
            self._use(rank, backend)
            self._warn(BACK)

    def _use(self, rank: int, backend: Notifier) -> None:
        with contextlib.suppress(Exception):
            self._backend.close()
        self._rank, self._backend, self.name = rank, backend, backend.name

    def _guarded(self, button: Button) -> Button:
        def pressed() -> None:
            try:
                button.on_press()
            except Exception as exc:  # it runs on the notifier's thread, where a traceback would help nobody
                self._warn(f"posture-watch: handling {button.label!r} failed: {backends.describe_failure(exc)}")

        return Button(button.label, pressed)

    def close(self) -> None:
        self._backend.close()


def _chain(backend: str) -> list[Callable[[], Notifier]]:
    chains: dict[str, list[Callable[[], Notifier]]] = {
        "auto": [backends.DesktopBackend, backends.PlyerBackend],
        "desktop": [backends.DesktopBackend],
        "plyer": [backends.PlyerBackend],
        "console": [],  # straight to the terminal
        "none": [SilentNotifier],
    }
    if backend not in chains:
        raise PostureWatchError(f"unknown notifier {backend!r}: choose one of {', '.join(chains)}")
    return chains[backend]


def open_notifier(backend: str = "auto", warn: Callable[[str], None] = _print_warning) -> Notifier:
    """Open the notifier for alerts.

    backend: "auto" (desktop-notifier → plyer → console), "desktop", "plyer", "console", "none". With "auto", a
    backend that does not work here is skipped with one line through `warn`; a backend named explicitly that
    does not work raises PostureWatchError. Either way, a backend that fails later hands over to the next one
    (the terminal at the latest) with one line through `warn`, and `send` never raises; a button whose handler
    fails is reported through `warn` too.
    """
    notifier = _FallbackNotifier(_chain(backend), warn)
    if notifier.first_failure is not None:
        if backend != "auto":
            notifier.close()
            raise PostureWatchError(f"{backend} notifications unavailable: {notifier.first_failure}")
        notifier.warn_fallback(backends.DesktopBackend.name, notifier.first_failure)
    return notifier


def check_notifications() -> tuple[bool, str]:
    """For `posture-watch doctor`: whether alerts reach the desktop, and how, in one line."""
    first_failure = None
    for open_backend in (backends.DesktopBackend, backends.PlyerBackend):
        try:
            backend = open_backend()
        except Exception as exc:
            first_failure = first_failure or backends.describe_failure(exc)
            continue
        backend.close()
        return True, f"desktop notifications through {backend.description}"
    return False, f"{first_failure}: alerts will be printed to the terminal"


class EventNotifier:
    """A session subscriber: alerts and break reminders become notifications whose buttons post commands back.

    Notices are sent from a thread of its own, so the session (and the camera loop) never waits on D-Bus."""

    def __init__(self, notifier: Notifier, post: Callable[[Command], None]) -> None:
        self._notifier = notifier
        self._post = post
        self._outbox: queue.SimpleQueue[Notice | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._deliver, name="posture-watch-notices", daemon=True)
        self._thread.start()

    def __call__(self, event: Event) -> None:
        if isinstance(event, AlertRaised):
            self._outbox.put(Notice(event.title, event.body, event.urgency, (
                self._button(f"Snooze {spoken_duration(th.SNOOZE_S)}", Snooze()),
                self._button("Taking a break", TakeBreak()))))
        elif isinstance(event, BreakReminderDue):
            self._outbox.put(Notice(event.title, event.body, "normal", (
                self._button("Later", RemindLater()),
                self._button("Taking a break", TakeBreak()))))

    def _button(self, label: str, command: Command) -> Button:
        return Button(label, partial(self._post, command))

    def _deliver(self) -> None:
        while (notice := self._outbox.get()) is not None:
            self._notifier.send(notice)

    def close(self) -> None:
        """Deliver what is queued (bounded: every send is), then release the backend."""
        self._outbox.put(None)
        self._thread.join()
        self._notifier.close()
