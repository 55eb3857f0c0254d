"""Nothing leaves the machine: the network guard (posture_watch/offline.py), and the proof that it holds.

The fast test checks the guard itself in a fresh subprocess (a seccomp filter cannot be removed, so never in
pytest's own process). The slow ones run the real commands in a private network namespace where every name
resolves to a listener (tests/netns_trap.py) and fail on anything that reaches it or that strace sees aimed at a
non-loopback address. The positive control runs the same replay with the guard left out and must be caught: that
is what shows the trap would notice MediaPipe's usage upload (upstream issue 6291) if the guard ever broke.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from posture_watch.offline import PROXY_VARIABLES, UNREACHABLE_PROXY, unavailable_reason

ROOT = Path(__file__).resolve().parent.parent
HUNCH = ROOT / "samples" / "hunch_slow.mp4"
HUNCH_BASELINE = ROOT / "calibration" / "hunch_slow.json"
TRAP = ROOT / "tests" / "netns_trap.py"
# Test-only: the real command line with the guard replaced by one that does nothing, for the positive control.
# posture-watch itself has no way to switch the guard off.
UNGUARDED = ("import sys, posture_watch.offline as offline; "
             "offline.block_network = lambda: offline.NetworkGuard(active=False); "
             "from posture_watch.cli import main; sys.exit(main())")
# How a native log line starts: glog/absl ("W0000 00:00:1764... file.cc:12] ...") or LiteRT ("INFO: [env.cc:36] ...").
NATIVE_LOG_LINE = re.compile(r"([IWEF]\d{4} |INFO: |WARNING: )")

# Run in a fresh interpreter: installs the guard with a thread already running, then tries every way out.
GUARD_PROBE = """
import ctypes, json, os, socket, subprocess, sys, threading
from posture_watch.offline import block_network, this_abi

def attempt(family, kind=socket.SOCK_STREAM):
    try:
        socket.socket(family, kind).close()
    except OSError as err:
        return err.errno
    return 0

started, release, early = threading.Event(), threading.Event(), []
def early_thread():
    started.set()
    release.wait()
    early.append(attempt(socket.AF_INET6))
thread = threading.Thread(target=early_thread)
thread.start()
started.wait()
before = attempt(socket.AF_INET)
guard = block_network()
release.set()
thread.join()
late = []
later = threading.Thread(target=lambda: late.append(attempt(socket.AF_INET, socket.SOCK_DGRAM)))
later.start()
later.join()
left, right = socket.socketpair()
left.sendall(b"ok")
libc = ctypes.CDLL(None, use_errno=True)
def raw_errno(number, *args):
    ctypes.set_errno(0)
    return ctypes.get_errno() if libc.syscall(number, *args) < 0 else 0
abi = this_abi()
child = subprocess.run([sys.executable, "-c", "import socket; socket.socket()"], capture_output=True, text=True)
print(json.dumps({
    "active": guard.active, "warning": guard.warning, "before": before,
    "inet": attempt(socket.AF_INET), "inet6": attempt(socket.AF_INET6),
    "udp": attempt(socket.AF_INET, socket.SOCK_DGRAM),
    "packet": attempt(socket.AF_PACKET, socket.SOCK_RAW), "netlink": attempt(socket.AF_NETLINK, socket.SOCK_RAW),
    "unix": right.recv(2).decode(), "early_thread": early, "late_thread": late,
    "io_uring_setup": raw_errno(abi.nr_io_uring_setup, 1, None),
    "x32_socket": raw_errno(0x40000000 | 41, socket.AF_INET, socket.SOCK_STREAM, 0),
    "child": child.stderr.strip().splitlines()[-1:],
    "localhost": socket.getaddrinfo("localhost", 80)[0][4][0],
    "https_proxy": os.environ.get("https_proxy"),
}))
"""


@pytest.fixture(scope="module")
def guard_available() -> None:
    reason = unavailable_reason()
    if reason:
        pytest.skip(f"no network guard on this system: {reason}")


def test_the_guard_refuses_internet_sockets_and_keeps_local_ones(guard_available: None) -> None:
    done = subprocess.run([sys.executable, "-c", GUARD_PROBE], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["before"] == 0, "an internet socket could not be opened even before the guard: the test proves nothing"
    assert seen["active"] and seen["warning"] is None, seen
    refused = {key: seen[key] for key in ("inet", "inet6", "udp", "packet", "io_uring_setup", "x32_socket")}
    assert refused == dict.fromkeys(refused, errno.EPERM), refused
    assert seen["early_thread"] == [errno.EPERM], "a thread that was running before the filter went in escaped it"
    assert seen["late_thread"] == [errno.EPERM]
    assert seen["child"] and "PermissionError" in seen["child"][0], "child processes must inherit the filter"
    assert seen["unix"] == "ok" and seen["netlink"] == 0, "local sockets (D-Bus, netlink) must keep working"
    assert seen["localhost"] in ("127.0.0.1", "::1")
    assert seen["https_proxy"] == UNREACHABLE_PROXY, "MediaPipe's HTTP client must be diverted to loopback too"


# ---- the commands in a private network where every name is a trap ------------------------------------------


@pytest.fixture(scope="module")
def namespace(guard_available: None) -> list[str]:
    """The unshare prefix that gives a child its own network and mounts, or a skip saying why there is none."""
    missing = [tool for tool in ("unshare", "ip", "mount") if not shutil.which(tool)]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (Debian: util-linux, iproute2, mount)")
    prefix = ["unshare", "--net", "--mount"] if os.geteuid() == 0 else \
        ["unshare", "--user", "--map-root-user", "--net", "--mount"]
    probe = subprocess.run([*prefix, "ip", "link", "set", "lo", "up"], capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        pytest.skip(f"no private network namespace here: {(probe.stderr.strip().splitlines() or ['?'])[-1]}")
    return prefix


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 5 s of the hunch clip, so that `run` with it as the camera ends (and closes the model) soon."""
    import cv2

    source = cv2.VideoCapture(str(HUNCH))
    fps = source.get(cv2.CAP_PROP_FPS)
    path = tmp_path_factory.mktemp("clips") / "hunch_5s.avi"
    writer = None
    for _ in range(int(5 * fps)):
        ok, frame = source.read()
        assert ok
        if writer is None:
            writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (frame.shape[1], frame.shape[0]))
        writer.write(frame)
    assert writer is not None
    writer.release()
    source.release()
    return path


