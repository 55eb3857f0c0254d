"""`posture-watch doctor`: each thing the watcher needs, checked for real, as (ok, one-line description)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from .baseline import default_baseline_path, load_baseline
from .errors import PostureWatchError
from .notify import check_notifications
from .offline import internet_blocked, unavailable_reason
from .sources import FrameSource

Check = tuple[bool, str]


def check_model(model: Path | None) -> Check:
    from .pose import PoseEstimator

    try:
        started = time.perf_counter()
        PoseEstimator(model).close()
    except PostureWatchError as err:
        return False, f"pose model: {err}"
    which = model or "bundled lite model, sha256 verified"
    return True, f"pose model: {which}, loads in {1000 * (time.perf_counter() - started):.0f} ms"


def check_camera(open_source: Callable[[], FrameSource]) -> Check:
    """Opens the camera, takes one picture and closes it again at once."""
    try:
        source = open_source()
    except PostureWatchError as err:
        return False, f"camera: {err}"
    try:
        frame = next(iter(source), None)
    except PostureWatchError as err:
        return False, f"camera: {err}"
    finally:
        source.close()
    if frame is None:
        return False, f"camera: {source.label} opened but gave no picture"
    return True, f"camera: {source.label} gives {frame.image.shape[1]}x{frame.image.shape[0]}"


def check_baseline() -> Check:
    path = default_baseline_path()
    try:
        baseline = load_baseline(path)
    except PostureWatchError as err:
        return False, f"baseline: {err}"
    size = f"{baseline.resolution[0]}x{baseline.resolution[1]}"
    return True, f"baseline: {path} from {baseline.created} ({baseline.camera}, {size})"


def check_desktop() -> Check:
    ok, text = check_notifications()
    return ok, text if ok else f"notifications: {text}"


def check_network() -> Check:
    """Tried for real: can this process open an internet socket? (`cli.main` blocked them before anything ran.)"""
    if internet_blocked():
        return True, "network: blocked, this process cannot open an internet socket (seccomp filter)"
    why = unavailable_reason() or "the seccomp filter could not be installed, see the warning above"
    return False, f"network: NOT blocked ({why}); MediaPipe's usage upload to Google is only diverted, not stopped"


def run_checks(model: Path | None, open_source: Callable[[], FrameSource]) -> list[Check]:
    return [check_model(model), check_camera(open_source), check_desktop(), check_baseline(), check_network()]
