"""Controlling a running watcher: a real `posture-watch run` (a sample clip as its camera), real control commands
in other processes, a real Unix socket. One watcher serves the whole module (starting one loads the model); the
tests run in order and the last one stops it."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from posture_watch import control
from posture_watch.errors import PostureWatchError

ROOT = Path(__file__).resolve().parent.parent
HUNCH = ROOT / "samples" / "hunch_slow.mp4"
BASELINE = ROOT / "calibration" / "hunch_slow.json"
START_TIMEOUT_S = 90.0

pytestmark = pytest.mark.slow


@dataclass
class Watcher:
    process: subprocess.Popen[bytes]
    log: Path  # its stderr
    env: dict[str, str]
    runtime: Path
    crashed_pid: int  # the run killed with SIGKILL before this one started
    status_after_crash: subprocess.CompletedProcess[str]

    def stderr(self) -> str:
        return self.log.read_text()


def posture_watch(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "posture_watch", *args], capture_output=True, text=True, env=env,
                          timeout=timeout, cwd=ROOT)


def start_run(env: dict[str, str], log: Path, clip: Path) -> subprocess.Popen[bytes]:
    """`run` on a clip standing in for the camera. A clip, like a camera, is busy while another run holds it: a
    test beside the module's watcher gives its run a copy."""
    with log.open("w") as err:
        return subprocess.Popen([sys.executable, "-m", "posture_watch", "run", "--camera", str(clip), "--loop",
                                 "--notifier", "none"], stdout=subprocess.DEVNULL, stderr=err, env=env, cwd=ROOT)


