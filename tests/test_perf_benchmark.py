"""The performance benchmark runs end to end in quick mode and reports every figure.

Only that the figures are there and make sense is checked, not the timings: those depend on the machine."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # the benchmark's quick mode runs for over a minute

ROOT = Path(__file__).resolve().parent.parent
PERF = ROOT / "benchmarks" / "perf.py"

CPU_FIGURES = [f"cpu_{posture}_{interval}s" for interval in ("0.5", "1.5", "3") for posture in ("upright", "slouching")]
FIGURES = [
    *CPU_FIGURES, "cpu_paused", "cpu_nobody",
    "model_floor_ms", "sample_capture_decode_ms", "sample_pose_ms", "sample_metrics_policy_ms", "sample_total_ms",
    "sample_ratio_to_floor", "replay_fps", "replay_wall_fps", "model_bound_fps", "replay_ratio_to_model_bound",
    "peak_rss_mb", "first_sample_s", "camera_load_s", "history_cpu_percent",
]
# A paused monitor can use less than one clock tick in a window of a few seconds; every other figure is a cost,
# a rate or a size that cannot be 0.
MAY_BE_ZERO = {"cpu_paused"}
TARGETED = {"cpu_upright_1.5s", "cpu_slouching_1.5s", "cpu_paused", "sample_ratio_to_floor",
            "replay_ratio_to_model_bound", "peak_rss_mb", "first_sample_s", "history_cpu_percent"}


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, str]:
    if not any(ROOT.glob("samples/*hunch*.labels.csv")):
        pytest.skip("no labelled samples/*hunch* clip to emulate the webcam with")
    out = tmp_path_factory.mktemp("perf") / "perf.json"
    result = subprocess.run([sys.executable, str(PERF), "--quick", "--json", str(out)], cwd=ROOT,
                            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"perf.py exited {result.returncode}:\n{result.stderr[-4000:]}"
    return json.loads(out.read_text()), result.stdout


def test_every_figure_is_reported_as_a_finite_number(quick_run: tuple[dict, str]) -> None:
    data, _ = quick_run
    figures = data["figures"]
    assert sorted(figures) == sorted(FIGURES)
    for key in FIGURES:
        fig = figures[key]
        values = [fig["median"], fig["min"], fig["max"], *fig["runs"]]
        assert all(isinstance(v, int | float) and math.isfinite(v) for v in values), (key, values)
        assert all(v >= 0 if key in MAY_BE_ZERO else v > 0 for v in values), (key, values)
        assert fig["min"] <= fig["median"] <= fig["max"], key
        assert fig["unit"] and fig["label"], key


def test_the_split_adds_up_and_the_ratios_follow_from_the_figures(quick_run: tuple[dict, str]) -> None:
    data, _ = quick_run
    f = {k: v["median"] for k, v in data["figures"].items()}  # one round in quick mode: medians are the values
    parts = f["sample_capture_decode_ms"] + f["sample_pose_ms"] + f["sample_metrics_policy_ms"]
    assert parts == pytest.approx(f["sample_total_ms"])
    assert f["sample_ratio_to_floor"] == pytest.approx(f["sample_total_ms"] / f["model_floor_ms"])
    assert f["model_bound_fps"] == pytest.approx(1000 / f["model_floor_ms"])
    assert f["replay_ratio_to_model_bound"] == pytest.approx(f["replay_fps"] / f["model_bound_fps"])


def test_targets_machine_and_table_are_reported(quick_run: tuple[dict, str]) -> None:
    data, stdout = quick_run
    assert {t["figure"] for t in data["targets"]} == TARGETED
    assert all(isinstance(t["pass"], bool) and t["target"] for t in data["targets"])
    machine = data["machine"]
    for key in ("cpu", "cores", "python", "mediapipe", "opencv", "date"):
        assert machine[key], key
    assert data["settings"]["mode"] == "quick"
    rows = [line for line in stdout.splitlines() if line.startswith("| ")]
    for fig in data["figures"].values():
        assert any(row.startswith(f"| {fig['label']} |") for row in rows), fig["label"]
    verdicts = [row.strip(" |").rsplit("|", 1)[-1].strip() for row in rows]
    assert sum(v in ("pass", "**miss**") for v in verdicts) == len(TARGETED)
