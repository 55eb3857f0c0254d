"""Where posture-watch keeps the user's files, and how it writes them: atomically and readable by the user only,
so a crash or a full disk never leaves a half-written baseline behind."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import platformdirs

APP = "posture-watch"


def config_dir() -> Path:
    """Per-user settings folder (e.g. ~/.config/posture-watch); POSTURE_WATCH_CONFIG_DIR overrides it."""
    override = os.environ.get("POSTURE_WATCH_CONFIG_DIR")
    return Path(override) if override else Path(platformdirs.user_config_dir(APP, appauthor=False))


def write_private_file(path: Path, text: str) -> None:
    """Replace `path` with `text` in one step; the file is created with mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
