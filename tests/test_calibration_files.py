"""The baselines committed in calibration/: one per sample clip, loadable, and still what the code measures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from posture_watch.core.baseline import STAT_NAMES
from posture_watch.store import load_baseline

ROOT = Path(__file__).resolve().parent.parent
CLIPS = sorted(p.stem for p in (ROOT / "samples").glob("*.mp4"))


@pytest.mark.parametrize("name", CLIPS)
def test_every_clip_has_a_loadable_baseline(name: str) -> None:
    baseline = load_baseline(ROOT / "calibration" / f"{name}.json")
    assert set(baseline.stats) == set(STAT_NAMES) and baseline.samples >= 5


@pytest.mark.slow
def test_committed_baseline_matches_a_fresh_calibration(hunch_camera: Path, tmp_path: Path) -> None:
    fresh = tmp_path / "fresh.json"
    done = subprocess.run([sys.executable, "-m", "posture_watch", "calibrate", "--camera", str(hunch_camera),
                           "--seconds", "2", "--output", str(fresh)], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "POSTURE_WATCH_CONFIG_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    new = json.loads(fresh.read_text())["metrics"]
    old = json.loads((ROOT / "calibration" / "hunch_slow.json").read_text())["metrics"]
    for name in ("neck_gap", "head_ratio", "shoulder_width", "ear_width", "world_neck_length"):
        assert new[name]["mean"] == pytest.approx(old[name]["mean"], rel=0.05), name


@pytest.mark.slow
def test_replay_with_the_committed_baseline_alerts_in_the_hunch() -> None:
    done = subprocess.run([sys.executable, "-m", "posture_watch", "replay", "samples/hunch_slow.mp4", "--baseline",
                           "calibration/hunch_slow.json", "--alert-after", "3", "--json"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    alerts = json.loads(done.stdout)["alerts"]
    assert len(alerts) == 1 and 8.5 <= alerts[0]["t"] <= 18.5, alerts
