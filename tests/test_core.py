"""The pure core (metrics, assessment, policy, advice) driven by synthetic landmarks and a fake clock."""

from __future__ import annotations

import math

import numpy as np
import pytest

from posture_watch.core.advice import AdviceBook
from posture_watch.core.angles import FEATURES, TreeEnsemble, features
from posture_watch.core.baseline import Baseline, build_baseline
from posture_watch.core.landmarks import main_person
from posture_watch.core.policy import Alert, AlertPolicy, PolicySettings
from posture_watch.core.posture import Assessment, assess
from posture_watch.errors import PostureWatchError
from tests.synthetic import bad, figure, geometric_angle_model, good, metrics, run_policy, upright_baseline

BRIGHT = (120.0, 50.0)
MODEL = geometric_angle_model()


def judge(baseline: Baseline, **kw: float) -> Assessment:
    return assess(metrics(**kw), 1, BRIGHT, baseline, MODEL)


def feature(name: str, baseline: Baseline, **kw: float) -> float:
    return float(features(metrics(**kw), baseline)[FEATURES.index(name)])


@pytest.mark.parametrize("camera_height", [0.0, -0.15, 0.25])
def test_coming_nearer_is_perspective_not_posture(camera_height: float) -> None:
    """A whole body 10 cm nearer moves ears and shoulders away from the image centre; undone, nothing changed."""
    base = upright_baseline(jitter=0, camera_height=camera_height)
    for name in ("gap_shrink", "ear_drop", "shoulder_rise"):
        assert feature(name, base, closer=0.1, camera_height=camera_height) == pytest.approx(0, abs=1e-3), name
    assert feature("shoulder_scale", base, closer=0.1, camera_height=camera_height) > 0.1


def test_a_hunch_drops_the_ears_and_a_shrug_raises_the_shoulders() -> None:
    base = upright_baseline(jitter=0)
    assert feature("ear_drop", base, flex_deg=30) > 0.05 > abs(feature("shoulder_rise", base, flex_deg=30))
    assert feature("shoulder_rise", base, shrug=0.05) > 0.1 > abs(feature("ear_drop", base, shrug=0.05))
    assert feature("world_neck", base, flex_deg=30) == pytest.approx(30, abs=0.5)


def test_trees_go_right_above_the_threshold_and_add_up() -> None:
    # Two trees of depth 1 on gap_shrink (feature 0): above 0.1 adds 5, above 0.2 adds 7 more.
    trees = TreeEnsemble(1.0, 1, np.zeros((2, 1), dtype=np.intp), np.array([[0.1], [0.2]]),
                         np.array([[0.0, 5.0], [0.0, 7.0]]))
    x = np.zeros(len(FEATURES))
    assert [trees.predict(np.where(np.arange(len(FEATURES)) == 0, v, x)) for v in (0.05, 0.1, 0.15, 0.3)] == \
        [1.0, 1.0, 6.0, 13.0]


def test_a_depth_two_tree_walks_its_levels() -> None:
    # Root on feature 1 at 0; left child on feature 2 at 0, right child on feature 2 at 10; leaves 1..4.
    trees = TreeEnsemble(0.0, 2, np.array([[1, 2, 2]]), np.array([[0.0, 0.0, 10.0]]), np.array([[1.0, 2, 3, 4]]))

    def at(f1: float, f2: float) -> float:
        x = np.zeros(len(FEATURES))
        x[1], x[2] = f1, f2
        return trees.predict(x)

    assert (at(-1, -1), at(-1, 1), at(1, 5), at(1, 11)) == (1.0, 2.0, 3.0, 4.0)


@pytest.mark.parametrize("broken", [
    {"depth": 3},  # arrays for depth 2
    {"leaf": [[1.0, float("nan"), 0, 0]]},
    {"feature": [[1, 99, 2]]},
])
def test_a_damaged_tree_document_is_refused(broken: dict[str, object]) -> None:
    doc = {"base": 0.0, "depth": 2, "feature": [[1, 2, 2]], "threshold": [[0.0, None, 1.0]],
           "leaf": [[1.0, 2.0, 3.0, 4.0]], **broken}
    with pytest.raises(ValueError):
        TreeEnsemble.from_document(doc)


