"""The history database: written off the session's thread, private, versioned, and robust to what files do
(damage, locks, a full disk, kill -9). Real SQLite files, real subprocesses, a real full disk (tmpfs)."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from posture_watch.core.events import AlertRaised, Event, Paused, Resumed, Sampled, StateChanged, Stopped
from posture_watch.core.policy import Alert, Decision, State
from posture_watch.core.posture import Assessment
from posture_watch.errors import PostureWatchError
from posture_watch.history import CHECKPOINT_S, SCHEMA_VERSION, History, HistoryFile
from posture_watch.session import ClipClock

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2026, 3, 2, 9, 0, 0).astimezone()
ADVICE = "Bring your head back over your shoulders."


def sample(t: float, state: State, neck: float = 3.0) -> Sampled:
    return Sampled(t, int(t), Assessment("measured", neck_angle_deg=neck, shoulder_angle_deg=1.0),
                   Decision(state, (), None, False))


def a_session(seconds: int = 150) -> list[Event]:
    """A sample a second: upright, a slouch with an alert, a snooze, upright again, stop."""
    events: list[Event] = [StateChanged(0, "upright", "uncertain", (), "")]
    events += [sample(t, "upright") for t in range(0, 60)]
    events += [StateChanged(60, "slouching", "upright", ("forward_head",), "")]
    events += [sample(t, "slouching", 20.0) for t in range(60, 100)]
    events += [AlertRaised(90, Alert(90, ("forward_head",), 1, 30), "Head pushed forward", ADVICE),
               Paused(100, "snoozed", 110), Resumed(110, "snoozed")]
    events += [sample(t, "upright") for t in range(110, seconds)]
    events.append(Stopped(seconds, "asked to quit"))
    return events


def record(path: Path, events: list[Event], start: datetime = START, retention_days: int | None = None
           ) -> tuple[History, list[str]]:
    """Feed events to a History as a session would (the clock moves with them), then close it."""
    clock = ClipClock(start)
    warnings: list[str] = []
    history = History(path, clock, "test", retention_days, warn=warnings.append)
    for event in events:
        clock.last = event.t
        history(event)
    history.close()
    return history, warnings


def test_history_is_private_versioned_and_holds_the_session(tmp_path: Path) -> None:
    path = tmp_path / "data" / "history.sqlite3"
    history, warnings = record(path, a_session())
    assert warnings == [] and history.on
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700 and stat.S_IMODE(path.stat().st_mode) == 0o600
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with HistoryFile(path) as history_file:
        minutes = history_file.minutes(START.date(), START.date())
        moments = history_file.moments(START.date(), START.date())
    assert [m.start for m in minutes] == [START, START + timedelta(minutes=1), START + timedelta(minutes=2)]
    assert sum(m.upright_s for m in minutes) == pytest.approx(59 + 1 + 39)  # the snooze cut 99-100 and 100-110
    assert sum(m.slouching_s for m in minutes) == pytest.approx(39)  # 99-100 s too
    assert (minutes[0].neck_deg, minutes[1].neck_deg) == (3.0, 20.0)  # minute 1: 40 slouching, 10 upright samples
    assert [m.alerts for m in minutes] == [0, 1, 0] and [m.snoozes for m in minutes] == [0, 1, 0]
    assert [(m.kind, m.state) for m in moments] == [("state", "upright"), ("state", "slouching"),
                                                    ("alert", "slouching"), ("pause", "snoozed"),
                                                    ("resume", "snoozed"), ("stop", "")]
    assert moments[2].detail == ADVICE and moments[2].faults == ("forward_head",)
    assert moments[3].until == START + timedelta(seconds=110)


def test_a_newer_schema_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE future (x)")
        conn.execute("INSERT INTO future VALUES ('kept')")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    history, warnings = record(path, a_session())
    assert not history.on
    assert len(warnings) == 1 and "newer posture-watch" in warnings[0] and "left as it is" in warnings[0]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.sqlite3"]
    with pytest.raises(PostureWatchError, match="newer posture-watch"):
        HistoryFile(path)


def test_a_damaged_database_is_kept_aside_and_a_new_one_started(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    damaged = b"SQLite format 3\x00" + os.urandom(8000)
    path.write_bytes(damaged)
    history, warnings = record(path, a_session())
    assert history.on
    assert len(warnings) == 1 and "was damaged: kept it as history.sqlite3.damaged-" in warnings[0], warnings
    (aside,) = tmp_path.glob("history.sqlite3.damaged-*")
    assert aside.read_bytes() == damaged
    with HistoryFile(path) as history_file:
        assert sum(m.slouching_s for m in history_file.minutes(START.date(), START.date())) == pytest.approx(39)


@pytest.mark.slow  # waits out SQLite's 5 s busy timeout
def test_a_locked_database_is_kept_aside_and_watching_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    record(path, a_session())
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another program keeps the file locked (longer than the busy timeout)
    try:
        history, warnings = record(path, a_session(), START + timedelta(hours=1))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert history.on
    assert len(warnings) == 1 and "was locked: kept it as history.sqlite3.locked-" in warnings[0], warnings
    (aside,) = tmp_path.glob("history.sqlite3.locked-*[0-9]")
    with HistoryFile(aside) as old, HistoryFile(path) as new:
        assert [m.start.hour for m in old.minutes(START.date(), START.date())] == [9, 9, 9]
        assert [m.start.hour for m in new.minutes(START.date(), START.date())] == [10, 10, 10]


def test_retention_forgets_old_days_at_start(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    old = datetime.now().astimezone().replace(hour=9, minute=0, second=0, microsecond=0) - timedelta(days=100)
    recent = old + timedelta(days=95)
    record(path, a_session(), old)
    record(path, a_session(), recent)
    record(path, [sample(0, "upright"), sample(1, "upright")], datetime.now().astimezone(), retention_days=90)
    with HistoryFile(path) as history_file:
        assert history_file.days()[:1] == [recent.date()]
        assert history_file.moments(old.date(), old.date()) == []


def cli(*args: str, data: Path, **kw: object) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "POSTURE_WATCH_DATA_DIR": str(data), "POSTURE_WATCH_CONFIG_DIR": str(data / "config")}
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    return subprocess.run([sys.executable, "-m", "posture_watch", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=120, stdin=subprocess.DEVNULL, **kw)


@pytest.mark.slow  # the command line in a subprocess
def test_export_and_forget(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"  # the default history of this data folder
    record(path, a_session(), START - timedelta(days=1))
    record(path, a_session(), START)

    done = cli("history", "export", "--csv", data=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == ("session,minute,upright_s,slouching_s,away_s,uncertain_s,neck_deg,shoulder_deg,alerts,"
                        "snoozes,breaks,break_reminders")
    assert len(lines) == 1 + 6 and lines[1].startswith(f"1,{START - timedelta(days=1):%Y-%m-%dT%H:%M:%S}")
    out = tmp_path / "out" / "events.csv"
    done = cli("history", "export", "--csv", "--events", "--out", str(out), data=tmp_path)
    assert done.returncode == 0 and done.stderr.strip() == f"Exported 12 events to {out}.", done.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600 and ADVICE in out.read_text()

    done = cli("history", "forget", "--all", data=tmp_path)  # no terminal to ask at: needs --yes
    assert done.returncode == 1 and "add --yes" in done.stderr and len(done.stderr.splitlines()) == 1
    done = cli("history", "forget", "--before", str(START.date()), data=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == f"Deleted 3 minutes and 6 events ({START.date() - timedelta(days=1)})."
    done = cli("history", "forget", "--all", "--yes", data=tmp_path)
    assert done.stderr.strip() == f"Deleted 3 minutes and 6 events ({START.date()})."
    assert cli("history", "export", "--csv", data=tmp_path).stdout.count("\n") == 1  # the header only
    for part in tmp_path.glob("history.sqlite3*"):  # wiped from the file, not only unlinked
        assert ADVICE.encode() not in part.read_bytes(), part
    done = cli("history", "forget", "--all", "--yes", data=tmp_path)
    assert done.returncode == 0 and done.stderr.strip() == "Nothing to forget."


@pytest.mark.slow  # the command line in a subprocess
def test_history_commands_without_a_history_say_so_in_one_line(tmp_path: Path) -> None:
    for args in (("history", "export", "--csv"), ("history", "forget", "--all", "--yes"), ("report",)):
        done = cli(*args, data=tmp_path)
        assert done.returncode == 1 and done.stderr.startswith("posture-watch: no history yet at "), done.stderr
        assert len(done.stderr.splitlines()) == 1
    assert not (tmp_path / "history.sqlite3").exists()


@pytest.mark.slow  # the command line in a subprocess
def test_a_full_disk_stops_the_history_not_the_replay(tmp_path: Path) -> None:
    """A real full disk: a 40 kB tmpfs in a private mount namespace (needs root, as CI has)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "mount", "-t", "tmpfs", "-o",
                            "size=40k", "tmpfs", str(disk)], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root and unshare)")
    script = (f'mount -t tmpfs -o size=40k tmpfs "{disk}" && exec "{sys.executable}" -m posture_watch replay '
              f'samples/hunch_repeat.mp4 --alert-after 3 --json --record "{disk}/history.sqlite3"')
    done = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [f"posture-watch: history stopped: the disk is full ({disk}/history.sqlite3); "
                                        "watching goes on without it"]
    assert '"summary"' in done.stdout  # the replay itself went on to the end


