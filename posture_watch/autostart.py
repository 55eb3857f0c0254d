"""Starting the watcher at login, and only when the user asks (`posture-watch autostart enable`): an XDG autostart
entry on Linux and the other free desktops, a LaunchAgent on macOS, a value under the user's Run key on Windows.

What the login starts is this Python running this package's `run`, so a virtual environment's or pipx's install
works as it does in the terminal; `enable` first checks that the command really starts from outside this folder.
"""

from __future__ import annotations

import configparser
import os
import plistlib
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .errors import PostureWatchError
from .store import shown, write_private_file

NAME = "posture-watch"
COMMENT = "Watches your posture through the webcam and nudges you when a hunch lasts"
LAUNCH_AGENT_LABEL = "posture-watch"
WINDOWS_RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
ICON = Path(__file__).resolve().parent / "assets" / "icon.png"
CHECK_TIMEOUT_S = 60.0


def start_command() -> list[str]:
    """The command line the login runs."""
    python = Path(sys.executable)
    if sys.platform == "win32" and (windowless := python.with_name("pythonw.exe")).exists():
        python = windowless  # no console window at login
    return [str(python), "-m", "posture_watch", "run"]


def check_start_command(argv: list[str]) -> None:
    """Run `argv`'s program with --version from the home folder, as a login would (no PYTHONPATH, another working
    folder): PostureWatchError if posture-watch is not installed for that Python but only found from here."""
    probe = [*argv[:-1], "--version"]
    env = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    try:
        done = subprocess.run(probe, cwd=Path.home(), env=env, capture_output=True, text=True,
                              timeout=CHECK_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise PostureWatchError(f"cannot run {shlex.join(probe)}: {err}") from None
    if done.returncode != 0 or not done.stdout.startswith("posture-watch "):
        raise PostureWatchError(f"{shlex.join(probe)} does not start posture-watch from your home folder (is it "
                                "installed for that Python, not only run from a source folder?): install it with "
                                "pip, then try again")


@dataclass(frozen=True)
class Entry:
    where: str  # the file, or the registry value, as the user would look for it
    command: list[str]  # what it starts
    switched_off: bool = False  # present, but turned off in the desktop's own startup settings


class Autostart(Protocol):
    @property
    def where(self) -> str:
        """Where the entry is (or would be)."""

    def enable(self, argv: list[str]) -> None:
        """Create or update the entry so that the login runs `argv`."""

    def disable(self) -> bool:
        """Remove the entry; False when there was none."""

    def read(self) -> Entry | None:
        """The entry, or None when there is none."""


# --- XDG (Linux and the other free desktops) --------------------------------------------------------------------------

_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


def exec_value(argv: list[str]) -> str:
    """`argv` as the Exec key of a desktop entry: arguments with reserved characters in double quotes (with ", `, $
    and \\ escaped), % doubled (it starts field codes), then the string escapes every value has."""
    words = []
    for arg in argv:
        word = arg.replace("%", "%%")
        if not word or _RESERVED & set(word):
            word = '"' + "".join("\\" + c if c in '"`$\\' else c for c in word) + '"'
        words.append(word)
    return _escaped(" ".join(words))


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")


def parse_exec(value: str) -> list[str]:
    """The argument list an Exec value (as written in the file) stands for: the inverse of `exec_value`."""
    unescaped = []
    chars = iter(value)
    for char in chars:
        if char == "\\":
            following = next(chars, "")
            unescaped.append({"s": " ", "n": "\n", "t": "\t", "r": "\r"}.get(following, following))
        else:
            unescaped.append(char)
    return [word.replace("%%", "%") for word in _split_quoted("".join(unescaped))]


def _split_quoted(text: str) -> list[str]:
    """Words separated by spaces; inside double quotes a backslash escapes ", `, $ and \\ (the spec's rule, which
    is not shlex's: shlex keeps the backslash before $ and `)."""
    words: list[str] = []
    word: list[str] | None = None  # None: between words
    quoted, index = False, 0
    while index < len(text):
        char = text[index]
        if quoted and char == "\\" and text[index + 1:index + 2] in ('"', "`", "$", "\\"):
            word = (word or []) + [text[index + 1]]
            index += 2
            continue
        if char == '"':
            quoted, word = not quoted, word or []
        elif char == " " and not quoted:
            if word is not None:
                words.append("".join(word))
            word = None
        else:
            word = (word or []) + [char]
        index += 1
    if quoted:
        raise ValueError("a quote is not closed")
    if word is not None:
        words.append("".join(word))
    return words


def desktop_entry(argv: list[str]) -> str:
    return "\n".join([
        "[Desktop Entry]",
        "Type=Application",
        f"Name={NAME}",
        f"Comment={COMMENT}",
        f"Exec={exec_value(argv)}",
        f"Icon={_escaped(str(ICON))}",
        "Terminal=false",
        "X-GNOME-Autostart-enabled=true",
        "",
    ])


def xdg_config_home() -> Path:
    configured = os.environ.get("XDG_CONFIG_HOME", "")
    return Path(configured) if os.path.isabs(configured) else Path.home() / ".config"  # the spec ignores a relative one


class XdgAutostart:
    def __init__(self, folder: Path) -> None:
        self.path = folder / f"{NAME}.desktop"

    @property
    def where(self) -> str:
        return shown(self.path)

    def enable(self, argv: list[str]) -> None:
        _write(self.path, desktop_entry(argv))

    def disable(self) -> bool:
        return _remove(self.path)

    def read(self) -> Entry | None:
        if not self.path.exists():
            return None
        entry = configparser.ConfigParser(interpolation=None, strict=False)
        entry.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
        try:
            entry.read(self.path, encoding="utf-8")
            section = entry["Desktop Entry"]
            command = parse_exec(section.get("Exec", ""))
        except (configparser.Error, KeyError, ValueError, UnicodeDecodeError, OSError):
            return Entry(self.where, [], False)
        off = section.get("Hidden", "false") == "true" or section.get("X-GNOME-Autostart-enabled", "true") == "false"
        return Entry(self.where, command, off)


# --- macOS ------------------------------------------------------------------------------------------------------------


def launch_agent(argv: list[str], log: Path) -> bytes:
    return plistlib.dumps({
        "Label": LAUNCH_AGENT_LABEL,
        "ProgramArguments": argv,
        "RunAtLoad": True,  # at login; not kept alive: `posture-watch quit` means quit
        "ProcessType": "Interactive",
        "LimitLoadToSessionType": "Aqua",  # the graphical login only: that is where the camera and notices are
        "StandardErrorPath": str(log),
    })


class LaunchAgent:
    def __init__(self, home: Path) -> None:
        self.path = home / "Library" / "LaunchAgents" / f"{LAUNCH_AGENT_LABEL}.plist"
        self.log = home / "Library" / "Logs" / f"{NAME}.log"

    @property
    def where(self) -> str:
        return shown(self.path)

    def enable(self, argv: list[str]) -> None:
        _write(self.path, launch_agent(argv, self.log).decode())

    def disable(self) -> bool:
        return _remove(self.path)

    def read(self) -> Entry | None:
        if not self.path.exists():
            return None
        try:
            with self.path.open("rb") as fh:
                agent = plistlib.load(fh)
            command = [str(arg) for arg in agent.get("ProgramArguments", [])]
        except (plistlib.InvalidFileException, ValueError, AttributeError, OSError):
            return Entry(self.where, [], False)
        return Entry(self.where, command, bool(agent.get("Disabled", False)))


# --- Windows ----------------------------------------------------------------------------------------------------------


def windows_run_value(argv: list[str]) -> str:
    return subprocess.list2cmdline(argv)


class WindowsRun:
    """A value named posture-watch under HKEY_CURRENT_USER's Run key: what Windows starts at the user's login."""

    where = f"HKEY_CURRENT_USER\\{WINDOWS_RUN_KEY}\\{NAME}"

    def enable(self, argv: list[str]) -> None:
        import winreg  # type: ignore[import-not-found,unused-ignore]

        try:
            with winreg.CreateKey(winreg.HKEY_CURRENT_USER, WINDOWS_RUN_KEY) as run:
                winreg.SetValueEx(run, NAME, 0, winreg.REG_SZ, windows_run_value(argv))
        except OSError as err:
            raise PostureWatchError(f"cannot write {self.where}: {err}") from None

    def disable(self) -> bool:
        import winreg  # type: ignore[import-not-found,unused-ignore]

        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, WINDOWS_RUN_KEY, 0, winreg.KEY_SET_VALUE) as run:
                winreg.DeleteValue(run, NAME)
        except FileNotFoundError:
            return False
        except OSError as err:
            raise PostureWatchError(f"cannot remove {self.where}: {err}") from None
        return True

    def read(self) -> Entry | None:
        import winreg  # type: ignore[import-not-found,unused-ignore]

        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, WINDOWS_RUN_KEY) as run:
                value, _kind = winreg.QueryValueEx(run, NAME)
        except OSError:
            return None
        return Entry(self.where, shlex.split(str(value), posix=False))


