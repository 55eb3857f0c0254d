"""Posture history: what the watcher saw, minute by minute, in a SQLite database in the user's data folder.

`History` is a session subscriber. On the session's thread it only queues events; a thread of its own folds them
into per-minute totals and moments (core/minutes.py) and writes them. Numbers, states, faults and advice only:
never an image. What it promises:
- a crash or `kill -9` loses at most the last CHECKPOINT_S of totals: open minutes are written that often, moments
  as they come;
- a damaged or locked database is moved aside (kept, for whoever wants to look at it) and a new one started, with
  one line; the watcher goes on either way;
- a full disk, or a folder it may not write to, stops the history with one line, never the watcher;
- the schema carries its version (`PRAGMA user_version`): older files are migrated, newer ones left untouched.

`HistoryFile` reads it back for the report, the CSV export and `history forget`.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import os
import queue
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from .core import thresholds as th
from .core.events import Event
from .core.minutes import KEPT, MinuteTally, MinuteTotals, Moment
from .errors import PostureWatchError
from .store import data_dir, shown

if TYPE_CHECKING:
    from .session import Clock

DB_NAME = "history.sqlite3"
CHECKPOINT_S = 20.0  # open minutes are written this often: what a kill -9 can lose at most
BUSY_TIMEOUT_S = 5.0  # another process holding the file longer than this counts as a locked database
CLOSE_TIMEOUT_S = 15.0

SCHEMA_V1 = """
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    started REAL NOT NULL,  -- unix time
    source TEXT NOT NULL  -- what was watched: 'camera 0', 'replay of hunch_slow.mp4'
);
CREATE TABLE minutes (
    session INTEGER NOT NULL,  -- sessions.id (not enforced: a running watcher's rows outlive a `forget --all`)
    start INTEGER NOT NULL,  -- unix time of the minute's first second
    utc_offset INTEGER NOT NULL,  -- seconds east of UTC: the local time the minute was lived in
    day TEXT NOT NULL,  -- its local date, YYYY-MM-DD
    upright_s REAL NOT NULL,
    slouching_s REAL NOT NULL,
    away_s REAL NOT NULL,
    uncertain_s REAL NOT NULL,
    neck_deg REAL,  -- medians over the minute's measured samples
    shoulder_deg REAL,
    alerts INTEGER NOT NULL,
    snoozes INTEGER NOT NULL,
    breaks INTEGER NOT NULL,
    break_reminders INTEGER NOT NULL,
    PRIMARY KEY (session, start)
);
CREATE INDEX minutes_by_day ON minutes (day);
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    session INTEGER NOT NULL,  -- sessions.id
    at REAL NOT NULL,
    utc_offset INTEGER NOT NULL,
    day TEXT NOT NULL,
    kind TEXT NOT NULL,  -- state, alert, break_reminder, pause, resume, stop
    state TEXT NOT NULL,  -- the state entered, or the reason of a pause or resume
    faults TEXT NOT NULL,  -- comma-separated, worst first
    title TEXT NOT NULL,
    detail TEXT NOT NULL,  -- the advice of an alert or reminder; why away or unmeasurable; why it stopped
    until REAL  -- when a pause ends by itself
);
CREATE INDEX events_by_day ON events (day);
"""
MIGRATIONS = (SCHEMA_V1,)  # MIGRATIONS[n] takes a database at version n to version n + 1
SCHEMA_VERSION = len(MIGRATIONS)
MINUTE_COLUMNS = ("upright_s", "slouching_s", "away_s", "uncertain_s", "neck_deg", "shoulder_deg", "alerts",
                  "snoozes", "breaks", "break_reminders")

FULL_DISK_BYTES = 1 << 20  # an I/O error with less free space than this is a full disk

# SQLite's primary result codes (the low byte of an extended code).
_BUSY, _LOCKED, _IOERR, _CORRUPT, _FULL, _NOTADB = 5, 6, 10, 11, 13, 26


def default_history_path() -> Path:
    return data_dir() / DB_NAME


def _print_warning(message: str) -> None:
    with contextlib.suppress(OSError, ValueError):
        print(message, file=sys.stderr, flush=True)


# --- the file ----------------------------------------------------------------------------------------------------


class NewerSchema(PostureWatchError):
    pass


def _connect(path: Path, mode: str = "rwc") -> sqlite3.Connection:
    # Autocommit mode: transactions are opened explicitly, so none is ever left open between writes.
    return sqlite3.connect(f"{path.as_uri()}?mode={mode}", uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None)


def _check_version(conn: sqlite3.Connection, path: Path) -> int:
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise NewerSchema(f"the history {shown(path)} was written by a newer posture-watch (schema {version}; this "
                          f"one knows up to {SCHEMA_VERSION}); it is left as it is")
    return version


def open_for_writing(path: Path) -> sqlite3.Connection:
    """The database at `path`, created (folder 0700, file 0600) or migrated to the current schema, in WAL mode.
    Raises sqlite3.Error or OSError for a file that cannot be used, NewerSchema for one that must not be."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Created private before SQLite opens it: SQLite gives its -wal and -shm files the same mode.
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    conn = _connect(path)
    try:
        if conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise sqlite3.DatabaseError("the file fails SQLite's integrity check")
        if _check_version(conn, path) < SCHEMA_VERSION:
            _migrate(conn, path)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")  # WAL stays consistent on a crash; only fsyncs less often
    except BaseException:
        conn.close()
        raise
    return conn


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring the schema up to date, in one transaction that holds the write lock: two watchers starting at once
    on a new file must not both create it."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        for step in range(_check_version(conn, path), SCHEMA_VERSION):
            for statement in _statements(MIGRATIONS[step]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {step + 1}")
        conn.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise


def _statements(script: str) -> Iterator[str]:
    """The SQL statements of a script, one by one (executescript would commit the open transaction first)."""
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            yield pending.strip()
            pending = ""


def _delete_before(conn: sqlite3.Connection, before: date | None) -> tuple[int, int]:
    """Delete the minutes and events of days before `before` (None: all), and the sessions left with neither that
    started before then (a session that has only just started has nothing yet); returns how many of each."""
    where, args = ("", ()) if before is None else ("WHERE day < ?", (before.isoformat(),))
    cutoff = float("inf") if before is None else datetime.combine(before, time()).timestamp()
    conn.execute("BEGIN IMMEDIATE")
    try:
        minutes = conn.execute(f"DELETE FROM minutes {where}", args).rowcount
        events = conn.execute(f"DELETE FROM events {where}", args).rowcount
        conn.execute("DELETE FROM sessions WHERE started < ? AND id NOT IN (SELECT session FROM minutes UNION "
                     "SELECT session FROM events)", (cutoff,))
        conn.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise
    return minutes, events


# --- writing -----------------------------------------------------------------------------------------------------


class _Off(Exception):
    """The history cannot go on; the message says why, in one line."""


class _Recreated(Exception):
    """The database was replaced by a new, empty one: what was written before is in the old file."""


class _Database:
    """The writer thread's connection, and what it does when the file fails it."""

    def __init__(self, path: Path, source: str, warn: Callable[[str], None]) -> None:
        self.path = path
        self._source = source
        self._warn = warn
        self._conn: sqlite3.Connection | None = None
        self._session = 0
        self._replaced = False

    def open(self) -> None:
        self._guard(self._open)

    def _open(self) -> None:
        self._session = 0
        self._conn = open_for_writing(self.path)
        self._session = int(self._conn.execute("INSERT INTO sessions (started, source) VALUES (?, ?)",
                                               (datetime.now().timestamp(), self._source)).lastrowid or 0)

    def write(self, minutes: list[MinuteTotals], moments: list[Moment]) -> None:
        self._guard(lambda: self._write(minutes, moments))

    def _write(self, minutes: list[MinuteTotals], moments: list[Moment]) -> None:
        assert self._conn is not None
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(
                f"INSERT INTO minutes (session, start, utc_offset, day, {', '.join(MINUTE_COLUMNS)}) "
                f"VALUES (?, ?, ?, ?{', ?' * len(MINUTE_COLUMNS)}) ON CONFLICT (session, start) DO UPDATE SET "
                + ", ".join(f"{c} = excluded.{c}" for c in MINUTE_COLUMNS),
                [(self._session, *_when(m.start), m.upright_s, m.slouching_s, m.away_s, m.uncertain_s, m.neck_deg,
                  m.shoulder_deg, m.alerts, m.snoozes, m.breaks, m.break_reminders) for m in minutes])
            conn.executemany(
                "INSERT INTO events (session, at, utc_offset, day, kind, state, faults, title, detail, until) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(self._session, *_when(m.at), m.kind, m.state, ",".join(m.faults), m.title, m.detail,
                  None if m.until is None else m.until.timestamp()) for m in moments])
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise

    def prune(self, before: date) -> None:
        assert self._conn is not None
        conn = self._conn
        self._guard(lambda: _delete_before(conn, before))

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None

    def _guard(self, action: Callable[[], object]) -> None:
        """Run `action`; a damaged or locked file is moved aside once and started afresh (raising _Recreated
        when something had been written to the old one), anything else turns the history off (_Off)."""
        try:
            action()
            return
        except NewerSchema as err:
            raise _Off(f"posture-watch: {err}; watching without history") from None
        except (sqlite3.Error, OSError) as err:
            why = _damage(err)
            if why is None or self._replaced:
                raise _Off(f"posture-watch: history stopped: {_describe(err, self.path)} ({shown(self.path)}); "
                           "watching goes on without it") from None
        wrote = self._session != 0  # else the failed action was opening, which starting afresh has just done
        self.close()
        try:
            aside = _move_aside(self.path, why)
            self._replaced = True
            self._open()
        except (sqlite3.Error, OSError, NewerSchema) as err:
            raise _Off(f"posture-watch: history stopped: the history {shown(self.path)} was {why} and no new one "
                       f"could be started ({_describe(err, self.path)}); watching goes on without it") from None
        self._warn(f"posture-watch: the history {shown(self.path)} was {why}: kept it as {aside.name} and "
                   "started a new one")
        if wrote:
            raise _Recreated