@pytest.mark.slow
def test_kill_9_loses_at_most_a_checkpoint(tmp_path: Path) -> None:
    """A real watcher (a clip as its camera, in real time) killed with SIGKILL: what it wrote is readable and
    misses less than CHECKPOINT_S (20 s) of the time it watched."""
    clip = ROOT / "samples" / "hunch_repeat.mp4"
    env = {**os.environ, "POSTURE_WATCH_DATA_DIR": str(tmp_path), "POSTURE_WATCH_CONFIG_DIR": str(tmp_path)}
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    proc = subprocess.Popen([sys.executable, "-m", "posture_watch", "run", "--camera", str(clip), "--loop",
                             "--baseline", str(ROOT / "calibration" / "hunch_repeat.json"), "--notifier", "none"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=ROOT)
    assert proc.stderr is not None
    try:
        first_state = re.compile(r"^\d\d:\d\d:\d\d (upright|slouching|away|uncertain)\b")
        while not first_state.match(line := proc.stderr.readline()):
            assert line, "the watcher ended before its first sample"
        started = time.monotonic()
        time.sleep(CHECKPOINT_S + 15)
        proc.send_signal(signal.SIGKILL)
        watched = time.monotonic() - started
    finally:
        proc.kill()
        proc.wait()
        proc.stderr.close()
    with HistoryFile(tmp_path / "history.sqlite3") as history_file:
        today = datetime.now().astimezone().date()
        days = (today - timedelta(days=1), today)  # the run may straddle midnight
        minutes = history_file.minutes(*days)
        kinds = [m.kind for m in history_file.moments(*days)]
    recorded = sum(m.upright_s + m.slouching_s + m.away_s + m.uncertain_s for m in minutes)
    assert watched - CHECKPOINT_S - 3 <= recorded <= watched + 1, (recorded, watched)
    assert kinds[:1] == ["state"] and "stop" not in kinds  # moments are written as they come; no stop was seen
    with sqlite3.connect(tmp_path / "history.sqlite3") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
