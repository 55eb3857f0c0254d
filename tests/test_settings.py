"""The settings file: real files read by the real command line. An invalid file stops `run` with one line per
problem (key and line) and is never touched; flags override the file, which overrides the defaults; `config set`
changes one value and keeps everything else byte for byte."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from posture_watch.cli import parser
from posture_watch.cli.common import effective_settings
from posture_watch.settings import (
    KEYS,
    InvalidSettings,
    Settings,
    WatchTable,
    check_text,
    key_lines,
    load_settings,
    template,
    with_value,
)

ROOT = Path(__file__).resolve().parent.parent
HUNCH = ROOT / "samples" / "hunch_slow.mp4"


def cli(*args: str, config: Path, env: dict[str, str] | None = None,
        timeout: float = 60) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "POSTURE_WATCH_CONFIG_DIR": str(config), **(env or {})}
    full.pop("DBUS_SESSION_BUS_ADDRESS", None)
    return subprocess.run([sys.executable, "-m", "posture_watch", *args], capture_output=True, text=True, env=full,
                          timeout=timeout, cwd=ROOT)


def write(folder: Path, text: str | bytes) -> Path:
    path = folder / "config.toml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


# Each invalid file, and what `run` must say about it: one (line, key) per problem, in line order.
INVALID = {
    "syntax error": ("schema = 1\n[watch]\nalert_after = soon\n", [(3, "alert_after = soon")]),
    "unknown key": ("schema = 1\n\n[watch]\ncooldown = 300\nalert_afterr = 20\n",
                    [(5, "unknown key watch.alert_afterr (did you mean alert_after?)")]),
    "unknown table": ("schema = 1\n[wacth]\nalert_after = 20\n", [(2, "'wacth' (did you mean watch?)")]),
    "key outside its table": ("schema = 1\ncooldown = 300\n", [(2, "cooldown belongs in the [watch] table")]),
    "wrong type": ('schema = 1\n[watch]\nalert_after = "90"\n[history]\nenabled = "yes"\n',
                   [(3, 'watch.alert_after: must be a number of seconds, not the text "90"'),
                    (5, 'history.enabled: must be true or false, not the text "yes"')]),
    "out of range": ("schema = 1\n[watch]\nsensitivity = 9\ncooldown = 1  # too often\n[breaks]\nremind_after = -5\n"
                     '[schedule]\nworking_hours = "9 to 5"\n',
                     [(3, "watch.sensitivity: must be from 0.2 to 5, not 9"),
                      (4, "watch.cooldown: must be from 15 to 86400 seconds, not 1"),
                      (6, "breaks.remind_after: must be from 0 to 1440 minutes, not -5"),
                      (8, "schedule.working_hours: '9 to 5' is not a span of hours")]),
    "not a number": ("schema = 1\n[watch]\ninterval = nan\n", [(3, "watch.interval: must be more than 0")]),
    "future schema": ("schema = 2\n[watch]\nposture_model = 'v2'\n",
                      [(1, "schema = 2: this file is for a newer posture-watch (this one reads schema 1)")]),
    "wrong schema": ('schema = "1"\n', [(1, 'schema must be 1, not the text "1"')]),
    "not UTF-8": (b"schema = 1\n[watch]\ncamera = \"caf\xe9\"\n", [(3, "is not UTF-8 text")]),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", INVALID)
def test_run_refuses_an_invalid_file_with_one_line_per_problem(hunch_camera: Path, tmp_path: Path, case: str) -> None:
    text, expected = INVALID[case]
    path = write(tmp_path, text)
    before = path.read_bytes()
    done = cli("run", "--camera", str(hunch_camera), "--notifier", "none", config=tmp_path)
    assert done.returncode == 1, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == len(expected), done.stderr  # one line per problem, nothing else
    for line, (number, text_) in zip(lines, expected, strict=True):
        assert line.startswith(f"posture-watch: {path}, line {number}: "), line
        assert text_ in line, line
    assert "Watching" not in done.stderr and "Traceback" not in done.stderr
    assert path.read_bytes() == before  # never rewritten without being asked


@pytest.mark.slow
def test_missing_schema_is_a_problem_of_the_whole_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[watch]\nalert_after = 20\n")
    done = cli("config", "show", config=tmp_path)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.splitlines() == [f"posture-watch: {path}: schema is missing: the file must start with "
                                        "`schema = 1` (the settings format it is written in)"]


@pytest.mark.slow
def test_unreadable_settings_are_one_line(hunch_camera: Path, tmp_path: Path) -> None:
    (tmp_path / "config.toml").mkdir()
    done = cli("run", "--camera", str(hunch_camera), config=tmp_path)
    assert done.returncode == 1 and done.stderr.splitlines() == [
        f"posture-watch: the settings file {tmp_path / 'config.toml'} is a folder, not a file"]


def test_no_file_means_every_default(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "config.toml")
    assert settings == Settings()
    assert all(settings.origin(path) == "default" for path in KEYS)
    policy = settings.watch_settings()
    assert policy.break_after == 50 * 60  # the break reminder is on by default
    assert settings.work_schedule() is None


def test_flag_overrides_file_overrides_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, "schema = 1\n[watch]\nalert_after = 90\ncooldown = 300\ncamera = 2\n[breaks]\nremind_after = 0\n"
                    '[schedule]\nworking_hours = "09:00-18:00"\nworking_days = "Mon-Fri"\n')
    monkeypatch.setenv("POSTURE_WATCH_CONFIG_DIR", str(tmp_path))
    args = parser().parse_args(["run", "--alert-after", "30", "--camera", str(HUNCH)])
    settings = effective_settings(args)
    assert (settings.watch.alert_after, settings.origin("watch.alert_after")) == (30, "flag")
    assert (settings.watch.camera, settings.origin("watch.camera")) == (str(HUNCH), "flag")
    assert (settings.watch.cooldown, settings.origin("watch.cooldown")) == (300, "file")
    assert (settings.watch.sensitivity, settings.origin("watch.sensitivity")) == (1.0, "default")
    assert settings.watch_settings().policy.cooldown == 300
    assert settings.watch_settings().break_after is None  # 0 minutes: no reminders
    schedule = settings.work_schedule()
    assert schedule is not None and schedule.days == frozenset(range(5))
    assert (schedule.start.hour, schedule.end.hour) == (9, 18)


@pytest.mark.slow
def test_a_flag_the_running_watcher_cannot_take_is_refused(hunch_camera: Path, tmp_path: Path) -> None:
    done = cli("run", "--cooldown", "2", "--camera", str(hunch_camera), config=tmp_path)
    assert done.returncode == 2
    assert done.stderr.splitlines() == ["posture-watch run: error: argument --cooldown: must be from 15 to 86400 "
                                        "seconds, not 2 (see posture-watch run --help)"]
    usage = cli("run", "--sensitivity", "9", config=tmp_path)
    assert usage.returncode == 2 and "argument --sensitivity: must be from 0.2 to 5, not 9" in usage.stderr
    usage = cli("run", "--resolution", "huge", config=tmp_path)
    assert usage.returncode == 2 and "must be WIDTHxHEIGHT like 640x480" in usage.stderr


@pytest.mark.slow
def test_config_show_says_where_each_value_comes_from(tmp_path: Path) -> None:
    write(tmp_path, "schema = 1\n[watch]\ncooldown = 300\n")
    done = cli("config", config=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"# {tmp_path / 'config.toml'}"
    assert any(line.startswith("cooldown = 300") and line.endswith("# file") for line in lines), done.stdout
    assert any(line.startswith("alert_after = 60") and line.endswith("# default") for line in lines), done.stdout
    assert cli("config", "path", config=tmp_path).stdout == f"{tmp_path / 'config.toml'}\n"


COMMENTED = """\
# my posture-watch settings
schema = 1   # format