def test_a_null_threshold_sends_every_sample_left() -> None:
    trees = TreeEnsemble.from_document({"base": 0.0, "depth": 1, "feature": [[0]], "threshold": [[None]],
                                        "leaf": [[1.0, 2.0]]})
    assert trees.predict(np.full(len(FEATURES), 1e9)) == 1.0


NECK_FAULTS = ("head_drop", "forward_head")


@pytest.mark.parametrize(("pose", "faults"), [
    ({"flex_deg": 30}, NECK_FAULTS),
    ({"shrug": 0.05}, ("shoulders_raised",)),
    ({"closer": 0.15}, ("too_close",)),
])
def test_each_fault_is_named(pose: dict[str, float], faults: tuple[str, ...]) -> None:
    a = judge(upright_baseline(), **pose)
    assert a.kind == "measured"
    assert a.faults_over(1.0)[0] in faults


def test_a_side_lean_is_named() -> None:
    assert "side_lean" in judge(upright_baseline(), lean_deg=12).faults_over(1.0)


def test_the_neck_fault_is_named_by_what_the_picture_shows_more_of() -> None:
    base = upright_baseline(jitter=0)
    plain = metrics()
    dropped = type(plain)(**{**plain.__dict__, "ear_y": plain.ear_y + 0.2 * plain.shoulder_width})  # only lower
    grown = type(plain)(**{**plain.__dict__, "head_ratio": plain.head_ratio * 1.2})  # only bigger
    assert assess(dropped, 1, BRIGHT, base, MODEL).faults_over(1.0)[0] == "head_drop"
    a = assess(grown, 1, BRIGHT, base, MODEL)
    # A head 20 % bigger relative to the shoulders is pushed forward, whatever the angle says.
    assert a.faults_over(1.0)[0] == "forward_head" and a.neck_angle_deg == 0


def test_the_angles_are_reported_in_degrees() -> None:
    base = upright_baseline(jitter=0)
    assert judge(base, flex_deg=20).neck_angle_deg == pytest.approx(20, abs=1)
    assert judge(base, shrug=0.03).shoulder_angle_deg == pytest.approx(math.degrees(math.asin(0.03 / 0.15)), abs=1)


def test_small_changes_score_below_one() -> None:
    a = judge(upright_baseline(jitter=0), flex_deg=3, lean_deg=3)
    assert a.severity < 1.0


def test_sensitivity_scales_thresholds() -> None:
    base = upright_baseline(jitter=0)
    mild = metrics(flex_deg=6)
    assert assess(mild, 1, BRIGHT, base, MODEL, sensitivity=1.0).severity < 1
    assert assess(mild, 1, BRIGHT, base, MODEL, sensitivity=2.0).severity >= 1


def test_gates_mark_unmeasurable_samples() -> None:
    base = upright_baseline()
    assert assess(None, 0, BRIGHT, base, MODEL).kind == "absent"
    dark = assess(None, 0, (9.0, 3.0), base, MODEL)
    assert (dark.kind, dark.reason) == ("uncertain", "too dark or camera covered")
    assert judge(base, turn=0.5).reason == "face turned away"
    assert judge(base, visibility=0.2).reason == "ears or shoulders hidden"
    assert judge(base, shift_x=500).kind == "absent"  # somebody, but not where the user sits


@pytest.mark.parametrize(("pose", "reason"), [
    ({"arms_up": True}, "arms raised (stretching)"),
    ({"hand_at_face": True}, "a hand raised (drinking, a chin on the hand?)"),
    ({"torso_turn_deg": 45}, "turned away (talking to someone?)"),
])
def test_ordinary_movement_is_not_posture(pose: dict[str, object], reason: str) -> None:
    a = judge(upright_baseline(), **pose, shrug=0.06)  # even with the shoulders up: a stretch is not a shrug
    assert (a.kind, a.reason, a.scores) == ("moving", reason, {})


