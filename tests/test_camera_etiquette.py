"""Camera etiquette through a real `posture-watch run --camera CLIP`: the clip stands in for a webcam and behaves
like one where it matters (sources.PacedClipSource): while the run has it open it holds an exclusive flock on the
file, so another program (this test) finds it busy; removing the file unplugs it. So "the camera is released" is
checked the way another program would check it: by taking the lock.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.emulated_camera import (
    HUNCH,
    HUNCH_FPS,
    another_program_holds,
    camera_free,
    hunch_frames,
    seconds_until_free,
    write_clip,
)
from tests.test_screenlock import locker

ROOT = Path(__file__).resolve().parent.parent
HUNCH_BASELINE = ROOT / "calibration" / "hunch_slow.json"
RELEASE_WITHIN_S = 1.0
# The real first retry of a busy or lost camera is 5 s (thresholds.CAMERA_RETRY_FIRST_S); room for a busy machine.
RETRY_WITHIN_S = 10.0

pytestmark = pytest.mark.slow


class Run:
    """A `posture-watch run` subprocess whose stderr lines are collected as they come."""

    def __init__(self, args: list[str], config: Path, env: dict[str, str] | None = None) -> None:
        env = {**(env or os.environ), "POSTURE_WATCH_CONFIG_DIR": str(config)}
        self.process = subprocess.Popen([sys.executable, "-m", "posture_watch", "run", *args], stderr=subprocess.PIPE,
                                        stdout=subprocess.DEVNULL, text=True, env=env, cwd=ROOT)
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()

    def count(self, text: str) -> int:
        with self._changed:
            return sum(text in line for line in self.lines)

    def wait_for(self, text: str, count: int = 1, timeout: float = 30.0) -> None:
        """Until `count` lines contain `text`."""
        with self._changed:
            if not self._changed.wait_for(lambda: sum(text in line for line in self.lines) >= count, timeout):
                raise AssertionError(f"no {count}x {text!r} within {timeout:g} s; stderr so far:\n" + self.text())

    def text(self) -> str:
        return "\n".join(self.lines)

    def finish(self) -> int:
        """The exit status, once the run has stopped (a signal was sent before)."""
        code = self.process.wait(20)
        self._reader.join(5)
        return code


@pytest.fixture
def camera(tmp_path: Path) -> Path:
    """A copy of the hunch clip to use as the camera (the tests lock, unplug and restore it)."""
    return Path(shutil.copy(HUNCH, tmp_path / "camera.mp4"))


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A config folder with a baseline for the hunch clip, so runs go straight to watching."""
    folder = tmp_path / "config"
    folder.mkdir()
    shutil.copy(HUNCH_BASELINE, folder / "baseline.json")
    return folder


def without_desktop(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    env["DBUS_SYSTEM_BUS_ADDRESS"] = f"unix:path={tmp_path / 'no-system-bus'}"  # this machine may have a real one
    return env


def test_run_gives_the_camera_up_to_others_waits_for_it_and_lets_it_go_on_pause_and_quit(
        camera: Path, config: Path, tmp_path: Path) -> None:
    with another_program_holds(camera):  # a video call already has the camera when the watcher starts
        run = Run(["--camera", str(camera), "--loop", "--notifier", "none"], config, without_desktop(tmp_path))
        run.wait_for("camera busy:")
        time.sleep(1)
    run.wait_for("camera back:", timeout=RETRY_WITHIN_S)
    run.wait_for("upright")
    assert run.count("camera busy:") == 1  # said once, however often it was retried

    unplugged = camera.with_name("unplugged.mp4")
    camera.rename(unplugged)  # the cable is pulled ...
    run.wait_for("camera lost:")
    time.sleep(1)
    unplugged.rename(camera)  # ... and plugged in again
    run.wait_for("camera back:", count=2, timeout=RETRY_WITHIN_S)
    assert run.count("camera lost:") == 1
    assert not camera_free(camera)  # it is watching again

    run.process.send_signal(signal.SIGUSR1)  # pause
    assert seconds_until_free(camera, time.monotonic()) < RELEASE_WITHIN_S
    run.wait_for("paused: camera off until resumed")
    with another_program_holds(camera):  # while paused another program takes the camera ...
        run.process.send_signal(signal.SIGUSR1)  # ... and the user resumes: it waits for its turn
        run.wait_for("camera busy:", count=2)
        time.sleep(1)
    run.wait_for("camera back:", count=3, timeout=RETRY_WITHIN_S)

    since = time.monotonic()
    run.process.send_signal(signal.SIGTERM)
    assert seconds_until_free(camera, since) < RELEASE_WITHIN_S
    assert run.finish() == 0
    assert "Stopped (SIGTERM)." in run.lines[-1] and "Traceback" not in run.text()
    assert run.count("camera busy:") == 2 and run.count("camera lost:") == 1
    assert "is busy: another program is using it as a camera; watching waits until it is free" in run.text()
    assert "unplugged: the clip is gone); watching waits until it is back" in run.text()


def test_screen_lock_turns_the_camera_off_and_unlock_on_again(
        camera: Path, config: Path, private_bus: str, private_system_bus: str) -> None:
    with locker("screensaver", private_bus) as screen_saver, locker("logind", private_system_bus) as login_session:
        run = Run(["--camera", str(camera), "--loop", "--notifier", "none"], config)
        run.wait_for("upright")
        for number, lock in enumerate((screen_saver, login_session), start=1):
            since = time.monotonic()
            lock.set(True)
            assert seconds_until_free(camera, since) < RELEASE_WITHIN_S
            run.wait_for("screen locked: camera off until the screen is unlocked", count=number)
            lock.set(False)
            run.wait_for("screen unlocked", count=number)
            run.wait_for("upright", count=number + 1)  # sampling again: judged afresh after the lock
            assert not camera_free(camera)
        run.process.send_signal(signal.SIGTERM)
        assert run.finish() == 0
    assert "cannot tell when the screen locks" not in run.text() and "Traceback" not in run.text()


@pytest.fixture(scope="module")
def covered_lens(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hunch clip's upright start (3 s), then 14 s of black (a hand or a shutter over the lens), then upright
    again (4 s)."""
    upright = hunch_frames(0, 4)
    black = [upright[0] * 0] * 14 * HUNCH_FPS
    return write_clip(tmp_path_factory.mktemp("clips") / "covered_lens.avi", upright[:3 * HUNCH_FPS] + black + upright)


def test_a_covered_lens_is_reported_once_as_covered_and_uncertain_never_away(
        covered_lens: Path, config: Path, tmp_path: Path) -> None:
    env = {**without_desktop(tmp_path), "POSTURE_WATCH_CONFIG_DIR": str(config)}
    done = subprocess.run([sys.executable, "-m", "posture_watch", "run", "--camera", str(covered_lens),
                           "--notifier", "none"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=90)
    assert done.returncode == 0, done.stderr
    lines = [line.split(" ", 1)[1] for line in done.stderr.splitlines() if line[:2].isdigit()]  # "HH:MM:SS ..."
    covered = [line for line in lines if line.startswith("camera covered")]
    assert len(covered) == 1 and "the lens is covered or the light is off" in covered[0]
    assert "uncertain (too dark or camera covered)" in lines
    assert not any(line.startswith("away") for line in lines), lines
    reported = lines.index(covered[0])
    assert lines.index("uncertain (too dark or camera covered)") < reported
    # Watching again once it can see: the same sample says upright and uncovered.
    assert lines[reported + 1:] == ["upright", "camera uncovered: the camera can see again"], lines
    assert done.stderr.rstrip().endswith("Stopped (the clip has ended).")
