"""The layout the code promises: the core is pure (no camera, model, D-Bus, settings or file library), and
every module of it can be imported with those libraries unavailable."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import posture_watch.core

ROOT = Path(__file__).resolve().parent.parent
BLOCKED = ("cv2", "mediapipe", "platformdirs", "dbus_fast", "desktop_notifier", "plyer", "jeepney", "sqlite3")

IMPORT_CORE_WITHOUT = """
import importlib, sys
blocked = set(sys.argv[1].split(","))

class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ImportError(f"the core must not import {name}")

sys.meta_path.insert(0, Blocker())
for module in sys.argv[2:]:
    importlib.import_module(module)
leaked = sorted(m for m in sys.modules if m.split(".")[0] in blocked)
assert not leaked, leaked
outside = sorted(m for m in sys.modules if m.startswith("posture_watch.") and not m.startswith("posture_watch.core")
                 and m != "posture_watch.errors")
assert not outside, f"the core imports adapters: {outside}"
print("ok")
"""


def core_modules() -> list[str]:
    return [f"posture_watch.core.{m.name}" for m in pkgutil.iter_modules(posture_watch.core.__path__)]


def test_every_core_module_imports_without_camera_model_dbus_or_files() -> None:
    modules = core_modules()
    assert {"thresholds", "landmarks", "metrics", "posture", "policy", "watcher", "baseline"} <= {
        m.rsplit(".", 1)[1] for m in modules}
    done = subprocess.run([sys.executable, "-c", IMPORT_CORE_WITHOUT, ",".join(BLOCKED), *modules], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout == "ok\n", done.stderr


def test_the_blocker_catches_an_adapter() -> None:
    """The check above can fail: importing an adapter through the same blocker does."""
    done = subprocess.run([sys.executable, "-c", IMPORT_CORE_WITHOUT, ",".join(BLOCKED), "posture_watch.sources"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "the core must not import cv2" in done.stderr
