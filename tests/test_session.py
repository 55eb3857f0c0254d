"""The session in-process, with the real pose model: a sample clip stands in for the webcam at camera pace
(PacedClipSource: held exclusively while open, like a real device) or is read as a file as fast as it decodes.

What the command line only shows from outside: a pause releases the camera, status answers, Quit stops, a broken
subscriber is dropped with one warning, the replay report, the notification buttons, the sampling plan at work."""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from datetime import datetime
from pathlib import Path
from typing import Any

import cv2
import pytest

from posture_watch.core import thresholds as th
from posture_watch.core.events import (
    AlertRaised,
    CameraChanged,
    Command,
    Event,
    GetStatus,
    Pause,
    Paused,
    Quit,
    Recalibrate,
    Resume,
    Sampled,
    Snooze,
    Stopped,
    TakeBreak,
)
from posture_watch.core.policy import PolicySettings
from posture_watch.core.watcher import SamplingPlan, WatchSettings
from posture_watch.notify import EventNotifier, open_notifier
from posture_watch.pose import PoseEstimator
from posture_watch.replay import ReplayReport, replay, timeline_text, to_json
from posture_watch.session import ClipClock, LiveClock, Mailbox, Reply, Session, SessionStopped
from posture_watch.sources import FrameSource, PacedClipSource, VideoFileSource
from posture_watch.store import load_baseline
from tests.desktop import NotificationServer

ROOT = Path(__file__).resolve().parent.parent
HUNCH = ROOT / "samples" / "hunch_slow.mp4"  # 15 fps, 20 s: upright, hunched from ~6 s to ~16.5 s, upright again
BASELINE = load_baseline(ROOT / "calibration" / "hunch_slow.json")
QUICK = WatchSettings(PolicySettings(alert_after=1.0, cooldown=60.0), break_after=None)
WAIT_S = 30.0  # generous: the machine may be busy, and a failure should say what happened, not hang


@pytest.fixture(scope="module")
def hunched_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Seven seconds of the sample clip's steady hunch (8 s to 15 s), to loop as a webcam."""
    source = VideoFileSource(HUNCH)
    path = tmp_path_factory.mktemp("clips") / "hunched.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), source.fps, source.size)
    for frame in source:
        if 8.0 <= frame.t < 15.0:
            writer.write(frame.image)
    writer.release()
    source.close()
    return path


@pytest.fixture
def estimator() -> Iterator[PoseEstimator]:
    with PoseEstimator() as model:
        yield model


class Recorder:
    """A subscriber that keeps every event, and waits (from the test's thread) for the one it expects."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._changed = threading.Condition()

    def __call__(self, event: Event) -> None:
        with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    def mark(self) -> int:
        with self._changed:
            return len(self.events)

    def of(self, kind: type, since: int = 0) -> list[Any]:
        with self._changed:
            return [e for e in self.events[since:] if isinstance(e, kind)]

    def wait_for(self, kind: type, since: int = 0, where: Callable[[Any], bool] = lambda _e: True) -> Any:
        deadline = time.monotonic() + WAIT_S
        with self._changed:
            while True:
                for event in self.events[since:]:
                    if isinstance(event, kind) and where(event):
                        return event
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [type(e).__name__ for e in self.events[since:]][-15:]
                    raise AssertionError(f"no {kind.__name__} within {WAIT_S:g} s; the last events: {seen}")
                self._changed.wait(left)


class Webcam:
    """Opens the clip as the session's camera, at camera pace on the session's timeline, looping."""

    def __init__(self, clip: Path, clock: LiveClock) -> None:
        self.clip = clip
        self.clock = clock
        self.opened = 0

    def __call__(self, interval: float) -> FrameSource:
        self.opened += 1
        return PacedClipSource(self.clip, interval, loop=True, clock_origin=self.clock.origin)

    def in_use(self) -> bool:
        """Whether someone holds the camera, as another program trying to open it would find."""
        fd = os.open(self.clip, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)  # closing the descriptor also drops a lock we got
        return False


@contextlib.contextmanager
def running(session: Session) -> Iterator[Future[str]]:
    """The session's loop on a thread of its own, as the CLI runs it on the main thread; stopped at the end."""
    stopped: Future[str] = Future()

    def run() -> None:
        try:
            stopped.set_result(session.run())
        except BaseException as exc:
            stopped.set_exception(exc)

    thread = threading.Thread(target=run, name="session-under-test", daemon=True)
    thread.start()
    try:
        yield stopped
    finally:
        session.mailbox.post(Quit("test over"))
        thread.join(WAIT_S)
    assert not thread.is_alive(), "the session did not stop"
    stopped.result(0)  # what failed on the session's thread (a warning, through pytest.fail) fails the test


