"""The published accuracy targets, enforced: every labelled clip of samples/library.csv replayed through the real
model, its tune part and its check part alike (issue: the angles must hold for any webcam and any body).

Targets: every hunch caught and zero false alerts at alert-after 3 s; state accuracy >= 97 % pooled and >= 90 % on
every clip; `away` within 2 s of leaving; the neck and shoulder angles' median absolute error <= 5 degrees on
every sweep (one body, one camera) and <= 3 degrees pooled, over frames whose true angle is at least 5 degrees.
"""

from __future__ import annotations

import itertools
import statistics
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from benchmarks import accuracy
from posture_watch.core.policy import PolicySettings
from posture_watch.core.watcher import WatchSettings
from posture_watch.pose import PoseEstimator
from posture_watch.replay import replay
from tests.emulated_camera import write_clip
from tests.test_model import FULL_MODEL

pytestmark = pytest.mark.slow  # replays every labelled clip through the model: about three minutes on 2 cores

ROOT = Path(__file__).resolve().parent.parent

# Sweeps of the check part (bodies and cameras no threshold or tree was fitted on) where the 5-degree target is
# not met today, with the median error measured (benchmarks/accuracy.json). The README says so; here each may not
# get worse by more than half a degree, and every other sweep must meet the target. Tune bodies of the kinds the
# first two suggested were missing, and tune cameras drawn at random over the whole range, did not move them.
NOT_MET_DEG = {
    # the same body's shoulder landmarks rise 35 % less for the same shrug here than seen from narrow_far
    ("shoulder", "f_heavy/mid"): 7.2,
    ("shoulder", "f_old_short/monitor_eye"): 6.0,
    # the shortest body under a wide lens 22 cm above her eyes and 49 cm away: at a 25-30 deg hunch her head
    # covers her shoulders and the pose model loses her (a lost frame counts as the whole angle); a 10 deg hunch
    # reads 21, a 20 deg shrug 10
    ("neck", "f_old_short/wide_above_close_turned"): 7.4,
    ("shoulder", "f_old_short/wide_above_close_turned"): 8.7,
    # the first check round's neck miss: 5.4, then 4.94 with the fourth round's tune cameras, 5.08 refitted without
    # two frames whose sides were swapped; a refit moves a sweep by a few tenths
    ("neck", "m_tall_muscular/wide_low_turned"): 5.1,
}


@pytest.fixture(scope="module")
def result() -> dict[str, Any]:
    return accuracy.run(ROOT / "samples")


def scenario(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in result["clips"] if c["kind"] == "scenario"]


def sweeps(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in result["clips"] if c["kind"] == "sweep"]


def test_the_library_covers_both_parts_bodies_and_cameras(result: dict[str, Any]) -> None:
    clips = result["clips"]
    assert {c["part"] for c in clips} == {"tune", "check"}
    assert len({c["body"] for c in sweeps(result)}) >= 6, "bodies in the angle sweep"
    assert len({c["camera"] for c in sweeps(result)}) >= 10, "camera placements in the angle sweep"
    assert sum(c["departures"] for c in clips) >= 1, "a clip where the person leaves"
    check_bodies = {c["body"] for c in clips if c["part"] == "check"}
    tune_bodies = {c["body"] for c in clips if c["part"] == "tune"}
    assert check_bodies - tune_bodies, "bodies no threshold was tuned on"


def test_every_hunch_is_caught(result: dict[str, Any]) -> None:
    missed = [c["clip"] for c in scenario(result) if c["caught"] < c["episodes"]]
    assert not missed, f"slouches missed in {missed}"


def test_no_false_alerts(result: dict[str, Any]) -> None:
    noisy = {c["clip"]: c["false_alerts"] for c in scenario(result) if c["false_alerts"]}
    assert not noisy, f"false alerts: {noisy}"


def test_state_accuracy(result: dict[str, Any]) -> None:
    assert result["totals"]["all"]["state_accuracy"] >= 0.97
    weak = {c["clip"]: c["state_accuracy"] for c in scenario(result)
            if c["state_accuracy"] is not None and c["state_accuracy"] < 0.90}
    assert not weak, f"clips below 90 %: {weak}"


def test_away_is_reported_within_two_seconds(result: dict[str, Any]) -> None:
    slow = {c["clip"]: c["away_delay_s"] for c in scenario(result)
            if c["away_delay_s"] is not None and c["away_delay_s"] > 2.0}
    assert not slow, f"away reported late: {slow}"


