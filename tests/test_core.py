"""The pure core (metrics, assessment, policy, advice) driven by synthetic landmarks and a fake clock."""

from __future__ import annotations

import pytest

from posture_watch.core.advice import AdviceBook
from posture_watch.core.baseline import Baseline
from posture_watch.core.landmarks import main_person
from posture_watch.core.policy import Alert, AlertPolicy, PolicySettings
from posture_watch.core.posture import Assessment, assess, neck_angle_deg
from posture_watch.errors import PostureWatchError
from tests.synthetic import bad, figure, good, metrics, run_policy, upright_baseline

BRIGHT = (120.0, 50.0)


def judge(baseline: Baseline, **kw: float) -> Assessment:
    return assess(metrics(**kw), 1, BRIGHT, baseline)


def test_neck_gap_is_distance_free_and_falls_with_a_hunch() -> None:
    assert metrics().neck_gap == pytest.approx(0.8)
    assert metrics(drop=0.25).neck_gap == pytest.approx(0.6)
    assert metrics(closer=0.3).neck_gap == pytest.approx(0.8)  # head nearer, gap unchanged


def test_neck_angle_from_the_head_coming_forward() -> None:
    base = upright_baseline(jitter=0)
    assert neck_angle_deg(metrics(), base) == pytest.approx(0, abs=1e-6)
    # Shoulders 200 px wide in a 640 px picture: 2.66 shoulder widths from a 62° camera. A head 10 % bigger
    # relative to the shoulders came 0.24 shoulder widths nearer; over a 0.8 neck gap that is 17 degrees.
    assert neck_angle_deg(metrics(closer=0.1), base) == pytest.approx(16.9, abs=0.3)
    assert neck_angle_deg(metrics(closer=-0.05), base) < 0  # head further back than at calibration


@pytest.mark.parametrize(("pose", "fault"), [
    ({"drop": 0.3}, "head_drop"),
    ({"shrug": 0.15}, "shoulders_raised"),
    ({"lean_deg": 12}, "side_lean"),
    ({"closer": 0.3}, "too_close"),
])
def test_each_fault_is_named(pose: dict[str, float], fault: str) -> None:
    a = judge(upright_baseline(), **pose)
    assert a.kind == "measured"
    assert fault in a.faults_over(1.0)


def test_small_changes_score_below_one() -> None:
    a = judge(upright_baseline(), drop=0.03, lean_deg=3)
    assert a.severity < 0.6


def test_sensitivity_scales_thresholds() -> None:
    base = upright_baseline()
    mild = metrics(drop=0.06)
    assert assess(mild, 1, BRIGHT, base, sensitivity=1.0).severity < 1
    assert assess(mild, 1, BRIGHT, base, sensitivity=2.0).severity >= 1


def test_gates_mark_unmeasurable_samples() -> None:
    base = upright_baseline()
    assert assess(None, 0, BRIGHT, base).kind == "absent"
    dark = assess(None, 0, (9.0, 3.0), base)
    assert (dark.kind, dark.reason) == ("uncertain", "too dark or camera covered")
    assert judge(base, turn=0.5).reason == "face turned away"
    assert judge(base, visibility=0.2).reason == "ears or shoulders hidden"
    assert judge(base, shift_x=300).kind == "absent"  # somebody, but not where the user sits


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
    from posture_watch.core.baseline import build_baseline

    with pytest.raises(PostureWatchError, match="in view in only 40%"):
        build_baseline([metrics()] * 4 + [None] * 6, "t", (640, 480), "now")
    with pytest.raises(PostureWatchError, match="moved too much"):
        build_baseline([metrics(drop=d) for d in (0.0, 0.3, 0.0, 0.3, 0.1)], "t", (640, 480), "now")


def test_a_moved_setup_is_reported_once_after_two_minutes() -> None:
    from posture_watch.core.drift import SetupDrift

    base, drift = upright_baseline(), SetupDrift(after=120)
    assert [drift.update(metrics(), base, t) for t in range(0, 300, 10)] == [None] * 30
    far = metrics(shift_x=200)
    said = [(t, msg) for t in range(300, 600, 10) if (msg := drift.update(far, base, t))]
    assert len(said) == 1 and said[0][0] == 420 and "more to one side" in said[0][1]
    assert drift.update(None, base, 700) is None
