"""Desktop notifications for posture alerts, behind a fallback chain that never stops the watcher.

`open_notifier()` picks the first backend that works here: desktop-notifier (native notifications with
"Snooze 30 min" and "Taking a break" buttons), then plyer (cross-platform, no buttons), then the terminal. If the
backend in use stops working mid-run (the notification server quits, say), alerts move down the chain and the
user is told once, in one line.
"""

import contextlib
import enum
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Literal, Protocol

from posture_watch import notify_backends as backends
from posture_watch.errors import PostureWatchError


@dataclass(frozen=True)
class Notice:
    """One alert: the fault as the title, the fix or stretch as the body."""

    title: str
    body: str
    urgency: Literal["low", "normal", "critical"] = "normal"


class UserAction(enum.Enum):
    """The user's answer through a notification button."""

    SNOOZE = "snooze"
    BREAK = "break"


BUTTON_LABELS = {UserAction.SNOOZE: "Snooze 30 min", UserAction.BREAK: "Taking a break"}

# What the warning says when alerts move to this backend.
_INSTEAD = {"plyer": "sending alerts through plyer instead", "console": "printing alerts to the terminal instead"}


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
        self._chain = iter(chain)
        self._warn = warn
        self._backend, self.first_failure = self._next_working()
        self.name = self._backend.name

    def _next_working(self) -> tuple[Notifier, str | None]:
        """Open the next backend that works (the terminal after the chain), and why the first one tried did not."""
        first_failure = None
        for open_backend in self._chain:
            try:
                return open_backend(), first_failure
            except Exception as exc:
                first_failure = first_failure or backends.describe_failure(exc)
        return ConsoleNotifier(), first_failure

    def warn_fallback(self, failed: str, reason: str) -> None:
        self._warn(f"posture-watch: {failed} notifications unavailable ({reason}); {_INSTEAD[self.name]}")

    def send(self, notice: Notice) -> None:
        while True:
            try:
                self._backend.send(notice)
                return
            except Exception as exc:
                failed, reason = self._backend.name, backends.describe_failure(exc)
                with contextlib.suppress(Exception):
                    self._backend.close()
                self._backend, _ = self._next_working()
                self.name = self._backend.name
                self.warn_fallback(failed, reason)

    def close(self) -> None:
        self._backend.close()


def _button_callbacks(
    on_action: Callable[[UserAction], None], warn: Callable[[str], None]
) -> dict[str, Callable[[], None]]:
    def pressed(action: UserAction) -> None:
        try:
            on_action(action)
        except Exception as exc:  # it runs on the notifier's thread, where a traceback would help nobody
            warn(f"posture-watch: handling {BUTTON_LABELS[action]!r} failed: {backends.describe_failure(exc)}")

    return {label: partial(pressed, action) for action, label in BUTTON_LABELS.items()}


def _chain(backend: str, buttons: dict[str, Callable[[], None]]) -> list[Callable[[], Notifier]]:
    desktop = partial(backends.DesktopBackend, buttons)
    chains: dict[str, list[Callable[[], Notifier]]] = {
        "auto": [desktop, backends.PlyerBackend],
        "desktop": [desktop],
        "plyer": [backends.PlyerBackend],
        "console": [],  # straight to the terminal
        "none": [SilentNotifier],
    }
    if backend not in chains:
        raise PostureWatchError(f"unknown notifier {backend!r}: choose one of {', '.join(chains)}")
    return chains[backend]


def open_notifier(
    backend: str = "auto",
    on_action: Callable[[UserAction], None] | None = None,
    warn: Callable[[str], None] = _print_warning,
) -> Notifier:
    """Open the notifier for alerts.

    backend: "auto" (desktop-notifier → plyer → console), "desktop", "plyer", "console", "none". With "auto", a
    backend that does not work here is skipped with one line through `warn`; a backend named explicitly that
    does not work raises PostureWatchError. Either way, a backend that fails later hands over to the next one
    (the terminal at the latest) with one line through `warn`, and `send` never raises.

    on_action: called with the button the user pressed; without it, alerts have no buttons. It runs on the
    notifier's own thread, so it must be thread-safe: pushing into a queue.SimpleQueue is the simple way.
    """
    buttons = {} if on_action is None else _button_callbacks(on_action, warn)
    notifier = _FallbackNotifier(_chain(backend, buttons), warn)
    if notifier.first_failure is not None:
        if backend != "auto":
            notifier.close()
            raise PostureWatchError(f"{backend} notifications unavailable: {notifier.first_failure}")
        notifier.warn_fallback(backends.DesktopBackend.name, notifier.first_failure)
    return notifier


def check_notifications() -> tuple[bool, str]:
    """For `posture-watch doctor`: whether alerts reach the desktop, and how, in one line."""
    first_failure = None
    for open_backend in (partial(backends.DesktopBackend, {}), backends.PlyerBackend):
        try:
            backend = open_backend()
        except Exception as exc:
            first_failure = first_failure or backends.describe_failure(exc)
            continue
        backend.close()
        return True, f"desktop notifications: {backend.description}"
    return False, f"{first_failure}: alerts will be printed to the terminal"
