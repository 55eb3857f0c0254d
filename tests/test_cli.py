"""The command line as a user meets it: real subprocesses, real sample clips, real files."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from posture_watch.cli.common import OTHER_MODEL_NOTE
from posture_watch.core.advice import FIXES, TITLES
from posture_watch.offline import unavailable_reason
from posture_watch.pose import BUNDLED_SHA256, FULL_SHA256, bundled_model_path
from tests.emulated_camera import hunch_frames, write_clip
from tests.test_model import FULL_MODEL

pytestmark = pytest.mark.slow  # every test here runs the command line in a subprocess

ROOT = Path(__file__).resolve().parent.parent
HUNCH = ROOT / "samples" / "hunch_slow.mp4"
HUNCH_LABELS = ROOT / "samples" / "hunch_slow.labels.csv"


def cli(*args: str, config: Path, timeout: float = 120, **kw: object) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "POSTURE_WATCH_CONFIG_DIR": str(config)}
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)  # no desktop here: alerts must fall back to the terminal
    return subprocess.run([sys.executable, "-m", "posture_watch", *args], capture_output=True, text=True,
                          env=env, timeout=timeout, cwd=ROOT, **kw)


def one_clear_line(done: subprocess.CompletedProcess[str], text: str) -> None:
    assert done.returncode == 1, done
    assert done.stderr.strip().splitlines() == [done.stderr.strip()], done.stderr  # one line
    assert done.stderr.startswith("posture-watch: ") and text in done.stderr
    assert "Traceback" not in done.stderr


def hunch_window() -> tuple[float, float]:
    """First and last second labelled `slouching` in the hunch clip."""
    import csv

    with HUNCH_LABELS.open() as fh:
        times = [float(r["t"]) for r in csv.DictReader(fh) if r["expected_state"] == "slouching"]
    return times[0], times[-1]


def test_replay_json_contract_alerts_only_in_the_hunch(tmp_path: Path) -> None:
    done = cli("replay", str(HUNCH), "--calibrate-first", "2", "--alert-after", "2", "--json", config=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "note:" not in done.stderr  # the bundled model has angles learned on its own landmarks
    doc = json.loads(done.stdout)  # stdout holds exactly one JSON document
    assert set(doc) >= {"video", "fps", "frames", "samples", "alerts", "notes", "summary"}
    assert doc["notes"] == []  # calibrated on this clip, with this model: nothing to say of the setup
    assert doc["frames"] == len(doc["samples"]) > 100
    for s in doc["samples"]:
        assert s["state"] in {"upright", "slouching", "away", "uncertain"}
        assert isinstance(s["faults"], list) and isinstance(s["t"], float)
        assert s["neck_angle_deg"] is None or isinstance(s["neck_angle_deg"], float)
    start, end = hunch_window()
    assert doc["alerts"], "the sustained hunch must alert"
    for alert in doc["alerts"]:
        assert start + 2 - 0.5 <= alert["t"] <= end + 1.5, alert
        assert alert["title"] and alert["body"] and alert["faults"]
    assert doc["summary"]["alerts"] == len(doc["alerts"])


def test_replay_at_run_pace_looks_at_the_frames_run_would(tmp_path: Path) -> None:
    """--run-pace: what `run` would have said of the clip, from the frames it would have sampled."""
    done = cli("replay", str(HUNCH), "--alert-after", "2", "--run-pace", "--json", config=tmp_path)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["frames"] == 300 and 20 <= len(doc["samples"]) <= 60  # 10 to calibrate, then one per 0.3-1.5 s
    start, end = hunch_window()
    assert doc["alerts"] and all(start + 2 - 0.5 <= a["t"] <= end + 1.5 for a in doc["alerts"]), doc["alerts"]


def test_replay_timeline_is_readable(tmp_path: Path) -> None:
    done = cli("replay", str(HUNCH), "--alert-after", "3", config=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "slouching" in done.stdout and "ALERT" in done.stdout and done.stdout.rstrip().splitlines()[-1].startswith(
        "summary:")


@pytest.mark.parametrize(("make", "text"), [
    (lambda p: p / "missing.mp4", "no such video file"),
    (lambda p: (p / "junk.mp4").write_bytes(os.urandom(4096)) and p / "junk.mp4", "junk.mp4"),
    (lambda p: (p / "empty.avi").write_bytes(b"") or p / "empty.avi", "empty.avi"),
])
def test_replay_bad_video_gives_one_line(tmp_path: Path, make: Callable[[Path], Path], text: str) -> None:
    one_clear_line(cli("replay", str(make(tmp_path)), "--json", config=tmp_path), text)


@pytest.mark.parametrize(("content", "text"), [("{oops", "not valid JSON"), ('{"schema": 7}', "format version 7")])
def test_replay_with_a_broken_baseline(tmp_path: Path, content: str, text: str) -> None:
    bad = tmp_path / "b.json"
    bad.write_text(content)
    one_clear_line(cli("replay", str(HUNCH), "--baseline", str(bad), config=tmp_path), text)
    assert bad.read_text() == content  # never rewritten behind the user's back


def test_calibrate_from_a_clip_then_replay_with_that_baseline(hunch_camera: Path, tmp_path: Path) -> None:
    done = cli("calibrate", "--camera", str(hunch_camera), "--seconds", "2", config=tmp_path)
    assert done.returncode == 0, done.stderr
    saved = tmp_path / "baseline.json"
    written = json.loads(saved.read_text())
    assert written["schema"] == 2 and written["pose_model_sha256"] == BUNDLED_SHA256
    assert (saved.stat().st_mode & 0o777) == 0o600
    replayed = cli("replay", str(HUNCH), "--baseline", str(saved), "--alert-after", "2", "--json", config=tmp_path)
    assert replayed.returncode == 0 and json.loads(replayed.stdout)["alerts"]
    assert json.loads(replayed.stdout)["notes"] == []
    quality = json.loads(replayed.stdout)["calibration"]  # the saved calibration's own steadiness
    assert quality["from"] == "baseline file" and quality["steadiness"] == {
        name: round(value, 2 if name != "width" else 4) for name, value in written["steadiness"].items()}
    # The same baseline, said to come from a 1280x720 camera and Google's full pose model: each is named once.
    other = tmp_path / "other.json"
    other.write_text(json.dumps({**written, "resolution": [1280, 720], "pose_model_sha256": FULL_SHA256}))
    replayed = cli("replay", str(HUNCH), "--baseline", str(other), "--alert-after", "2", config=tmp_path)
    assert replayed.returncode == 0, replayed.stderr
    notes = [line.split("note: ", 1)[1] for line in replayed.stdout.splitlines() if "  note: " in line]
    assert len(notes) == 2, replayed.stdout
    assert "another pose model" in notes[0] and "1280x720 picture and the camera gives 640x480" in notes[1]


def test_calibration_without_a_person_says_what_to_do(tmp_path: Path, empty_room: Path) -> None:
    done = cli("calibrate", "--camera", str(empty_room), "--seconds", "2", config=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.splitlines()[-1].startswith("posture-watch: calibration failed: a person was in view in only")
    assert not (tmp_path / "baseline.json").exists()


def test_a_webcam_whose_first_frames_are_black_still_calibrates(tmp_path: Path) -> None:
    """Many webcams deliver black (or washed-out) frames while their exposure settles after opening: here 8 (half a
    second at 15 fps). Judged, they would be "nobody in view", three of a one-second calibration's five samples,
    and it would be refused."""
    upright = hunch_frames(0, 3)
    camera = write_clip(tmp_path / "camera.avi", [np.zeros_like(upright[0])] * 8 + upright)
    done = cli("calibrate", "--camera", str(camera), "--seconds", "1", config=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "baseline.json").read_text())["samples"] >= 5  # every sample saw the person


def test_run_on_a_clip_as_camera_alerts_in_the_terminal(hunch_camera: Path, tmp_path: Path) -> None:
    done = cli("run", "--camera", str(hunch_camera), "--alert-after", "2", "--notifier", "auto", config=tmp_path,
               timeout=180)
    assert done.returncode == 0, done.stderr
    assert "No baseline yet: calibrating first." in done.stderr
    assert "slouching" in done.stderr and "Traceback" not in done.stderr
    # The alert itself, printed in full on the terminal because there is no desktop here.
    assert f"posture-watch: {TITLES['head_drop']} — {FIXES['head_drop'][0]}\n" in done.stderr
    assert (tmp_path / "baseline.json").exists()


def test_run_stops_cleanly_on_sigterm(hunch_camera: Path, tmp_path: Path) -> None:
    cal = cli("calibrate", "--camera", str(hunch_camera), "--seconds", "2", config=tmp_path)
    assert cal.returncode == 0, cal.stderr
    env = {**os.environ, "POSTURE_WATCH_CONFIG_DIR": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-m", "posture_watch", "run", "--camera", str(hunch_camera), "--loop",
                             "--notifier", "none"], stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    assert proc.stderr is not None
    assert "Watching" in proc.stderr.readline() + proc.stderr.readline()
    time.sleep(2)
    proc.send_signal(signal.SIGTERM)
    rest = proc.communicate(timeout=20)[1]
    assert proc.returncode == 0 and "Stopped (SIGTERM)." in rest and "Traceback" not in rest


def test_no_camera_is_one_line(tmp_path: Path) -> None:
    cal = cli("calibrate", "--camera", "7", config=tmp_path)
    one_clear_line(cal, "cannot open camera 7")


DOCTOR_LINE = re.compile(r"^(ok     |PROBLEM)  ([a-z ]+): (.+)$")


def test_doctor_reports_every_check(tmp_path: Path) -> None:
    done = cli("doctor", "--camera", "7", config=tmp_path)  # no camera 7, no baseline, no D-Bus session
    assert done.returncode == 1
    lines = [DOCTOR_LINE.match(line) for line in done.stdout.splitlines()]
    assert all(lines), done.stdout
    checks = [(m[1].strip(), m[2], m[3]) for m in lines if m]
    assert [label for _, label, _ in checks] == ["pose model", "camera", "notifications", "baseline", "settings",
                                                 "autostart", "network"], done.stdout
    model, camera, notifications, baseline, _, _, network = checks
    assert model[0] == "ok" and "sha256 verified" in model[2] and model[2].endswith("angles learned on its landmarks")
    assert camera[0] == "PROBLEM" and "cannot open camera 7" in camera[2]
    assert notifications[0] == "PROBLEM" and notifications[2].endswith("alerts will be printed to the terminal")
    assert baseline[0] == "PROBLEM" and "calibrate" in baseline[2]
    guarded = unavailable_reason() is None  # Linux on x86_64 or aarch64
    expected = ("ok", "cannot open an internet socket") if guarded else ("PROBLEM", "NOT blocked")
    assert network[0] == expected[0] and expected[1] in network[2], network


def test_doctor_checks_the_baseline_against_the_camera_and_pose_model(hunch_camera: Path, tmp_path: Path) -> None:
    committed = json.loads((ROOT / "calibration" / "hunch_slow.json").read_text())  # the bundled model, 640x480
    (tmp_path / "baseline.json").write_text(json.dumps(committed))

    def baseline_line() -> tuple[str, str, int]:
        done = cli("doctor", "--camera", str(hunch_camera), config=tmp_path)
        lines = {m[2]: (m[1].strip(), m[3]) for line in done.stdout.splitlines() if (m := DOCTOR_LINE.match(line))}
        return (*lines["baseline"], done.returncode)

    status, detail, _ = baseline_line()
    assert status == "ok" and detail.endswith(", 640x480, the bundled lite pose model)")
    other = {**committed, "resolution": [1280, 720], "pose_model_sha256": FULL_SHA256}
    (tmp_path / "baseline.json").write_text(json.dumps(other))
    status, detail, returncode = baseline_line()
    assert status == "PROBLEM" and "another pose model" in detail, detail
    assert "1280x720 picture and the camera gives 640x480" in detail and returncode == 1


def test_a_model_that_is_not_a_bundle_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "model.task"
    fake.write_text("not a model")
    one_clear_line(cli("replay", str(HUNCH), "--model", str(fake), config=tmp_path), "not a MediaPipe .task bundle")


def test_the_full_pose_model_runs_with_its_own_angles(tmp_path: Path) -> None:
    """--model with Google's official full bundle replays with the angle model fitted on its landmarks: no note."""
    if not FULL_MODEL.exists():
        pytest.skip("the full model is not in ../shared/models beside this checkout")
    done = cli("replay", str(HUNCH), "--model", str(FULL_MODEL), "--alert-after", "2", "--json", config=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert json.loads(done.stdout)["alerts"], "the hunch alerts with the full model too"


def test_another_pose_model_runs_with_a_note(tmp_path: Path) -> None:
    """A bundle no angle model was fitted on (the lite model repacked, so its sha256 differs) replays, and says once
    that the angles were learned on other landmarks (the full model read with the lite model's angles put 16 of the
    library's 111 sweeps over 5 degrees: README)."""
    bundled, other = bundled_model_path(), tmp_path / "repacked.task"
    with zipfile.ZipFile(bundled) as original, zipfile.ZipFile(other, "w") as repacked:
        for member in original.namelist():  # stored, not compressed: MediaPipe maps the models in place
            repacked.writestr(member, original.read(member))
    assert other.read_bytes() != bundled.read_bytes()
    done = cli("replay", str(HUNCH), "--model", str(other), "--alert-after", "2", "--json", config=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == OTHER_MODEL_NOTE
    assert json.loads(done.stdout)["alerts"]
    doctor = cli("doctor", "--model", str(other), "--camera", "7", config=tmp_path)
    assert f"pose model: {other}, loads in " in doctor.stdout
    assert "no angles learned on its landmarks: they read less accurately" in doctor.stdout


def test_usage_errors_exit_2_with_help(tmp_path: Path) -> None:
    done = cli("replay", str(HUNCH), "--alert-after", "soon", config=tmp_path)
    assert done.returncode == 2 and "not a number of seconds" in done.stderr
    assert "examples:" in cli("--help", config=tmp_path).stdout


def test_failed_calibration_at_a_terminal_offers_a_retry(tmp_path: Path, empty_room: Path) -> None:
    import pty
    import select

    master, slave = pty.openpty()
    env = {**os.environ, "POSTURE_WATCH_CONFIG_DIR": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-m", "posture_watch", "calibrate", "--camera", str(empty_room),
                             "--seconds", "1"], stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env, cwd=ROOT)
    os.close(slave)
    assert proc.stderr is not None
    seen = b""

    def read_until(text: bytes, count: int) -> None:
        nonlocal seen
        deadline = time.monotonic() + 60
        while seen.count(text) < count and time.monotonic() < deadline:
            if select.select([proc.stderr], [], [], 1.0)[0]:
                seen += os.read(proc.stderr.fileno(), 4096)  # type: ignore[union-attr]

    read_until(b"Press Enter to try again", 1)
    os.write(master, b"\n")  # try again: the clip plays from the start and fails the same way
    read_until(b"Press Enter to try again", 2)
    os.close(master)  # the user walks away: end of input
    rest = proc.communicate(timeout=60)[1]
    text = (seen + rest).decode()
    assert text.count("Calibrating:") == 2, text
    assert proc.returncode == 1 and "Traceback" not in text
    assert text.rstrip().splitlines()[-1].startswith("posture-watch: calibration failed")
    assert not (tmp_path / "baseline.json").exists()