def test_a_face_turned_at_calibration_is_the_setup_not_a_turn() -> None:
    """A camera beside the screen sees the face turned all day: judged against the calibration."""
    base = upright_baseline(turn=0.3)
    assert judge(base, turn=0.3).kind == "measured"
    assert judge(base, turn=0.3, flex_deg=30).faults_over(1.0)[0] in NECK_FAULTS


@pytest.mark.parametrize("side", [-1, 1])
def test_main_person_prefers_the_calibrated_spot_among_near_people(side: int) -> None:
    user, passer = figure(), figure(shift_x=side * 250, width=260)  # the passer-by is nearer the camera
    assert main_person([passer, user], expected_x=320) is user
    assert main_person([user, passer], expected_x=320) is user
    assert main_person([]) is None


def test_a_user_half_as_wide_as_someone_nearer_still_counts() -> None:
    user, near = figure(), figure(shift_x=300, width=400)
    assert main_person([near, user], expected_x=320) is user


def test_main_person_without_a_calibrated_spot_is_the_widest() -> None:
    user, passer = figure(), figure(shift_x=250, width=260)
    assert main_person([user, passer]) is passer
    assert main_person([passer, user]) is passer


def test_someone_far_behind_is_never_the_user_even_at_the_calibrated_spot() -> None:
    far_behind, near = figure(width=90), figure(shift_x=250)  # under half as wide as the nearest person
    assert main_person([far_behind, near], expected_x=320) is near


def test_a_lasting_hunch_alerts_once_after_alert_after() -> None:
    policy = AlertPolicy(PolicySettings(alert_after=5, cooldown=100))
    alerts = run_policy(policy, [(0, 3, good()), (3, 20, bad())])
    assert [round(a.t, 1) for a in alerts] == [8.5]  # bad from 3 s, slouching from 3.5 s, alert 5 s later
    assert alerts[0].faults == ("head_drop",) and alerts[0].nth == 1
    assert policy.state == "slouching"


def test_glances_and_fidgets_never_alert() -> None:
    policy = AlertPolicy(PolicySettings(alert_after=5, cooldown=100))
    seq = []
    for k in range(10):  # 2 s glances every 5 s for 50 s
        seq += [(5 * k, 5 * k + 3, good()), (5 * k + 3, 5 * k + 5, bad())]
    assert run_policy(policy, seq) == []


def test_hysteresis_keeps_a_slouch_through_half_good_samples() -> None:
    policy = AlertPolicy(PolicySettings(alert_after=5, cooldown=100))
    alerts = run_policy(policy, [(0, 2, bad()), (2, 4, bad(0.8)), (4, 7, bad())])
    assert len(alerts) == 1  # 0.8 is between leave (0.6) and enter (1.0): still the same slouch


def test_cooldown_and_escalation_in_one_long_slouch() -> None:
    policy = AlertPolicy(PolicySettings(alert_after=5, cooldown=10))
    alerts = run_policy(policy, [(0, 30, bad())])
    assert [(round(a.t, 1), a.nth) for a in alerts] == [(5.5, 1), (15.5, 2), (25.5, 3)]


def test_reset_forgets_the_slouch_but_not_the_cooldown() -> None:
    policy = AlertPolicy(PolicySettings(alert_after=2, cooldown=20))
    assert [a.t for a in run_policy(policy, [(0, 3, bad())])] == [2.5]
    policy.reset()
    assert policy.state == "uncertain"
    # Judged afresh: slouching again from 10.5 s, long enough to alert at 12.5 s, but the cooldown runs to 22.5 s.
    assert [a.t for a in run_policy(policy, [(10, 25, bad())])] == [22.5]


def test_nothing_is_known_before_the_first_measured_sample() -> None:
    policy = AlertPolicy(PolicySettings())
    absent = Assessment("absent", "nobody in view")
    assert policy.update(absent, 0.0).state == "uncertain"
    assert policy.update(absent, 0.5).state == "uncertain"
    assert policy.update(absent, 1.0).state == "away"


