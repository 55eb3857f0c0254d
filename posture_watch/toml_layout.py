"""Enough of TOML's layout to point at a line and to change a value in place: where each table header and key
assignment is written, and where a value ends. The settings file's problems are said with its line numbers, and
`posture-watch config set` rewrites one value while keeping the user's comments, order and layout (tomllib reads
values, not where they are written).

Meant for text tomllib has already accepted: it does not validate.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass

_BARE = r"[A-Za-z0-9_-]+"
_BASIC = r'"(?:[^"\\\n]|\\.)*"'
_LITERAL = r"'[^'\n]*'"
_PART = re.compile(rf"{_BARE}|{_BASIC}|{_LITERAL}")
_PATH = rf"(?:{_PART.pattern})(?:\s*\.\s*(?:{_PART.pattern}))*"
_HEADER = re.compile(rf"\s*\[\[?\s*({_PATH})\s*\]")
_ASSIGNMENT = re.compile(rf"\s*({_PATH})\s*=[ \t]*")


@dataclass(frozen=True)
class Entry:
    path: tuple[str, ...]  # a table header's name, or a key's full dotted path
    row: int  # 0-based line index
    header: bool
    value_at: int = 0  # the column where a key's value starts


def _key_path(text: str) -> tuple[str, ...]:
    parts = []
    for part in _PART.findall(text):
        parts.append(tomllib.loads(f"k = {part}")["k"] if part[0] in "\"'" else part)
    return tuple(parts)


def scan(lines: list[str]) -> list[Entry]:
    """Every table header and key assignment, in order. Meant for text tomllib has accepted."""
    entries: list[Entry] = []
    table: tuple[str, ...] = ()
    row = 0
    while row < len(lines):
        if header := _HEADER.match(lines[row]):
            table = _key_path(header[1])
            entries.append(Entry(table, row, True))
            row += 1
        elif assignment := _ASSIGNMENT.match(lines[row]):
            entries.append(Entry(table + _key_path(assignment[1]), row, False, assignment.end()))
            row = value_end(lines, row, assignment.end())[0] + 1
        else:
            row += 1
    return entries


def key_lines(text: str) -> dict[tuple[str, ...], int]:
    """The (1-based) line each table and key is first written on, by path."""
    lines: dict[tuple[str, ...], int] = {}
    for entry in scan(text.splitlines()):
        for length in range(1, len(entry.path) + 1):  # a dotted key also writes its tables
            lines.setdefault(entry.path[:length], entry.row + 1)
    return lines


def value_end(lines: list[str], row: int, col: int) -> tuple[int, int]:
    """Where the value starting at lines[row][col] ends: (row, the column after its last character). Multi-line
    strings, arrays and inline tables may run on to later lines; a comment is not part of the value."""
    depth, end = 0, (row, col)
    while row < len(lines):
        line = lines[row]
        while col < len(line):
            if line[col] == "#":
                break
            if line.startswith(('"""', "'''"), col):
                row, col = _after_multiline(lines, row, col)
                line = lines[row] if row < len(lines) else ""
                end = (row, col)
                continue
            if line[col] in "\"'":
                col = _after_string(line, col)
                end = (row, col)
                continue
            if line[col] in "[{":
                depth += 1
            elif line[col] in "]}":
                depth -= 1
            if not line[col].isspace():
                end = (row, col + 1)
            col += 1
        if depth <= 0:
            return end
        row, col = row + 1, 0
    return end


def _after_string(line: str, col: int) -> int:
    quote, col = line[col], col + 1
    while col < len(line) and line[col] != quote:
        col += 2 if quote == '"' and line[col] == "\\" else 1
    return min(col + 1, len(line))


def _after_multiline(lines: list[str], row: int, col: int) -> tuple[int, int]:
    quotes, col = lines[row][col:col + 3], col + 3
    while row < len(lines):
        line = lines[row]
        while col < len(line):
            if quotes == '"""' and line[col] == "\\":
                col += 2
            elif line.startswith(quotes, col):
                col += 3
                while col < len(line) and line[col] == quotes[0]:  # up to two quotes may end the string's text
                    col += 1
                return row, col
            else:
                col += 1
        row, col = row + 1, 0
    return len(lines) - 1, len(lines[-1]) if lines else 0
