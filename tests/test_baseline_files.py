"""Baseline files: round trip, private permissions, and every kind of broken file gives one clear message."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from posture_watch.errors import PostureWatchError
from posture_watch.store import load_baseline, save_baseline
from tests.synthetic import upright_baseline


def test_round_trip_and_private_mode(tmp_path: Path) -> None:
    base = upright_baseline()
    path = tmp_path / "cfg" / "baseline.json"
    save_baseline(base, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_baseline(path) == base
    assert [p.name for p in path.parent.iterdir()] == ["baseline.json"]  # no temp file left behind


@pytest.mark.parametrize(("content", "message"), [
    (None, "no baseline at"),
    ("{not json", "not valid JSON"),
    ('{"schema": 99, "metrics": {}}', "format version 99"),
    ('{"schema": 2, "metrics": {}}', "missing fields"),
    ('{"schema": 1, "metrics": {}}', "format version 1, this posture-watch reads version 2"),
    ("[1, 2]", "format version None"),
])
def test_broken_files_are_explained(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "baseline.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(PostureWatchError, match=message):
        load_baseline(path)


def test_impossible_values_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    save_baseline(upright_baseline(), path)
    doc = json.loads(path.read_text())
    doc["metrics"]["shoulder_width"]["mean"] = 0
    path.write_text(json.dumps(doc))
    with pytest.raises(PostureWatchError, match="impossible values"):
        load_baseline(path)


FAILING_SAVE = """
import resource, signal, sys
from pathlib import Path
from posture_watch.errors import PostureWatchError
from posture_watch.store import save_baseline
from tests.synthetic import upright_baseline
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (200, 200))  # the disk is 'full' after 200 bytes
try:
    save_baseline(upright_baseline(seed=2), Path(sys.argv[1]))
except PostureWatchError as err:
    print(err)
"""


def test_a_failed_save_keeps_the_old_baseline(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    save_baseline(upright_baseline(seed=1), path)
    before = path.read_text()
    done = subprocess.run([sys.executable, "-c", FAILING_SAVE, str(path)], capture_output=True, text=True,
                          cwd=Path(__file__).parent.parent, timeout=60)
    assert "cannot save the baseline" in done.stdout, done.stderr
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["baseline.json"]
