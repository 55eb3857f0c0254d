"""Files from users, at the boundary: baseline and model files can be empty, huge, NaN, a folder, a pipe or
/dev/zero. Each is refused with one clear message (PostureWatchError), never a traceback, a hang or an impossible
value let through; and what posture-watch writes never replaces anything but a regular file."""

from __future__ import annotations

import contextlib
import copy
import json
import math
import os
import stat
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from posture_watch.core import thresholds as th
from posture_watch.core.baseline import Baseline, InvalidBaseline, from_document, to_document
from posture_watch.core.posture import assess
from posture_watch.errors import PostureWatchError
from posture_watch.pose import MAX_MODEL_BYTES, load_model
from posture_watch.store import MAX_BASELINE_BYTES, load_baseline, save_baseline
from tests.synthetic import geometric_angle_model, metrics, upright_baseline

VALID = to_document(upright_baseline())
FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# Any JSON value, including what Python's json reads beyond the standard (NaN, Infinity) and integers too large
# for a float.
json_leaves = (st.none() | st.booleans() | st.integers() | st.integers(min_value=10**300, max_value=10**400)
               | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20))
json_values = st.recursive(json_leaves, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
# Hand-picked impossible numbers, so that every run tries them on every field.
impossible = st.sampled_from([math.nan, math.inf, -math.inf, -1.0, 0.0, -1e-9, 1e300, 10**400, True, "1.0", None])


def leaf_paths(doc: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from leaf_paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            yield from leaf_paths(value, (*prefix, i))
    else:
        yield prefix


PATHS = list(leaf_paths(VALID))


@st.composite
def damaged_documents(draw: st.DrawFn) -> Any:
    """A valid document with a few fields replaced by anything, or removed."""
    doc = copy.deepcopy(VALID)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(PATHS))
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
            break  # the paths below it may be gone now
        parent[path[-1]] = draw(impossible | json_values)
    return doc


def assert_usable(baseline: Baseline) -> None:
    """What an accepted baseline promises the watcher: finite numbers, spreads >= 0, and samples judged against it
    come out as finite scores (no division by zero, no NaN that would hide every slouch)."""
    for name, s in baseline.stats.items():
        assert math.isfinite(s.mean) and math.isfinite(s.sd) and s.sd >= 0, (name, s)
    (min_w, min_h), (max_w, max_h) = th.MIN_FRAME_SIZE, th.MAX_FRAME_SIZE
    assert min_w <= baseline.resolution[0] <= max_w and min_h <= baseline.resolution[1] <= max_h
    assert baseline.samples >= 1
    for sample in (metrics(), metrics(flex_deg=30), metrics(closer=0.4, shrug=0.1)):
        assessment = assess(sample, 1, (120.0, 40.0), baseline, geometric_angle_model())
        assert all(math.isfinite(v) for v in assessment.scores.values()), assessment


@FUZZ
@given(damaged_documents())
def test_a_damaged_document_is_refused_or_usable(doc: Any) -> None:
    try:
        baseline = from_document(doc)
    except InvalidBaseline as err:
        assert str(err)
        return
    assert_usable(baseline)


@FUZZ
@given(json_values)
def test_any_json_value_is_refused_or_usable(doc: Any) -> None:
    with contextlib.suppress(InvalidBaseline):
        assert_usable(from_document(doc))


@FUZZ
@given(st.binary(max_size=2048) | damaged_documents().map(lambda d: json.dumps(d).encode()))
def test_any_file_content_is_refused_in_one_message_or_usable(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "baseline.json"
    path.write_bytes(content)
    try:
        baseline = load_baseline(path)
    except PostureWatchError as err:
        assert "\n" not in str(err) and str(path) in str(err)
        return
    assert_usable(baseline)


def with_metric(**change: float | str) -> dict[str, Any]:
    """The valid document with metric values changed: `name="value"` sets name's mean, `name_sd=` its spread."""
    doc = copy.deepcopy(VALID)
    for key, value in change.items():
        name, field = (key[:-3], "sd") if key.endswith("_sd") else (key, "mean")
        doc["metrics"][name][field] = value
    return doc


@pytest.mark.parametrize(("doc", "message"), [
    (with_metric(ear_width=0), "ear_width 0"),  # was a ZeroDivisionError traceback
    (with_metric(shoulder_width=math.nan), "wrong values"),  # was: every sample `away`, never an alert
    (with_metric(ear_width=math.nan, shoulder_width=math.nan), "wrong values"),
    (with_metric(neck_gap=math.inf), "wrong values"),  # was: a false alert and `slouching` for the whole clip
    (with_metric(shoulder_width=-200), "shoulder_width -200"),
    (with_metric(neck_gap_sd=-0.01), "neck_gap spread -0.01"),
    (with_metric(head_ratio_sd=math.nan), "wrong values"),
    (with_metric(ear_width_sd=1e300), "ear_width spread 1e+300"),  # thresholds so high nothing would ever alert
    (with_metric(neck_gap_sd=0.2), "neck_gap spread 0.2"),  # a calibration that moved this much is refused
    (with_metric(visibility=1.5), "visibility 1.5"),
    (with_metric(neck_gap="0.6"), "wrong values"),
    (with_metric(neck_gap=True), "wrong values"),
    (with_metric(neck_gap=10**400), "wrong values"),  # OverflowError converting to float
    ({**VALID, "resolution": [0, 0]}, "resolution 0x0"),
    ({**VALID, "resolution": [30000, 30000]}, "resolution 30000x30000"),
    ({**VALID, "resolution": [640, 480, 3]}, "wrong values"),
    ({**VALID, "samples": 0}, "samples 0"),
    ({**VALID, "samples": 10**30}, "samples"),
    ({**VALID, "schema": True}, "format version True"),
    ({**VALID, "created": "yesterday"}, "wrong values"),
    ({**VALID, "metrics": "all good"}, "wrong values"),
    ([VALID], "format version None"),
])
def test_impossible_documents_say_which_value(doc: Any, message: str) -> None:
    with pytest.raises(InvalidBaseline, match=message.replace("+", r"\+")):
        from_document(doc)


def special_file(kind: str, tmp_path: Path) -> Path:
    path = tmp_path / f"{kind}.json"
    match kind:
        case "empty":
            path.write_bytes(b"")
        case "fifo":  # opening it for reading used to wait for a writer forever
            os.mkfifo(path)
        case "folder":
            path.mkdir()
        case "dev-zero":
            return Path("/dev/zero")
        case "huge":  # sparse: as big as it says, without using the disk
            with path.open("wb") as fh:
                fh.truncate(MAX_MODEL_BYTES + 1)
        case "just-too-big":  # valid JSON, padded past the limit
            path.write_text(json.dumps(VALID) + " " * MAX_BASELINE_BYTES)
        case "not-utf8":
            path.write_bytes(b'{"schema": 1, "camera": "\xff\xfe"}')
        case "deep":
            path.write_text("[" * 30000 + "]" * 30000)  # under the size limit; too deep for the JSON parser
        case "long-integer":
            path.write_text('{"schema": 1, "samples": ' + "9" * 5000 + "}")  # past Python's int digit limit
        case "symlink-loop":
            path.symlink_to(path)
        case "missing":
            pass
    return path


KINDS = ["empty", "fifo", "folder", "dev-zero", "huge", "just-too-big", "not-utf8", "deep", "long-integer",
         "symlink-loop", "missing"]
BASELINE_MESSAGES = {
    "empty": "not valid JSON", "fifo": "not a regular file", "folder": "is a folder", "dev-zero": "not a regular file",
    "huge": "too large", "just-too-big": "too large", "not-utf8": "not valid JSON", "deep": "not valid JSON",
    "long-integer": "not valid JSON", "symlink-loop": "cannot read the baseline", "missing": "no baseline at",
}


def refusal(read: Callable[[Path], object], path: Path) -> str:
    """The one-line message `read(path)` refuses the file with; fails (instead of hanging) if it blocks."""
    outcome: list[BaseException | object] = []
    reader = threading.Thread(target=lambda: outcome.append(_call(read, path)), daemon=True)
    reader.start()
    reader.join(10)
    if reader.is_alive():
        if stat.S_ISFIFO(path.lstat().st_mode):
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))  # free the blocked reader before failing
        pytest.fail(f"reading {path} blocked")
    (result,) = outcome
    assert isinstance(result, PostureWatchError), result
    assert "\n" not in str(result)
    return str(result)


