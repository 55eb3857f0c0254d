"""`posture-watch config [show | path | set KEY VALUE | edit]`: the settings file."""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

from ..errors import PostureWatchError
from ..settings import (
    KEYS,
    TABLES,
    InvalidSettings,
    key,
    load_settings,
    read_text,
    settings_path,
    template,
    with_value,
)
from ..store import shown, write_private_file
from . import common

EXAMPLES = """\
examples:
  posture-watch config                               the settings in effect, and where each comes from
  posture-watch config path                          where the settings file is
  posture-watch config set watch.alert_after 120     alert after two minutes of slouching (comments are kept)
  posture-watch config set schedule.working_hours 09:00-18:00
  posture-watch config set schedule.working_days Mon-Fri
  posture-watch config set breaks.remind_after 0     no "stand up and move" reminders
  posture-watch config edit                          open the file in $VISUAL or $EDITOR, then check it

""" + textwrap.fill("keys: " + ", ".join(KEYS), width=116, subsequent_indent="  ") + "\n"


def add_command(sub: argparse._SubParsersAction) -> None:
    config = sub.add_parser(
        "config", help="show or change the settings file", formatter_class=common.Formatter, epilog=EXAMPLES,
        description="The settings file (config.toml in the config folder) keeps what you would otherwise type as "
        "flags; flags given to a command override it. An invalid file is never guessed at: `run` refuses to start "
        "and says what is wrong, line by line. The file is only written by `config set` and `config edit`.")
    config.set_defaults(command=show_command)
    actions = config.add_subparsers(title="actions", metavar="ACTION")
    def action(name: str, help_text: str) -> argparse.ArgumentParser:
        return actions.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:] + ".",
                                  formatter_class=common.Formatter, epilog=EXAMPLES)

    action("show", "the settings in effect and where each comes from (the default)").set_defaults(command=show_command)
    action("path", "print the settings file's path").set_defaults(command=path_command)
    change = action("set", "change one setting in the file, keeping its comments and layout")
    change.add_argument("key", metavar="KEY", help="table.key, e.g. watch.alert_after")
    change.add_argument("value", metavar="VALUE", help="the new value, e.g. 120, 09:00-18:00, true")
    change.set_defaults(command=set_command)
    action("edit", "open the file in $VISUAL or $EDITOR, then check it").set_defaults(command=edit_command)


def show_command(_args: argparse.Namespace) -> int:
    path = settings_path()
    settings = load_settings(path)
    exists = path.exists()
    print(f"# {shown(path)}" + ("" if exists else " (no such file yet: every value is the default)"))
    print("schema = 1")
    for table in TABLES:
        items = [item for item in KEYS.values() if item.table == table]
        assignments = [f"{item.name} = {item.kind.to_toml(settings.value(item.path))}" for item in items]
        width = max(len(text) for text in assignments)
        print(f"\n[{table}]")
        for item, text in zip(items, assignments, strict=True):
            print(f"{text:<{width}}  # {settings.origin(item.path)}")
    return 0


def path_command(_args: argparse.Namespace) -> int:
    print(settings_path())
    return 0


def _target(path: Path) -> Path:
    """Where to write: a settings file that is a symbolic link (kept with one's dotfiles) stays a link."""
    return path.resolve() if path.is_symlink() else path


def set_command(args: argparse.Namespace) -> int:
    item = key(args.key)
    try:
        value = item.kind.from_text(args.value)
    except ValueError as err:
        raise PostureWatchError(f"{item.path}: {err}") from None
    path = settings_path()
    target = _target(path)
    text = read_text(target)
    try:
        changed = with_value(template() if text is None else text, item, value, path)
    except InvalidSettings as err:
        raise InvalidSettings([*err.lines, "nothing was changed: fix the file first (`posture-watch config edit`)"])\
            from None
    _write(target, changed)
    print(f"{item.path} = {item.kind.to_toml(value)}  ({shown(path)})")
    return 0


def edit_command(_args: argparse.Namespace) -> int:
    path = settings_path()
    target = _target(path)
    if not target.exists():
        _write(target, template())
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or ("notepad" if sys.platform == "win32" else "vi")
    argv = [*shlex.split(editor, posix=sys.platform != "win32"), str(target)]
    try:
        done = subprocess.run(argv, check=False)
    except OSError as err:
        raise PostureWatchError(f"cannot start the editor {argv[0]!r} ({err.strerror}): set VISUAL or EDITOR to "
                                "the command of your editor") from None
    if done.returncode != 0:
        common.say(f"posture-watch: the editor exited with status {done.returncode}")
    try:
        load_settings(path)
    except InvalidSettings as err:
        raise InvalidSettings([*err.lines, "`posture-watch run` will not start until this is fixed: "
                                           "`posture-watch config edit` opens the file again"]) from None
    print(f"{shown(path)}: the settings are valid")
    return 0


def _write(path: Path, text: str) -> None:
    try:
        write_private_file(path, text)
    except OSError as err:
        raise PostureWatchError(f"cannot write the settings file {shown(path)}: {err.strerror}") from None
