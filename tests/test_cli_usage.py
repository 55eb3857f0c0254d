"""Every option and input of the command line at its limits: out-of-range values are usage errors (exit 2, one
line, no traceback), bad clips are one clear line (exit 1), and nothing slow happens before a cheap check fails.
The options are taken from the parser itself, so an option added later is checked too."""

from __future__ import annotations

import argparse
import json
import os
import re
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from posture_watch.cli import parser
from tests.test_cli import HUNCH, ROOT, cli, one_clear_line

# Out of range, not a number, or not what the option means, for every option that takes a value.
BAD_VALUES = ["nan", "NaN", "inf", "-inf", "1e309", "1e30", "-1", "-0.5", "garbage", "", " ", "0x0", "1x1",
              "30000x30000", "640x-480", "640x480x3", "²", "0"]
# A few of them are meaningful for some options.
ALLOWED = {
    ("run", "--alert-after", "0"): "alert as soon as the state says slouching",
    ("replay", "--alert-after", "0"): "the same, for a replay",
    ("replay", "--cooldown", "0"): "a replay sends no notifications: every alert may be listed",
}
POSITIONALS = {"replay": ["clip.mp4"]}  # required arguments, not validated by the parser


def commands() -> dict[str, argparse.ArgumentParser]:
    sub = next(a for a in parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def value_options() -> Iterator[tuple[str, str]]:
    """(command, option) for every option that takes a value the parser checks (a type or choices)."""
    for name, command in commands().items():
        for action in command._actions:
            if not action.option_strings or action.nargs == 0:
                continue
            if action.choices is not None or action.type not in (None, Path, str):
                yield name, action.option_strings[0]


OPTIONS = sorted(value_options())


def test_the_options_are_found() -> None:
    """The checks below cover what they claim to: every typed option of every command."""
    assert {("run", "--cooldown"), ("run", "--interval"), ("run", "--resolution"), ("run", "--fps"),
            ("run", "--sensitivity"), ("run", "--notifier"), ("run", "--camera"), ("calibrate", "--seconds"),
            ("replay", "--calibrate-first"), ("doctor", "--camera")} <= set(OPTIONS)


def parse_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str | None:
    """The usage error the command line gives (None if it accepts the arguments)."""
    try:
        parser().parse_args(argv)
    except SystemExit as stop:
        err = capsys.readouterr().err
        assert stop.code == 2, (argv, stop.code, err)
        return err
    return None


@pytest.mark.parametrize(("command", "option"), OPTIONS)
def test_out_of_range_values_are_one_line_usage_errors(command: str, option: str,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    for value in BAD_VALUES:
        err = parse_error([command, *POSITIONALS.get(command, []), f"{option}={value}"], capsys)
        if err is None:
            assert (command, option, value) in ALLOWED or option == "--camera", f"{command} {option}={value!r}"
            continue
        assert err.count("\n") == 1 and err.startswith(f"posture-watch {command}: error: argument {option}"), err
        assert err.rstrip().endswith(f"(see posture-watch {command} --help)"), err


def test_a_camera_number_out_of_range_or_empty_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    for value in ["256", "99999999999999999999", "", " "]:  # the long one was a cv2.error traceback
        assert "argument --camera" in (parse_error(["calibrate", f"--camera={value}"], capsys) or ""), value
    for value in ["0", "255", "clip.mp4", "-1", "²"]:  # numbers, or a file name (checked when the command runs)
        assert parse_error(["calibrate", f"--camera={value}"], capsys) is None, value


def test_the_floors_say_why(capsys: pytest.CaptureFixture[str]) -> None:
    assert "--cooldown: must be from 15 to 86400 seconds" in (parse_error(["run", "--cooldown", "5"], capsys) or "")
    assert parse_error(["run", "--cooldown", "15"], capsys) is None
    assert parse_error(["replay", "clip.mp4", "--cooldown", "5"], capsys) is None  # replays notify nobody
    assert "a baseline needs a few frames" in (parse_error(["calibrate", "--seconds", "0"], capsys) or "")
    assert "a baseline needs a few frames" in (parse_error(["replay", "x.mp4", "--calibrate-first", "0.2"],
                                                           capsys) or "")


@pytest.mark.slow  # the command line in a subprocess
def test_usage_errors_through_the_real_command(tmp_path: Path) -> None:
    for args in (["run", "--resolution", "30000x30000"], ["calibrate", "--seconds", "0"], ["run", "--cooldown", "0"],
                 ["run", "--interval", "5000"], []):  # 5000 was a ValueError traceback; [] is no command at all
        done = cli(*args, config=tmp_path)
        assert done.returncode == 2 and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done


def test_every_command_has_examples_and_doctor_offers_no_clip_options() -> None:
    for name, command in commands().items():
        assert "examples:\n  posture-watch " + name in command.format_help(), name
    doctor = commands()["doctor"].format_help()
    assert "--loop" not in doctor and "--fps" not in doctor
    assert "Every command has its own --help with examples." in parser().format_help()


# --- clips at their limits


def video(path: Path, frames: int = 30, size: tuple[int, int] = (640, 480), fps: float = 15) -> Path:
    """An MJPG clip of the hunch sample's first frames, scaled to `size`."""
    import cv2

    cap = cv2.VideoCapture(str(HUNCH))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    for _ in range(frames):
        ok, image = cap.read()
        assert ok
        writer.write(cv2.resize(image, size))
    writer.release()
    cap.release()
    return path


def with_frame_rate_header(path: Path, scale: int, rate: int) -> Path:
    """Rewrite an AVI's header to claim rate/scale frames a second (OpenCV refuses to write such a file)."""
    data = bytearray(path.read_bytes())
    avih, strh = data.index(b"avih"), data.index(b"strh")
    struct.pack_into("<I", data, avih + 8, max(1, min(2**32 - 1, round(1e6 * scale / max(rate, 1)))))
    struct.pack_into("<II", data, strh + 8 + 20, scale, rate)  # strh: fccType, fccHandler, flags, ..., scale, rate
    path.write_bytes(bytes(data))
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    import cv2

    folder = tmp_path_factory.mktemp("limits")
    made = {"6x6": video(folder / "six.avi", 30, (6, 6)), "one frame": video(folder / "one.avi", 1),
            "huge fps": with_frame_rate_header(video(folder / "huge_fps.avi", 90), 1, 1_000_000_000),
            "tiny fps": with_frame_rate_header(video(folder / "tiny_fps.avi", 90), 1_000_000, 1)}
    for name, expected in (("huge fps", 1e9), ("tiny fps", 1e-6)):  # the headers really say so
        cap = cv2.VideoCapture(str(made[name]))
        assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(expected), name
        cap.release()
    return made


@pytest.mark.slow  # the command line in a subprocess
@pytest.mark.parametrize("command", ["replay", "run", "calibrate"])
def test_a_6x6_video_is_one_line(tmp_path: Path, clips: dict[str, Path], command: str) -> None:
    args = ["replay", str(clips["6x6"])] if command == "replay" else [command, "--camera", str(clips["6x6"])]
    if command == "run":
        args += ["--notifier", "none", "--baseline", str(ROOT / "calibration" / "hunch_slow.json")]
    done = cli(*args, config=tmp_path)
    one_clear_line(done, "6x6 pictures: too small to see a person")  # was a cv2.error traceback


@pytest.mark.slow  # the command line in a subprocess
def test_a_one_frame_video(tmp_path: Path, clips: dict[str, Path]) -> None:
    one_clear_line(cli("replay", str(clips["one frame"]), config=tmp_path),
                   "the clip is shorter than the 2 s asked for calibration")
    done = cli("calibrate", "--camera", str(clips["one frame"]), config=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.splitlines()[-1].endswith("the clip is shorter than the 5 s asked for calibration")
    assert not (tmp_path / "baseline.json").exists()


@pytest.mark.slow  # the command line in a subprocess
@pytest.mark.parametrize("which", ["huge fps", "tiny fps"])
def test_an_absurd_frame_rate_header_falls_back_to_30(tmp_path: Path, clips: dict[str, Path], which: str) -> None:
    done = cli("replay", str(clips[which]), "--json", config=tmp_path)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["fps"] == 30 and doc["frames"] == 90 and doc["samples"][-1]["t"] == pytest.approx(89 / 30, abs=0.001)


@pytest.mark.slow  # the command line in a subprocess
def test_a_missing_clip_as_camera_is_said_at_once(tmp_path: Path) -> None:
    started = time.monotonic()
    done = cli("run", "--camera", str(tmp_path / "missing.mp4"), "--notifier", "none", config=tmp_path)
    one_clear_line(done, "missing.mp4: no such video file")  # and no "Watching" before it
    assert time.monotonic() - started < 10  # before the pose model loads (each run here is ~0.5 s)


@pytest.mark.slow  # the command line in a subprocess
def test_desktop_notifier_without_dbus_is_refused_before_calibrating(hunch_camera: Path, tmp_path: Path) -> None:
    env = {**os.environ, "POSTURE_WATCH_CONFIG_DIR": str(tmp_path),
           "DBUS_SESSION_BUS_ADDRESS": f"unix:path={tmp_path / 'no-bus'}"}
    done = subprocess.run([sys.executable, "-m", "posture_watch", "run", "--camera", str(hunch_camera), "--notifier",
                           "desktop"], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    one_clear_line(done, "desktop notifications unavailable: cannot connect to the D-Bus session bus")
    assert not (tmp_path / "baseline.json").exists()  # no calibration happened


@pytest.mark.slow  # the command line in a subprocess
def test_matplotlib_says_nothing_in_a_home_it_cannot_write(tmp_path: Path) -> None:
    """MediaPipe imports Matplotlib, which warned in two lines on every command when it could not make its
    folders (a read-only home). Here its folders cannot be made because ~/.config and ~/.cache are files."""
    home = tmp_path / "home"
    home.mkdir()
    for name in (".config", ".cache"):
        (home / name).write_text("")
    env = {k: v for k, v in os.environ.items() if k not in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "MPLCONFIGDIR")}
    env |= {"HOME": str(home), "POSTURE_WATCH_CONFIG_DIR": str(tmp_path / "config")}
    control = subprocess.run([sys.executable, "-c", "import mediapipe.tasks.python.vision"], env=env,
                             capture_output=True, text=True, timeout=60)
    assert "Matplotlib created a temporary cache directory" in control.stderr  # the setup does provoke it
    done = subprocess.run([sys.executable, "-m", "posture_watch", "replay", str(HUNCH), "--json"], env=env,
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert json.loads(done.stdout)["frames"] == 300


@pytest.mark.slow  # the command line in a subprocess
def test_the_suite_skips_what_needs_debian_packages(tmp_path: Path) -> None:
    """README's test command on a machine without dbus, libnotify-bin, xvfb and dunst: skips with a reason."""
    env = {**os.environ, "PATH": str(Path(sys.executable).parent)}  # the venv only: no Debian tools
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
                           "tests/test_notify.py"], env=env, capture_output=True, text=True, cwd=ROOT, timeout=300)
    summary = done.stdout.strip().splitlines()[-1]
    assert done.returncode == 0 and re.fullmatch(r"\d+ passed, \d+ skipped in .*", summary), done.stdout[-3000:]
    assert "needs the Debian package dbus (dbus-daemon)" in done.stdout


@pytest.mark.slow  # the command line in a subprocess
@pytest.mark.parametrize(("args", "text"), [
    (["replay", "{fifo}"], "fifo is not a video file"),
    (["run", "--camera", "{fifo}"], "fifo is not a video file"),
    (["calibrate", "--camera", "/dev/zero"], "/dev/zero is not a video file"),
    (["run", "--camera", "{tmp}"], "is not a video file"),
    (["replay", str(HUNCH), "--baseline", "{fifo}"], "fifo is not a regular file"),
    (["replay", str(HUNCH), "--model", "/dev/zero"], "/dev/zero is not a regular file"),
    (["run", "--baseline", "/dev/zero"], "/dev/zero is not a regular file"),
])
def test_pipes_devices_and_folders_are_one_line_never_a_hang(tmp_path: Path, args: list[str], text: str) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # opening it for reading waited for a writer forever, and no signal could end that wait
    done = cli(*(a.format(fifo=fifo, tmp=tmp_path) for a in args), config=tmp_path, timeout=60)
    one_clear_line(done, text)


@pytest.mark.slow  # the command line in a subprocess
def test_doctor_reports_a_pipe_as_camera_and_goes_on(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    done = cli("doctor", "--camera", str(fifo), config=tmp_path, timeout=60)
    assert done.returncode == 1 and len(done.stdout.splitlines()) == 7, done
    assert "PROBLEM  camera: " in done.stdout and "fifo is not a video file" in done.stdout
