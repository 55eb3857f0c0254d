"""A day made of replayed sample clips, recorded into one history with `replay --record`: the history's minutes
and the report's figures must match what the replays themselves reported (their --json samples and summaries),
and the HTML report must show them in a real headless Chromium."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from posture_watch.history import HistoryFile
from posture_watch.summary import day_summary, duration_text, fault_lines

pytestmark = pytest.mark.slow  # the day is replayed by the command line in subprocesses; a real Chromium

ROOT = Path(__file__).resolve().parent.parent
DAY = date(2026, 3, 2)
# Clips at consecutive start times, each in an hour of its own (one starts mid-minute): a short working day.
CLIPS = (("hunch_slow", "09:10:00"), ("leave_return", "10:20:00"), ("hunch_repeat", "11:30:30"),
         ("glances", "14:05:45"))
STATES = ("upright", "slouching", "away", "uncertain")


@dataclass(frozen=True)
class Replayed:
    db: Path
    folder: Path
    starts: list[datetime]
    docs: list[dict[str, Any]]  # each replay's own --json report


def env_for(data: Path) -> dict[str, str]:
    env = {**os.environ, "POSTURE_WATCH_DATA_DIR": str(data), "POSTURE_WATCH_CONFIG_DIR": str(data / "config")}
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    return env


def cli(*args: str, data: Path, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "posture_watch", *args], capture_output=True, text=True,
                          env=kw.pop("env", env_for(data)), cwd=ROOT, timeout=180, stdin=subprocess.DEVNULL, **kw)


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Replayed:
    """The four replays run at once, into the same database (as two watchers would)."""
    folder = tmp_path_factory.mktemp("day")
    db = folder / "day.sqlite3"
    starts = [datetime.fromisoformat(f"{DAY}T{at}").astimezone() for _, at in CLIPS]
    procs = [subprocess.Popen([sys.executable, "-m", "posture_watch", "replay", f"samples/{clip}.mp4", "--alert-after",
                               "3", "--cooldown", "10", "--json", "--record", str(db), "--start", f"{DAY}T{at}"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env_for(folder))
             for clip, at in CLIPS]
    docs = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0 and err == "", err
        docs.append(json.loads(out))
    return Replayed(db, folder, starts, docs)


def minute_of(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


def expected_minutes(day: Replayed) -> dict[datetime, dict[str, Any]]:
    """What each minute should hold, worked out from the replays' own samples: the time between two samples
    belongs to the first one's state; angles are medians of the samples taken in the minute."""
    minutes: dict[datetime, dict[str, Any]] = defaultdict(lambda: {**dict.fromkeys(STATES, 0.0), "necks": [],
                                                                   "alerts": 0})
    for start, doc in zip(day.starts, day.docs, strict=True):
        for here, after in itertools.pairwise(doc["samples"]):
            at, end = start + timedelta(seconds=here["t"]), start + timedelta(seconds=after["t"])
            while at < end:
                piece = min(end, minute_of(at) + timedelta(minutes=1))
                minutes[minute_of(at)][here["state"]] += (piece - at).total_seconds()
                at = piece
        for s in doc["samples"]:
            if s["neck_angle_deg"] is not None:
                minutes[minute_of(start + timedelta(seconds=s["t"]))]["necks"].append(s["neck_angle_deg"])
        for alert in doc["alerts"]:
            minutes[minute_of(start + timedelta(seconds=alert["t"]))]["alerts"] += 1
    return minutes


def summary_seconds(doc: dict[str, Any]) -> dict[str, float]:
    """The replay's own seconds per state, less the 1/fps it gives its last sample (the history counts time
    between samples only: it cannot know how long the last one lasted)."""
    seconds = dict(doc["summary"]["seconds_by_state"])
    seconds[doc["samples"][-1]["state"]] -= 1 / doc["fps"]
    return seconds


def longest_slouch_s(day: Replayed) -> float:
    best = 0.0
    for doc in day.docs:
        start = None
        for s in doc["samples"]:
            if s["state"] == "slouching" and start is None:
                start = s["t"]
            elif s["state"] != "slouching" and start is not None:
                best, start = max(best, s["t"] - start), None
        if start is not None:
            best = max(best, doc["samples"][-1]["t"] - start)
    return best


