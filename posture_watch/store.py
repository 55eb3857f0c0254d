"""The user's files: where they live, how they are read (bounded) and written (atomically, readable by the user
only), so that a crash, a full disk or a hostile file never leaves a half-written baseline or eats the memory."""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from pathlib import Path

import platformdirs

from .core.baseline import Baseline, InvalidBaseline, from_document, to_document
from .errors import PostureWatchError

APP = "posture-watch"
MAX_BASELINE_BYTES = 64 * 1024  # a real baseline is ~1.3 kB; anything far bigger is not one


def config_dir() -> Path:
    """Per-user settings folder (e.g. ~/.config/posture-watch); POSTURE_WATCH_CONFIG_DIR overrides it."""
    override = os.environ.get("POSTURE_WATCH_CONFIG_DIR")
    return Path(override) if override else _own_config_dir()


def _own_config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP, appauthor=False))


def data_dir() -> Path:
    """Per-user data folder (e.g. ~/.local/share/posture-watch: the history); POSTURE_WATCH_DATA_DIR overrides it."""
    override = os.environ.get("POSTURE_WATCH_DATA_DIR")
    return Path(override) if override else Path(platformdirs.user_data_dir(APP, appauthor=False))


def default_baseline_path() -> Path:
    return config_dir() / "baseline.json"


def shown(path: Path) -> str:
    """A path as the user would type it: the home folder as ~."""
    home = str(Path.home())
    text = str(path)
    return "~" + text[len(home):] if home not in ("", "/") and text.startswith(home + os.sep) else text


def private_folder(folder: Path) -> None:
    """Make sure `folder` exists; a folder created here gets mode 0700.

    posture-watch's own folder (the default config folder, named after it) is also made 0700 when it was left
    open to others (made by hand, or by a tool that ran first): what it holds describes the user's body and
    days. A folder the user chose (POSTURE_WATCH_CONFIG_DIR, `--output` elsewhere) keeps its mode: it may be
    shared on purpose, and the files written into it are 0600 anyway."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    if os.name != "posix" or folder.resolve() != _own_config_dir().resolve():
        return
    mode = stat.S_IMODE(folder.stat().st_mode)
    if mode & 0o077:
        with contextlib.suppress(OSError):  # not ours to change after all (another owner): still usable
            folder.chmod(mode & 0o700)


def write_private_file(path: Path, content: str | bytes) -> None:
    """Replace `path` with `content` (text is written as UTF-8) in one step; the file is created with mode 0600. A
    symbolic link stays and the file it points to is replaced; anything but a regular file (a device, a pipe) is
    refused, not replaced."""
    if path.is_symlink():
        path = path.resolve()
    if path.exists() and not path.is_file():
        raise PostureWatchError(f"{shown(path)} is not a regular file: not replacing it")
    private_folder(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content.encode("utf-8") if isinstance(content, str) else content)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_limited(path: Path, limit: int, what: str = "") -> bytes:
    """The bytes of a regular file no larger than `limit`; anything else (a folder, a device such as /dev/zero,
    which never ends, a pipe, a huge file) is refused with PostureWatchError before it is read. `what` names the
    file in the message ("the settings file ")."""
    # O_NONBLOCK: opening a named pipe for reading would otherwise wait for a writer forever (and no signal ends
    # that wait); on a regular file it changes nothing.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise PostureWatchError(f"{what}{shown(path)} is a folder, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise PostureWatchError(f"{what}{shown(path)} is not a regular file")
        if info.st_size > limit:
            raise _too_large(what, path, info.st_size, limit)
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(limit + 1)  # bounded as well: the file may grow while we read it
    finally:
        os.close(fd)
    if len(data) > limit:
        raise _too_large(what, path, len(data), limit)
    return data


def _too_large(what: str, path: Path, size: int, limit: int) -> PostureWatchError:
    def amount(count: int) -> str:
        return f"{count / 2**20:.0f} MB" if count >= 2**20 else f"{count / 2**10:.0f} kB"

    return PostureWatchError(f"{what}{shown(path)} is too large ({amount(size)}, at most {amount(limit)} expected)")


def load_baseline(path: Path) -> Baseline:
    try:
        data = read_limited(path, MAX_BASELINE_BYTES, "the baseline ")
    except FileNotFoundError:
        raise PostureWatchError(f"no baseline at {shown(path)}: run `posture-watch calibrate` first") from None
    except OSError as err:
        raise PostureWatchError(f"cannot read the baseline {shown(path)}: {err.strerror}") from None
    try:
        doc = json.loads(data.decode("utf-8"))
    # ValueError: bad JSON, bad UTF-8, or an integer of more than 4300 digits; RecursionError: absurd nesting.
    except (ValueError, RecursionError):
        raise PostureWatchError(
            f"the baseline {shown(path)} is not valid JSON (damaged?): run `posture-watch calibrate` to make a "
            "new one"
        ) from None
    try:
        return from_document(doc)
    except InvalidBaseline as err:
        raise PostureWatchError(f"the baseline {shown(path)} {err}: run `posture-watch calibrate` again") from None


def save_baseline(baseline: Baseline, path: Path) -> None:
    try:
        write_private_file(path, json.dumps(to_document(baseline), indent=2) + "\n")
    except OSError as err:
        raise PostureWatchError(f"cannot save the baseline to {shown(path)}: {err.strerror}") from None
