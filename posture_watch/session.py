"""The session: one running watcher, owned. Commands in (from any thread), events out (to subscribers).

Every front end talks to it the same way: the terminal's signals, the notification buttons, the control socket
and the tray post commands to its `Mailbox`; the console, the notifier, the replay report, the history and the
tray subscribe to its events. The session runs on the thread that calls `run()`: it alone touches the camera,
the pose model and the watcher, so none of them needs a lock. It opens the camera only while the watcher wants
samples and closes it within one frame of a pause, snooze, break, lock, quiet hours or quit.
"""

from __future__ import annotations

import contextlib
import os
import queue
import sys
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from . import __version__
from .core import thresholds as th
from .core.angles import AngleModel
from .core.baseline import Baseline, CalibrationRefused, baseline_from_observations
from .core.drift import other_picture_size, other_pose_model
from .core.events import (
    Calibrated,
    CalibrationFailed,
    CalibrationStarted,
    CameraChanged,
    CameraStatus,
    Command,
    Event,
    GetStatus,
    Paused,
    Quit,
    Recalibrate,
    Resumed,
    Sampled,
    SetupWarning,
    Stopped,
    WorkingHours,
)
from .core.landmarks import Observation
from .core.policy import State
from .core.schedule import WorkSchedule
from .core.tally import StateClock
from .core.watcher import Watcher, WatchSettings
from .errors import PostureWatchError
from .pose import PoseEstimator, PoseModelError, load_angle_model
from .sources import CameraLost, CameraUnavailable, Frame, FrameSource

CALIBRATION_INTERVAL_S = 0.2  # ~25 samples in 5 s: enough to measure the spread, cheap enough to be quick
# A webcam's first frames after it opens are taken while its automatic exposure, white balance and focus settle:
# black, washed out or blurred, for a few frames on some cameras and up to 25 on others (as reported on public issue
# trackers). A calibration would count them as "nobody in view" (refusing a short one) or measure a picture that is
# not yet the room's, so it starts after the first 10 (1/3 s at 30 fps). Watching does not wait for them: a fault
# must last half a second before the state changes, and the first sample is due within 1.5 s of the start.
CALIBRATION_SKIPS_FRAMES = 10
IDLE_CHECK_S = 30.0  # while the camera is off, working hours are checked at least this often


@dataclass(frozen=True)
class Reply:
    ok: bool
    message: str
    status: dict[str, Any] | None = None


class SessionStopped(Exception):
    """A Quit arrived while the session was busy (calibrating)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Mailbox:
    """The session's one inbound queue. `post` is safe from any thread and from signal handlers (SimpleQueue's
    put is reentrant); `request` waits for the session's answer."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[tuple[Command, Future[Reply] | None]] = queue.SimpleQueue()

    def post(self, command: Command) -> None:
        self._queue.put((command, None))

    def request(self, command: Command, timeout: float = 5.0) -> Reply:
        future: Future[Reply] = Future()
        self._queue.put((command, future))
        return future.result(timeout)

    def pending(self) -> bool:
        return not self._queue.empty()

    def put_back(self, items: list[tuple[Command, Future[Reply] | None]]) -> None:
        """Commands taken while they could not be handled (during calibration), to be handled later in order."""
        for item in items:
            self._queue.put(item)

    def take(self, timeout: float | None = None) -> tuple[Command, Future[Reply] | None] | None:
        try:
            return self._queue.get(timeout=timeout) if timeout is None or timeout > 0 else self._queue.get_nowait()
        except queue.Empty:
            return None


class Clock(Protocol):
    def now(self) -> float:
        """Seconds on the session's timeline (the frames' timeline)."""

    def wall(self, t: float) -> datetime:
        """The local date and time of timeline second `t`."""


class LiveClock:
    """A running watcher's clock: monotonic seconds since start, and the local time they correspond to."""

    def __init__(self) -> None:
        self.origin = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self.origin

    def wall(self, t: float) -> datetime:
        # Counted back from now, so a suspend (when the monotonic clock stops) does not shift recent times.
        return datetime.now().astimezone() - timedelta(seconds=self.now() - t)


