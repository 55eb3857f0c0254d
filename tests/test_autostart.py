"""Autostart at login: the real command line writes real entries; the XDG entry is checked by Debian's
desktop-file-validate and started by GLib's own launcher (`gio launch`, as a desktop session would), the macOS
LaunchAgent is written for a home folder here and its command run."""

from __future__ import annotations

import os
import plistlib
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from posture_watch import control
from posture_watch.autostart import (
    LaunchAgent,
    XdgAutostart,
    check_start_command,
    describe,
    desktop_entry,
    parse_exec,
    start_command,
    windows_run_value,
)
from posture_watch.doctor import check_autostart
from posture_watch.errors import PostureWatchError

ROOT = Path(__file__).resolve().parent.parent
HUNCH = ROOT / "samples" / "hunch_slow.mp4"
BASELINE = ROOT / "calibration" / "hunch_slow.json"


def posture_watch(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "posture_watch", *args], capture_output=True, text=True, env=env,
                          timeout=120, cwd=ROOT)


def validate(entry: Path) -> None:
    if not shutil.which("desktop-file-validate"):
        pytest.skip("needs desktop-file-validate (Debian package desktop-file-utils)")
    done = subprocess.run(["desktop-file-validate", str(entry)], capture_output=True, text=True, timeout=30)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", ""), done.stdout + done.stderr


@pytest.fixture
def xdg_env(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "xdg"), "POSTURE_WATCH_CONFIG_DIR": str(tmp_path / "pw")}
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    return env


@pytest.mark.slow
def test_enable_status_disable(xdg_env: dict[str, str], tmp_path: Path) -> None:
    entry = tmp_path / "xdg" / "autostart" / "posture-watch.desktop"
    off = posture_watch("autostart", "status", env=xdg_env)
    assert (off.returncode, off.stdout) == (0, "off (`posture-watch autostart enable` starts posture-watch at "
                                               "login)\n")
    assert not entry.exists()  # asking is not enabling

    on = posture_watch("autostart", "enable", env=xdg_env)
    command = f"{sys.executable} -m posture_watch run"
    assert (on.returncode, on.stdout) == (0, f"on: {entry} starts `{command}` at login\n"), on.stderr
    assert "there is no baseline yet" in on.stderr
    validate(entry)
    assert "Exec=" + command in entry.read_text().splitlines()
    assert posture_watch("autostart", "status", env=xdg_env).stdout == f"on: {entry} starts `{command}` at login\n"

    again = posture_watch("autostart", "enable", env=xdg_env)  # idempotent: rewrites the same entry
    assert again.returncode == 0 and entry.exists()
    assert posture_watch("autostart", "disable", env=xdg_env).stdout == f"off: {entry} removed\n"
    assert not entry.exists()
    assert posture_watch("autostart", "disable", env=xdg_env).stdout == "off (it was not on)\n"


@pytest.mark.slow
def test_the_login_entry_starts_a_working_watcher(hunch_camera: Path, xdg_env: dict[str, str], tmp_path: Path) -> None:
    """The entry `enable` wrote, started by GLib's desktop-entry launcher: a real watcher answers on its socket."""
    if not shutil.which("gio"):
        pytest.skip("needs gio (Debian package libglib2.0-bin)")
    config, runtime = Path(xdg_env["POSTURE_WATCH_CONFIG_DIR"]), tmp_path / "run"
    config.mkdir()
    shutil.copy(BASELINE, config / "baseline.json")
    (config / "config.toml").write_text(f'schema = 1\n[watch]\ncamera = "{hunch_camera}"\nnotifier = "none"\n')
    env = {**xdg_env, "POSTURE_WATCH_RUNTIME_DIR": str(runtime)}
    assert posture_watch("autostart", "enable", env=env).returncode == 0
    entry = tmp_path / "xdg" / "autostart" / "posture-watch.desktop"
    with (tmp_path / "launched.log").open("w") as log:
        launched = subprocess.run(["gio", "launch", str(entry)], stdout=log, stderr=log, env=env, cwd="/",
                                  timeout=30)
    assert launched.returncode == 0
    pid = None
    deadline = time.monotonic() + 90
    while pid is None and time.monotonic() < deadline:
        try:
            reply = control.request("status", folder=runtime)
            pid = reply["status"]["pid"] if reply["status"]["phase"] == "watching" else None
        except PostureWatchError:
            time.sleep(0.2)
    assert pid is not None, (tmp_path / "launched.log").read_text()
    try:
        assert control.request("quit", folder=runtime)["message"] == "stopping"
        deadline = time.monotonic() + 20
        while (Path(f"/proc/{pid}").exists() and time.monotonic() < deadline
               and "zombie" not in Path(f"/proc/{pid}/status").read_text()):
            time.sleep(0.1)
    finally:
        if Path(f"/proc/{pid}").exists():
            os.kill(pid, 9)
    text = (tmp_path / "launched.log").read_text()
    assert f"Watching ({hunch_camera})" in text and "Stopped (posture-watch quit)." in text, text


