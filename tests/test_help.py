"""Every command, and every action of a command, explains itself with examples in its --help."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from posture_watch.cli import parser

Command = tuple[str, argparse.ArgumentParser]


def commands(top: argparse.ArgumentParser, name: str = "posture-watch") -> Iterator[Command]:
    yield name, top
    for action in top._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from commands(sub, f"{name} {sub_name}")


def test_every_help_has_examples() -> None:
    found = dict(commands(parser()))
    assert {"posture-watch status", "posture-watch pause", "posture-watch resume", "posture-watch snooze",
            "posture-watch break", "posture-watch recalibrate", "posture-watch quit", "posture-watch config set",
            "posture-watch config edit", "posture-watch autostart"} <= set(found)
    missing = [name for name, command in found.items() if "examples:\n  posture-watch" not in command.format_help()]
    assert not missing, missing
