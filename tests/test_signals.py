"""Stopping and signals, phase by phase, through the real command in a subprocess (and, for the camera, through a
real session in this process).

`run`: SIGINT, SIGTERM and SIGHUP stop it in every phase (loading the model, calibrating on a first run,
watching, paused) with one line, "Stopped (SIGTERM).", and exit status 0; SIGUSR1 never stops it (a pause asked
for before the watching starts is queued). `calibrate` and `replay` stop with exit status 130 and one line, and
ignore SIGUSR1. A baseline is always either the old file or the complete new one.

Each phase is hit deterministically: by waiting for the line the phase prints, or, for the model's loading and
the baseline's saving, which print nothing, by running the command under strace with a 3 s delay injected into
the one system call that phase makes (opening the model file; renaming the new baseline into place) and sending
the signal while the process is held there. That is a slow disk, emulated; the test checks that the process
really was inside the phase when the signal was sent.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from posture_watch.core.events import CalibrationStarted, CameraChanged, Event, GetStatus, Paused, Sampled
from posture_watch.core.watcher import WatchSettings
from posture_watch.pose import PoseEstimator, bundled_model_path
from posture_watch.session import LiveClock, Mailbox, Reply, Session, SessionStopped
from posture_watch.sources import PacedClipSource
from posture_watch.store import load_baseline
from tests.emulated_camera import camera_free
from tests.test_cli import HUNCH, ROOT

pytestmark = pytest.mark.slow  # the command line in subprocesses, phases held by strace for seconds

BASELINE = ROOT / "calibration" / "hunch_slow.json"
STOPS = ["SIGINT", "SIGTERM", "SIGHUP"]
HOLD_US = 3_000_000  # how long strace holds the phase's system call


@pytest.fixture(scope="module")
def strace() -> str:
    path = shutil.which("strace")
    if path is None:
        pytest.skip("needs the Debian package strace (it holds the model's loading, like a slow disk)")
    if subprocess.run([path, "-o", os.devnull, "true"], capture_output=True, timeout=30).returncode != 0:
        pytest.skip("strace cannot trace here (ptrace not permitted)")
    return path


class Command:
    """posture-watch in a subprocess (optionally under strace), its stderr read line by line as it comes."""

    def __init__(self, args: list[str], config: Path, strace: list[str] | None = None) -> None:
        env = {**os.environ, "POSTURE_WATCH_CONFIG_DIR": str(config), "PYTHONDONTWRITEBYTECODE": "1"}
        env.pop("DBUS_SESSION_BUS_ADDRESS", None)
        command = [sys.executable, "-m", "posture_watch", *args]
        if strace is not None:
            command = [*strace, "--", *command]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT)
        self.traced = strace is not None
        self.lines: list[str] = []
        self._partial = b""
        self._seen = 0  # lines before this were matched by an earlier wait_for

    @property
    def pid(self) -> int:
        """The posture-watch process (when traced: strace's descendant running it; strace may fork twice)."""
        if not self.traced:
            return self.process.pid
        deadline = time.monotonic() + 10
        while (found := _descendant(self.process.pid, [sys.executable, "-m", "posture_watch"])) is None:
            assert time.monotonic() < deadline, "strace started no posture-watch"
            time.sleep(0.01)
        return found

    def wait_for(self, text: str, timeout: float = 60) -> None:
        """Read stderr until a line after those matched by earlier calls contains `text`."""
        assert self.process.stderr is not None
        deadline = time.monotonic() + timeout
        while (found := next((i for i in range(self._seen, len(self.lines)) if text in self.lines[i]), None)) is None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.process.stderr], [], [], left)[0]:
                self.process.kill()
                pytest.fail(f"no {text!r} within {timeout:g} s; stderr so far: {self.lines}")
            chunk = os.read(self.process.stderr.fileno(), 65536)
            if not chunk:
                pytest.fail(f"exited ({self.process.wait()}) before {text!r}; stderr: {self.lines}")
            *complete, self._partial = (self._partial + chunk).split(b"\n")
            self.lines += [line.decode() for line in complete]
        self._seen = found + 1

    def send(self, name: str) -> None:
        os.kill(self.pid, getattr(signal, name))

    def finish(self, timeout: float = 60) -> tuple[int, str, list[str]]:
        """Exit status, stdout, and every stderr line."""
        try:
            out, err = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, err = self.process.communicate()
            pytest.fail(f"did not stop within {timeout:g} s; stderr: {self.lines + err.decode().splitlines()}")
        rest = (self._partial + err).decode().splitlines()
        return self.process.returncode, out.decode(), self.lines + rest