class ClipClock:
    """A replay's clock: the clip's own time, mapped onto a chosen start."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self.last = 0.0

    def now(self) -> float:
        return self.last

    def wall(self, t: float) -> datetime:
        return self.start + timedelta(seconds=t)


OpenCamera = Callable[[float], FrameSource]  # interval -> an open source; raises CameraUnavailable


@dataclass(frozen=True)
class Calibration:
    baseline: Baseline
    observations: list[Observation]  # the frames it was measured on and the one after (a replay judges them too)


@dataclass
class Today:
    """Seconds in each state today, for `status`: a subscriber of the session's own."""

    clock: Clock
    day: date | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    _states: StateClock = field(default_factory=StateClock)

    def __call__(self, event: Event) -> None:
        if isinstance(event, Sampled):
            span = self._states.sample(event.t, event.decision.state)
            if span is not None:
                day = self.clock.wall(span.start).date()
                if day != self.day:
                    self.day, self.seconds = day, {}
                self.seconds[span.state] = self.seconds.get(span.state, 0.0) + span.seconds
        elif isinstance(event, Paused):
            self._states.stop()


class Session:
    """`baseline` None: `calibrate` and `use_baseline` must come before `run`."""

    def __init__(self, estimator: PoseEstimator, open_camera: OpenCamera, settings: WatchSettings,
                 baseline: Baseline | None = None, *, clock: Clock | None = None, mailbox: Mailbox | None = None,
                 schedule: WorkSchedule | None = None, replaying: bool = False, sampled: bool = False,
                 warn: Callable[[str], None] | None = None, angles: AngleModel | None = None) -> None:
        self.estimator = estimator
        self.open_camera = open_camera
        self.settings = settings
        self.angles = angles or load_angle_model(estimator.model_sha256)
        self.watcher = None if baseline is None else Watcher(baseline, self.angles, settings)
        self.clock: Clock = clock or LiveClock()
        self.mailbox = mailbox or Mailbox()
        self.schedule = schedule
        # A replay follows the clip's own time, and analyses every frame unless it is `sampled`: then the watcher
        # picks the frames, as it picks the moments to sample a webcam.
        self.replaying = replaying
        self.every_frame = replaying and not sampled
        self._warn = warn or _print_warning
        self._subscribers: list[Callable[[Event], None]] = []
        self._failed_subscribers: set[int] = set()
        self._source: FrameSource | None = None
        self._camera: CameraStatus = "closed"
        self._camera_worked = False  # once it has, a missing camera is a lost one (unplugged), worth waiting for
        self._retry_at = 0.0
        self._retry_wait = th.CAMERA_RETRY_FIRST_S
        self._stop: str | None = None
        self._model_failed = False
        self._setup_told: set[str] = set()  # what was said about the baseline's setup (once per baseline)
        self._phase = "starting"
        self.today = Today(self.clock)
        self.subscribe(self.today)

    # --- events -------------------------------------------------------------------------------------------------

    def subscribe(self, handler: Callable[[Event], None]) -> None:
        """`handler` is called on the session's thread for every event; it must return quickly (hand slow work,
        such as a D-Bus call or a database write, to a thread of its own)."""
        self._subscribers.append(handler)

    def _emit(self, events: list[Event]) -> None:
        for event in events:
            for handler in self._subscribers:
                try:
                    handler(event)
                except Exception as exc:  # one broken front end must not stop the watcher or the others
                    if id(handler) not in self._failed_subscribers:
                        self._failed_subscribers.add(id(handler))
                        self._warn(f"posture-watch: {_name(handler)} failed ({type(exc).__name__}: {exc}); "
                                   "it is left out from now on")
        self._subscribers = [h for h in self._subscribers if id(h) not in self._failed_subscribers]

    # --- the loop -----------------------------------------------------------------------------------------------

    def use_baseline(self, baseline: Baseline) -> None:
        if self.watcher is None:
            self.watcher = Watcher(baseline, self.angles, self.settings)
        else:
            self.watcher.use_baseline(baseline)
        self._setup_told.clear()

    def judge(self, observations: list[Observation]) -> None:
        """Judge observations taken earlier (a replay's calibration frames) as if they were sampled now."""
        for obs in observations:
            self._emit(self._watcher.observe(obs))

    @property
    def _watcher(self) -> Watcher:
        if self.watcher is None:
            raise PostureWatchError("no baseline yet: calibrate first")
        return self.watcher

    def run(self) -> str:
        """Watch until a Quit arrives or the clip used as the camera ends; returns why it stopped. The camera is
        closed on every way out."""
        watcher = self._watcher
        self._phase = "watching"
        try:
            while self._stop is None:
                self._handle_commands()
                if self._stop is not None:
                    break
                now = self.clock.now()
                self._emit(watcher.tick(now))
                self._check_working_hours(watcher)
                if watcher.watching and now >= self._retry_at:
                    self._sample(watcher)
                else:
                    self._set_camera(None)
                    self._idle(watcher, now)
        finally:
            self._set_camera(None)
            self._phase = "stopped"
        self._emit([Stopped(self.clock.now(), self._stop)])
        return self._stop

    def _sample(self, watcher: Watcher) -> None:
        source = self._source or self._open(watcher.interval)
        if source is None:
            return
        try:
            frame = source.read(self.mailbox.pending)
        except CameraLost as err:
            self._camera_trouble("lost", str(err))
            return
        if frame is None:
            if source.ended:
                self._stop = "the clip has ended"
            return
        if isinstance(self.clock, ClipClock):
            self.clock.last = frame.t
        observation = self._observe(frame)
        if observation is not None:
            self._emit(watcher.observe(observation))
        if not self.every_frame:
            source.interval = watcher.interval

    def _observe(self, frame: Frame) -> Observation | None:
        """The frame through the pose model; None (and one warning) when the model fails on it."""
        try:
            return self.estimator.observe(frame)
        except PoseModelError as err:
            if not self._model_failed:
                self._model_failed = True
                self._warn(f"posture-watch: {err}; such frames are skipped")
            return None

    def _open(self, interval: float) -> FrameSource | None:
        try:
            self._set_camera(self.open_camera(0.0 if self.every_frame else interval))
        except CameraUnavailable as err:
            if not err.busy and not self._camera_worked:
                raise  # never worked: a wrong camera, not a passing problem
            self._camera_trouble("busy" if err.busy else "lost", str(err))
        if self._source is not None:
            self._check_setup(self._source.size)
        return self._source

    def _check_setup(self, size: tuple[int, int]) -> None:
        """Say once per baseline if it was measured with another pose model or picture size than the camera and
        model in use: judged against it, every sample would be off by the difference."""
        baseline = self._watcher.baseline
        for topic, text in (("pose model", other_pose_model(baseline, self.estimator.model_sha256)),
                            ("picture size", other_picture_size(baseline, size))):
            if text is not None and topic not in self._setup_told:
                self._setup_told.add(topic)
                self._emit([SetupWarning(self.clock.now(), text)])

    def _camera_trouble(self, status: CameraStatus, detail: str, waiting: str = "watching") -> None:
        """Another program holds the camera, or it went away: step back and retry later, doubling the wait."""
        self._set_camera(None)
        now = self.clock.now()
        if self._camera != status:
            self._camera = status
            self._retry_wait = th.CAMERA_RETRY_FIRST_S
            self._emit([CameraChanged(now, status, f"{detail}; {waiting} {_WAITING[status]} (trying again now and "
                                                   "then)")])
        else:
            self._retry_wait = min(2 * self._retry_wait, th.CAMERA_RETRY_MAX_S)
        self._retry_at = now + self._retry_wait

    def _set_camera(self, source: FrameSource | None) -> None:
        if self._source is not None and source is not self._source:
            self._source.close()
            self._source = None
            if self._camera == "open":
                self._camera = "closed"
                self._emit([CameraChanged(self.clock.now(), "closed")])
        if source is not None:
            back = self._camera in ("busy", "lost")
            self._source, self._camera, self._camera_worked = source, "open", True
            self._retry_wait = th.CAMERA_RETRY_FIRST_S
            self._emit([CameraChanged(self.clock.now(), "back" if back else "open", source.label)])

    def _idle(self, watcher: Watcher, now: float) -> None:
        """Nothing to sample: sleep until a command, a hold's end, a camera retry or a working-hours check."""
        retry = self._retry_at if self._camera in ("busy", "lost") else None
        wake = min(t for t in (watcher.next_deadline(), retry, now + IDLE_CHECK_S) if t is not None)
        item = self.mailbox.take(timeout=max(0.0, wake - now))
        if item is not None:
            self._handle(*item)

    def _check_working_hours(self, watcher: Watcher) -> None:
        if self.schedule is None:
            return
        inside = self.schedule.contains(self.clock.wall(self.clock.now()))
        held = any(reason == "quiet_hours" for reason, _ in watcher.status().holds)
        if inside == held:
            self._apply(WorkingHours(inside))

    # --- commands -----------------------------------------------------------------------------------------------

    def _handle_commands(self) -> None:
        while (item := self.mailbox.take(timeout=0)) is not None:
            self._handle(*item)

    def _handle(self, command: Command, reply_to: Future[Reply] | None) -> None:
        reply = self._apply(command)
        if reply_to is not None and not reply_to.done():
            reply_to.set_result(reply)

    def _apply(self, command: Command) -> Reply:
        now = self.clock.now()
        match command:
            case Quit(reason):
                self._stop = reason
                return Reply(True, "stopping")
            case GetStatus():
                return Reply(True, self._phase, self.status())
        if self.replaying:
            # A replay's time moves only with its frames: a pause or snooze would stop them and never end, and a
            # recalibration would judge the clip against its own middle. (A replay's notices have buttons too.)
            return Reply(False, "a replay follows the clip's own time: it cannot be paused, snoozed or recalibrated")
        match command:
            case Recalibrate(seconds):
                return self._recalibrate(seconds)
        watcher = self._watcher
        try:
            message, events = watcher.command(command, now)
        except ValueError as err:
            return Reply(False, str(err))
        self._emit(events)
        if not watcher.watching:
            self._set_camera(None)  # within one frame of the command: the light goes off now
        elif any(isinstance(event, Resumed) for event in events):
            self._retry_at = 0.0  # resumed or unlocked: a camera that was busy is tried now, not minutes later
        return Reply(True, message)

    def _recalibrate(self, seconds: float) -> Reply:
        self._set_camera(None)
        try:
            baseline = self.calibrate(seconds).baseline
        except (CalibrationRefused, CameraUnavailable) as err:
            self._emit([CalibrationFailed(self.clock.now(), str(err))])
            return Reply(False, f"{err}; the old baseline stays in use")
        except SessionStopped as stop:
            self._stop = stop.reason
            return Reply(False, "stopped while calibrating")
        self.use_baseline(baseline)
        return Reply(True, f"calibrated on {baseline.samples} samples")

    # --- calibration --------------------------------------------------------------------------------------------

    def calibrate(self, seconds: float, keep_open: bool = False, wait_for_camera: bool = False) -> Calibration:
        """Measure the upright baseline from `seconds` of frames and announce it (`Calibrated`); the caller decides
        whether to use it. Raises CalibrationRefused (with what to change), CameraUnavailable, or SessionStopped
        when a Quit arrives meanwhile. The camera is closed as soon as calibration has what it needs, unless
        `keep_open` (a replay goes on with the same clip). `wait_for_camera`: a camera another program holds is
        waited for as when watching (said once, tried again with growing waits) instead of refused."""
        phase, self._phase = self._phase, "calibrating"
        deferred: list[tuple[Command, Future[Reply] | None]] = []
        try:
            self._defer_commands(deferred)  # a Quit that came while the model loaded: the camera stays off
            source = self._source or self._open_for_calibration(deferred, wait_for_camera)
            self._emit([CalibrationStarted(self.clock.now(), seconds)])
            # A replayed file is a recording, calibrated on from its first frame.
            observations = self._collect(source, seconds, deferred, 0 if self.replaying else CALIBRATION_SKIPS_FRAMES)
            label, size = source.label, source.size
            if source.ended:  # the clip ended before the time was up
                # A replayed file that gave nothing is damaged; a clip standing in for a camera was decoded when it
                # opened, so it is only short.
                if self.replaying and not observations:
                    raise PostureWatchError(f"{label}: no frames could be decoded (corrupt or empty video)")
                raise PostureWatchError(f"{label}: the clip is shorter than the {seconds:g} s asked for "
                                        "calibration")
            start = observations[0].t if observations else 0.0
            window = [obs for obs in observations if obs.t - start < seconds]
        finally:
            self._phase = phase
            if not keep_open:
                self._set_camera(None)
            self.mailbox.put_back(deferred)  # what arrived meanwhile is handled once the session runs again
        created = self.clock.wall(self.clock.now()).astimezone().isoformat(timespec="seconds")
        baseline = replace(baseline_from_observations(window, label, size, created, self.angles),
                           pose_model=self.estimator.model_sha256)
        self._emit([Calibrated(self.clock.now(), baseline)])
        return Calibration(baseline, observations)

    def _collect(self, source: FrameSource, seconds: float, deferred: list[tuple[Command, Future[Reply] | None]],
                 skip_frames: int) -> list[Observation]:
        """Observations from `seconds` of frames, and the first one after them (read to know the time was up),
        from the source's frame number `skip_frames` on."""
        observations: list[Observation] = []
        start: float | None = None
        while True:
            frame = source.read(self.mailbox.pending)
            if frame is None:
                if source.ended:
                    return observations
                self._defer_commands(deferred)
                continue
            if frame.index < skip_frames:
                continue
            start = frame.t if start is None else start
            if isinstance(self.clock, ClipClock):
                self.clock.last = frame.t
            observation = self._observe(frame)
            if observation is not None:
                observations.append(observation)
            if frame.t - start >= seconds:
                return observations

    def _open_for_calibration(self, deferred: list[tuple[Command, Future[Reply] | None]],
                              wait_for_camera: bool) -> FrameSource:
        while True:
            try:
                source = self.open_camera(0.0 if self.every_frame else CALIBRATION_INTERVAL_S)
            except CameraUnavailable as err:
                if not (wait_for_camera and err.busy):
                    raise
                self._camera_trouble("busy", str(err), "calibration")
                while (wait := self._retry_at - self.clock.now()) > 0:
                    self._defer_commands(deferred, timeout=wait)
                continue
            # Not announced as "back": the calibration's own instruction follows, and "Watching" comes after it.
            self._source, self._camera, self._retry_wait = source, "open", th.CAMERA_RETRY_FIRST_S
            return source

    def _defer_commands(self, deferred: list[tuple[Command, Future[Reply] | None]], timeout: float = 0.0) -> None:
        """While calibrating: a Quit stops it (SessionStopped), a status request is answered, and every other
        command is kept in `deferred` for when the watching starts. `timeout`: wait this long for the first one."""
        while (item := self.mailbox.take(timeout=timeout)) is not None:
            timeout = 0.0
            command, reply_to = item
            if isinstance(command, Quit):
                raise SessionStopped(command.reason)
            if isinstance(command, GetStatus) and reply_to is not None:
                reply_to.set_result(Reply(True, "calibrating", self.status()))
            else:
                deferred.append(item)

    # --- status -------------------------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Everything `posture-watch status` shows, as plain JSON-able values; times are local ISO strings. Before
        the first calibration (no watcher yet) the watcher's parts are empty."""
        ws = None if self.watcher is None else self.watcher.status()

        def at(t: float | None) -> str | None:
            return None if t is None else self.clock.wall(t).isoformat(timespec="seconds")

        baseline = None if self.watcher is None else self.watcher.baseline
        last_alert = None if ws is None else ws.last_alert
        return {
            "version": __version__,
            "pid": os.getpid(),
            "phase": "paused" if ws and ws.holds and self._phase == "watching" else self._phase,
            "state": None if ws is None else ws.state,
            "faults": [] if ws is None else list(ws.faults),
            "holds": [] if ws is None else [{"reason": reason, "until": at(until)} for reason, until in ws.holds],
            "camera": "open" if self._phase == "calibrating" and self._source is not None else self._camera,
            "camera_covered": ws is not None and ws.covered,
            "last_alert": None if last_alert is None else {"at": at(last_alert.t), "title": last_alert.title},
            "today": {state: round(self.today.seconds.get(state, 0.0), 1) for state in _STATES},
            "baseline": None if baseline is None else {"created": baseline.created, "samples": baseline.samples,
                                                       "camera": baseline.camera},
            "break_due": None if ws is None else at(ws.break_due),
        }


_STATES: tuple[State, ...] = ("upright", "slouching", "away", "uncertain")
_WAITING = {"busy": "waits until it is free", "lost": "waits until it is back"}


def _name(handler: Callable[[Event], None]) -> str:
    return getattr(handler, "__qualname__", None) or type(handler).__name__


def _print_warning(message: str) -> None:
    with contextlib.suppress(OSError, ValueError):
        print(message, file=sys.stderr, flush=True)