@pytest.mark.slow
def test_awkward_paths_are_quoted_for_the_desktop(tmp_path: Path) -> None:
    """A Python in a folder with a space and a $ in its name, and quotes in its own: the entry validates, reads back
    the same, and GLib's launcher starts exactly that program. (Not a %: GLib looks for the program before it
    undoes the %% the spec asks for, so it would not find it; test_exec_values_round_trip covers the quoting.)"""
    folder = tmp_path / "my venv $HOME"
    folder.mkdir()
    python = folder / "py\"thon's"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    argv = [str(python), "-m", "posture_watch", "--version"]
    autostart = XdgAutostart(tmp_path / "autostart")
    autostart.enable(argv)
    validate(autostart.path)
    entry = autostart.read()
    assert entry is not None and entry.command == argv and not entry.switched_off
    if shutil.which("gio"):
        # The program inherits gio's stdout: reading it to the end waits for the program too.
        done = subprocess.run(["gio", "launch", str(autostart.path)], capture_output=True, text=True, cwd=ROOT,
                              timeout=60)
        assert done.returncode == 0 and done.stdout.startswith("posture-watch "), done


def test_a_broken_or_switched_off_entry_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    autostart = XdgAutostart(tmp_path / "autostart")
    autostart.enable(["/old/venv/bin/python", "-m", "posture_watch", "run"])
    check = check_autostart()
    assert not check.ok and check.label == "autostart"
    assert check.detail.endswith("starts /old/venv/bin/python, which no longer exists: `posture-watch autostart "
                                 "enable` points it at this install")
    autostart.path.write_text(desktop_entry(start_command()) + "Hidden=true\n")
    fine, text = describe(autostart)
    assert fine and text.startswith("off in your desktop's startup settings")
    autostart.disable()
    assert check_autostart().ok and check_autostart().detail.startswith("off")


@pytest.mark.slow
def test_enable_refuses_a_python_that_cannot_start_posture_watch() -> None:
    other = shutil.which("python3", path="/usr/bin:/bin")
    if other is None or subprocess.run([other, "-c", "import posture_watch"], capture_output=True,
                                       cwd="/").returncode == 0:
        pytest.skip("needs a system Python without posture-watch")
    with pytest.raises(PostureWatchError, match="does not start posture-watch from your home folder"):
        check_start_command([other, "-m", "posture_watch", "run"])
    check_start_command(start_command())  # this install does start


@pytest.mark.slow
def test_the_macos_launch_agent(tmp_path: Path) -> None:
    agent = LaunchAgent(tmp_path)
    agent.enable(start_command())
    path = tmp_path / "Library" / "LaunchAgents" / "posture-watch.plist"
    with path.open("rb") as fh:
        document = plistlib.load(fh)
    assert document == {"Label": "posture-watch", "ProgramArguments": start_command(), "RunAtLoad": True,
                        "ProcessType": "Interactive", "LimitLoadToSessionType": "Aqua",
                        "StandardErrorPath": str(tmp_path / "Library" / "Logs" / "posture-watch.log")}
    entry = agent.read()
    assert entry is not None and entry.command == start_command()
    done = subprocess.run([*document["ProgramArguments"], "--help"], capture_output=True, text=True, cwd=tmp_path,
                          timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("usage: posture-watch run"), done.stderr
    assert agent.disable() and not path.exists() and agent.read() is None


def test_the_windows_run_value_quotes_the_program() -> None:
    argv = [r"C:\Program Files\Python311\pythonw.exe", "-m", "posture_watch", "run"]
    assert windows_run_value(argv) == r'"C:\Program Files\Python311\pythonw.exe" -m posture_watch run'


def test_exec_values_round_trip() -> None:
    from posture_watch.autostart import exec_value

    for argv in (["/usr/bin/python3", "-m", "posture_watch", "run"], ["/a b/c", "100%", "$x", "`y`", "back\\slash",
                                                                     "'q'", '"dq"', "", "tab\there"]):
        assert parse_exec(exec_value(argv)) == argv