@pytest.mark.parametrize("angle", ["neck", "shoulder"])
def test_angles_hold_on_every_camera_and_body(result: dict[str, Any], angle: str) -> None:
    off = {}
    for c in sweeps(result):
        sweep, error = f"{c['body']}/{c['camera']}", c[f"{angle}_error_deg"]
        limit = NOT_MET_DEG[angle, sweep] + 0.5 if (angle, sweep) in NOT_MET_DEG else 5.0
        assert c["part"] == "check" or limit == 5.0, "no exception to the target on the part it was tuned on"
        if error is None or error > limit:
            off[sweep] = (error, limit)
    assert not off, f"{angle} angle median error (degrees) above its limit: {off}"
    for part, totals in result["totals"].items():
        assert totals[f"{angle}_error_pooled_deg"] <= 3.0, f"{angle}, {part}: {totals}"


# Sweeps replayed at run's pace too: the three that moved the most at that pace (the shoulder of
# mh_male/far_wide_offset, the neck of mh_male/close_high) or miss the target (f_heavy/mid's shoulder).
PACED_SWEEPS = ["sweep/mh_male_far_wide_offset", "sweep/mh_male_close_high", "sweep/f_heavy_mid"]


@pytest.fixture(scope="module")
def at_run_pace() -> dict[str, Any]:
    """Every scenario clip sampled as `run` samples a webcam, and PACED_SWEEPS with their frames spaced out for the
    pose model as far as `run`'s samples (benchmarks/accuracy.py --run-pace)."""
    scenarios = [c.name for c in accuracy.library(ROOT / "samples", []) if c.kind == "scenario"]
    return accuracy.run(ROOT / "samples", names=scenarios + PACED_SWEEPS, run_pace=True)


def test_at_run_pace_every_hunch_is_caught_and_nothing_else_alerts(result: dict[str, Any],
                                                                   at_run_pace: dict[str, Any]) -> None:
    """At one sample every 1.5 s, MediaPipe's visibility of an arm raised into view took a dozen samples to rise:
    before arms counted as seen by their presence too, an overhead stretch and a chin on a hand alerted."""
    clips = scenario(at_run_pace)
    assert sorted(c["clip"] for c in clips) == sorted(c["clip"] for c in scenario(result))
    missed = [c["clip"] for c in clips if c["caught"] < c["episodes"]]
    noisy = {c["clip"]: c["false_alerts"] for c in clips if c["false_alerts"]}
    assert not missed and not noisy, (missed, noisy)
    assert at_run_pace["totals"]["all"]["state_accuracy"] >= 0.97
    # Before a reading that moves near the thresholds was sampled again soon, the head's growth lagged three or
    # four samples behind a forward head, and `forward_head` read 89 %.
    weak = {c["clip"]: c["state_accuracy"] for c in clips
            if c["state_accuracy"] is not None and c["state_accuracy"] < 0.90}
    assert not weak, f"clips below 90 % at run's pace: {weak}"


def test_the_angles_hold_at_the_pace_run_samples(result: dict[str, Any], at_run_pace: dict[str, Any]) -> None:
    """The library's angles are measured at 8 frames a second; `run` samples every 1.5 s, and MediaPipe smooths
    between frames by their timestamps. With the frames spaced as far apart as `run`'s samples, no sweep of the
    library moved by more than 0.9 degrees (benchmarks/accuracy_run_pace.json)."""
    every_frame = {c["clip"]: c for c in sweeps(result)}
    paced = sweeps(at_run_pace)
    assert sorted(c["clip"] for c in paced) == sorted(PACED_SWEEPS)
    moved = []
    for clip in paced:
        for angle in ("neck_error_deg", "shoulder_error_deg"):
            moved.append(abs(clip[angle] - every_frame[clip["clip"]][angle]))
            assert moved[-1] <= 1.0, (clip["clip"], angle, clip[angle])
    assert max(moved) >= 0.3, "the pose model saw the frames at another pace, and that shows"