def test_leaving_the_desk_turns_away_and_ends_the_slouch() -> None:
    policy = AlertPolicy(PolicySettings(alert_after=5))
    absent = Assessment("absent", "nobody in view")
    run_policy(policy, [(0, 4, bad()), (4, 4.5, absent)])
    assert policy.state == "slouching"  # a blink of absence holds the state
    run_policy(policy, [(4.5, 6, absent)])
    assert policy.state == "away"
    assert run_policy(policy, [(6, 9, bad())]) == []  # the slouch restarted on return: no alert yet


def test_advice_names_the_fault_rotates_and_escalates() -> None:
    book = AdviceBook()
    first = book.advise(Alert(10, ("shoulders_raised",), 1, 60))
    second = book.advise(Alert(20, ("shoulders_raised",), 1, 60))
    assert first[0] == second[0] == "Shoulders creeping up"
    assert first[1] != second[1]
    later = book.advise(Alert(700, ("forward_head",), 2, 700))
    assert "break" in later[0] and "12 min" in later[0]


def test_calibration_refuses_a_person_who_was_not_there() -> None:
    with pytest.raises(PostureWatchError, match="in view in only 40%"):
        build_baseline([metrics()] * 4 + [None] * 6, "t", (640, 480), "now", MODEL)


def test_calibration_refuses_a_wobble_but_not_noise() -> None:
    rng = np.random.default_rng(1)
    noisy = [metrics(jitter=1.5, rng=rng) for _ in range(25)]  # type: ignore[arg-type]
    steady = build_baseline(noisy, "t", (640, 480), "now", MODEL)
    assert steady.steadiness.neck_deg < 3 and steady.sd("neck_angle_deg") > 0  # the spread is recorded
    hunching = [metrics(flex_deg=k) for k in range(25)]  # a hunch starting while calibrating
    with pytest.raises(PostureWatchError, match=r"wobbled by ±\d+\.\d°"):
        build_baseline(hunching, "t", (640, 480), "now", MODEL)
    leaning_in = [metrics(closer=0.015 * k) for k in range(25)]
    with pytest.raises(PostureWatchError, match="toward or away from the camera"):
        build_baseline(leaning_in, "t", (640, 480), "now", MODEL)


def test_a_moved_setup_is_reported_once_after_two_minutes() -> None:
    from posture_watch.core.drift import SetupDrift

    base, drift = upright_baseline(), SetupDrift(after=120)
    assert [drift.update(metrics(), base, t) for t in range(0, 300, 10)] == [None] * 30
    far = metrics(shift_x=200)
    said = [(t, msg) for t in range(300, 600, 10) if (msg := drift.update(far, base, t))]
    assert len(said) == 1 and said[0][0] == 420 and "more to one side" in said[0][1]
    assert drift.update(None, base, 700) is None


def test_a_baseline_from_another_picture_size_or_pose_model_is_named() -> None:
    from dataclasses import replace

    from posture_watch.core.drift import other_picture_size, other_pose_model

    lite, full = "59929e1d" + "0" * 56, "4eaa5eb7" + "0" * 56
    base = replace(upright_baseline(), pose_model=lite)  # measured at 640x480 with `lite`
    assert other_picture_size(base, (640, 480)) is None and other_picture_size(base, (0, 0)) is None
    for size in ((1280, 720), (640, 360), (480, 640)):
        assert other_picture_size(base, size) == (
            f"the baseline was measured on a 640x480 picture and the camera gives {size[0]}x{size[1]}; run "
            "`posture-watch calibrate` again at this resolution")
    assert other_pose_model(base, lite) is None
    assert other_pose_model(replace(base, pose_model=""), full) is None  # an older file does not say: no guess
    assert other_pose_model(base, full) == (
        "the baseline was measured with another pose model, which places the landmarks a little differently; run "
        "`posture-watch calibrate` again with the --model you watch with")