def wait_until_watching(process: subprocess.Popen[bytes], runtime: Path, log: Path) -> dict[str, Any]:
    """The first status that shows the run watching with the camera open."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        assert process.poll() is None, f"run exited with {process.returncode}: {log.read_text()}"
        try:
            reply = control.request("status", folder=runtime)
        except PostureWatchError:
            reply = {}
        status = reply.get("status") or {}
        if status.get("phase") == "watching" and status.get("camera") == "open" and status.get("state"):
            return status
        time.sleep(0.2)
    raise AssertionError(f"run was not watching within {START_TIMEOUT_S:g} s: {log.read_text()}")


def stop(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def watcher(tmp_path_factory: pytest.TempPathFactory, hunch_camera: Path) -> Iterator[Watcher]:
    folder = tmp_path_factory.mktemp("control")
    config, runtime = folder / "config", folder / "run"
    config.mkdir()
    shutil.copy(BASELINE, config / "baseline.json")
    # The file's camera does not exist: the run only works because the --camera flag overrides it. The file's
    # break reminder (7 min, not the default 50) must show in the status.
    (config / "config.toml").write_text('schema = 1\n[watch]\ncamera = "/no/such/camera.mp4"\n'
                                        "[breaks]\nremind_after = 7\n")
    env = {**os.environ, "POSTURE_WATCH_CONFIG_DIR": str(config), "POSTURE_WATCH_RUNTIME_DIR": str(runtime)}
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)

    crashed = start_run(env, folder / "crashed.log", hunch_camera)
    try:
        wait_until_watching(crashed, runtime, folder / "crashed.log")
    finally:
        crashed.kill()  # SIGKILL: no clean-up, the socket stays behind
        crashed.wait()
    assert (runtime / control.SOCKET_NAME).exists()
    status_after_crash = posture_watch("status", env=env)

    process = start_run(env, folder / "run.log", hunch_camera)
    try:
        wait_until_watching(process, runtime, folder / "run.log")
        yield Watcher(process, folder / "run.log", env, runtime, crashed.pid, status_after_crash)
    finally:
        stop(process)


def status(watcher: Watcher) -> dict[str, Any]:
    done = posture_watch("status", "--json", env=watcher.env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def camera_released(clip: Path) -> bool:
    """Whether the clip standing in for the webcam is free: it is locked exclusively while the watcher has it open,
    as a webcam's driver would hold it."""
    fd = os.open(clip, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # also drops our lock at once
    return True


def wait_for(condition: Any, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not {what} within {timeout:g} s"
        time.sleep(0.1)


def seconds_from_now(iso: str) -> float:
    return (datetime.fromisoformat(iso) - datetime.now().astimezone()).total_seconds()


def test_a_stale_socket_from_a_killed_run_is_detected_and_replaced(watcher: Watcher) -> None:
    crashed = watcher.status_after_crash
    assert crashed.returncode == 1
    assert crashed.stderr == "posture-watch: no watcher is running (start one with `posture-watch run`)\n"
    assert status(watcher)["pid"] == watcher.process.pid != watcher.crashed_pid


def test_the_socket_and_its_folder_are_private(watcher: Watcher) -> None:
    sock = (watcher.runtime / control.SOCKET_NAME).stat()
    assert stat.S_ISSOCK(sock.st_mode) and stat.S_IMODE(sock.st_mode) == 0o600
    assert stat.S_IMODE(watcher.runtime.stat().st_mode) == 0o700
    assert (watcher.runtime / control.LOCK_NAME).read_text() == f"{watcher.process.pid}\n"


def test_status_reports_the_running_watcher(hunch_camera: Path, watcher: Watcher) -> None:
    # Today's tally counts the time between samples, so it is empty until the second sample.
    wait_for(lambda: sum(status(watcher)["today"].values()) > 0, "a sample counted in today's tally")
    doc = status(watcher)
    assert doc["pid"] == watcher.process.pid and doc["phase"] == "watching" and doc["camera"] == "open"
    assert doc["state"] in {"upright", "slouching", "away", "uncertain"}
    assert set(doc["today"]) == {"upright", "slouching", "away", "uncertain"} and sum(doc["today"].values()) > 0
    assert doc["baseline"]["samples"] > 0 and doc["holds"] == []
    # The settings file's break reminder (7 min), counted from the first sample a few seconds ago.
    assert 5 * 60 < seconds_from_now(doc["break_due"]) <= 7 * 60
    assert not camera_released(hunch_camera)

    text = posture_watch("status", env=watcher.env)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0].startswith(f"posture-watch {doc['version']} (PID {watcher.process.pid}): watching, ")
    assert "camera: open" in lines and any(line.startswith("today: ") for line in lines)
    assert any(line.startswith("baseline: ") and " old (" in line for line in lines), text.stdout
    assert "last alert: none yet" in lines or any(line.startswith("last alert: ") for line in lines)


def test_pause_closes_the_camera_and_resume_opens_it(hunch_camera: Path, watcher: Watcher) -> None:
    done = posture_watch("pause", env=watcher.env)
    assert (done.returncode, done.stdout) == (0, "paused until resumed\n"), done.stderr
    assert camera_released(hunch_camera)  # closed before the answer came back
    doc = status(watcher)
    assert doc["phase"] == "paused" and doc["camera"] == "closed"
    assert doc["holds"] == [{"reason": "paused", "until": None}]
    assert "paused until resumed" in posture_watch("status", env=watcher.env).stdout.splitlines()
    wait_for(lambda: "paused: camera off until resumed" in watcher.stderr(), "said on the run's terminal")

    done = posture_watch("resume", env=watcher.env)
    assert (done.returncode, done.stdout) == (0, "resumed\n"), done.stderr
    wait_for(lambda: status(watcher)["camera"] == "open", "watching again")
    assert not camera_released(hunch_camera)
    assert posture_watch("resume", env=watcher.env).stdout == "not paused\n"


def test_timed_pause_snooze_and_break(hunch_camera: Path, watcher: Watcher) -> None:
    for args, answer, reason, seconds in [(("pause", "45s"), "paused for 45 s", "paused", 45),
                                          (("snooze", "30m"), "snoozed for 30 min", "snoozed", 1800),
                                          (("break",), "enjoy the break: alerts resume in 10 min", "break", 600),
                                          (("break", "1h"), "enjoy the break: alerts resume in 60 min", "break",
                                           3600)]:
        done = posture_watch(*args, env=watcher.env)
        assert (done.returncode, done.stdout) == (0, f"{answer}\n"), done.stderr
        assert camera_released(hunch_camera)
        doc = status(watcher)
        assert doc["camera"] == "closed" and [hold["reason"] for hold in doc["holds"]] == [reason]
        assert seconds - 10 < seconds_from_now(doc["holds"][0]["until"]) <= seconds
        shown = posture_watch("status", env=watcher.env).stdout.splitlines()
        assert any(line.startswith(f"{reason} until ") for line in shown), shown
        assert posture_watch("resume", env=watcher.env).stdout == "resumed\n"
    wait_for(lambda: status(watcher)["camera"] == "open", "watching again")
    log = watcher.stderr()
    assert "snoozed: camera off until" in log and "break: camera off until" in log and "snoozed over" in log


def test_bad_durations_are_usage_errors(watcher: Watcher) -> None:
    for args in (("snooze",), ("snooze", "soon"), ("pause", "8d"), ("pause", "0s")):
        done = posture_watch(*args, env=watcher.env)
        assert done.returncode == 2 and "Traceback" not in done.stderr, (args, done.stderr)
    assert status(watcher)["holds"] == []


def raw_request(runtime: Path, line: bytes) -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(15)
        conn.connect(str(runtime / control.SOCKET_NAME))
        conn.sendall(line)
        conn.shutdown(socket.SHUT_WR)
        reply = b""
        while chunk := conn.recv(4096):
            reply += chunk
    return reply


@pytest.mark.parametrize(("line", "message"), [
    (b'{"version": 2, "command": "status"}\n', "unsupported protocol version 2: this posture-watch speaks version 1"),
    (b'{"command": "status"}\n', "unsupported protocol version null: this posture-watch speaks version 1"),
    (b"status\n", "not a request: send one JSON object on one line"),
    (b"[1, 2]\n", "not a request: send one JSON object on one line"),
    (b'{"version": 1, "command": "dance"}\n', 'unknown command "dance"; the commands are status, pause, resume, '
                                              "snooze, break, recalibrate, quit"),
    (b'{"version": 1, "command": "snooze"}\n', "snooze needs seconds"),
    (b'{"version": 1, "command": "pause", "seconds": "ten"}\n', 'seconds must be a number, not "ten"'),
    (b'{"version": 1, "command": "pause", "seconds": -5}\n', "a duration must be more than 0 s and at most 7 days"),
])
def test_every_request_gets_one_versioned_answer(watcher: Watcher, line: bytes, message: str) -> None:
    reply = raw_request(watcher.runtime, line)
    assert reply.endswith(b"\n") and reply.count(b"\n") == 1
    doc = json.loads(reply)
    assert doc["version"] == control.PROTOCOL and doc["ok"] is False
    assert doc["message"].startswith(message), doc
    assert status(watcher)["holds"] == []  # nothing happened


def test_a_status_request_in_the_protocol(watcher: Watcher) -> None:
    doc = json.loads(raw_request(watcher.runtime, b'{"version": 1, "command": "status"}\n'))
    assert doc["ok"] is True and doc["version"] == 1 and doc["status"]["pid"] == watcher.process.pid


def test_a_second_run_is_refused_with_the_pid_of_the_first(hunch_camera: Path, watcher: Watcher) -> None:
    done = posture_watch("run", "--camera", str(hunch_camera), env=watcher.env)
    assert done.returncode == 1
    assert done.stderr == (f"posture-watch: another watcher is already running (PID {watcher.process.pid}); "
                           "`posture-watch status` shows how it is doing, `posture-watch quit` stops it\n")
    assert status(watcher)["pid"] == watcher.process.pid  # the first one is untouched


def test_sigusr1_still_pauses(watcher: Watcher) -> None:
    watcher.process.send_signal(signal.SIGUSR1)
    wait_for(lambda: status(watcher)["camera"] == "closed", "paused by SIGUSR1")
    watcher.process.send_signal(signal.SIGUSR1)
    wait_for(lambda: status(watcher)["camera"] == "open", "resumed by SIGUSR1")


def test_recalibrate_measures_a_new_baseline(watcher: Watcher) -> None:
    before = status(watcher)["baseline"]["created"]
    done = posture_watch("recalibrate", env=watcher.env, timeout=90)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("calibrated on ") and "Sit upright" in done.stderr
    after = status(watcher)
    assert after["baseline"]["created"] != before and abs(seconds_from_now(after["baseline"]["created"])) < 30
    assert after["phase"] == "watching"


def test_quit_stops_the_run_and_removes_the_socket(hunch_camera: Path, watcher: Watcher) -> None:
    done = posture_watch("quit", env=watcher.env)
    assert (done.returncode, done.stdout) == (0, "stopping\n"), done.stderr
    assert watcher.process.wait(20) == 0
    assert watcher.stderr().rstrip().splitlines()[-1] == "Stopped (posture-watch quit)."
    assert "Traceback" not in watcher.stderr()
    assert not (watcher.runtime / control.SOCKET_NAME).exists()
    assert camera_released(hunch_camera)
    gone = posture_watch("status", env=watcher.env)
    assert (gone.returncode, gone.stderr) == (1, "posture-watch: no watcher is running (start one with "
                                                 "`posture-watch run`)\n")


def test_a_watcher_speaking_another_version_is_named(tmp_path: Path) -> None:
    """The client's side of a version mismatch: a server (here a bare socket) that answers in version 2."""
    import threading

    folder = tmp_path / "rt"
    folder.mkdir(mode=0o700)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(folder / control.SOCKET_NAME))
    server.listen(1)

    def answer() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(4096)
            conn.sendall(b'{"version": 2, "ok": true, "message": "hi"}\n')

    thread = threading.Thread(target=answer)
    thread.start()
    try:
        with pytest.raises(PostureWatchError, match="speaks control protocol 2, this command version 1: restart it"):
            control.request("status", folder=folder)
    finally:
        thread.join(5)
        server.close()


