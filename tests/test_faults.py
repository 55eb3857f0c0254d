"""Faults injected into the real loop: a `Session` with the real pose model, real clips as the camera (at camera pace,
or at replay speed where only the order of events matters), real D-Bus notification servers and real file systems.
Each fault must give one clear message, monitoring must go on where it can, and nothing may be lost."""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from posture_watch.core import thresholds as th
from posture_watch.core.baseline import Baseline
from posture_watch.core.events import AlertRaised, CameraChanged, Event, GetStatus, Pause, Quit, Resume, Sampled
from posture_watch.core.policy import PolicySettings
from posture_watch.core.watcher import WatchSettings
from posture_watch.notify import BACK, EventNotifier, open_notifier
from posture_watch.pose import PoseEstimator
from posture_watch.session import ClipClock, LiveClock, Session
from posture_watch.sources import CameraUnavailable, PacedClipSource, VideoFileSource
from posture_watch.store import load_baseline
from tests.desktop import NotificationServer, start_notification_server
from tests.emulated_camera import HUNCH, another_program_holds, hunch_frames, write_clip

ROOT = Path(__file__).resolve().parent.parent
HUNCH_BASELINE = ROOT / "calibration" / "hunch_slow.json"
SETTINGS = WatchSettings(PolicySettings(alert_after=2, cooldown=60), break_after=None)


@pytest.fixture
def estimator() -> Iterator[PoseEstimator]:
    """A fresh model for each session: MediaPipe's tracker smooths over the timestamps it was given, and every
    session's clock starts at 0."""
    with PoseEstimator() as model:
        yield model


@pytest.fixture(scope="module")
def baseline() -> Baseline:
    return load_baseline(HUNCH_BASELINE)


class Events:
    """A session subscriber that keeps every event, for the test thread to wait on."""

    def __init__(self) -> None:
        self.seen: list[Event] = []
        self._changed = threading.Condition()

    def __call__(self, event: Event) -> None:
        with self._changed:
            self.seen.append(event)
            self._changed.notify_all()

    def camera(self) -> list[str]:
        return [e.status for e in self.seen if isinstance(e, CameraChanged)]

    def wait_for(self, check: Callable[[list[Event]], bool], timeout: float = 10.0) -> None:
        with self._changed:
            assert self._changed.wait_for(lambda: check(self.seen), timeout), self.seen[-5:]

    def wait_for_camera(self, status: str, count: int = 1) -> None:
        self.wait_for(lambda _seen: self.camera().count(status) >= count)

    def sampled_after(self, status: str) -> bool:
        """Whether a sample was taken after the (last) camera change to `status`."""
        changes = [i for i, e in enumerate(self.seen) if isinstance(e, CameraChanged) and e.status == status]
        return bool(changes) and any(isinstance(e, Sampled) for e in self.seen[changes[-1]:])


def live_session(estimator: PoseEstimator, baseline: Baseline, clip: Path, opened: list[float] | None = None,
                 fps: float | None = None, loop: bool = True) -> tuple[Session, Events, list[str]]:
    """A session watching `clip` as its camera, in real time; `opened` collects the time of every open attempt."""
    clock = LiveClock()

    def open_camera(interval: float) -> PacedClipSource:
        if opened is not None:
            opened.append(clock.now())
        return PacedClipSource(clip, interval, fps=fps, loop=loop, clock_origin=clock.origin)

    warnings: list[str] = []
    session = Session(estimator, open_camera, SETTINGS, baseline, clock=clock, warn=warnings.append)
    events = Events()
    session.subscribe(events)
    return session, events, warnings


class Running:
    """`session.run()` on a thread of its own, quit when the block ends."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.reason: str | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        self.reason = self.session.run()

    def __enter__(self) -> Running:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.session.mailbox.post(Quit("test over"))
        self._thread.join(10)
        assert not self._thread.is_alive()


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    return Path(shutil.copy(HUNCH, tmp_path / "camera.mp4"))


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retry waits of 0.1 s doubling up to 0.4 s instead of 5 s up to 5 min: the same backoff, 50x sooner."""
    monkeypatch.setattr(th, "CAMERA_RETRY_FIRST_S", 0.1)
    monkeypatch.setattr(th, "CAMERA_RETRY_MAX_S", 0.4)