def test_every_minute_matches_the_replays_samples(day: Replayed) -> None:
    expected = expected_minutes(day)
    with HistoryFile(day.db) as history:
        minutes = history.minutes(DAY, DAY)
    assert [m.start for m in minutes] == sorted(expected)
    for m in minutes:
        want = expected[m.start]
        for state in STATES:
            assert getattr(m, f"{state}_s") == pytest.approx(want[state], abs=0.01), (m.start, state)
        if want["necks"]:
            assert m.neck_deg == pytest.approx(statistics.median(want["necks"]), abs=0.06), m.start
        else:
            assert m.neck_deg is None
        assert m.alerts == want["alerts"], m.start


def test_each_clips_totals_match_its_replay_summary(day: Replayed) -> None:
    with HistoryFile(day.db) as history:
        minutes = history.minutes(DAY, DAY)
        moments = history.moments(DAY, DAY)
    assert sum(doc["summary"]["alerts"] for doc in day.docs) >= 3, "the day should hold a few alerts"
    for start, doc in zip(day.starts, day.docs, strict=True):
        hour = [m for m in minutes if m.start.hour == start.hour]
        for state, seconds in summary_seconds(doc).items():
            assert sum(getattr(m, f"{state}_s") for m in hour) == pytest.approx(seconds, abs=0.02), (doc["video"],
                                                                                                   state)
        assert sum(m.alerts for m in hour) == doc["summary"]["alerts"]
        alerts = [m for m in moments if m.kind == "alert" and m.at.hour == start.hour]
        assert [(a.faults, a.title, a.detail) for a in alerts] == [(tuple(x["faults"]), x["title"], x["body"])
                                                                   for x in doc["alerts"]]


def test_report_in_words_matches_the_replays(day: Replayed) -> None:
    with HistoryFile(day.db) as history:
        summary = day_summary(history, DAY)
    totals = {state: sum(summary_seconds(doc)[state] for doc in day.docs) for state in STATES}
    assert summary.seconds == pytest.approx(totals, abs=0.05)
    assert summary.upright_percent == pytest.approx(100 * totals["upright"] / (totals["upright"]
                                                                              + totals["slouching"]), abs=0.01)
    assert summary.longest_slouch is not None
    start, end = summary.longest_slouch
    assert (end - start).total_seconds() == pytest.approx(longest_slouch_s(day), abs=0.01)
    alerts = sum(doc["summary"]["alerts"] for doc in day.docs)
    first_faults = [a["faults"][0] for doc in day.docs for a in doc["alerts"]]
    assert summary.alerts == alerts and summary.fault == max(set(first_faults), key=first_faults.count)

    done = cli("report", "--history", str(day.db), "--day", str(DAY), data=day.folder)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    text = done.stdout
    assert text.startswith("Posture on Monday 2 March 2026 (09:10 to 14:07)")
    assert f"upright        {duration_text(totals['upright'])} ({summary.upright_percent:.0f} % of the measured" in text
    assert f"longest slouch {duration_text(longest_slouch_s(day))} (from {start:%H:%M})" in text
    assert f"alerts {alerts}, breaks taken 0" in text
    fault = fault_lines(summary)
    assert fault is not None and f"most common: {fault[0]}\n    {fault[1]}\n" in text


def test_png_report_and_a_day_without_data(day: Replayed, tmp_path: Path) -> None:
    import cv2

    png = tmp_path / "day.png"
    done = cli("report", "--history", str(day.db), "--day", str(DAY), "--out", str(png), data=day.folder)
    assert done.returncode == 0, done.stderr
    image = cv2.imread(str(png))
    assert image is not None and image.shape[0] > 900 and image.std() > 20  # three plots, not a blank page

    empty = tmp_path / "empty.html"
    done = cli("report", "--history", str(day.db), "--day", str(DAY + timedelta(days=1)), "--out", str(empty),
               data=day.folder)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == f"posture-watch: no posture recorded on {DAY + timedelta(days=1)} (the history has {DAY} " \
        f"to {DAY})\n"
    assert not empty.exists()

    done = cli("report", "--history", str(day.db), "--day", str(DAY), "--out", str(tmp_path / "day.pdf"),
               data=day.folder)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == f"posture-watch: {tmp_path / 'day.pdf'}: the report is written as .html or .png\n"