def _damage(err: sqlite3.Error | OSError) -> str | None:
    """'damaged' or 'locked' for a file worth replacing, None for trouble a new file would not fix."""
    code = getattr(err, "sqlite_errorcode", None)
    if code is None:
        return None
    if code & 0xFF in (_CORRUPT, _NOTADB) or (isinstance(err, sqlite3.DatabaseError) and "integrity" in str(err)):
        return "damaged"
    if code & 0xFF in (_BUSY, _LOCKED):
        return "locked"
    return None


def _describe(err: BaseException, path: Path) -> str:
    code = getattr(err, "sqlite_errorcode", None)
    if (code is not None and code & 0xFF == _FULL) or getattr(err, "errno", None) == errno.ENOSPC:
        return "the disk is full"
    # SQLite reports some failed writes of a full disk as plain I/O errors (of its -wal or -shm file, say).
    if code is not None and code & 0xFF == _IOERR and _free_bytes(path) < FULL_DISK_BYTES:
        return "the disk is full"
    if isinstance(err, OSError) and err.strerror:
        return err.strerror.lower()
    return str(err)


def _free_bytes(path: Path) -> int:
    try:
        info = os.statvfs(path.parent)
    except OSError:
        return FULL_DISK_BYTES
    return info.f_bavail * info.f_frsize