def gaps(times: list[float]) -> list[float]:
    return [round(b - a, 2) for a, b in itertools.pairwise(times)]


def waited_as_asked(waits: list[float], backoff: list[float]) -> bool:
    """Each wait as long as the backoff says (the last value repeating), never shorter, and late by at most what a
    loaded machine adds."""
    expected = backoff + backoff[-1:] * len(waits)
    return all(want - 0.01 <= wait <= want + 0.15 for wait, want in zip(waits, expected, strict=False))


@pytest.mark.slow
def test_a_busy_camera_is_retried_with_doubling_waits_and_never_fought_for(
        estimator: PoseEstimator, baseline: Baseline, clip: Path, quick_retries: None) -> None:
    opened: list[float] = []
    session, events, warnings = live_session(estimator, baseline, clip, opened)
    with contextlib.ExitStack() as video_call:
        video_call.enter_context(another_program_holds(clip))  # it has the camera before the watcher starts
        with Running(session):
            events.wait_for_camera("busy")
            time.sleep(2.0)
            while_busy = list(opened)
            video_call.close()  # the call ends: the next retry takes the camera
            events.wait_for(lambda _seen: events.sampled_after("back"))
    assert waited_as_asked(gaps(while_busy), [0.1, 0.2, 0.4, 0.4, 0.4])
    assert len(while_busy) <= 8  # in 2 s: a loop fighting for the device would have tried thousands of times
    assert events.camera() == ["busy", "back", "closed"]  # said once
    assert warnings == []


@pytest.mark.slow
def test_a_first_calibration_waits_for_a_busy_camera(
        estimator: PoseEstimator, baseline: Baseline, clip: Path, quick_retries: None) -> None:
    """A first start at login, with a video call holding the camera: `run` used to exit 1 before it had a baseline.
    It now waits as watching does, answers status meanwhile, and calibrates once the camera is free."""
    opened: list[float] = []
    session, events, warnings = live_session(estimator, baseline, clip, opened)
    session.watcher = None  # no baseline yet: a first run
    done: list[Baseline] = []
    with contextlib.ExitStack() as video_call:
        video_call.enter_context(another_program_holds(clip))
        calibrating = threading.Thread(
            target=lambda: done.append(session.calibrate(1.0, wait_for_camera=True).baseline), daemon=True)
        calibrating.start()
        events.wait_for_camera("busy")
        time.sleep(1.0)
        status = session.mailbox.request(GetStatus())
        assert (status.message, status.status and status.status["camera"]) == ("calibrating", "busy")
        tries_while_busy = len(opened)
        video_call.close()
        calibrating.join(20)
    assert done and done[0].samples >= 3
    assert 3 <= tries_while_busy <= 6  # 0.1, 0.2, 0.4, 0.4 ... s apart: waiting, not fighting for the device
    (busy,) = [e for e in events.seen if isinstance(e, CameraChanged) and e.status == "busy"]  # said once
    assert busy.detail.endswith("; calibration waits until it is free (trying again now and then)")
    assert events.camera() == ["busy", "closed"]  # the calibration's own instruction says it is back
    assert warnings == []


def test_without_waiting_a_busy_camera_refuses_the_calibration(
        estimator: PoseEstimator, baseline: Baseline, clip: Path) -> None:
    """`posture-watch calibrate` (and a recalibration asked for while watching) say so at once instead."""
    session, events, _ = live_session(estimator, baseline, clip)
    with another_program_holds(clip), pytest.raises(CameraUnavailable, match="busy"):
        session.calibrate(1.0)
    assert events.camera() == []