def webcam_session(clip: Path, estimator: PoseEstimator, warn: Callable[[str], None] = pytest.fail,
                   ) -> tuple[Session, Webcam, Recorder]:
    clock = LiveClock()
    camera = Webcam(clip, clock)
    session = Session(estimator, camera, QUICK, BASELINE, clock=clock, mailbox=Mailbox(), warn=warn)
    recorder = Recorder()
    session.subscribe(recorder)
    return session, camera, recorder


def test_pause_releases_the_camera_and_resume_takes_it_back(hunched_clip: Path, estimator: PoseEstimator) -> None:
    session, camera, seen = webcam_session(hunched_clip, estimator)
    with running(session) as stopped:
        seen.wait_for(Sampled)
        assert camera.in_use()

        assert session.mailbox.request(Pause()) == Reply(True, "paused until resumed")
        closed = seen.wait_for(CameraChanged, where=lambda e: e.status == "closed")
        assert not camera.in_use()  # another program could use the camera now: the light is off
        status = session.mailbox.request(GetStatus()).status
        assert status is not None
        assert (status["phase"], status["camera"], status["holds"]) == (
            "paused", "closed", [{"reason": "paused", "until": None}])
        quiet = seen.mark()
        time.sleep(1.0)
        assert seen.of(Sampled, since=quiet) == []  # nothing is sampled while paused

        assert session.mailbox.request(Resume()) == Reply(True, "resumed")
        seen.wait_for(CameraChanged, since=quiet, where=lambda e: e.status == "open")
        later = seen.wait_for(Sampled, since=quiet)
        assert later.t > closed.t and camera.in_use() and camera.opened == 2

        assert session.mailbox.request(Quit("asked by the test")) == Reply(True, "stopping")
        assert stopped.result(WAIT_S) == "asked by the test"
    assert seen.of(Stopped) == [Stopped(seen.of(Stopped)[0].t, "asked by the test")]
    assert not camera.in_use()


def test_status_while_watching_a_hunch(hunched_clip: Path, estimator: PoseEstimator) -> None:
    session, _, seen = webcam_session(hunched_clip, estimator)
    with running(session):
        alert = seen.wait_for(AlertRaised)
        reply = session.mailbox.request(GetStatus())
    assert reply.ok and reply.message == "watching" and reply.status is not None
    status = reply.status
    assert (status["phase"], status["state"], status["camera"], status["holds"]) == (
        "watching", "slouching", "open", [])
    assert {"head_drop", "forward_head"} & set(status["faults"]) and status["camera_covered"] is False
    assert status["last_alert"]["title"] == alert.title
    assert alert.title in ("Head dropping toward the desk", "Head pushed forward")
    assert datetime.fromisoformat(status["last_alert"]["at"]).tzinfo is not None
    assert status["baseline"] == {"created": BASELINE.created, "samples": BASELINE.samples,
                                  "camera": BASELINE.camera}
    assert status["pid"] == os.getpid() and status["version"] and status["break_due"] is None
    assert status["today"]["slouching"] > 0 and set(status["today"]) == {"upright", "slouching", "away", "uncertain"}


