"""The pipeline, one frame at a time: pose → metrics → assessment → policy → advice → notifier.

The same `Monitor` serves the webcam loop and replays; only the frame source differs. It owns no clock: every
timestamp comes from the frame.
"""

from __future__ import annotations

import queue
from collections.abc import Iterator
from dataclasses import dataclass

from .advice import AdviceBook
from .baseline import Baseline
from .drift import SetupDrift
from .metrics import frame_brightness, measure
from .notify import Notice, Notifier, UserAction
from .policy import Alert, AlertPolicy, Decision
from .pose import Pose, PoseEstimator, main_person
from .posture import Assessment, assess
from .sources import Frame, FrameSource

SNOOZE_SECONDS = 30 * 60
BREAK_SECONDS = 10 * 60


@dataclass(frozen=True)
class SamplingPlan:
    """Seconds between analysed frames. Sparse while nothing changes (a slouch must last tens of seconds
    before it matters), dense only to confirm a change, sparser still while nobody is there."""

    steady: float = 1.5
    confirming: float = 0.3
    away: float = 3.0

    def interval(self, decision: Decision) -> float:
        if decision.confirming:
            return self.confirming
        return self.away if decision.state == "away" else self.steady


@dataclass(frozen=True)
class Observation:
    """What the camera showed at one instant, reduced to what the core needs (the picture itself is gone)."""

    t: float
    frame_index: int
    poses: list[Pose]
    brightness: tuple[float, float]


def observe(estimator: PoseEstimator, frame: Frame) -> Observation:
    return Observation(frame.t, frame.index, estimator.detect(frame.image, frame.t), frame_brightness(frame.image))


@dataclass(frozen=True)
class AlertMessage:
    alert: Alert
    title: str
    body: str


@dataclass(frozen=True)
class Sample:
    t: float
    frame_index: int
    decision: Decision
    assessment: Assessment
    message: AlertMessage | None
    setup_warning: str | None = None


class Monitor:
    def __init__(self, estimator: PoseEstimator, baseline: Baseline, policy: AlertPolicy,
                 notifier: Notifier | None = None, sensitivity: float = 1.0, plan: SamplingPlan | None = None) -> None:
        self.estimator = estimator
        self.baseline = baseline
        self.policy = policy
        self.notifier = notifier
        self.sensitivity = sensitivity
        self.plan = plan
        self.advice = AdviceBook()
        self.drift = SetupDrift()
        self._actions: queue.SimpleQueue[UserAction] = queue.SimpleQueue()

    def on_action(self, action: UserAction) -> None:
        """Called from the notifier's thread when a button is pressed; applied at the next sample."""
        self._actions.put(action)

    def run(self, source: FrameSource) -> Iterator[Sample]:
        """Analyse the source's frames; with a sampling plan, adapt the source's rate after every sample."""
        for frame in source:
            sample = self.step(frame)
            if self.plan is not None:
                source.interval = self.plan.interval(sample.decision)
            yield sample

    def step(self, frame: Frame) -> Sample:
        return self.judge(observe(self.estimator, frame))

    def judge(self, obs: Observation) -> Sample:
        """The pure part of a step: everything after the pose model."""
        self._apply_actions(obs.t)
        person = main_person(obs.poses, self.baseline.mean("center_x"))
        metrics = measure(person) if person is not None else None
        assessment = assess(metrics, len(obs.poses), obs.brightness, self.baseline, self.sensitivity)
        decision = self.policy.update(assessment, obs.t)
        message = None
        if decision.alert is not None:
            title, body = self.advice.advise(decision.alert)
            message = AlertMessage(decision.alert, title, body)
            if self.notifier is not None:
                self.notifier.send(Notice(title, body, "critical" if decision.alert.nth > 1 else "normal"))
        return Sample(obs.t, obs.frame_index, decision, assessment, message,
                      self.drift.update(metrics, self.baseline, obs.t))

    def _apply_actions(self, t: float) -> None:
        while not self._actions.empty():
            action = self._actions.get_nowait()
            if action is UserAction.SNOOZE:
                self.policy.snooze(t, SNOOZE_SECONDS)
            elif action is UserAction.BREAK:
                self.policy.snooze(t, BREAK_SECONDS, end_slouch=True)