def test_open_writes_the_page_beside_the_history_and_hands_it_to_the_browser(day: Replayed, tmp_path: Path) -> None:
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.sh"
    browser.write_text(f'#!/bin/sh\necho "$1" > "{opened}"\n')
    browser.chmod(0o755)
    env = {**env_for(tmp_path), "BROWSER": str(browser)}
    done = cli("report", "--history", str(day.db), "--day", str(DAY), "--open", data=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    page = tmp_path / "reports" / f"posture-{DAY}.html"
    assert opened.read_text().strip() == page.as_uri()
    assert page.stat().st_mode & 0o777 == 0o600


def chromium() -> Any:
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        pytest.skip("needs the Debian packages chromium and chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or ""
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1200,2400"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))


def test_html_report_in_headless_chromium(day: Replayed, tmp_path: Path) -> None:
    import cv2
    import numpy as np

    page, week = tmp_path / "day.html", tmp_path / "week.html"
    for args in (("--day", str(DAY), "--out", str(page)), ("--week", str(DAY + timedelta(days=2)), "--out",
                                                              str(week))):
        done = cli("report", "--history", str(day.db), *args, data=day.folder)
        assert done.returncode == 0, done.stderr
    html = page.read_text()
    assert "http://" not in html and "https://" not in html and "<script" not in html  # readable offline
    with HistoryFile(day.db) as history:
        summary = day_summary(history, DAY)

    driver = chromium()
    try:
        driver.get(page.as_uri())
        assert [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] == []
        images = driver.execute_script(
            "return [...document.images].map(i => ({ok: i.complete && i.naturalWidth > 0, alt: i.alt}))")
        assert len(images) == 3 and all(i["ok"] for i in images)
        assert all(len(i["alt"]) > 40 for i in images)
        assert "alert" in images[0]["alt"] and "per hour" in images[1]["alt"] and "Neck angle" in images[2]["alt"]
        shown = driver.execute_script(
            "return Object.fromEntries([...document.querySelectorAll('#summary dd')].map("
            "d => [d.dataset.key, Number(d.dataset.value)]))")
        for state in STATES:
            assert shown[f"{state}_s"] == pytest.approx(summary.seconds[state], abs=0.051)
        assert shown["alerts"] == summary.alerts and shown["breaks"] == 0
        hours = driver.execute_script(
            "return [...document.querySelectorAll('#hours tr[data-hour]')].map("
            "r => [Number(r.dataset.hour), Number(r.cells[3].dataset.value)])")
        expected_hours = []
        for start, doc in zip(day.starts, day.docs, strict=True):
            seconds = summary_seconds(doc)
            if seconds["upright"] + seconds["slouching"] > 0:
                expected_hours.append([start.hour, 100 * seconds["upright"] / (seconds["upright"]
                                                                             + seconds["slouching"])])
        assert [h for h, _ in hours] == [h for h, _ in expected_hours]
        for (_, shown_percent), (_, percent) in zip(hours, expected_hours, strict=True):
            assert shown_percent == pytest.approx(percent, abs=0.06)
        screenshot = np.frombuffer(driver.get_screenshot_as_png(), np.uint8)
        picture = cv2.imdecode(screenshot, cv2.IMREAD_COLOR)
        background = np.all(np.abs(picture.astype(int) - picture[5, 5].astype(int)) < 8, axis=2)
        assert picture.std() > 10 and background.mean() < 0.95  # text and plots, not an empty page

        driver.get(week.as_uri())
        assert [e for e in driver.get_log("browser") if e["level"] == "SEVERE"] == []
        rows = driver.execute_script("return [...document.querySelectorAll('#days tr[data-day]')].map("
                                     "r => [r.dataset.day, r.cells[1].textContent])")
        assert len(rows) == 7 and rows[4] == [str(DAY), f"{summary.upright_percent:.0f} %"]
        assert all(text == "no data" for day_, text in rows if day_ != str(DAY))
    finally:
        driver.quit()