[watch]
# a comment about the alert
alert_after   =   45   # slow to nag
camera = "0"

[schedule]
working_days = 'Mon-Fri'  # weekends off
"""


@pytest.mark.slow
def test_config_set_changes_one_value_and_keeps_the_rest(tmp_path: Path) -> None:
    path = write(tmp_path, COMMENTED)
    done = cli("config", "set", "watch.alert_after", "120", config=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("watch.alert_after = 120")
    assert path.read_text() == COMMENTED.replace("alert_after   =   45   # slow", "alert_after   =   120   # slow")

    assert cli("config", "set", "watch.cooldown", "300", config=tmp_path).returncode == 0  # added to its table
    assert cli("config", "set", "breaks.remind_after", "30", config=tmp_path).returncode == 0  # a new table
    assert cli("config", "set", "schedule.working_days", "Mon-Sat", config=tmp_path).returncode == 0
    expected = COMMENTED.replace("alert_after   =   45   # slow", "alert_after   =   120   # slow").replace(
        'camera = "0"\n', 'camera = "0"\ncooldown = 300\n').replace("'Mon-Fri'", '"Mon-Sat"') + (
        "\n[breaks]\nremind_after = 30\n")
    assert path.read_text() == expected
    settings = load_settings(path)
    assert (settings.watch.alert_after, settings.watch.cooldown, settings.breaks.remind_after) == (120, 300, 30)
    assert (path.stat().st_mode & 0o777) == 0o600


@pytest.mark.slow
def test_config_set_validates_before_writing(tmp_path: Path) -> None:
    path = write(tmp_path, COMMENTED)
    for args, message in [(("watch.alert_after", "soon"), "watch.alert_after: 'soon' is not a number of seconds"),
                          (("watch.sensitivity", "50"), "watch.sensitivity: must be from 0.2 to 5, not 50"),
                          (("watch.alert_aftr", "5"), "(did you mean watch.alert_after?)"),
                          (("schedule.working_hours", "9-5"), "is not a span of hours like 09:00-18:00")]:
        done = cli("config", "set", *args, config=tmp_path)
        assert done.returncode == 1 and message in done.stderr and len(done.stderr.splitlines()) == 1, done.stderr
    assert path.read_text() == COMMENTED


@pytest.mark.slow
def test_config_set_refuses_to_build_on_an_invalid_file_but_can_fix_the_bad_value(tmp_path: Path) -> None:
    broken = "schema = 1\n[watch]\nalert_after = 'soon'\ncooldown = 1\n"
    path = write(tmp_path, broken)
    done = cli("config", "set", "watch.sensitivity", "2", config=tmp_path)
    assert done.returncode == 1 and path.read_text() == broken
    assert done.stderr.splitlines() == [
        f"posture-watch: {path}, line 3: watch.alert_after: must be a number of seconds, not the text \"soon\"",
        f"posture-watch: {path}, line 4: watch.cooldown: must be from 15 to 86400 seconds, not 1",
        "posture-watch: nothing was changed: fix the file first (`posture-watch config edit`)"]
    assert cli("config", "set", "watch.alert_after", "20", config=tmp_path).returncode == 1  # cooldown still bad
    assert cli("config", "set", "watch.cooldown", "10", config=tmp_path).returncode == 1  # alert_after still bad
    path.write_text("schema = 1\n[watch]\nalert_after = 'soon'\n")
    fixed = cli("config", "set", "watch.alert_after", "20", config=tmp_path)
    assert fixed.returncode == 0, fixed.stderr
    assert path.read_text() == "schema = 1\n[watch]\nalert_after = 20\n"


@pytest.mark.slow
def test_config_set_creates_a_documented_file_and_follows_a_symlink(tmp_path: Path) -> None:
    config, dotfiles = tmp_path / "config", tmp_path / "dotfiles"
    config.mkdir()
    assert cli("config", "set", "tray.enabled", "false", config=config).returncode == 0
    text = (config / "config.toml").read_text()
    assert text.startswith(template().rstrip("\n").rsplit("\n", 1)[0]) and text.endswith("enabled = false\n")
    assert load_settings(config / "config.toml").tray.enabled is False

    dotfiles.mkdir()
    (dotfiles / "pw.toml").write_text("schema = 1\r\n[watch]\r\ncooldown = 300\r\n")  # CRLF, kept
    (config / "config.toml").unlink()
    (config / "config.toml").symlink_to(dotfiles / "pw.toml")
    assert cli("config", "set", "watch.cooldown", "200", config=config).returncode == 0
    assert (config / "config.toml").is_symlink()
    assert (dotfiles / "pw.toml").read_bytes() == b"schema = 1\r\n[watch]\r\ncooldown = 200\r\n"


@pytest.mark.slow
def test_config_edit_opens_the_editor_then_checks(tmp_path: Path) -> None:
    # The user types a key into the last table of the new file, where it does not belong.
    done = cli("config", "edit", config=tmp_path, env={"VISUAL": "sh -c 'echo cooldown = 2 >> \"$0\"'"})
    path = tmp_path / "config.toml"
    assert done.returncode == 1, done.stderr
    line = len(template().splitlines()) + 1
    assert done.stderr.splitlines() == [
        f"posture-watch: {path}, line {line}: unknown key tray.cooldown",
        "posture-watch: `posture-watch run` will not start until this is fixed: `posture-watch config edit` opens "
        "the file again"]
    path.write_text("schema = 1\n")
    ok = cli("config", "edit", config=tmp_path, env={"VISUAL": "sh -c 'echo \"[breaks]\" >> \"$0\"'"})
    assert ok.returncode == 0 and ok.stdout == f"{path}: the settings are valid\n", ok.stderr
    missing = cli("config", "edit", config=tmp_path, env={"VISUAL": "no-such-editor-here", "EDITOR": ""})
    assert missing.returncode == 1 and "cannot start the editor 'no-such-editor-here'" in missing.stderr


def test_the_model_refuses_values_out_of_range() -> None:
    with pytest.raises(ValueError, match=r"watch\.sensitivity: must be from 0\.2 to 5, not 0"):
        WatchTable(sensitivity=0)
    with pytest.raises(ValueError, match=r"watch\.resolution: must be from 64x48"):
        Settings().with_values({"watch.resolution": (10, 10)}, "flag")


def test_every_key_round_trips_through_its_text_and_toml() -> None:
    samples = {"watch.camera": "/videos/my clip \"1\".mp4", "watch.resolution": "1280x720", "watch.notifier": "none",
               "schedule.working_hours": "22:00-06:00", "schedule.working_days": "Mon,Wed,Fri",
               "history.enabled": "false", "tray.enabled": "true", "history.retention_days": "30",
               "watch.sensitivity": "2.5"}
    text = template()
    for path, item in KEYS.items():
        value = item.kind.from_text(samples.get(path, "17"))
        text = with_value(text, item, value, Path("config.toml"))
        values, problems = check_text(text)
        assert not problems and values[path] == value, (path, problems)


def test_line_numbers_survive_multiline_strings_and_arrays() -> None:
    text = ('schema = 1\nnote = """\n[watch]\nalert_after = 1\n"""\nlist = [\n  [1],\n  "x = 2",\n]\n'
            "[watch]\ncooldown = 3\n")
    lines = key_lines(text)
    assert lines[("note",)] == 2 and lines[("list",)] == 6 and lines[("watch",)] == 10
    assert lines[("watch", "cooldown")] == 11 and ("watch", "alert_after") not in lines
    _values, problems = check_text(text)
    assert [(p.line, p.text.split(" ")[0]) for p in problems] == [(2, "unknown"), (6, "unknown"),
                                                                  (11, "watch.cooldown:")]


def test_invalid_settings_lists_every_problem(tmp_path: Path) -> None:
    path = write(tmp_path, "schema = 1\n[watch]\ncooldown = 1\nsensitivity = 0\n")
    with pytest.raises(InvalidSettings) as caught:
        load_settings(path)
    assert [line.split(": ", 1)[0] for line in caught.value.lines] == [f"{path}, line 3", f"{path}, line 4"]