EMULATED_WINDOWS = """
import signal, socket, sys
del socket.AF_UNIX  # what Windows' Python lacks
del signal.SIGHUP, signal.SIGUSR1
import posture_watch.control, posture_watch.offline, posture_watch.sources
posture_watch.control.fcntl = posture_watch.sources.fcntl = None
# Windows has no seccomp network guard (the guard would refuse the loopback socket, as any internet socket)
posture_watch.offline.block_network = lambda: posture_watch.offline.NetworkGuard(active=False)
from posture_watch.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_without_unix_sockets_control_goes_over_loopback_with_a_token(tmp_path: Path) -> None:
    """Windows' Python has no Unix sockets: `run` listens on 127.0.0.1 instead and writes its port with a token to a
    private file; the control commands read it and carry the token. (Emulated: AF_UNIX, fcntl and the POSIX-only
    signals removed; the instance lock, msvcrt's on Windows, is not exercised here.)"""
    shutil.copy(BASELINE, tmp_path / "baseline.json")
    runtime = tmp_path / "run"
    env = {**os.environ, "POSTURE_WATCH_CONFIG_DIR": str(tmp_path), "POSTURE_WATCH_RUNTIME_DIR": str(runtime)}
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)

    def windows(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", EMULATED_WINDOWS, *args], capture_output=True, text=True,
                              env=env, cwd=ROOT, timeout=60)

    before = windows("status")
    assert before.returncode == 1 and before.stderr.splitlines() == [
        "posture-watch: no watcher is running (start one with `posture-watch run`)"]
    clip = tmp_path / "camera.mp4"
    shutil.copy(HUNCH, clip)
    run = subprocess.Popen([sys.executable, "-c", EMULATED_WINDOWS, "run", "--camera", str(clip), "--loop",
                            "--notifier", "none"], stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    assert run.stderr is not None
    try:
        assert run.stderr.readline() == (f"Watching ({clip}); `posture-watch pause` pauses, `posture-watch quit` or "
                                         "Ctrl-C stops.\n")
        endpoint = runtime / control.ENDPOINT_NAME
        assert not (runtime / control.SOCKET_NAME).exists()
        assert stat.S_IMODE(endpoint.stat().st_mode) == 0o600
        port, token = control._endpoint(endpoint)
        assert len(token) == 32

        status = windows("status", "--json")
        assert status.returncode == 0, status.stderr
        assert json.loads(status.stdout)["phase"] == "watching"
        paused = windows("pause")
        assert (paused.returncode, paused.stdout) == (0, "paused until resumed\n"), paused.stderr
        # Another local program without the token gets nothing done.
        with socket.create_connection(("127.0.0.1", port), timeout=5) as intruder:
            intruder.sendall(b'{"version": 1, "command": "quit", "token": "' + b"0" * 32 + b'"}\n')
            refused = json.loads(intruder.makefile().readline())
        assert refused == {"version": 1, "ok": False,
                           "message": "not allowed: the request does not carry this watcher's token"}
        assert json.loads(windows("status", "--json").stdout)["holds"]  # still paused, still running

        quit_ = windows("quit")
        assert quit_.returncode == 0, quit_.stderr
        rest = run.communicate(timeout=20)[1]
    finally:
        stop(run)
    assert run.returncode == 0 and "Traceback" not in rest, rest
    assert not endpoint.exists()  # removed on the way out
    assert windows("status").stderr.startswith("posture-watch: no watcher is running")
    endpoint.write_text('{"port": "80", "token": 7}')
    assert windows("status").stderr.splitlines() == [
        f"posture-watch: the control endpoint {endpoint} is damaged: restart `posture-watch run`"]


def test_status_during_the_first_calibration(tmp_path: Path) -> None:
    """A run without a baseline calibrates first; asking it how it is doing meanwhile must not disturb it."""
    env = {**os.environ, "POSTURE_WATCH_CONFIG_DIR": str(tmp_path / "config"),
           "POSTURE_WATCH_RUNTIME_DIR": str(tmp_path / "run")}
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    process = start_run(env, tmp_path / "run.log", shutil.copy(HUNCH, tmp_path / "camera.mp4"))
    try:
        seen = None
        deadline = time.monotonic() + START_TIMEOUT_S
        while seen is None and time.monotonic() < deadline:
            assert process.poll() is None, (tmp_path / "run.log").read_text()
            with contextlib.suppress(PostureWatchError):
                reply = control.request("status", folder=tmp_path / "run")
                # The very first answer may come before the camera has opened; then it says "closed", rightly.
                if reply["status"]["phase"] == "calibrating" and reply["status"]["camera"] == "open":
                    seen = reply["status"]
            time.sleep(0.1)
        assert seen is not None, (tmp_path / "run.log").read_text()
        assert seen["baseline"] is None and seen["state"] is None and seen["today"] == dict.fromkeys(
            ("upright", "slouching", "away", "uncertain"), 0.0)
        wait_until_watching(process, tmp_path / "run", tmp_path / "run.log")
        assert (tmp_path / "config" / "baseline.json").exists()
    finally:
        stop(process)
    assert process.returncode == 0, (tmp_path / "run.log").read_text()


def test_outside_working_hours_the_camera_stays_closed(tmp_path: Path) -> None:
    """The settings file's schedule reaches the running watcher: on a day off it never opens the camera."""
    days = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
    today = datetime.now().weekday()
    config = tmp_path / "config"
    config.mkdir()
    shutil.copy(BASELINE, config / "baseline.json")
    (config / "config.toml").write_text(
        f'schema = 1\n[schedule]\nworking_days = "{",".join(d for i, d in enumerate(days) if i != today)}"\n')
    env = {**os.environ, "POSTURE_WATCH_CONFIG_DIR": str(config), "POSTURE_WATCH_RUNTIME_DIR": str(tmp_path / "run")}
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    camera = Path(shutil.copy(HUNCH, tmp_path / "camera.mp4"))
    process = start_run(env, tmp_path / "run.log", camera)
    try:
        wait_for(lambda: "quiet hours: camera off" in (tmp_path / "run.log").read_text(), "quiet", START_TIMEOUT_S)
        doc = control.request("status", folder=tmp_path / "run")["status"]
        assert doc["holds"] == [{"reason": "quiet_hours", "until": None}] and doc["camera"] == "closed"
        assert doc["today"] == {"upright": 0.0, "slouching": 0.0, "away": 0.0, "uncertain": 0.0}
        assert camera_released(camera)
        resumed = control.request("resume", folder=tmp_path / "run")  # quiet hours are not the user's pause
        assert resumed["message"] == "not paused" and control.request("status", folder=tmp_path / "run")[
            "status"]["camera"] == "closed"
    finally:
        stop(process)