def long_slouch(clip: str, folder: Path) -> tuple[Path, float]:
    """A rendered hunch clip made long: its upright start played back and forth for 4 s, the ramp into the slouch,
    the held slouch back and forth for 20 s, the ramp back, the upright end for 14 s. Returns the clip and the
    second at which the person is upright again."""
    labels = accuracy.load_labels(ROOT / "samples" / f"{clip}.labels.csv")
    # the frames where the event changes: ramp in, held slouch, ramp back, upright
    ramp, held, back, upright = [int(row["frame"]) for before, row in itertools.pairwise(labels)
                                 if row["event"] != before["event"]]
    capture = cv2.VideoCapture(str(ROOT / "samples" / f"{clip}.mp4"))
    fps = capture.get(cv2.CAP_PROP_FPS)
    frames = []
    while (read := capture.read())[0]:
        frames.append(read[1])
    capture.release()

    def hold(part: list[np.ndarray], seconds: float) -> list[np.ndarray]:
        cycle = part + part[-2:0:-1]
        return (cycle * (1 + round(seconds * fps) // len(cycle)))[:round(seconds * fps)]

    story = [hold(frames[:ramp], 4), frames[ramp:held], hold(frames[held:back], 20), frames[back:upright],
             hold(frames[upright:], 14)]
    write_clip(folder / "long.avi", [image for part in story for image in part], fps)
    return folder / "long.avi", sum(len(part) for part in story[:4]) / fps


@pytest.mark.parametrize("clip", ["hunch/hunch_strong_f_young_tall_narrow_far",  # tune
                                  "hunch/forward_head_m_young_heavy_wide_high_left"])  # check
def test_at_run_pace_a_long_slouch_ends_when_the_user_sits_up(clip: str, tmp_path: Path) -> None:
    """At one sample every 1.5 s, the state must follow a user who sits up after a long slouch, and an alert that
    falls due as they do must not come after it. All 13 rendered hunch clips made long went back to `upright`
    within 1.9 s (the warped photo lags longer, for a reason of its own: README, "Where it is weak")."""
    video, upright_at = long_slouch(clip, tmp_path)
    alerted = []
    for alert_after in (16.0, 19.0, 21.0):  # due mid-slouch, near its end, as the person sits up
        settings = WatchSettings(PolicySettings(alert_after=alert_after, cooldown=600.0), break_after=None)
        with PoseEstimator() as estimator:
            report = replay(video, accuracy.CALIBRATE_FIRST, estimator, settings, sampled=True)
        back = next((s.t for s in report.samples if s.t >= upright_at and s.decision.state != "slouching"), None)
        assert back is not None and back - upright_at <= 2.5, (alert_after, back, upright_at)
        late = [a.t for a in report.alerts if a.t > upright_at]
        assert not late, f"alerted {late} after the user sat up at {upright_at} s (alert-after {alert_after})"
        alerted += report.alerts
    assert alerted, "the slouch lasted long enough to alert"


def test_a_refused_calibration_scores_as_nothing_measured(empty_room: Path) -> None:
    """A clip whose calibration the watcher refuses (here nobody is in view) counts against the model, not out of
    the table: its slouch is missed and each angle frame is an error of the whole angle."""
    labels = ROOT / "samples" / "render_hunch_male_monitor.labels.csv"
    clip = accuracy.Clip("nobody", "check", "scenario", "", "", empty_room, labels)
    scored = accuracy.replay_and_score(clip, alert_after=3.0)
    assert scored.refused is not None and "person" in scored.refused
    assert scored.episodes == 1 and scored.caught == 0
    truth = [float(r["true_neck_deg"]) for r in accuracy.load_labels(labels) if r["event"] in accuracy.NECK_EVENTS
             and r["true_neck_deg"] and float(r["true_neck_deg"]) >= accuracy.MIN_TRUE_ANGLE]
    assert scored.neck_frames == len(truth) > 0
    assert scored.neck_error_deg == round(statistics.median(truth), 2)


def test_the_full_pose_model_reads_the_views_the_lite_one_gets_wrong() -> None:
    """With its own angle model, Google's full pose model keeps the shortest body in view under the close, high
    camera (the lite model loses her: 7.4 and 8.7 degrees) and reads the heavy woman's shrug from `mid` (lite: 7.2).
    Each is held to its measured error +0.5 (benchmarks/accuracy_full.json), like the check sweeps named above."""
    if not FULL_MODEL.exists():
        pytest.skip("the full model is not in ../shared/models beside this checkout")
    measured = {"sweep/f_old_short_wide_above_close_turned": (5.3, 2.9), "sweep/f_heavy_mid": (2.2, 1.7)}
    result = accuracy.run(ROOT / "samples", names=list(measured), kinds=("sweep",), model=FULL_MODEL)
    for clip in result["clips"]:
        neck, shoulder = measured[clip["clip"]]
        assert clip["neck_error_deg"] <= neck + 0.5 and clip["shoulder_error_deg"] <= shoulder + 0.5, clip
    assert len(result["clips"]) == 2
