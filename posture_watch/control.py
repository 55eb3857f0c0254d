"""Control of the running watcher from other processes (`posture-watch status`, `pause`, `quit`, ...).

A Unix socket, mode 0600, in the per-user runtime folder (mode 0700). The protocol is one JSON request line and one
JSON reply line per connection, both carrying the protocol version; a request in another version is answered with
a refusal that says which version this side speaks:

    -> {"version": 1, "command": "pause", "seconds": 1800}
    <- {"version": 1, "ok": true, "message": "paused for 30 minutes"}
    -> {"version": 1, "command": "status"}
    <- {"version": 1, "ok": true, "message": "watching", "status": {...}}

Commands: status, pause [seconds], resume, snooze seconds, break [seconds], recalibrate, quit. The server thread
turns each request into a session command through the session's `Mailbox` and waits for the session's answer.

One watcher per user: `run` holds an exclusive lock on `run.lock` in the same folder for as long as it runs. The
kernel drops the lock when the process ends, however it ends (kill -9 included), so a socket left behind by a
crashed run is known to be stale and is replaced, and a second run finds the first one's PID in the lock file.

Where Python has no Unix sockets (Windows), the same protocol runs over loopback TCP instead: `run` listens on
127.0.0.1 at a port the system picks and writes the port with a random token to `control.json` in the same private
folder (a per-user folder on Windows, closed to other users); every request carries the token, and one without it
is refused before it is read any further. The instance lock uses msvcrt there.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import math
import os
import secrets
import socket
import stat
import threading
import warnings
from collections.abc import Iterator
from concurrent.futures import TimeoutError as AnswerTimeout
from pathlib import Path
from typing import Any

import platformdirs

from .core.events import Command, GetStatus, Pause, Quit, Recalibrate, Resume, Snooze, TakeBreak
from .errors import PostureWatchError
from .session import Mailbox
from .store import APP, read_limited, shown, write_private_file

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]
try:
    import msvcrt
except ImportError:  # everywhere else
    msvcrt = None  # type: ignore[assignment]

PROTOCOL = 1
SOCKET_NAME = "control.sock"
ENDPOINT_NAME = "control.json"  # loopback transport: {"port", "token"}
LOCK_NAME = "run.lock"
MAX_LINE_BYTES = 64 * 1024  # a status document is ~1 kB; a request far less
CONNECTION_TIMEOUT_S = 5.0  # a client that connects and says nothing is dropped after this
ANSWER_TIMEOUT_S = 10.0  # how long a request waits for the session (it answers within one frame when watching)
RECALIBRATION_MARGIN_S = 30.0  # recalibrating takes its seconds of frames, plus opening the camera
MAX_SOCKET_PATH_BYTES = 100  # sun_path is 104 bytes on macOS, 108 on Linux, with the terminating NUL
COMMANDS = ("status", "pause", "resume", "snooze", "break", "recalibrate", "quit")


class NotRunning(PostureWatchError):
    """No watcher is running for this user."""


class AlreadyRunning(PostureWatchError):
    def __init__(self, pid: int | None) -> None:
        which = f" (PID {pid})" if pid else ""
        super().__init__(f"another watcher is already running{which}; `posture-watch status` shows how it "
                         "is doing, `posture-watch quit` stops it")
        self.pid = pid


def unix_sockets() -> bool:
    """Whether this Python has Unix sockets; elsewhere (Windows) the control channel is loopback TCP with a token."""
    return hasattr(socket, "AF_UNIX")


def runtime_dir() -> Path:
    """The per-user runtime folder (e.g. /run/user/1000/posture-watch); POSTURE_WATCH_RUNTIME_DIR overrides it."""
    override = os.environ.get("POSTURE_WATCH_RUNTIME_DIR")
    if override:
        return Path(override)
    with warnings.catch_warnings():  # without XDG_RUNTIME_DIR platformdirs warns, then uses a private /tmp folder
        warnings.simplefilter("ignore")
        return Path(platformdirs.user_runtime_dir(APP, appauthor=False))


def _private_folder(folder: Path) -> Path:
    """`folder`, created if needed, made sure to be ours and closed to everyone else (it may be under /tmp)."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = folder.lstat()
        # Windows has no owner ids in stat: the per-user folder there is closed to others by its access list.
        if not stat.S_ISDIR(info.st_mode) or (hasattr(os, "getuid") and info.st_uid != os.getuid()):
            raise PostureWatchError(f"the runtime folder {shown(folder)} is not a folder of yours: set "
                                    "POSTURE_WATCH_RUNTIME_DIR to one that is")
        if stat.S_IMODE(info.st_mode) & 0o077:
            folder.chmod(0o700)
    except OSError as err:
        raise PostureWatchError(f"cannot use the runtime folder {shown(folder)}: {err.strerror}") from None
    return folder


