"""Time spent in each state, from the stream of samples: the time between two samples belongs to the first one's
state. Pure; shared by `status` (today's totals) and the history (per-minute totals)."""

from __future__ import annotations

from dataclasses import dataclass

from .policy import State

MAX_SAMPLE_GAP_S = 10.0  # a longer gap between samples (the camera was off) is not attributed to any state


@dataclass(frozen=True)
class Span:
    state: State
    start: float
    end: float

    @property
    def seconds(self) -> float:
        return self.end - self.start


class StateClock:
    """Turns consecutive samples into spans of time in a state."""

    def __init__(self) -> None:
        self._last: tuple[float, State] | None = None

    def sample(self, t: float, state: State) -> Span | None:
        """The span that ended with this sample (None for the first one, or after a long gap)."""
        last, self._last = self._last, (t, state)
        if last is None or not 0 <= t - last[0] <= MAX_SAMPLE_GAP_S:
            return None
        return Span(last[1], last[0], t)

    def stop(self) -> None:
        """The camera went off: the next sample starts afresh."""
        self._last = None
