"""The bundled model: checked against its published sha256 on every load."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from posture_watch import pose
from posture_watch.errors import PostureWatchError


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


def test_another_bundle_can_be_used(tmp_path: Path) -> None:
    full = Path(__file__).resolve().parents[2] / "shared" / "models" / "pose_landmarker_full.task"
    if not full.exists():
        pytest.skip("../shared/models is not beside this checkout")
    estimator = pose.PoseEstimator(full)
    estimator.close()