def socket_path(folder: Path) -> Path:
    path = folder / SOCKET_NAME
    if len(os.fsencode(path)) > MAX_SOCKET_PATH_BYTES:
        raise PostureWatchError(f"the control socket's path {path} is too long for a socket: set "
                                "POSTURE_WATCH_RUNTIME_DIR to a shorter folder")
    return path


# --- The server: a thread of `run` ------------------------------------------------------------------------------------


class ControlServer:
    """Listens on the socket and answers each connection from a short-lived thread, so a slow request (a
    recalibration) does not hold up a `status`. `loopback` (the default where there are no Unix sockets): TCP on
    127.0.0.1 with a token."""

    def __init__(self, folder: Path, mailbox: Mailbox, loopback: bool | None = None) -> None:
        self.folder = _private_folder(folder)
        self.mailbox = mailbox
        self.loopback = not unix_sockets() if loopback is None else loopback
        self.path = self.folder / ENDPOINT_NAME if self.loopback else socket_path(self.folder)
        self._token = secrets.token_hex(16) if self.loopback else None
        self._lock = _lock_instance(self.folder / LOCK_NAME)
        self._stopping = threading.Event()
        self._answering: set[threading.Thread] = set()
        try:
            # We hold the lock: no running watcher owns a socket here, so one that exists is a crashed run's.
            self.path.unlink(missing_ok=True)
            self._listener, self._address = self._listen()
        except OSError as err:
            os.close(self._lock)
            raise PostureWatchError(f"cannot open the control socket {shown(self.path)}: {err.strerror}") from None
        except PostureWatchError:  # the loopback endpoint file could not be written (it says why)
            os.close(self._lock)
            raise
        self._inode = self.path.stat().st_ino
        self._thread = threading.Thread(target=self._serve, name="posture-watch-control", daemon=True)
        self._thread.start()

    def _listen(self) -> tuple[socket.socket, Any]:
        """The listening socket and the address a client (or `close`) connects to."""
        if self.loopback:
            listener = socket.create_server(("127.0.0.1", 0))
            address = listener.getsockname()
            try:
                write_private_file(self.path, json.dumps({"version": PROTOCOL, "port": address[1],
                                                          "token": self._token}) + "\n")
            except PostureWatchError:
                listener.close()
                raise
            return listener, address
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(str(self.path))  # the folder is 0700: nobody else can reach it meanwhile
            self.path.chmod(0o600)
            listener.listen(8)
        except OSError:
            listener.close()
            raise
        return listener, str(self.path)

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            if self._stopping.is_set():
                connection.close()
                return
            thread = threading.Thread(target=self._answer, args=(connection,), name="posture-watch-request",
                                      daemon=True)
            self._answering.add(thread)
            thread.start()

    def _answer(self, connection: socket.socket) -> None:
        try:
            self._answer_one(connection)
        finally:
            self._answering.discard(threading.current_thread())

    def _answer_one(self, connection: socket.socket) -> None:
        with connection:
            connection.settimeout(CONNECTION_TIMEOUT_S)
            try:
                line = _read_line(connection)
            except (OSError, ValueError):
                return  # silent, too slow or too long: nothing sensible to answer
            reply = answer(line, self.mailbox, self._token)
            with contextlib.suppress(OSError):  # the client may have given up waiting
                connection.sendall(_encode(reply))

    def close(self) -> None:
        """Stop listening, remove the socket (if it is still ours) and release the instance lock."""
        self._stopping.set()
        with contextlib.suppress(OSError), socket.socket(self._listener.family, socket.SOCK_STREAM) as wake:
            wake.connect(self._address)  # wakes the accept() up, to see that it should stop
        self._thread.join(timeout=5)
        self._listener.close()
        for thread in list(self._answering):  # the answer to `quit` is on its way: let it leave
            thread.join(timeout=1)
        with contextlib.suppress(OSError):
            if self.path.stat().st_ino == self._inode:
                self.path.unlink()
        os.close(self._lock)  # the lock file stays: removing it would let two runs lock two different files

    def __enter__(self) -> ControlServer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