def _call(read: Callable[[Path], object], path: Path) -> BaseException | object:
    try:
        return read(path)
    except BaseException as err:
        return err


@pytest.mark.parametrize("kind", KINDS)
def test_special_baseline_files_are_refused_in_one_line(tmp_path: Path, kind: str) -> None:
    assert BASELINE_MESSAGES[kind] in refusal(load_baseline, special_file(kind, tmp_path))


MODEL_MESSAGES = {
    "empty": "not a MediaPipe .task bundle", "fifo": "not a regular file", "folder": "is a folder",
    "dev-zero": "not a regular file", "huge": "too large", "just-too-big": "not a MediaPipe .task bundle",
    "not-utf8": "not a MediaPipe .task bundle", "deep": "not a MediaPipe .task bundle",
    "long-integer": "not a MediaPipe .task bundle", "symlink-loop": "cannot read the pose model",
    "missing": "cannot read the pose model",
}


@pytest.mark.parametrize("kind", KINDS)
def test_special_model_files_are_refused_in_one_line(tmp_path: Path, kind: str) -> None:
    assert MODEL_MESSAGES[kind] in refusal(load_model, special_file(kind, tmp_path))


# --- what posture-watch writes


def test_a_pipe_as_output_is_refused_not_replaced(tmp_path: Path) -> None:
    fifo = tmp_path / "out.json"
    os.mkfifo(fifo)
    with pytest.raises(PostureWatchError, match="not a regular file: not replacing it"):
        save_baseline(upright_baseline(), fifo)
    assert stat.S_ISFIFO(fifo.lstat().st_mode) and [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_a_symlinked_baseline_stays_a_link(tmp_path: Path) -> None:
    """Dotfile managers link ~/.config files into a repository: saving replaces the file, not the link."""
    real, link = tmp_path / "dotfiles" / "baseline.json", tmp_path / "config" / "baseline.json"
    real.parent.mkdir()
    link.parent.mkdir()
    real.write_text("{}")
    link.symlink_to(real)
    save_baseline(upright_baseline(), link)
    assert link.is_symlink() and load_baseline(real) == upright_baseline()


@pytest.fixture
def own_config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """posture-watch's own folder under a fresh home (XDG_CONFIG_HOME), with no override."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("POSTURE_WATCH_CONFIG_DIR", raising=False)
    return tmp_path / "xdg" / "posture-watch"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_own_folder_is_created_private(own_config_dir: Path) -> None:
    from posture_watch.store import default_baseline_path

    assert default_baseline_path().parent == own_config_dir
    save_baseline(upright_baseline(), default_baseline_path())
    assert mode(own_config_dir) == 0o700 and mode(own_config_dir / "baseline.json") == 0o600


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_own_folder_left_open_is_made_private(own_config_dir: Path) -> None:
    from posture_watch.store import default_baseline_path

    own_config_dir.mkdir(parents=True)
    own_config_dir.chmod(0o755)  # made by hand, or by a tool that ran first
    save_baseline(upright_baseline(), default_baseline_path())
    assert mode(own_config_dir) == 0o700


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
@pytest.mark.parametrize("how", ["POSTURE_WATCH_CONFIG_DIR", "--output"])
def test_a_folder_the_user_chose_keeps_its_mode(own_config_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                how: str) -> None:
    from posture_watch.store import default_baseline_path

    chosen = tmp_path / "shared"
    chosen.mkdir(mode=0o755)
    chosen.chmod(0o755)
    if how == "POSTURE_WATCH_CONFIG_DIR":
        monkeypatch.setenv("POSTURE_WATCH_CONFIG_DIR", str(chosen))
        target = default_baseline_path()
    else:
        target = chosen / "calibration.json"
    save_baseline(upright_baseline(), target)
    assert target.parent == chosen and mode(chosen) == 0o755 and mode(target) == 0o600
    assert not own_config_dir.exists()


def test_a_clip_too_long_to_hold_as_a_camera_is_refused_and_released(monkeypatch: pytest.MonkeyPatch,
                                                                       hunch_camera: Path) -> None:
    """An hour-long recording as `--camera` would take gigabytes: the limit (512 MB) is lowered here to the
    sample clip's size so that the test does not need such a file."""
    import fcntl

    from posture_watch import sources

    monkeypatch.setattr(sources, "MAX_CLIP_BYTES", 2 * 2**20)
    with pytest.raises(PostureWatchError, match="too long to play as a camera"):
        sources.PacedClipSource(hunch_camera)
    fd = os.open(hunch_camera, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # the clip-camera's lock was let go
    finally:
        os.close(fd)


@pytest.mark.parametrize(("members", "message"), [
    ({"pose_detector.tflite": b"\x00" * 5000, "pose_landmarks_detector.tflite": b"\xff" * 5000},
     "not a valid Flatbuffer"),
    ({}, "Unable to open zip archive"),
])
def test_a_zip_that_is_not_a_pose_model_is_one_line(tmp_path: Path, members: dict[str, bytes], message: str) -> None:
    import zipfile

    from posture_watch.pose import PoseEstimator

    path = tmp_path / "model.task"
    with zipfile.ZipFile(path, "w") as bundle:
        for name, data in members.items():
            bundle.writestr(name, data)
    with pytest.raises(PostureWatchError, match=f"the pose model could not be loaded: .*{message}") as refused:
        PoseEstimator(path)
    assert "\n" not in str(refused.value)