def _descendant(pid: int, argv_start: list[str]) -> int | None:
    """A process under `pid` whose command line starts with `argv_start`."""
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                argv = Path(f"/proc/{child}/cmdline").read_bytes().decode().split("\0")
                if argv[:len(argv_start)] == argv_start:
                    return int(child)
                if (deeper := _descendant(int(child), argv_start)) is not None:
                    return deeper
    return None


Spawn = Callable[..., Command]


@pytest.fixture
def spawn() -> Iterator[Spawn]:
    """Starts commands; any still running when the test ends (it failed) is killed."""
    started: list[Command] = []

    def start(args: list[str], config: Path, strace: list[str] | None = None) -> Command:
        started.append(Command(args, config, strace))
        return started[-1]

    yield start
    for command in started:
        if command.process.poll() is None:
            command.process.kill()
            command.process.communicate()


def hold(strace_path: str, syscall: str, log: Path, path: Path | None = None, when: str = "exit") -> list[str]:
    """strace arguments that hold every `syscall` (on `path` only, if given) for HOLD_US before it (`enter`) or
    after it (`exit`) happens."""
    only = ["-P", str(path)] if path is not None else []
    return [strace_path, "-f", "--seccomp-bpf", "-qq", "-o", str(log), *only, "-e", f"trace={syscall}",
            "-e", f"inject={syscall}:delay_{when}={HOLD_US}"]


def has_open(pid: int, path: Path) -> bool:
    fds = Path(f"/proc/{pid}/fd")
    with contextlib.suppress(FileNotFoundError):
        for fd in fds.iterdir():
            with contextlib.suppress(OSError):
                if os.readlink(fd) == str(path):
                    return True
    return False


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.005)


def signal_while_loading(command: Command, name: str) -> None:
    """Send `name` while the process is held opening the pose model (MediaPipe imported, model not built)."""
    model = bundled_model_path()
    pid = command.pid
    wait_until(lambda: has_open(pid, model), "the model file is open")
    command.send(name)
    assert has_open(pid, model), "the signal must arrive while the model is being loaded"


def assert_clean(code: int, lines: list[str], expected_code: int, last: str) -> None:
    text = "\n".join(lines)
    assert code == expected_code, text
    assert lines and lines[-1] == last, text
    assert "Traceback" not in text and "Error" not in text, text


def config_files(config: Path) -> list[str]:
    return sorted(p.name for p in config.iterdir()) if config.exists() else []


# --- run


@pytest.mark.parametrize("name", STOPS)
def test_run_stops_while_loading_the_model(hunch_camera: Path, spawn: Spawn, tmp_path: Path, strace: str,
                                           name: str) -> None:
    """A first run (no baseline) stopped during the model's loading stops before the camera is opened."""
    run = spawn(["run", "--camera", str(hunch_camera), "--notifier", "none"], tmp_path / "config",
                hold(strace, "openat", tmp_path / "strace.log", bundled_model_path()))
    signal_while_loading(run, name)
    code, _, lines = run.finish()
    assert_clean(code, lines, 0, f"Stopped ({name}).")
    assert not any(line.startswith(("Calibrating", "Watching")) for line in lines), lines  # camera never opened
    assert config_files(tmp_path / "config") == []


@pytest.mark.parametrize("name", STOPS)
def test_run_stops_while_calibrating(hunch_camera: Path, spawn: Spawn, tmp_path: Path, name: str) -> None:
    run = spawn(["run", "--camera", str(hunch_camera), "--loop", "--notifier", "none"], tmp_path)
    run.wait_for("Calibrating: sit upright")
    run.send(name)
    code, _, lines = run.finish()
    assert_clean(code, lines, 0, f"Stopped ({name}).")
    assert config_files(tmp_path) == []  # no baseline, and no half-written one