def in_trap(prefix: list[str], commands: list[list[str]], config: Path) -> dict:
    env = {**os.environ, "POSTURE_WATCH_CONFIG_DIR": str(config)}
    for name in ("DBUS_SESSION_BUS_ADDRESS", *PROXY_VARIABLES, "no_proxy", "NO_PROXY"):  # as on a plain desktop
        env.pop(name, None)
    spec = json.dumps([{"argv": argv, "timeout": 120} for argv in commands])
    done = subprocess.run([*prefix, sys.executable, str(TRAP), spec], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["trap_works"], "the namespace's own test connection to play.googleapis.com was not caught"
    return report


@pytest.mark.slow
def test_no_command_reaches_the_network(hunch_camera: Path, namespace: list[str], short_clip: Path,
                                        tmp_path: Path) -> None:
    """replay, calibrate, run and doctor each load the pose model; MediaPipe's logger tries to upload when a
    model is closed (and a minute into a longer run), and must get nowhere."""
    pw = [sys.executable, "-m", "posture_watch"]
    report = in_trap(namespace, [
        [*pw, "replay", str(HUNCH), "--json"],
        [*pw, "calibrate", "--camera", str(hunch_camera), "--seconds", "2", "--output",
         str(tmp_path / "baseline.json")],
        [*pw, "run", "--camera", str(short_clip), "--baseline", str(HUNCH_BASELINE), "--notifier", "none"],
        [*pw, "doctor", "--camera", str(short_clip)],
    ], tmp_path)
    assert report["caught"] == [], "reached the listener: " + "; ".join(report["caught"])
    assert report["traced"] == [], "strace saw: " + "; ".join(report["traced"])
    *uses_the_model, doctor = report["commands"]
    for command in uses_the_model:
        assert command["returncode"] == 0, command
    assert doctor["returncode"] in (0, 1), doctor  # 1: no desktop in the namespace, which its checks report
    for command in report["commands"]:
        assert "Traceback" not in command["stderr"], command
        chatter = [line for line in command["stderr"].splitlines() if NATIVE_LOG_LINE.match(line)]
        assert not chatter, f"MediaPipe's log lines reached the terminal in {command['argv'][3:]}: {chatter}"


@pytest.mark.slow
def test_the_proxy_diversion_alone_keeps_mediapipe_from_looking_the_name_up(namespace: list[str],
                                                                          tmp_path: Path) -> None:
    """Without the filter (as on macOS and Windows), only pointing MediaPipe at a proxy on loopback: no lookup,
    no connection leaves. This is the layer that matters where a local service resolves names for us."""
    load_and_close = ("from posture_watch.offline import divert_http; divert_http(); "
                      "from posture_watch.pose import PoseEstimator; PoseEstimator().close()")
    report = in_trap(namespace, [[sys.executable, "-c", load_and_close]], tmp_path)
    assert report["commands"][0]["returncode"] == 0, report["commands"]
    assert report["caught"] == [], "reached the listener: " + "; ".join(report["caught"])
    assert report["traced"] == [], "strace saw: " + "; ".join(report["traced"])


@pytest.mark.slow
def test_the_trap_catches_mediapipe_calling_home_without_the_guard(namespace: list[str], tmp_path: Path) -> None:
    """The positive control: the same replay with the guard (filter and proxy diversion) left out is caught by
    every detector."""
    report = in_trap(namespace, [[sys.executable, "-c", UNGUARDED, "replay", str(HUNCH), "--json"]], tmp_path)
    assert report["commands"][0]["returncode"] == 0, report["commands"]
    caught = "; ".join(report["caught"])
    hint = " (if MediaPipe has stopped calling home, this control needs another bait)"
    assert "a DNS query for 'play.googleapis.com'" in caught, caught + hint
    assert ":443, first bytes 1603" in caught, caught + hint  # a TLS handshake
    if report["strace"]:
        assert any(" port 443: " in call for call in report["traced"]), report["traced"]