@pytest.mark.slow
def test_reads_that_fail_mid_run_are_retried_and_watching_resumes_when_the_camera_is_back(
        estimator: PoseEstimator, baseline: Baseline, clip: Path, quick_retries: None) -> None:
    opened: list[float] = []
    session, events, warnings = live_session(estimator, baseline, clip, opened)
    with Running(session):
        events.wait_for(lambda seen: any(isinstance(e, Sampled) for e in seen))
        unplugged = clip.rename(clip.with_name("unplugged.mp4"))  # reads fail from the next frame on
        events.wait_for_camera("lost")
        lost_at = len(opened)
        time.sleep(1.5)  # every reopening fails meanwhile
        retries = opened[lost_at:]
        unplugged.rename(clip)
        events.wait_for(lambda _seen: events.sampled_after("back"))
    assert len(retries) >= 3 and waited_as_asked(gaps(retries), [0.2, 0.4, 0.4])
    assert events.camera() == ["open", "closed", "lost", "back", "closed"]  # "lost" said once
    assert warnings == []


@pytest.fixture(scope="module")
def hunch_soon(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hunch clip from 5 s to 15 s: one second upright, then the hunch."""
    return write_clip(tmp_path_factory.mktemp("clips") / "hunch_soon.avi", hunch_frames(5, 15))


@pytest.mark.slow
def test_frames_slower_than_asked_are_judged_at_the_cameras_pace(
        estimator: PoseEstimator, baseline: Baseline, hunch_soon: Path) -> None:
    session, events, warnings = live_session(estimator, baseline, hunch_soon, fps=2, loop=False)
    session.subscribe(lambda e: isinstance(e, AlertRaised) and session.mailbox.post(Quit("alerted")))
    assert session.run() == "alerted"
    samples = [e for e in events.seen if isinstance(e, Sampled)]
    confirming = [b.t - a.t for a, b in itertools.pairwise(samples) if a.decision.confirming]
    # While a change is confirmed the watcher asks for a frame every 0.3 s; this camera gives one every 0.5 s.
    assert confirming and all(gap == pytest.approx(0.5, abs=0.02) for gap in confirming)
    slouching = next(e.t for e in samples if e.decision.state == "slouching")
    alert = next(e for e in events.seen if isinstance(e, AlertRaised))
    # alert_after (2 s) of slouching, and at most one steady interval until the sample that sees it
    assert slouching + 2 <= alert.t <= slouching + 2 + th.STEADY_INTERVAL_S + 0.01
    assert warnings == []


class FailingModel:
    """MediaPipe's landmarker, raising on some calls as MediaPipe does when its graph fails (RuntimeError).

    No frame was found that makes the real model raise (odd sizes, black, 1x1 and 8000x8000 frames all pass), so the
    failure is injected at the one call into MediaPipe; everything around it is the real loop."""

    def __init__(self, landmarker: Any, failing_calls: range) -> None:
        self._landmarker = landmarker
        self._failing = failing_calls
        self.calls = 0

    def detect_for_video(self, image: Any, timestamp_ms: int) -> Any:
        self.calls += 1
        if self.calls in self._failing:
            raise RuntimeError("CalculatorGraph::Run() failed: injected")
        return self._landmarker.detect_for_video(image, timestamp_ms)

    def close(self) -> None:
        self._landmarker.close()


def replay_session(estimator: PoseEstimator, baseline: Baseline, settings: WatchSettings = SETTINGS,
                   ) -> tuple[Session, Events, list[str]]:
    """A session over the hunch clip as fast as it decodes, with the clip's own clock."""
    warnings: list[str] = []
    session = Session(estimator, lambda interval: VideoFileSource(HUNCH, interval), settings, baseline,
                      clock=ClipClock(datetime.now().astimezone()), warn=warnings.append)
    events = Events()
    session.subscribe(events)
    return session, events, warnings


def test_a_model_that_fails_on_frames_is_said_once_and_watching_goes_on(
        estimator: PoseEstimator, baseline: Baseline, monkeypatch: pytest.MonkeyPatch) -> None:
    model = FailingModel(estimator._landmarker, range(2, 5))  # three samples in a row (~4.5 s) before the hunch
    monkeypatch.setattr(estimator, "_landmarker", model)
    session, events, warnings = replay_session(estimator, baseline)
    assert session.run() == "the clip has ended"
    samples = [e for e in events.seen if isinstance(e, Sampled)]
    assert len(samples) == model.calls - 3  # only the failed frames are missing
    assert warnings == ["posture-watch: the pose model failed on a frame (CalculatorGraph::Run() failed: injected); "
                        "such frames are skipped"]
    alerts = [e for e in events.seen if isinstance(e, AlertRaised)]
    assert len(alerts) == 1 and 6 < alerts[0].t < 17  # the hunch after the failures is still caught


def test_alerts_go_to_the_terminal_while_the_notification_server_is_gone_and_back_to_it_when_it_returns(
        estimator: PoseEstimator, baseline: Baseline, private_bus: str, notification_server: NotificationServer,
        capfd: pytest.CaptureFixture[str]) -> None:
    settings = WatchSettings(PolicySettings(alert_after=1, cooldown=3), break_after=None)  # an alert every 3 s
    session, events, warnings = replay_session(estimator, baseline, settings)
    notifier_warnings: list[str] = []
    alerts = EventNotifier(open_notifier("auto", warn=notifier_warnings.append), session.mailbox.post)
    session.subscribe(alerts)
    servers = [notification_server]

    def the_desktop_comes_and_goes(event: Event) -> None:  # on the session's thread, after the notifier
        if not isinstance(event, AlertRaised):
            return
        if event.alert.nth == 1:
            notification_server.wait_for_notifications(1)
            notification_server.stop()  # the notification daemon quits (or crashes)
        elif event.alert.nth == 2:
            deadline = time.monotonic() + 10
            while len(notifier_warnings) < 1:
                assert time.monotonic() < deadline, "the second alert was not sent anywhere"
                time.sleep(0.02)
            servers.append(start_notification_server(private_bus))  # ... and the desktop restarts it

    session.subscribe(the_desktop_comes_and_goes)
    try:
        assert session.run() == "the clip has ended"
        alerts.close()  # delivers what is queued
        raised = [e for e in events.seen if isinstance(e, AlertRaised)]
        assert len(raised) >= 3
        returned = servers[1].notifications()
    finally:
        for server in servers[1:]:
            server.stop()
    assert [n["summary"] for n in notification_server_calls(returned)] == [e.title for e in raised[2:]]
    assert notifier_warnings == [
        "posture-watch: desktop notifications unavailable (no notification server on the session bus); printing "
        "alerts to the terminal instead", BACK]
    assert capfd.readouterr().err == f"posture-watch: {raised[1].title} — {raised[1].body}\n"  # only the 2nd
    assert warnings == []


def notification_server_calls(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [call for call in calls if call["method"] == "Notify"]


@pytest.mark.slow
def test_a_camera_that_cannot_be_opened_at_start_is_one_line(tmp_path: Path) -> None:
    shutil.copy(HUNCH_BASELINE, tmp_path / "baseline.json")
    env = {**os.environ, "POSTURE_WATCH_CONFIG_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "posture_watch", "run", "--camera", str(tmp_path / "gone.mp4"),
                           "--notifier", "none"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.splitlines()[-1] == f"posture-watch: {tmp_path / 'gone.mp4'}: no such video file"


# --- A full disk and a read-only home, while a baseline is saved -------------------------------------------------
# The config folder is a file system of its own, in a user and mount namespace (no root needed): a 16 kB tmpfs
# filled up, or a tmpfs mounted read-only. What is left in it is listed before the namespace goes away.

FILE_SYSTEMS = {
    "disk full": ("mount -t tmpfs -o size=16k tmpfs {config} && {seed}"
                  "{{ head -c 1M /dev/zero > {config}/filler 2>/dev/null; true; }}", "No space left on device"),
    "read-only home": ("mount -t tmpfs tmpfs {config} && {seed}mount -o remount,ro {config}", "Read-only file system"),
}
NAMESPACE = ["unshare", "--user", "--map-root-user", "--mount"]
SETUP_FAILED = 99


def on_a_broken_file_system(kind: str, tmp_path: Path, args: list[str], old_baseline: Path | None = None,
                            ) -> tuple[subprocess.CompletedProcess[str], Path, list[str], bytes | None]:
    """`posture-watch ARGS` with its config folder on that file system; returns the finished process, the folder's
    path, what the folder held afterwards and the baseline file's bytes then (None if there was none)."""
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare (util-linux) to mount a file system of its own")
    config, out = tmp_path / "config", tmp_path / "out"
    config.mkdir()
    out.mkdir()
    setup, _ = FILE_SYSTEMS[kind]
    seed = f"cp {old_baseline} {config}/baseline.json && " if old_baseline else ""
    script = (f"{setup.format(config=config, seed=seed)} || exit {SETUP_FAILED}\n"
              '"$@"; status=$?\n'
              f"ls -A {config} > {out}/listing\n"
              f"if [ -f {config}/baseline.json ]; then cp {config}/baseline.json {out}/kept.json; fi\n"
              "exit $status\n")
    env = {**os.environ, "POSTURE_WATCH_CONFIG_DIR": str(config)}
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    done = subprocess.run([*NAMESPACE, "sh", "-c", script, "sh", sys.executable, "-m", "posture_watch", *args],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    if done.returncode == SETUP_FAILED:
        pytest.skip(f"cannot mount a file system in a user namespace here: {done.stderr.strip()}")
    kept = out / "kept.json"
    return done, config, (out / "listing").read_text().split(), kept.read_bytes() if kept.exists() else None


@pytest.fixture(scope="module")
def six_upright_seconds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Enough to calibrate on (5 s) and then to watch the same person upright."""
    return write_clip(tmp_path_factory.mktemp("clips") / "upright.avi", hunch_frames(0, 6))


@pytest.mark.slow
@pytest.mark.parametrize("kind", FILE_SYSTEMS)
def test_a_first_run_baseline_that_cannot_be_saved_is_watched_with_from_memory(
        kind: str, tmp_path: Path, six_upright_seconds: Path) -> None:
    done, config, left, _ = on_a_broken_file_system(
        kind, tmp_path, ["run", "--camera", str(six_upright_seconds), "--notifier", "none"])
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    problem = [line for line in lines if line.startswith("posture-watch: cannot save")]
    assert problem == [f"posture-watch: cannot save the baseline to {config / 'baseline.json'}: "
                       f"{FILE_SYSTEMS[kind][1]}; watching with this calibration for now (it is lost when you stop)"]
    watching = next(i for i, line in enumerate(lines) if line.startswith("Watching"))
    assert any(line.endswith(" upright") for line in lines[watching:]), done.stderr  # judged against it
    assert lines[-1] == "Stopped (the clip has ended)." and "Traceback" not in done.stderr
    assert left == (["filler"] if kind == "disk full" else [])  # no half-written file left behind


@pytest.mark.slow
@pytest.mark.parametrize("kind", FILE_SYSTEMS)
def test_a_calibration_that_cannot_be_saved_keeps_the_old_baseline(
        kind: str, tmp_path: Path, six_upright_seconds: Path) -> None:
    done, config, left, kept = on_a_broken_file_system(
        kind, tmp_path, ["calibrate", "--camera", str(six_upright_seconds), "--seconds", "1"], HUNCH_BASELINE)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.splitlines()[-1] == (f"posture-watch: cannot save the baseline to {config / 'baseline.json'}: "
                                            f"{FILE_SYSTEMS[kind][1]}")
    assert kept == HUNCH_BASELINE.read_bytes()
    assert sorted(left) == (["baseline.json", "filler"] if kind == "disk full" else ["baseline.json"])


def test_resuming_tries_a_waiting_camera_at_once(estimator: PoseEstimator, baseline: Baseline, clip: Path) -> None:
    session, events, _ = live_session(estimator, baseline, clip)
    with contextlib.ExitStack() as video_call:
        video_call.enter_context(another_program_holds(clip))
        with Running(session):
            events.wait_for_camera("busy")  # the next try is th.CAMERA_RETRY_FIRST_S (5 s) away
            session.mailbox.request(Pause())
            video_call.close()  # the call ends while posture-watch is paused
            resumed = time.monotonic()
            session.mailbox.request(Resume())
            events.wait_for_camera("back")
            # well before the 5 s retry; not 1 s, which a worker sharing both cores with the library's replay
            # (pytest -n auto) overran by 0.2 s
            assert time.monotonic() - resumed < 3.0
