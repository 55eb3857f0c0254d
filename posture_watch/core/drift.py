"""Calibration health: notices when the user has been sitting somewhere else than at calibration for minutes
(the laptop moved to a dock, another chair, another desk), which makes every judgement against the baseline
unreliable. Peers' users complained that a stale calibration fails silently; we say so once. Pure."""

from __future__ import annotations

from . import thresholds as th
from .baseline import Baseline
from .metrics import BodyMetrics


class SetupDrift:
    def __init__(self, after: float = th.DRIFT_AFTER_S) -> None:
        self.after = after
        self._since: float | None = None
        self._told = False

    def update(self, metrics: BodyMetrics | None, baseline: Baseline, t: float) -> str | None:
        """A one-time message when the person in view has sat away from the calibrated spot for `after` s."""
        if metrics is None:
            return None  # nobody measurable: no evidence either way
        reason = _drift(metrics, baseline)
        if reason is None:
            self._since = None
            self._told = False
            return None
        self._since = t if self._since is None else self._since
        if self._told or t - self._since < self.after:
            return None
        self._told = True
        return (f"you have been sitting {reason} than at calibration for {(t - self._since) / 60:.0f} min; if the "
                "camera or your chair moved, run `posture-watch calibrate` again")


def _drift(m: BodyMetrics, b: Baseline) -> str | None:
    width0 = b.mean("shoulder_width")
    scale = m.shoulder_width / width0
    if scale > 1 + th.DRIFT_MAX_SCALE_CHANGE:
        return "closer to the camera"
    if scale < 1 - th.DRIFT_MAX_SCALE_CHANGE:
        return "further from the camera"
    if abs(m.center_x - b.mean("center_x")) > th.DRIFT_MAX_SHIFT_WIDTHS * width0:
        return "more to one side"
    if abs(m.shoulder_y - b.mean("shoulder_y")) > th.DRIFT_MAX_SHIFT_WIDTHS * width0:
        return "higher or lower in the picture"
    return None


def other_picture_size(baseline: Baseline, size: tuple[int, int]) -> str | None:
    """What to say when the camera gives another picture size than the baseline was measured on, or None. Widths
    and positions are in pixels: at another size the user no longer sits where the baseline says, and the gate
    for someone else at the desk reads them as `away`. A size not known yet (0: some video containers only know
    it once decoding) says nothing."""
    if tuple(size) == tuple(baseline.resolution) or not all(size):
        return None
    (was_w, was_h), (now_w, now_h) = baseline.resolution, size
    return (f"the baseline was measured on a {was_w}x{was_h} picture and the camera gives {now_w}x{now_h}; run "
            "`posture-watch calibrate` again at this resolution")


def other_pose_model(baseline: Baseline, pose_model_sha256: str) -> str | None:
    """What to say when the baseline was measured with another pose model than the one now running, or None (also
    when the baseline does not say which)."""
    if not baseline.pose_model or baseline.pose_model == pose_model_sha256:
        return None
    return ("the baseline was measured with another pose model, which places the landmarks a little differently; "
            "run `posture-watch calibrate` again with the --model you watch with")
