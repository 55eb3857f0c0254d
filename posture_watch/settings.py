"""The settings file, `config.toml` in the config folder: one validated `Settings` model, where each value came from
(default, file or flag), and the in-place edit behind `posture-watch config set`.

An invalid file is never guessed at: every problem is reported, one line each naming its line and key, and nothing
starts. The file is written only when the user asks (`config set`, `config edit`), and an edit keeps the user's
comments, order and layout.
"""

from __future__ import annotations

import difflib
import json
import math
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import time
from pathlib import Path
from typing import Any, ClassVar, Literal

from .core import thresholds as th
from .core.policy import PolicySettings
from .core.schedule import WorkSchedule, parse_days, parse_hours
from .core.watcher import SamplingPlan, WatchSettings
from .errors import PostureWatchError
from .store import config_dir, read_limited, shown
from .toml_layout import key_lines, scan, value_end

SCHEMA = 1  # the format version this posture-watch reads and writes
FILE_NAME = "config.toml"
MAX_SETTINGS_BYTES = 64 * 1024  # every key with a long comment is ~2 kB
NOTIFIERS = ("auto", "desktop", "plyer", "console", "none")
ALL_DAYS = "Mon-Sun"

Origin = Literal["default", "file", "flag"]


# --- Kinds of value: how each is read from TOML or from a command line, checked and written back ----------------------


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(float(value))


def _toml_string(text: str) -> str:
    # JSON's escapes are TOML's, except that TOML wants DEL escaped too.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _described(raw: object) -> str:
    """A TOML value as the user wrote it, for "must be X, not Y"."""
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, str):
        return f"the text {_toml_string(raw)}"
    if isinstance(raw, int | float):
        return _number_text(raw)
    if isinstance(raw, list):
        return "a list"
    if isinstance(raw, dict):
        return "a table"
    return f"the date/time {raw}"