@contextlib.contextmanager
def serving(mailbox: Mailbox, folder: Path | None = None) -> Iterator[ControlServer]:
    """The control server for this run. Raises AlreadyRunning when another watcher of this user runs."""
    with ControlServer(folder or runtime_dir(), mailbox) as server:
        yield server


def _lock_instance(path: Path) -> int:
    """An exclusive lock on `path`, held until the descriptor is closed, with our PID written in the file."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    except OSError as err:
        raise PostureWatchError(f"cannot open {shown(path)}: {err.strerror}") from None
    if _try_lock(fd) is False:
        pid = _pid_in(fd)
        os.close(fd)
        raise AlreadyRunning(pid)
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def _try_lock(fd: int) -> bool | None:
    """True: locked; False: another process holds the lock; None: this file system or system cannot lock (one
    instance is then not enforced; the control channel still works)."""
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        elif msvcrt is not None:
            # A lock on the file's last possible byte: the PID at its start stays readable to a second run.
            os.lseek(fd, 2**31 - 2, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        else:
            return None
    except BlockingIOError:
        return False
    except PermissionError:  # msvcrt: the byte is locked by another process
        return False
    except OSError:
        return None
    return True


def _pid_in(fd: int) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        os.lseek(fd, 0, os.SEEK_SET)
        return int(os.read(fd, 32).decode().strip())
    return None


def answer(line: bytes, mailbox: Mailbox, token: str | None = None) -> dict[str, Any]:
    """The reply to one request line; with a `token` (loopback), only to a request that carries it."""
    try:
        request = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return _reply(False, "not a request: send one JSON object on one line")
    if not isinstance(request, dict):
        return _reply(False, "not a request: send one JSON object on one line")
    if token is not None and not hmac.compare_digest(str(request.get("token", "")).encode(), token.encode()):
        return _reply(False, "not allowed: the request does not carry this watcher's token")
    version = request.get("version")
    if version != PROTOCOL or isinstance(version, bool):
        return _reply(False, f"unsupported protocol version {json.dumps(version)}: this posture-watch speaks "
                             f"version {PROTOCOL}")
    try:
        command = _command(request)
    except ValueError as err:
        return _reply(False, str(err))
    timeout = _answer_timeout(command)
    try:
        reply = mailbox.request(command, timeout)
    except AnswerTimeout:
        return _reply(False, f"the watcher did not answer within {timeout:g} s (busy calibrating?); the request "
                             "may still take effect")
    return _reply(reply.ok, reply.message, reply.status)


def _command(request: dict[str, Any]) -> Command:
    name = request.get("command")
    seconds = request.get("seconds")
    if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, int | float)
                                or not math.isfinite(seconds)):
        raise ValueError(f"seconds must be a number, not {json.dumps(seconds)}")
    match name:
        case "status":
            return GetStatus()
        case "pause":
            return Pause(seconds)
        case "resume":
            return Resume()
        case "snooze":
            if seconds is None:
                raise ValueError("snooze needs seconds")
            return Snooze(seconds)
        case "break":
            return TakeBreak() if seconds is None else TakeBreak(seconds)
        case "recalibrate":
            return Recalibrate()
        case "quit":
            return Quit("posture-watch quit")
    raise ValueError(f"unknown command {json.dumps(name)}; the commands are {', '.join(COMMANDS)}")


def _answer_timeout(command: Command) -> float:
    return ANSWER_TIMEOUT_S + (command.seconds + RECALIBRATION_MARGIN_S if isinstance(command, Recalibrate) else 0)


def _reply(ok: bool, message: str, status: dict[str, Any] | None = None) -> dict[str, Any]:
    reply: dict[str, Any] = {"version": PROTOCOL, "ok": ok, "message": message}
    if status is not None:
        reply["status"] = status
    return reply


def _encode(document: dict[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode() + b"\n"


def _read_line(connection: socket.socket) -> bytes:
    """One line (without its newline), at most MAX_LINE_BYTES; ValueError for a longer one."""
    data = b""
    while b"\n" not in data:
        chunk = connection.recv(4096)
        if not chunk:
            break
        data += chunk
        if len(data) > MAX_LINE_BYTES:
            raise ValueError("line too long")
    return data.split(b"\n", 1)[0]


# --- The client: the control commands ---------------------------------------------------------------------------------


def request(command: str, seconds: float | None = None, folder: Path | None = None,
            loopback: bool | None = None) -> dict[str, Any]:
    """Send one command to the running watcher and return its reply (`ok`, `message`, and `status` for status).
    Raises NotRunning when there is none, PostureWatchError when it cannot be reached or answers in another
    protocol version. `loopback`: as the watcher's ControlServer."""
    folder = folder or runtime_dir()
    message: dict[str, Any] = {"version": PROTOCOL, "command": command}
    if seconds is not None:
        message["seconds"] = seconds
    wait = _answer_timeout(_command(message)) + CONNECTION_TIMEOUT_S  # the server gives up first, and says so
    if not unix_sockets() if loopback is None else loopback:
        path = folder / ENDPOINT_NAME
        port, message["token"] = _endpoint(path)
        family, address = socket.AF_INET, ("127.0.0.1", port)
    else:
        path = socket_path(folder)
        family, address = socket.AF_UNIX, str(path)
    with socket.socket(family, socket.SOCK_STREAM) as connection:
        connection.settimeout(wait)
        try:
            connection.connect(address)
        except (FileNotFoundError, ConnectionRefusedError):
            raise NotRunning("no watcher is running (start one with `posture-watch run`)") from None
        except OSError as err:
            raise PostureWatchError(f"cannot reach the running posture-watch at {shown(path)}: "
                                    f"{err.strerror or err}") from None
        try:
            connection.sendall(_encode(message))
            line = _read_line(connection)
        except (OSError, ValueError) as err:
            raise PostureWatchError(f"the running posture-watch did not answer ({err})") from None
    try:
        reply = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise PostureWatchError("the running posture-watch answered something that is not JSON") from None
    if not isinstance(reply, dict) or reply.get("version") != PROTOCOL:
        theirs = reply.get("version") if isinstance(reply, dict) else None
        raise PostureWatchError(f"the running posture-watch speaks control protocol {json.dumps(theirs)}, this "
                                f"command version {PROTOCOL}: restart it with this version")
    return reply


def _endpoint(path: Path) -> tuple[int, str]:
    """The port and token a loopback watcher wrote; NotRunning when there is no such file."""
    try:
        doc = json.loads(read_limited(path, MAX_LINE_BYTES, "the control endpoint "))
    except FileNotFoundError:
        raise NotRunning("no watcher is running (start one with `posture-watch run`)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        doc = None
    port, token = (doc.get("port"), doc.get("token")) if isinstance(doc, dict) else (None, None)
    if not (type(port) is int and 0 < port < 65536 and isinstance(token, str)):
        raise PostureWatchError(f"the control endpoint {shown(path)} is damaged: restart `posture-watch run`")
    return port, token