def for_this_system() -> Autostart:
    if sys.platform == "win32":
        return WindowsRun()
    if sys.platform == "darwin":
        return LaunchAgent(Path.home())
    return XdgAutostart(xdg_config_home() / "autostart")


def describe(autostart: Autostart) -> tuple[bool, str]:
    """(fine, one line): whether posture-watch starts at login, and whether what it would start still exists."""
    entry = autostart.read()
    if entry is None:
        return True, "off (`posture-watch autostart enable` starts posture-watch at login)"
    if not entry.command:
        return False, f"{entry.where} is damaged: `posture-watch autostart enable` writes it again"
    program = entry.command[0].strip('"')
    if not Path(program).exists():
        return False, (f"{entry.where} starts {program}, which no longer exists: `posture-watch autostart enable` "
                       "points it at this install")
    if entry.switched_off:
        return True, f"off in your desktop's startup settings ({entry.where} is there but switched off)"
    return True, f"on: {entry.where} starts `{shlex.join(entry.command)}` at login"


def _write(path: Path, content: str) -> None:
    try:
        write_private_file(path, content)  # the desktop reads it as the user: nobody else needs to
    except OSError as err:
        raise PostureWatchError(f"cannot write {shown(path)}: {err.strerror}") from None


def _remove(path: Path) -> bool:
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    except OSError as err:
        raise PostureWatchError(f"cannot remove {shown(path)}: {err.strerror}") from None
    return True