@pytest.mark.parametrize("name", STOPS)
@pytest.mark.parametrize("phase", ["watching", "paused"])
def test_run_stops_while_watching_or_paused(hunch_camera: Path, spawn: Spawn, tmp_path: Path, phase: str,
                                            name: str) -> None:
    run = spawn(["run", "--camera", str(hunch_camera), "--loop", "--notifier", "none", "--baseline", str(BASELINE)],
                tmp_path)
    run.wait_for("Watching (")
    if phase == "paused":
        run.send("SIGUSR1")
        run.wait_for("paused: camera off until resumed")
    run.send(name)
    code, _, lines = run.finish()
    assert_clean(code, lines, 0, f"Stopped ({name}).")


def test_run_keeps_a_complete_baseline_when_stopped_while_saving_it(hunch_camera: Path, spawn: Spawn, tmp_path: Path,
                                                                    strace: str) -> None:
    """SIGTERM while the first-run baseline is being saved (held just before its rename into place): the save
    completes, then the watcher stops."""
    config = tmp_path / "config"
    run = spawn(["run", "--camera", str(hunch_camera), "--loop", "--notifier", "none"], config,
                hold(strace, "rename", tmp_path / "strace.log", when="enter"))
    wait_until(lambda: any(name.endswith(".tmp") for name in config_files(config)), "the baseline is being saved")
    run.send("SIGTERM")
    assert not (config / "baseline.json").exists()  # it was sent before the new file took its place
    code, _, lines = run.finish()
    assert_clean(code, lines, 0, "Stopped (SIGTERM).")
    assert f"Baseline saved to {config / 'baseline.json'}." in lines
    assert config_files(config) == ["baseline.json"]
    assert load_baseline(config / "baseline.json").samples >= 3
    renames = (tmp_path / "strace.log").read_text().count("rename(")
    assert renames == 1, "the held system call was the baseline's rename, and only that"


def test_sigusr1_while_loading_is_a_pause_once_watching(hunch_camera: Path, spawn: Spawn, tmp_path: Path,
                                                        strace: str) -> None:
    run = spawn(["run", "--camera", str(hunch_camera), "--loop", "--notifier", "none", "--baseline", str(BASELINE)],
                tmp_path / "config", hold(strace, "openat", tmp_path / "strace.log", bundled_model_path()))
    signal_while_loading(run, "SIGUSR1")
    run.wait_for("paused: camera off until resumed")
    run.send("SIGUSR1")
    run.wait_for("Watching (")  # the camera opens only now
    run.send("SIGTERM")
    code, _, lines = run.finish()
    assert_clean(code, lines, 0, "Stopped (SIGTERM).")


def test_sigusr1_while_calibrating_is_a_pause_after_it(hunch_camera: Path, spawn: Spawn, tmp_path: Path) -> None:
    run = spawn(["run", "--camera", str(hunch_camera), "--loop", "--notifier", "none"], tmp_path)
    run.wait_for("Calibrating: sit upright")
    run.send("SIGUSR1")
    run.wait_for("paused: camera off until resumed")
    run.send("SIGTERM")
    code, _, lines = run.finish()
    assert_clean(code, lines, 0, "Stopped (SIGTERM).")
    assert lines.index(f"Baseline saved to {tmp_path / 'baseline.json'}.") < len(lines) - 2
    assert not any(line.startswith("Watching") for line in lines)  # paused before the camera opened to watch
    assert load_baseline(tmp_path / "baseline.json").samples >= 3


def test_sigusr1_while_watching_pauses_and_resumes(hunch_camera: Path, spawn: Spawn, tmp_path: Path) -> None:
    run = spawn(["run", "--camera", str(hunch_camera), "--loop", "--notifier", "none", "--baseline", str(BASELINE)],
                tmp_path)
    run.wait_for("Watching (")
    for _ in range(2):
        run.send("SIGUSR1")
        run.wait_for("paused: camera off until resumed")
        run.send("SIGUSR1")
        run.wait_for("paused over")
    run.send("SIGINT")
    code, _, lines = run.finish()
    assert_clean(code, lines, 0, "Stopped (SIGINT).")
    assert sum("paused over" in line for line in lines) == 2


