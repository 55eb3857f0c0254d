"""Make the README's pictures: a report of a demo day and the tray menu. Nothing here is a test.

    python docs/screenshots.py

The demo day is six "sittings" (sample clips of the same person joined end to end) replayed into a history with
`posture-watch replay --record --start`, then `posture-watch report` renders it and headless Chromium takes the
screenshot. The tray menu is a real watcher's icon in trayer (an X system tray) on Xvfb, clicked with xdotool.
Needs the Debian packages chromium, chromium-driver, xvfb, trayer, xdotool and imagemagick.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
DAY = "2026-03-02"
SITTINGS = (
    ("09:02", ("hunch_slow", "talk_nod_fidget", "hunch_repeat", "glances", "forward_head", "lean_in_read")),
    ("09:40", ("glances", "leave_return", "mug", "shrug", "talk_nod_fidget", "side_lean")),
    ("10:25", ("hunch_repeat", "hunch_slow", "rounded_back", "hunch_fast_mild", "mug_hunch", "dim_hunch")),
    ("11:10", ("lean_in_read", "glances", "talk_nod_fidget", "mug", "leave_return")),
    ("13:35", ("forward_head", "hunch_repeat", "glances", "shrug")),
    ("15:05", ("talk_nod_fidget", "glances", "hunch_slow", "leave_return", "side_lean")),
)


def joined(clips: tuple[str, ...], out: Path) -> Path:
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"MJPG"), 15, (640, 480))
    for clip in clips:
        capture = cv2.VideoCapture(str(ROOT / "samples" / f"{clip}.mp4"))
        ok, frame = capture.read()
        while ok:
            writer.write(frame)
            ok, frame = capture.read()
        capture.release()
    writer.release()
    return out


def posture_watch(*args: str, **kw: object) -> None:
    subprocess.run([sys.executable, "-m", "posture_watch", *args], check=True, cwd=ROOT, **kw)  # type: ignore[call-overload]


def report_screenshot(folder: Path) -> None:
    db = folder / "demo.sqlite3"
    for at, clips in SITTINGS:
        clip = joined(clips, folder / f"sitting-{at.replace(':', '')}.avi")
        posture_watch("replay", str(clip), "--alert-after", "8", "--cooldown", "30", "--record", str(db), "--start",
                      f"{DAY}T{at}", stdout=subprocess.DEVNULL)
    page = folder / "report.html"
    posture_watch("report", "--history", str(db), "--day", DAY, "--out", str(page))
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1100,1500",
                 "--hide-scrollbars"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))
    try:
        driver.get(page.as_uri())
        driver.save_screenshot(str(folder / "report-full.png"))
    finally:
        driver.quit()
    subprocess.run(["convert", str(folder / "report-full.png"), "-resize", "70%", "-strip", "+dither", "-colors", "96",
                    str(DOCS / "report.png")], check=True)


def tray_screenshot(folder: Path) -> None:
    env = {**os.environ, "DISPLAY": ":77", "NO_AT_BRIDGE": "1", "POSTURE_WATCH_DATA_DIR": str(folder / "data")}
    script = f"""
Xvfb :77 -screen 0 520x230x24 -wr -nolisten tcp >/dev/null 2>&1 & X=$!; sleep 1
trayer --edge top --align right --widthtype request --height 28 --tint 0xeceff4 --transparent true --alpha 0 \
  >/dev/null 2>&1 & T=$!; sleep 1
"{sys.executable}" -m posture_watch run --camera samples/hunch_slow.mp4 --loop --baseline calibration/hunch_slow.json \
  --notifier none >/dev/null 2>&1 & P=$!; sleep 10
xdotool mousemove 506 14 click 1; sleep 1.5
import -window root -crop 220x215+300+0 -strip "{DOCS / 'tray-menu.png'}"
kill $P $T $X
"""
    subprocess.run(["dbus-run-session", f"--config-file={ROOT / 'tests' / 'session-bus.conf'}", "--", "bash", "-c",
                    script], check=True, cwd=ROOT, env=env, timeout=120)
    time.sleep(1)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="posture-docs-") as tmp:
        report_screenshot(Path(tmp))
        tray_screenshot(Path(tmp))


if __name__ == "__main__":
    main()
