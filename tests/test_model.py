"""The pose models: the bundled one checked against its published sha256 on every load, another one by --model,
and the angle model fitted on each one's landmarks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from posture_watch import pose
from posture_watch.core.angles import AngleModel
from posture_watch.core.landmarks import LEFT_EAR, LEFT_SHOULDER, NOSE, RIGHT_EAR, RIGHT_SHOULDER
from posture_watch.core.watcher import WatchSettings
from posture_watch.errors import PostureWatchError
from posture_watch.session import Session
from posture_watch.sources import VideoFileSource


def test_bundled_model_loads_and_matches_its_checksum() -> None:
    assert len(pose.load_model()) == 5777746


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_a_damaged_bundled_model_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: str) -> None:
    copy = tmp_path / pose.BUNDLED_MODEL
    shutil.copy(pose.bundled_model_path(), copy)
    data = bytearray(copy.read_bytes())
    copy.write_bytes(data[: len(data) // 2] if damage == "truncate" else data[:100] + b"X" + data[101:])
    monkeypatch.setattr(pose, "bundled_model_path", lambda: copy)
    with pytest.raises(PostureWatchError, match=r"damaged .*reinstall"):
        pose.load_model()


@pytest.mark.slow  # a fresh Python process
def test_loading_the_model_leaves_pyplot_out_and_the_report_still_gets_it() -> None:
    """MediaPipe imports matplotlib.pyplot for drawing helpers posture-watch never calls (half a second of CPU at
    every start); a stand-in takes its place while MediaPipe loads and is gone after, in a fresh process."""
    script = ("import sys\n"
              "from posture_watch.pose import PoseEstimator\n"
              "PoseEstimator().close()\n"
              "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot was imported'\n"
              "import matplotlib.pyplot as plt\n"
              "assert callable(plt.figure), 'the stand-in stayed'\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


FULL_MODEL = Path(__file__).resolve().parents[2] / "shared" / "models" / "pose_landmarker_full.task"
FIRST_FRAME_OF = Path(__file__).resolve().parent.parent / "samples" / "hunch_slow.mp4"
KEY_POINTS = [NOSE, LEFT_EAR, RIGHT_EAR, LEFT_SHOULDER, RIGHT_SHOULDER]


def test_another_bundle_can_be_used() -> None:
    """--model with the official full bundle: it finds the person, where the bundled lite model does."""
    if not FULL_MODEL.exists():
        pytest.skip("the full model is not in ../shared/models beside this checkout")
    source = VideoFileSource(FIRST_FRAME_OF)
    frame = source.read()
    source.close()
    assert frame is not None
    found = {}
    for name, model, sha256 in (("lite", None, pose.BUNDLED_SHA256), ("full", FULL_MODEL, pose.FULL_SHA256)):
        with pose.PoseEstimator(model) as estimator:
            found[name] = estimator.observe(frame).poses
            assert estimator.model_sha256 == sha256
            session = Session(estimator, lambda interval: VideoFileSource(FIRST_FRAME_OF, interval), WatchSettings())
            assert same_trees(session.angles, pose.load_angle_model(sha256))
    assert len(found["lite"]) == len(found["full"]) == 1
    lite, full = found["lite"][0], found["full"][0]
    assert (full.visibility[KEY_POINTS] > 0.9).all()
    apart = np.linalg.norm(lite.xy[KEY_POINTS] - full.xy[KEY_POINTS], axis=1)
    # Within a tenth of the shoulder width (measured: at most 0.05), yet not the same numbers: another model ran.
    assert apart.max() < 0.1 * lite.shoulder_width, apart
    assert apart.max() > 1.0, apart


def test_each_pose_model_has_angles_learned_on_its_own_landmarks() -> None:
    lite, full = pose.load_angle_model(pose.BUNDLED_SHA256), pose.load_angle_model(pose.FULL_SHA256)
    assert not same_trees(lite, full)
    assert not pose.has_angle_model("0" * 64)
    assert same_trees(pose.load_angle_model("0" * 64), lite)  # another pose model: the bundled one's, with a note


def same_trees(a: AngleModel, b: AngleModel) -> bool:
    return all(np.array_equal(getattr(x, part), getattr(y, part))
               for x, y in ((a.neck, b.neck), (a.shoulder, b.shoulder)) for part in ("feature", "threshold", "leaf"))


def shipped_angle_doc(sha256: str) -> dict[str, Any]:
    return json.loads(pose.packaged(pose.ANGLE_MODELS[sha256]).read_text())


@pytest.mark.parametrize(("content", "said"), [
    (None, "cannot read the angle model"),
    (b"", "is damaged (Expecting value"),
    (b"[]", "is damaged (it was not fitted on the pose model it is for)"),
    # the two files swapped, or an old file without the pose model it was fitted on
    (lambda: shipped_angle_doc(pose.FULL_SHA256), "is damaged (it was not fitted on the pose model it is for)"),
    (lambda: {k: v for k, v in shipped_angle_doc(pose.BUNDLED_SHA256).items() if k != "pose_model_sha256"},
     "is damaged (it was not fitted on the pose model it is for)"),
    (lambda: {**shipped_angle_doc(pose.BUNDLED_SHA256), "neck": None}, "is damaged (the angle model is incomplete"),
])
def test_a_damaged_angle_model_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  content: Any, said: str) -> None:
    if callable(content):
        content = json.dumps(content()).encode()
    if content is not None:
        (tmp_path / "angles.json").write_bytes(content)
    monkeypatch.setattr(pose, "packaged", lambda name: tmp_path / name)
    with pytest.raises(PostureWatchError) as err:
        pose.load_angle_model()
    assert said in str(err.value) and "\n" not in str(err.value)


def test_a_person_found_after_an_empty_frame_prints_nothing(capfd: pytest.CaptureFixture[str]) -> None:
    """MediaPipe logs a notice about a non-square region the first time it finds a person after a frame without
    one: what a user who sits down after starting `run` would otherwise see on the terminal."""
    source = VideoFileSource(FIRST_FRAME_OF)
    person = next(iter(source)).image
    source.close()
    with pose.PoseEstimator() as estimator:
        assert estimator.detect(np.zeros_like(person), 0.0) == []
        assert len(estimator.detect(person, 0.1)) == 1
    assert capfd.readouterr().err == ""


def test_the_alignment_notice_is_dropped_and_anything_else_passes(capfd: pytest.CaptureFixture[str]) -> None:
    """LiteRT writes a notice straight to fd 2 the first time an input tensor happens to be misaligned, at any
    frame; a CI run once showed it under `replay --model full`. Written while an inference runs, it is dropped;
    what anything else writes meanwhile (another thread's alert on the terminal) comes out after."""
    notices = pose.NativeNoticeFilter()
    with notices:
        os.write(2, b"W0000 00:00:1796243013.860622 15856 inference_runner_litert.cc:1433] Input tensor memory is "
                    b"not aligned according to LiteRt's memory alignment requirements. Reallocating memory and "
                    b"copying data.\n")
        os.write(2, b"an error of the model's\n")
        os.write(2, b"posture-watch: an alert\n")
        assert capfd.readouterr().err == ""  # held back while the inference runs
    notices.close()
    assert capfd.readouterr().err == "an error of the model's\nposture-watch: an alert\n"