@dataclass(frozen=True)
class Number:
    low: float
    high: float
    unit: str = ""  # said in messages: "seconds", "minutes"
    above_low: bool = False  # the low end itself is refused (an interval of 0 s)

    def _range(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        if self.above_low:
            return f"more than {self.low:g} and at most {self.high:g}{unit}"
        return f"from {self.low:g} to {self.high:g}{unit}"

    def check(self, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"must be a number{self._of()}, not {_described(value)}")
        low_ok = value > self.low if self.above_low else value >= self.low
        if not (math.isfinite(value) and low_ok and value <= self.high):
            raise ValueError(f"must be {self._range()}, not {_number_text(value)}")

    def _of(self) -> str:
        return f" of {self.unit}" if self.unit else ""

    def from_toml(self, raw: object) -> float:
        self.check(raw)
        return float(raw)  # type: ignore[arg-type]

    def from_text(self, text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a number{self._of()}") from None
        self.check(value)
        return value

    def to_toml(self, value: Any) -> str:
        return _number_text(value)


@dataclass(frozen=True)
class Integer:
    low: int
    high: int
    unit: str

    def check(self, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"must be a whole number of {self.unit}, not {_described(value)}")
        if not self.low <= value <= self.high:
            raise ValueError(f"must be from {self.low} to {self.high} {self.unit}, not {value}")

    def from_toml(self, raw: object) -> int:
        self.check(raw)
        return raw  # type: ignore[return-value]

    def from_text(self, text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a whole number of {self.unit}") from None
        self.check(value)
        return value

    def to_toml(self, value: Any) -> str:
        return str(value)


_TRUE, _FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


@dataclass(frozen=True)
class Boolean:
    def check(self, value: Any) -> None:
        if not isinstance(value, bool):
            raise ValueError(f"must be true or false, not {_described(value)}")

    def from_toml(self, raw: object) -> bool:
        self.check(raw)
        return raw  # type: ignore[return-value]

    def from_text(self, text: str) -> bool:
        if text.strip().lower() in _TRUE:
            return True
        if text.strip().lower() in _FALSE:
            return False
        raise ValueError(f"{text!r} is not true or false")

    def to_toml(self, value: Any) -> str:
        return "true" if value else "false"


@dataclass(frozen=True)
class Text:
    """A value written as a TOML string and kept as what `parse` makes of it."""

    what: str  # what the text must be, for messages
    parse: Callable[[str], Any]  # raises ValueError saying what is wrong
    show: Callable[[Any], str] = str  # the model's value as the text to write
    numbers: bool = False  # a whole number stands for its text (camera = 1)

    def check(self, value: Any) -> None:
        self.parse(self.show(value))

    def from_toml(self, raw: object) -> Any:
        if self.numbers and isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
            raw = str(raw)
        if not isinstance(raw, str):
            raise ValueError(f"must be {self.what} in quotes, not {_described(raw)}")
        return self.parse(raw)

    def from_text(self, text: str) -> Any:
        return self.parse(text)

    def to_toml(self, value: Any) -> str:
        return _toml_string(self.show(value))


def _camera(text: str) -> str:
    if not text.strip() or "\0" in text or len(text) > 4096:
        raise ValueError(f"must be a webcam number or a video file, not {_toml_string(text)}")
    if re.fullmatch(r"\d+", text, re.ASCII) and int(text) > th.MAX_CAMERA_INDEX:
        raise ValueError(f"must be a webcam number from 0 to {th.MAX_CAMERA_INDEX}, not {text}")
    return text


def _resolution(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"\s*(\d{1,5})\s*[xX]\s*(\d{1,5})\s*", text)
    if not match:
        raise ValueError(f"must be WIDTHxHEIGHT like 640x480, not {_toml_string(text)}")
    width, height = int(match[1]), int(match[2])
    (low_w, low_h), (high_w, high_h) = th.MIN_FRAME_SIZE, th.MAX_FRAME_SIZE
    if not (low_w <= width <= high_w and low_h <= height <= high_h):
        raise ValueError(f"must be from {low_w}x{low_h} to {high_w}x{high_h}, not {width}x{height}")
    return width, height


def _notifier(text: str) -> str:
    if text not in NOTIFIERS:
        raise ValueError(f"must be one of {', '.join(NOTIFIERS)}; not {_toml_string(text)}")
    return text


def _working_hours(text: str) -> str:
    if text.strip():
        start, end = parse_hours(text)
        if start == end:
            raise ValueError(f"{text!r} starts and ends at the same time")
    return text


def _working_days(text: str) -> str:
    parse_days(text)
    return text


def _resolution_text(size: tuple[int, int]) -> str:
    return f"{size[0]}x{size[1]}"


# --- The model --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Table:
    NAME: ClassVar[str]

    def __post_init__(self) -> None:
        for item in fields(self):
            key = KEYS[f"{self.NAME}.{item.name}"]
            try:
                key.kind.check(getattr(self, item.name))
            except ValueError as err:
                raise ValueError(f"{key.path}: {err}") from None


@dataclass(frozen=True)
class WatchTable(_Table):
    NAME: ClassVar[str] = "watch"
    alert_after: float = th.ALERT_AFTER_S
    cooldown: float = th.COOLDOWN_S
    sensitivity: float = 1.0
    interval: float = th.STEADY_INTERVAL_S
    camera: str = "0"
    resolution: tuple[int, int] = th.DEFAULT_RESOLUTION
    notifier: str = "auto"


@dataclass(frozen=True)
class BreaksTable(_Table):
    NAME: ClassVar[str] = "breaks"
    remind_after: float = th.BREAK_REMINDER_AFTER_S / 60  # minutes; 0: no reminders


@dataclass(frozen=True)
class ScheduleTable(_Table):
    NAME: ClassVar[str] = "schedule"
    working_hours: str = ""  # empty: at any hour
    working_days: str = ALL_DAYS


@dataclass(frozen=True)
class HistoryTable(_Table):
    NAME: ClassVar[str] = "history"
    enabled: bool = True
    retention_days: int = th.HISTORY_RETENTION_DAYS


@dataclass(frozen=True)
class TrayTable(_Table):
    NAME: ClassVar[str] = "tray"
    enabled: bool = True


TABLES: dict[str, type[_Table]] = {table.NAME: table for table in
                                   (WatchTable, BreaksTable, ScheduleTable, HistoryTable, TrayTable)}


@dataclass(frozen=True)
class Key:
    table: str
    name: str
    kind: Number | Integer | Boolean | Text
    help: str

    @property
    def path(self) -> str:
        return f"{self.table}.{self.name}"

    @property
    def flag(self) -> str:
        """The command-line option that overrides it, where there is one."""
        return "--" + self.name.replace("_", "-")

    @property
    def default(self) -> Any:
        return getattr(TABLES[self.table](), self.name)


KEYS: dict[str, Key] = {key.path: key for key in (
    Key("watch", "alert_after", Number(0, th.MAX_ALERT_AFTER_S, "seconds"),
        "seconds a bad posture must last before an alert"),
    Key("watch", "cooldown", Number(th.MIN_COOLDOWN_S, th.MAX_COOLDOWN_S, "seconds"),
        "least seconds between two alerts"),
    Key("watch", "sensitivity", Number(*th.SENSITIVITY_RANGE),
        "above 1 alerts on smaller deviations, below 1 only on bigger ones"),
    Key("watch", "interval", Number(0, th.MAX_INTERVAL_S, "seconds", above_low=True),
        "seconds between samples while nothing changes"),
    Key("watch", "camera", Text("a webcam number or a video file", _camera, numbers=True),
        "webcam number, or a video file that plays as if it were a webcam"),
    Key("watch", "resolution", Text("WIDTHxHEIGHT", _resolution, _resolution_text),
        "webcam resolution to ask for (a clip is scaled to it only when it is set)"),
    Key("watch", "notifier", Text("one of " + ", ".join(NOTIFIERS), _notifier),
        "where alerts go: " + ", ".join(NOTIFIERS)),
    Key("breaks", "remind_after", Number(0, th.MAX_BREAK_REMINDER_MIN, "minutes"),
        'minutes at the desk before a "stand up and move" reminder; 0 turns it off'),
    Key("schedule", "working_hours", Text("hours like 09:00-18:00", _working_hours),
        'watch only between these hours, e.g. "09:00-18:00"; empty: at any hour'),
    Key("schedule", "working_days", Text("days like Mon-Fri", _working_days),
        'watch only on these days, e.g. "Mon-Fri" or "Mon,Wed,Fri"'),
    Key("history", "enabled", Boolean(), "keep a day-by-day history of your posture"),
    Key("history", "retention_days", Integer(1, th.MAX_HISTORY_DAYS, "days"), "days of history to keep"),
    Key("tray", "enabled", Boolean(), "show an icon in the tray (when the tray extra is installed)"),
)}


def key(path: str) -> Key:
    """The key named `path` ("watch.alert_after"); PostureWatchError for an unknown one, with a suggestion."""
    if path in KEYS:
        return KEYS[path]
    raise PostureWatchError(f"no setting {path!r}{_did_you_mean(path, KEYS)}; the settings are: {', '.join(KEYS)}")


def _did_you_mean(name: str, known: Mapping[str, object] | list[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


@dataclass(frozen=True)
class Settings:
    watch: WatchTable = field(default_factory=WatchTable)
    breaks: BreaksTable = field(default_factory=BreaksTable)
    schedule: ScheduleTable = field(default_factory=ScheduleTable)
    history: HistoryTable = field(default_factory=HistoryTable)
    tray: TrayTable = field(default_factory=TrayTable)
    from_file: frozenset[str] = frozenset()  # dotted keys the settings file set
    from_flags: frozenset[str] = frozenset()  # ... and the command line (which wins)

    def value(self, path: str) -> Any:
        table, name = path.split(".")
        return getattr(getattr(self, table), name)

    def origin(self, path: str) -> Origin:
        return "flag" if path in self.from_flags else "file" if path in self.from_file else "default"

    def given(self, path: str) -> bool:
        """Whether the user chose this value (in the file or a flag) rather than leaving the default."""
        return self.origin(path) != "default"

    def with_values(self, values: Mapping[str, Any], origin: Literal["file", "flag"]) -> Settings:
        """These settings with `values` (dotted keys) replaced, each checked; ValueError names the first bad one."""
        tables: dict[str, dict[str, Any]] = {}
        for path, value in values.items():
            tables.setdefault(key(path).table, {})[key(path).name] = value
        changed = {name: replace(getattr(self, name), **items) for name, items in tables.items()}
        if origin == "file":
            return replace(self, **changed, from_file=self.from_file | set(values))
        return replace(self, **changed, from_flags=self.from_flags | set(values))

    def watch_settings(self) -> WatchSettings:
        watch = self.watch
        minutes = self.breaks.remind_after
        return WatchSettings(PolicySettings(alert_after=watch.alert_after, cooldown=watch.cooldown), watch.sensitivity,
                             SamplingPlan(steady=watch.interval), minutes * 60 if minutes > 0 else None)

    def work_schedule(self) -> WorkSchedule | None:
        """None: watch at any hour of any day."""
        hours, days = self.schedule.working_hours, self.schedule.working_days
        if not hours.strip() and parse_days(days) == frozenset(range(7)):
            return None
        # time.max: "all day" as a span the schedule accepts (it refuses a span that starts where it ends).
        start, end = parse_hours(hours) if hours.strip() else (time(0, 0), time.max)
        return WorkSchedule(parse_days(days), start, end)


# --- Reading the file -------------------------------------------------------------------------------------------------


def settings_path() -> Path:
    return config_dir() / FILE_NAME


class InvalidSettings(PostureWatchError):
    """One line per problem, each naming the file, the line and the key."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


@dataclass(frozen=True)
class Problem:
    line: int | None  # 1-based; None: the file as a whole
    text: str

    def said(self, path: Path) -> str:
        return f"{shown(path)}, line {self.line}: {self.text}" if self.line else f"{shown(path)}: {self.text}"


def read_text(path: Path) -> str | None:
    """The settings file's text; None when there is none."""
    try:
        data = read_limited(path, MAX_SETTINGS_BYTES, "the settings file ")
    except FileNotFoundError:
        return None
    except OSError as err:
        raise PostureWatchError(f"cannot read the settings file {shown(path)}: {err.strerror}") from None
    try:
        return data.decode("utf-8-sig")  # a byte-order mark (some Windows editors) is not part of the text
    except UnicodeDecodeError as err:
        line = data[:err.start].count(b"\n") + 1
        raise InvalidSettings([Problem(line, "is not UTF-8 text (was it saved in another encoding?)").said(path)])\
            from None


def load_settings(path: Path | None = None) -> Settings:
    """The settings in effect without flags: the file's values over the defaults. InvalidSettings lists every problem
    of an invalid file; a missing file means every default."""
    path = path or settings_path()
    text = read_text(path)
    if text is None:
        return Settings()
    values, problems = check_text(text)
    if problems:
        raise InvalidSettings([problem.said(path) for problem in problems])
    return Settings().with_values(values, "file")


def check_text(text: str) -> tuple[dict[str, Any], list[Problem]]:
    """The values a settings text sets (dotted key -> value) and its problems, in the order of their lines."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        return {}, [_syntax_problem(str(err), text)]
    lines = key_lines(text)

    def at(*path: str) -> int | None:
        while path and path not in lines:
            path = path[:-1]
        return lines.get(path)

    problems: list[Problem] = []
    schema = doc.pop("schema", None)
    if schema is None:
        problems.append(Problem(None, f"schema is missing: the file must start with `schema = {SCHEMA}` (the "
                                      "settings format it is written in)"))
    elif isinstance(schema, int) and not isinstance(schema, bool) and schema > SCHEMA:
        return {}, [Problem(at("schema"), f"schema = {schema}: this file is for a newer posture-watch (this one reads "
                                          f"schema {SCHEMA}); upgrade posture-watch, or write the file for schema "
                                          f"{SCHEMA}")]
    elif schema != SCHEMA or isinstance(schema, bool):
        problems.append(Problem(at("schema"), f"schema must be {SCHEMA}, not {_described(schema)}"))

    values: dict[str, Any] = {}
    for table, content in doc.items():
        if table not in TABLES:
            owner = next((k.table for k in KEYS.values() if k.name == table), None)
            hint = f" ({table} belongs in the [{owner}] table)" if owner else _did_you_mean(table, TABLES)
            problems.append(Problem(at(table), f"unknown table or key {table!r}{hint}"))
        elif not isinstance(content, dict):
            problems.append(Problem(at(table), f"{table} must be a table ([{table}]), not {_described(content)}"))
        else:
            for name, raw in content.items():
                path = f"{table}.{name}"
                if path not in KEYS:
                    names = [k.name for k in KEYS.values() if k.table == table]
                    problems.append(Problem(at(table, name), f"unknown key {path}{_did_you_mean(name, names)}"))
                    continue
                try:
                    values[path] = KEYS[path].kind.from_toml(raw)
                except ValueError as err:
                    problems.append(Problem(at(table, name), f"{path}: {err}"))
    problems.sort(key=lambda problem: problem.line or 0)
    return values, problems


_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


def _syntax_problem(message: str, text: str) -> Problem:
    match = _TOML_POSITION.search(message)
    if match is None:  # "(at end of document)"
        return Problem(text.count("\n") + 1, f"not valid TOML: {message}")
    line = int(match[1])
    written = text.splitlines()[line - 1].strip() if line <= len(text.splitlines()) else ""
    return Problem(line, f"not valid TOML ({message[:match.start()]}, column {match[2]}): {written[:80]}")


# --- Writing: a new file, and one value changed in place --------------------------------------------------------------


def template() -> str:
    """A new settings file: the schema, and every key commented out at its default with what it does."""
    out = ["# posture-watch settings. A key left out (or commented out) keeps its default.",
           "# `posture-watch config show` lists the values in effect and where each comes from.",
           f"schema = {SCHEMA}", ""]
    for table in TABLES:
        out.append(f"[{table}]")
        for item in (k for k in KEYS.values() if k.table == table):
            out.append(f"# {item.name} = {item.kind.to_toml(item.default)}  # {item.help}")
        out.append("")
    return "\n".join(out)


def with_value(text: str, item: Key, value: Any, path: Path) -> str:
    """The text of the settings file `path` with `item` set to `value`: the value replaced where it is written (its
    comment kept), or the key added at the end of its table (the table at the end of the file if it has none).
    Raises InvalidSettings if the result would not be valid, PostureWatchError if the key is written in a way that
    cannot be changed in place."""
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.splitlines()
    literal = item.kind.to_toml(value)
    entries = scan(lines)
    written = next((e for e in entries if not e.header and e.path == (item.table, item.name)), None)
    table_inline = next((e for e in entries if not e.header and e.path == (item.table,)), None)
    if written is not None:
        end_row, end_col = value_end(lines, written.row, written.value_at)
        if end_row != written.row:
            raise PostureWatchError(f"{item.path} is written over several lines: change it with "
                                    "`posture-watch config edit`")
        line = lines[written.row]
        lines[written.row] = line[:written.value_at] + literal + line[end_col:]
    elif table_inline is not None:
        raise PostureWatchError(f"{item.table} is written as an inline table: change it with "
                                "`posture-watch config edit`")
    else:
        header = next((e for e in entries if e.header and e.path == (item.table,)), None)
        if header is None:
            lines += ([""] if lines and lines[-1].strip() else []) + [f"[{item.table}]", f"{item.name} = {literal}"]
        else:
            following = [e.row for e in entries if e.header and e.row > header.row]
            last = (following[0] if following else len(lines)) - 1
            while last > header.row and not lines[last].strip():
                last -= 1
            lines.insert(last + 1, f"{item.name} = {literal}")
    result = newline.join(lines) + newline
    values, problems = check_text(result)
    if problems:  # said with the lines of the file as it is, which are the ones the user sees
        raise InvalidSettings([problem.said(path) for problem in check_text(text)[1] or problems])
    if values.get(item.path) != value:  # the edit must read back as asked, or it is not written
        raise PostureWatchError(f"could not change {item.path} in place: change it with `posture-watch config edit`")
    return result