def _move_aside(path: Path, why: str) -> Path:
    """Rename the database (and its -wal and -shm files) out of the way; returns the new name."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    aside = path.with_name(f"{path.name}.{why}-{stamp}")
    for suffix in ("-wal", "-shm", ""):
        part = Path(f"{path}{suffix}")
        if part.exists():
            part.rename(f"{aside}{suffix}")
    return aside


def _when(at: datetime) -> tuple[float, int, str]:
    """Unix time, UTC offset in seconds and local date of an aware local time."""
    offset = at.utcoffset() or timedelta(0)
    return at.timestamp(), int(offset.total_seconds()), at.date().isoformat()


class History:
    """The session subscriber that keeps the history. `retention_days` None: keep everything (a replay recorded
    on purpose); otherwise older days are deleted at start and once a day."""

    def __init__(self, path: Path, clock: Clock, source: str,
                 retention_days: int | None = th.HISTORY_RETENTION_DAYS,
                 warn: Callable[[str], None] = _print_warning) -> None:
        self.path = path
        self._clock = clock
        self._retention = retention_days
        self._warn = warn
        self._database = _Database(path, source, warn)
        self._queue: queue.SimpleQueue[Event | None] = queue.SimpleQueue()
        self._on = True
        self._thread = threading.Thread(target=self._run, name="posture-watch-history", daemon=True)
        self._thread.start()

    @property
    def on(self) -> bool:
        return self._on

    def __call__(self, event: Event) -> None:
        if self._on and isinstance(event, KEPT):
            self._queue.put(event)

    def close(self) -> None:
        """Write what is left and close the file (waits at most CLOSE_TIMEOUT_S)."""
        self._queue.put(None)
        self._thread.join(CLOSE_TIMEOUT_S)

    # --- the writer thread ---------------------------------------------------------------------------------------

    def _now(self) -> datetime:
        return self._clock.wall(self._clock.now())

    def _run(self) -> None:
        try:
            self._database.open()
            self._keep(self._now(), None)
            self._write_until_closed()
        except _Off as off:
            self._on = False
            self._warn(str(off))
        except Exception as err:  # a thread's last stop: the watcher goes on, told in one line
            self._on = False
            self._warn(f"posture-watch: history stopped ({type(err).__name__}: {err}); watching goes on without it")
        finally:
            self._database.close()

    def _write_until_closed(self) -> None:
        tally = MinuteTally(self._clock.wall)
        moments: list[Moment] = []
        last_write = self._now()
        pruned_on = last_write.date()
        checkpoint = timedelta(seconds=CHECKPOINT_S)
        open_ = True
        while open_:
            for event in self._take():
                if event is None:
                    open_ = False
                    break
                moment = tally.add(event)
                if moment is not None:
                    moments.append(moment)
            now = self._now()
            if moments or not open_ or now - last_write >= checkpoint:
                self._save(tally, moments, now if open_ else None)
                moments, last_write = [], now
            if now.date() != pruned_on:
                self._keep(now, tally)
                pruned_on = now.date()

    def _take(self) -> Iterator[Event | None]:
        """The events queued so far, waiting up to a checkpoint's time for the first."""
        try:
            yield self._queue.get(timeout=CHECKPOINT_S)
        except queue.Empty:
            return
        while True:
            try:
                yield self._queue.get_nowait()
            except queue.Empty:
                return

    def _save(self, tally: MinuteTally, moments: list[Moment], now: datetime | None) -> None:
        minutes = tally.flush(now)
        try:
            self._database.write(minutes, moments)
        except _Recreated:
            tally.touch()  # the open minutes written so far went with the old file: write them again
            self._database.write(minutes + tally.flush(now), moments)

    def _keep(self, now: datetime, tally: MinuteTally | None) -> None:
        """Apply the retention: forget the days before the last `retention_days`."""
        if self._retention is None:
            return
        try:
            self._database.prune(now.date() - timedelta(days=self._retention))
        except _Recreated:
            if tally is not None:
                tally.touch()