class BrokenHistory:
    """A subscriber that fails on every event, like a history whose disk is full."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, event: Event) -> None:
        self.calls += 1
        raise OSError("No space left on device")


def file_session(estimator: PoseEstimator, settings: WatchSettings, warn: Callable[[str], None] = pytest.fail,
                 ) -> tuple[Session, list[VideoFileSource]]:
    """The sample clip read as fast as it decodes, the sampling plan choosing which frames (adaptive)."""
    opened: list[VideoFileSource] = []

    def open_clip(interval: float) -> FrameSource:
        opened.append(VideoFileSource(HUNCH, interval))
        return opened[-1]

    return Session(estimator, open_clip, settings, BASELINE, clock=ClipClock(datetime.now().astimezone()),
                   warn=warn), opened


def test_a_failing_subscriber_is_reported_once_and_left_out(estimator: PoseEstimator) -> None:
    warnings: list[str] = []
    session, _ = file_session(estimator, QUICK, warn=warnings.append)
    broken, seen = BrokenHistory(), Recorder()
    session.subscribe(broken)
    session.subscribe(seen)
    assert session.run() == "the clip has ended"
    assert warnings == ["posture-watch: BrokenHistory failed (OSError: No space left on device); it is left out "
                        "from now on"]
    assert broken.calls == 1
    assert len(seen.of(Sampled)) > 10 and seen.of(AlertRaised)  # the others went on getting every event
    assert seen.of(Stopped)[-1].reason == "the clip has ended"


def test_the_session_samples_by_the_plan(estimator: PoseEstimator) -> None:
    plan = SamplingPlan(steady=2.0, confirming=0.25, away=4.0)
    session, opened = file_session(estimator, WatchSettings(QUICK.policy, sampling=plan, break_after=None))
    seen = Recorder()
    session.subscribe(seen)
    session.run()
    times = [s.t for s in seen.of(Sampled)]
    gaps = [round(b - a, 3) for a, b in itertools.pairwise(times)]
    frame = 1 / 15
    confirming = [g for g in gaps if g < 1]
    steady = [g for g in gaps if g >= 1]
    assert confirming and steady, gaps  # both: dense around the changes of state, sparse between them
    assert all(plan.confirming <= g <= plan.confirming + frame + 1e-6 for g in confirming), gaps
    assert all(plan.steady <= g <= plan.steady + frame + 1e-6 for g in steady), gaps
    # Frames that are not sampled are never decoded into pictures: far fewer samples than frames.
    (source,) = opened
    assert source.frames_read == 300 and len(times) < 40


def test_the_replay_report_collects_every_frame_and_the_alert(estimator: PoseEstimator) -> None:
    report = replay(HUNCH, 2.0, estimator, WatchSettings(PolicySettings(alert_after=3.0, cooldown=10.0)))
    assert (report.frames, report.fps, report.baseline_from) == (300, 15.0, "first 2 s of the clip")
    assert [s.frame_index for s in report.samples] == list(range(300))  # every frame, calibration frames too
    (alert,) = report.alerts
    assert 6.0 + 3.0 - 0.5 <= alert.t <= 16.5 + 1.5 and alert.title == "Head dropping toward the desk"
    doc = to_json(report)
    assert doc["summary"]["alerts"] == 1 and doc["alerts"][0]["nth"] == 1
    states = {s["state"] for s in doc["samples"]}
    assert {"upright", "slouching"} <= states
    assert f"ALERT  {alert.title}: {alert.body}" in timeline_text(report)
    # The calibration's quality: the steadiness the clip's first 2 s measured, against the limits it kept within.
    quality = doc["calibration"]
    assert report.baseline is not None and quality["samples"] == report.baseline.samples >= 25
    steady = quality["steadiness"]
    assert steady == {"neck_deg": round(report.baseline.steadiness.neck_deg, 2),
                      "shoulder_deg": round(report.baseline.steadiness.shoulder_deg, 2),
                      "width": round(report.baseline.steadiness.width, 4)}
    assert 0 < max(steady["neck_deg"], steady["shoulder_deg"]) <= quality["limits"]["angle_deg"] == 4
    assert 0 < steady["width"] <= quality["limits"]["width"] == 0.08
    assert 0 < quality["head_tilt_sd_deg"] == round(report.baseline.sd("head_roll_deg"), 2)
    assert quality["head_tilt_sd_deg"] <= quality["limits"]["head_tilt_sd_deg"] == 3
    wobble = max(report.baseline.steadiness.neck_deg, report.baseline.steadiness.shoulder_deg)  # not rounded twice
    assert f"(steady within ±{wobble:.1f}° and " in timeline_text(report).splitlines()[0]


def test_a_sampled_replay_takes_the_frames_run_would(estimator: PoseEstimator) -> None:
    """`replay(sampled=True)` (the accuracy benchmark's --run-pace): calibration every 0.2 s as `calibrate` samples a
    webcam, then the default plan's intervals, on the clip's time; the hunch still alerts."""
    report = replay(HUNCH, 2.0, estimator, WatchSettings(PolicySettings(alert_after=3.0, cooldown=10.0)),
                    sampled=True)
    times = [s.t for s in report.samples]
    frame, plan = 1 / 15, SamplingPlan()
    calibrating = [round(b - a, 3) for a, b in itertools.pairwise(t for t in times if t <= 2.0)]  # and one after
    assert report.baseline is not None and report.baseline.samples == len(calibrating) == 10
    assert all(0.2 <= g <= 0.2 + frame + 1e-6 for g in calibrating), calibrating
    # After the frame read to know the time was up, one more at the calibration's pace: then the watcher's plan.
    watching = [round(b - a, 3) for a, b in itertools.pairwise(t for t in times if t > 2.0 + 0.2)]
    assert all(any(i <= g <= i + frame + 1e-6 for i in (plan.confirming, plan.steady, plan.away)) for g in watching)
    assert plan.steady <= max(watching) and min(watching) < 1.0, watching  # sparse, and dense to confirm
    assert report.frames == 300 and len(times) < 50
    (alert,) = report.alerts
    assert 6.0 + 3.0 - 0.5 <= alert.t <= 16.5 + 1.5


def test_a_quit_stops_a_replay(estimator: PoseEstimator) -> None:
    mailbox = Mailbox()
    mailbox.post(Quit("SIGINT"))
    with pytest.raises(SessionStopped) as stop:
        replay(HUNCH, BASELINE, estimator, QUICK, mailbox=mailbox)
    assert stop.value.reason == "SIGINT"


@pytest.fixture(scope="module")
def undisturbed_replay() -> ReplayReport:
    """The clip replayed with nobody pressing anything, with a fresh model (a fresh tracker: the same landmarks
    as each replay it is compared with)."""
    with PoseEstimator() as fresh:
        return replay(HUNCH, BASELINE, fresh, QUICK)


@pytest.mark.slow  # five replays of the whole clip, each with a fresh model
@pytest.mark.parametrize("command", [Snooze(), TakeBreak(), Pause(), Recalibrate(2.0)])
def test_a_replay_cannot_be_held_and_runs_to_its_end(command: Command, undisturbed_replay: ReplayReport) -> None:
    """`replay --notify` shows the alert's Snooze and break buttons: a press used to hold the replay forever (its
    time moves only with its frames, which the hold stopped)."""
    undisturbed, mailbox, replies = undisturbed_replay, Mailbox(), []

    def press_on_alert(event: Event) -> None:  # on the session's thread: the reply is read once the replay ended
        if isinstance(event, AlertRaised):
            replies.append(Future())
            mailbox.put_back([(command, replies[-1])])

    with PoseEstimator() as fresh:
        done: list[ReplayReport] = []
        replaying = threading.Thread(target=lambda: done.append(
            replay(HUNCH, BASELINE, fresh, QUICK, (press_on_alert,), mailbox=mailbox)), daemon=True)
        replaying.start()
        replaying.join(60)  # about 4 s; it used to wait forever
        if not done:
            mailbox.post(Quit("the test"))
            replaying.join(10)
            pytest.fail("the replay was held and never ended")
    (pressed,) = done
    assert pressed.frames == undisturbed.frames == 300
    assert [a.t for a in pressed.alerts] == [a.t for a in undisturbed.alerts] and len(replies) == 1
    assert [(r.ok, r.message) for r in (f.result(timeout=1) for f in replies)] == [
        (False, "a replay follows the clip's own time: it cannot be paused, snoozed or recalibrated")]


@pytest.mark.parametrize(("button", "hold", "seconds"), [
    ("Snooze 30 min", "snoozed", th.SNOOZE_S),
    ("Taking a break", "break", th.BREAK_S),
])
def test_a_notification_button_pauses_the_session(hunched_clip: Path, estimator: PoseEstimator,
                                                  notification_server: NotificationServer, button: str, hold: str,
                                                  seconds: float) -> None:
    session, camera, seen = webcam_session(hunched_clip, estimator)
    notices = EventNotifier(open_notifier("desktop"), session.mailbox.post)
    session.subscribe(notices)
    try:
        with running(session):
            alert = seen.wait_for(AlertRaised)
            (shown,) = notification_server.wait_for_notifications(1, timeout=WAIT_S)
            assert (shown["summary"], shown["body"]) == (alert.title, alert.body)
            labelled = sorted(label for label in shown["actions"].values() if label)  # "": a click on the body
            assert labelled == ["Snooze 30 min", "Taking a break"]
            pressed = seen.mark()
            notification_server.press(shown, button)
            paused = seen.wait_for(Paused, since=pressed)
            assert (paused.reason, paused.until - paused.t) == (hold, pytest.approx(seconds))
            seen.wait_for(CameraChanged, since=pressed, where=lambda e: e.status == "closed")
            assert not camera.in_use()
            status = session.mailbox.request(GetStatus()).status
            assert status is not None and [h["reason"] for h in status["holds"]] == [hold]
    finally:
        notices.close()
