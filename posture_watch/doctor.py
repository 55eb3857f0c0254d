"""`posture-watch doctor`: each thing the watcher needs, checked for real, as a `Check` with a stable label."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

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


def check_model(model: Path | None) -> Check:
    """Loads the pose model, and the angle model that goes with it."""
    from .pose import PoseEstimator, has_angle_model, load_angle_model

    try:
        started = time.perf_counter()
        with PoseEstimator(model) as estimator:
            loaded_ms = 1000 * (time.perf_counter() - started)
        load_angle_model(estimator.model_sha256)
    except PostureWatchError as err:
        return Check(False, "pose model", str(err))
    which = shown(model) if model else "bundled lite model, sha256 verified"
    angles = ("angles learned on its landmarks" if has_angle_model(estimator.model_sha256)
              else "no angles learned on its landmarks: they read less accurately")
    return Check(True, "pose model", f"{which}, loads in {loaded_ms:.0f} ms, {angles}")


def check_camera(open_source: Callable[[], FrameSource]) -> Check:
    """Opens the camera, takes one picture and closes it again at once."""
    try:
        source = open_source()
    except PostureWatchError as err:
        return Check(False, "camera", str(err))
    try:
        frame = source.read()
    except PostureWatchError as err:
        return Check(False, "camera", str(err))
    finally:
        source.close()
    if frame is None:
        return Check(False, "camera", f"{source.label} opened but gave no picture")
    return Check(True, "camera", f"{source.label} gives {frame.image.shape[1]}x{frame.image.shape[0]}")


def check_notifications_line() -> Check:
    ok, text = check_notifications()
    return Check(ok, "notifications", text)


def check_baseline() -> Check:
    path = default_baseline_path()
    try:
        baseline = load_baseline(path)
    except PostureWatchError as err:
        return Check(False, "baseline", str(err))
    size = f"{baseline.resolution[0]}x{baseline.resolution[1]}"
    return Check(True, "baseline", f"{shown(path)} from {baseline.created} ({baseline.camera}, {size})")


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
    return [check_model(model), check_camera(open_source), check_notifications_line(), check_baseline(),
            check_settings(), check_autostart(), check_network()]
