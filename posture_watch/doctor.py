"""`posture-watch doctor`: each thing the watcher needs, checked for real, as a `Check` with a stable label."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .core.drift import other_picture_size, other_pose_model
from .errors import PostureWatchError
from .notify import check_notifications
from .offline import internet_blocked, unavailable_reason
from .sources import FrameSource
from .store import default_baseline_path, load_baseline, shown


@dataclass(frozen=True)
class Check:
    ok: bool
    label: str  # the same whether the check passes or fails, so scripts and tests can find it
    detail: str


def check_model(model: Path | None) -> tuple[Check, str | None]:
    """Loads the pose model, and the angle model that goes with it; also returns the pose model's sha256 (None
    when it does not load)."""
    from .pose import PoseEstimator, has_angle_model, load_angle_model

    try:
        started = time.perf_counter()
        with PoseEstimator(model) as estimator:
            loaded_ms = 1000 * (time.perf_counter() - started)
        load_angle_model(estimator.model_sha256)
    except PostureWatchError as err:
        return Check(False, "pose model", str(err)), None
    which = shown(model) if model else "bundled lite model, sha256 verified"
    angles = ("angles learned on its landmarks" if has_angle_model(estimator.model_sha256)
              else "no angles learned on its landmarks: they read less accurately")
    return Check(True, "pose model", f"{which}, loads in {loaded_ms:.0f} ms, {angles}"), estimator.model_sha256


def check_camera(open_source: Callable[[], FrameSource]) -> tuple[Check, tuple[int, int] | None]:
    """Opens the camera, takes one picture and closes it again at once; also returns the picture's size (None
    when there is no picture)."""
    try:
        source = open_source()
    except PostureWatchError as err:
        return Check(False, "camera", str(err)), None
    try:
        frame = source.read()
    except PostureWatchError as err:
        return Check(False, "camera", str(err)), None
    finally:
        source.close()
    if frame is None:
        return Check(False, "camera", f"{source.label} opened but gave no picture"), None
    size = (frame.image.shape[1], frame.image.shape[0])
    return Check(True, "camera", f"{source.label} gives {size[0]}x{size[1]}"), size


def check_notifications_line() -> Check:
    ok, text = check_notifications()
    return Check(ok, "notifications", text)


def check_baseline(pose_model: str | None, picture_size: tuple[int, int] | None) -> Check:
    """Loads the baseline, and tells whether it was measured with the pose model and picture size in use (each
    None when its own check failed)."""
    from .pose import pose_model_name

    path = default_baseline_path()
    try:
        baseline = load_baseline(path)
    except PostureWatchError as err:
        return Check(False, "baseline", str(err))
    mismatches = [text for text in (pose_model and other_pose_model(baseline, pose_model),
                                    picture_size and other_picture_size(baseline, picture_size)) if text]
    if mismatches:
        return Check(False, "baseline", f"{shown(path)}: {'; '.join(mismatches)}")
    size = f"{baseline.resolution[0]}x{baseline.resolution[1]}"
    return Check(True, "baseline", f"{shown(path)} from {baseline.created} ({baseline.camera}, {size}, "
                                   f"{pose_model_name(baseline.pose_model)})")


def check_network() -> Check:
    """Tried for real: can this process open an internet socket? (`cli.main` blocked them before anything ran.)"""
    if internet_blocked():
        return Check(True, "network", "blocked, this process cannot open an internet socket (seccomp filter)")
    why = unavailable_reason() or "the seccomp filter could not be installed, see the warning above"
    return Check(False, "network", f"NOT blocked ({why}); MediaPipe's usage upload to Google is only diverted, "
                 "not stopped")


def check_settings() -> Check:
    from .settings import InvalidSettings, load_settings, settings_path

    path = settings_path()
    try:
        settings = load_settings(path)
    except InvalidSettings as err:
        return Check(False, "settings", f"{len(err.lines)} problem(s), `posture-watch run` refuses to start: "
                                        f"{err.lines[0]}")
    except PostureWatchError as err:
        return Check(False, "settings", str(err))
    if not path.exists():
        return Check(True, "settings", f"no {shown(path)}: every setting is the default")
    return Check(True, "settings", f"{shown(path)} sets {len(settings.from_file)} value(s)")


def check_autostart() -> Check:
    from .autostart import describe, for_this_system

    fine, text = describe(for_this_system())
    return Check(fine, "autostart", text)


def run_checks(model: Path | None, open_source: Callable[[], FrameSource]) -> list[Check]:
    model_check, pose_model = check_model(model)
    camera_check, picture_size = check_camera(open_source)
    return [model_check, camera_check, check_notifications_line(), check_baseline(pose_model, picture_size),
            check_settings(), check_autostart(), check_network()]