# --- reading -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Forgotten:
    minutes: int
    events: int
    first: date | None
    last: date | None


class HistoryFile:
    """The history, opened to read it back (or, with `write`, to forget some of it)."""

    def __init__(self, path: Path, write: bool = False) -> None:
        self.path = path
        if not path.is_file():
            raise PostureWatchError(f"no history yet at {shown(path)}: `posture-watch run` keeps it while it watches")
        try:
            self._conn = _connect(path, "rw" if write else "ro")
        except sqlite3.Error as err:
            raise PostureWatchError(f"cannot open the history {shown(path)}: {err}") from None
        try:
            self._empty = _check_version(self._conn, path) == 0
        except NewerSchema:
            self._conn.close()
            raise
        except sqlite3.Error as err:
            self._conn.close()
            raise PostureWatchError(f"cannot read the history {shown(path)}: {err}") from None

    def __enter__(self) -> HistoryFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._conn.close()

    def _query(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        if self._empty:
            return []
        try:
            return self._conn.execute(sql, args).fetchall()
        except sqlite3.Error as err:
            raise PostureWatchError(f"cannot read the history {shown(self.path)}: {err}") from None

    def days(self) -> list[date]:
        """Every day with recorded minutes, oldest first."""
        return [date.fromisoformat(str(d)) for (d,) in self._query("SELECT DISTINCT day FROM minutes ORDER BY day")]

    def minutes(self, first: date, last: date) -> list[MinuteTotals]:
        """Per-minute totals of the days `first` to `last`, oldest first. Minutes recorded by several sessions at
        once (two watchers) are added up; their medians are averaged, weighted by the time measured."""
        rows = self._query(
            "SELECT start, MIN(utc_offset), SUM(upright_s), SUM(slouching_s), SUM(away_s), SUM(uncertain_s), "
            "SUM(neck_deg * (upright_s + slouching_s)) / SUM(CASE WHEN neck_deg IS NOT NULL "
            "THEN upright_s + slouching_s END), SUM(shoulder_deg * (upright_s + slouching_s)) / "
            "SUM(CASE WHEN shoulder_deg IS NOT NULL THEN upright_s + slouching_s END), MIN(neck_deg), "
            "MIN(shoulder_deg), SUM(alerts), SUM(snoozes), SUM(breaks), SUM(break_reminders), COUNT(*) "
            "FROM minutes WHERE day BETWEEN ? AND ? GROUP BY start ORDER BY start",
            (first.isoformat(), last.isoformat()))
        found = []
        for (start, offset, up, slouch, away, unsure, neck, shoulder, neck_one, shoulder_one, alerts, snoozes,
             breaks, reminders, sessions) in rows:
            if sessions == 1:  # one session: its medians as they are (no weights to go wrong on a 0 s minute)
                neck, shoulder = neck_one, shoulder_one
            found.append(MinuteTotals(_local(start, offset), float(up), float(slouch), float(away), float(unsure),
                                      _float(neck), _float(shoulder), int(alerts), int(snoozes), int(breaks),
                                      int(reminders)))
        return found

    def moments(self, first: date, last: date) -> list[Moment]:
        rows = self._query("SELECT at, utc_offset, kind, state, faults, title, detail, until FROM events "
                           "WHERE day BETWEEN ? AND ? ORDER BY at, id", (first.isoformat(), last.isoformat()))
        return [Moment(_local(at, offset), kind, state, tuple(f for f in str(faults).split(",") if f), str(title),
                       str(detail), None if until is None else _local(until, offset))  # type: ignore[arg-type]
                for at, offset, kind, state, faults, title, detail, until in rows]

    def export_csv(self, out: TextIO, events: bool = False) -> int:
        """Every minute (or, with `events`, every event) as CSV, oldest first; returns how many rows."""
        writer = csv.writer(out, lineterminator="\n")
        if events:
            writer.writerow(("session", "at", "kind", "state", "faults", "title", "detail", "until"))
            rows = self._query("SELECT session, at, utc_offset, kind, state, faults, title, detail, until "
                               "FROM events ORDER BY at, id")
            for session, at, offset, kind, state, faults, title, detail, until in rows:
                writer.writerow((session, _iso(at, offset), kind, state, faults, title, detail,
                                 "" if until is None else _iso(until, offset)))
        else:
            writer.writerow(("session", "minute", *MINUTE_COLUMNS))
            rows = self._query(f"SELECT session, start, utc_offset, {', '.join(MINUTE_COLUMNS)} FROM minutes "
                               "ORDER BY start, session")
            for session, start, offset, *values in rows:
                writer.writerow((session, _iso(start, offset), *("" if v is None else v for v in values)))
        return len(rows)

    def reach(self, before: date | None) -> Forgotten:
        """What `forget(before)` would delete."""
        where, args = ("", ()) if before is None else ("WHERE day < ?", (before.isoformat(),))
        counted = []
        for table in ("minutes", "events"):
            rows = self._query(f"SELECT COUNT(*), MIN(day), MAX(day) FROM {table} {where}", args)
            counted.append(rows[0] if rows else (0, None, None))
        (minutes, *minute_days), (events, *event_days) = counted
        days = [date.fromisoformat(str(d)) for d in (*minute_days, *event_days) if d is not None]
        return Forgotten(int(str(minutes)), int(str(events)), min(days, default=None), max(days, default=None))

    def forget(self, before: date | None) -> Forgotten:
        """Delete the days before `before` (None: everything), and wipe them from the file, not only unlink them."""
        reach = self.reach(before)
        if self._empty:
            return reach
        try:
            self._conn.execute("PRAGMA secure_delete = ON")  # freed pages are overwritten with zeros
            minutes, events = _delete_before(self._conn, before)
        except sqlite3.Error as err:
            raise PostureWatchError(f"cannot change the history {shown(self.path)}: {err}") from None
        # Best effort: a running watcher may hold the file; the deleted rows are gone either way.
        with contextlib.suppress(sqlite3.Error):
            self._conn.execute("VACUUM")
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return Forgotten(minutes, events, reach.first, reach.last)


def _local(unix: object, offset: object) -> datetime:
    return datetime.fromtimestamp(float(unix), timezone(timedelta(seconds=int(offset))))  # type: ignore[arg-type]


def _iso(unix: object, offset: object) -> str:
    return _local(unix, offset).isoformat(timespec="seconds")


def _float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]