def test_watching_is_said_when_a_camera_busy_at_start_comes_back(hunch_camera: Path, spawn: Spawn,
                                                                 tmp_path: Path) -> None:
    held = os.open(hunch_camera, os.O_RDONLY)
    fcntl.flock(held, fcntl.LOCK_EX)  # another program has the camera
    try:
        run = spawn(["run", "--camera", str(hunch_camera), "--loop", "--notifier", "none", "--baseline", str(BASELINE)],
                    tmp_path)
        run.wait_for("camera busy")
    finally:
        os.close(held)
    run.wait_for("Watching (")  # retried after 5 s
    run.send("SIGTERM")
    code, _, lines = run.finish()
    assert_clean(code, lines, 0, "Stopped (SIGTERM).")
    watching = next(i for i, line in enumerate(lines) if line.startswith("Watching ("))
    assert "camera back" in lines[watching + 1] and all("Watching" not in line for line in lines[:watching])


# --- one-shot commands


@pytest.mark.parametrize("name", STOPS)
def test_calibrate_stops_with_130_and_keeps_the_old_baseline(hunch_camera: Path, spawn: Spawn, tmp_path: Path,
                                                             name: str) -> None:
    output = tmp_path / "baseline.json"
    shutil.copy(BASELINE, output)
    before = output.read_bytes()
    cal = spawn(["calibrate", "--camera", str(hunch_camera), "--seconds", "10", "--output", str(output)], tmp_path)
    cal.wait_for("Calibrating: sit upright")
    cal.send(name)
    code, _, lines = cal.finish()
    assert_clean(code, lines, 130, f"posture-watch: interrupted by {name}: no baseline saved")
    assert output.read_bytes() == before and config_files(tmp_path) == ["baseline.json"]


def test_calibrate_stops_with_130_while_loading(hunch_camera: Path, spawn: Spawn, tmp_path: Path, strace: str) -> None:
    cal = spawn(["calibrate", "--camera", str(hunch_camera)], tmp_path / "config",
                hold(strace, "openat", tmp_path / "strace.log", bundled_model_path()))
    signal_while_loading(cal, "SIGTERM")
    code, _, lines = cal.finish()
    assert_clean(code, lines, 130, "posture-watch: interrupted by SIGTERM: no baseline saved")
    assert not any(line.startswith("Calibrating") for line in lines)  # the camera was never opened


def test_calibrate_ignores_sigusr1(hunch_camera: Path, spawn: Spawn, tmp_path: Path) -> None:
    cal = spawn(["calibrate", "--camera", str(hunch_camera), "--seconds", "2"], tmp_path)
    cal.wait_for("Calibrating: sit upright")
    cal.send("SIGUSR1")  # was fatal (exit 138)
    code, _, lines = cal.finish()
    assert_clean(code, lines, 0, f"Baseline saved to {tmp_path / 'baseline.json'}.")


@pytest.mark.parametrize("name", [*STOPS, "SIGUSR1"])
def test_replay_stops_with_130_and_prints_no_partial_report(spawn: Spawn, tmp_path: Path, name: str) -> None:
    """The replay's JSON is a contract: stopped, it prints nothing on stdout. SIGUSR1 is ignored."""
    rep = spawn(["replay", str(HUNCH), "--json"], tmp_path)
    pid = rep.pid
    wait_until(lambda: has_open(pid, HUNCH), "the clip is being replayed")
    rep.send(name)
    code, out, lines = rep.finish()
    if name == "SIGUSR1":
        assert code == 0 and json.loads(out)["frames"] == 300 and lines == []
        return
    assert_clean(code, lines, 130, f"posture-watch: interrupted by {name}: the replay was not finished")
    assert out == ""


