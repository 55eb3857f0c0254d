"""Soak: the real watch loop (session, pose model, watcher, notifier thread) for simulated hours, across a
midnight, with pauses and a recalibration; no memory, file descriptor, thread or container growth.

The default run soaks one simulated hour (about 20 s); the full eight hours (about 5 min here) is marked slow and
runs `benchmarks/soak.py`, whose figures are in the README."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from benchmarks.soak import MAX_CONTAINER, soak

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow  # a simulated hour of the real loop, ~15 s
def test_an_hour_across_midnight_leaks_nothing() -> None:
    start = datetime.now().astimezone().replace(hour=23, minute=30, second=0, microsecond=0)
    report = soak(1.0, start, interval=3.0, warmup_hours=0.25, checkpoint_s=300, pause_every=600,
                  recalibrate_every=25 * 60)
    assert report.samples > 800 and report.alerts >= 1, report  # the loop really ran, through slouches
    assert report.pauses >= 5 and report.camera_opens >= report.pauses  # every pause closed and reopened it
    assert report.recalibrations == 2
    assert report.fd_growth == 0 and report.thread_growth == 0, report.checkpoints
    assert report.rss_growth_mb < 10, report.checkpoints
    assert not report.over_bound and max(report.largest.values()) <= MAX_CONTAINER, report.largest
    # Today's tally started afresh at midnight and counts the half hour since, in every state seen.
    assert report.today["day"] == str((start + timedelta(days=1)).date())
    assert sum(report.today["seconds"].values()) == pytest.approx(30 * 60, abs=60), report.today


@pytest.mark.soak
@pytest.mark.slow  # also slow: `-m "not slow"` on the command line replaces the `-m 'not soak'` of addopts
def test_eight_hours(tmp_path: Path) -> None:
    out = tmp_path / "soak.json"
    done = subprocess.run([sys.executable, "benchmarks/soak.py", "--hours", "8", "--json", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=3600)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(out.read_text())
    assert report["rss_growth_mb"] < 10 and report["fd_growth"] == 0 and report["thread_growth"] == 0
    assert not report["over_bound"] and report["samples"] > 15000