def test_doctor_stops_with_130(hunch_camera: Path, spawn: Spawn, tmp_path: Path, strace: str) -> None:
    doc = spawn(["doctor", "--camera", str(hunch_camera)], tmp_path / "config",
                hold(strace, "openat", tmp_path / "strace.log", bundled_model_path()))
    signal_while_loading(doc, "SIGTERM")
    code, out, lines = doc.finish()
    assert (code, out, lines) == (130, "", ["posture-watch: interrupted"])


# --- the camera is released on every way out (a real session in this process, real signals)


@pytest.fixture
def signals_restored() -> Iterator[None]:
    names = [*STOPS, "SIGUSR1"]
    saved = {name: signal.getsignal(getattr(signal, name)) for name in names}
    yield
    for name, handler in saved.items():
        signal.signal(getattr(signal, name), handler)


@pytest.fixture(scope="module")
def estimator() -> Iterator[PoseEstimator]:
    with PoseEstimator() as pose:
        yield pose


def session_with_signals(camera: Path, estimator: PoseEstimator, with_baseline: bool) -> tuple[Session, list[Event]]:
    from posture_watch.cli.common import stop_on_signals

    mailbox, clock = Mailbox(), LiveClock()
    stop_on_signals(mailbox, pause_toggle=True)

    def open_camera(interval: float) -> PacedClipSource:
        return PacedClipSource(camera, interval, loop=True, clock_origin=clock.origin)

    session = Session(estimator, open_camera, WatchSettings(), load_baseline(BASELINE) if with_baseline else None,
                      clock=clock, mailbox=mailbox)
    events: list[Event] = []
    session.subscribe(events.append)
    return session, events


def kill_self(name: str) -> None:
    os.kill(os.getpid(), getattr(signal, name))


@pytest.mark.usefixtures("signals_restored")
@pytest.mark.parametrize("phase", ["calibrating", "watching", "paused"])
def test_the_camera_is_released_when_a_signal_stops_the_session(hunch_camera: Path, estimator: PoseEstimator,
                                                                phase: str) -> None:
    session, events = session_with_signals(hunch_camera, estimator, with_baseline=phase != "calibrating")

    stop_on = {"calibrating": CalibrationStarted, "watching": Sampled}.get(phase)

    def on_event(event: Event) -> None:
        assert not camera_free(hunch_camera) or not isinstance(event, Sampled | CalibrationStarted)  # held while used
        if stop_on is not None and isinstance(event, stop_on):
            kill_self("SIGTERM")
        elif phase == "paused" and isinstance(event, Sampled) and not any(isinstance(e, Paused) for e in events):
            kill_self("SIGUSR1")
        elif phase == "paused" and isinstance(event, CameraChanged) and event.status == "closed":
            assert camera_free(hunch_camera)  # closed by the pause, before any stop
            kill_self("SIGHUP")

    session.subscribe(on_event)
    if phase == "calibrating":
        with pytest.raises(SessionStopped, match="SIGTERM"):
            session.calibrate(5.0)
    else:
        assert session.run() == ("SIGHUP" if phase == "paused" else "SIGTERM")
    assert camera_free(hunch_camera)


def test_a_status_request_during_the_first_calibration_is_answered(hunch_camera: Path,
                                                                   estimator: PoseEstimator) -> None:
    """It raised 'no baseline yet' out of the calibration, which ended the first run."""
    mailbox, clock = Mailbox(), LiveClock()
    session = Session(estimator, lambda interval: PacedClipSource(hunch_camera, interval, clock_origin=clock.origin),
                      WatchSettings(), clock=clock, mailbox=mailbox)
    replies: list[Reply] = []
    asking = threading.Thread(target=lambda: replies.append(mailbox.request(GetStatus())))
    session.subscribe(lambda event: isinstance(event, CalibrationStarted) and asking.start())
    calibration = session.calibrate(2.0)
    asking.join(5)
    assert calibration.baseline.samples >= 3
    assert [(r.ok, r.message) for r in replies] == [(True, "calibrating")]
    status = replies[0].status
    assert status is not None
    assert (status["phase"], status["state"], status["baseline"], status["camera"]) == (
        "calibrating", None, None, "open")
