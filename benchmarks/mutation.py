"""Mutation testing of the pure core: how many small deliberate bugs in posture_watch/core/ the core's tests catch.

    .venv/bin/pip install -e '.[test,mutation]'
    .venv/bin/python benchmarks/mutation.py [--jobs 2] [--survivors FILE] [--json FILE]

mutmut (3.x) changes one thing at a time in the core (a comparison, a constant, an operator, a returned value),
runs the tests that reach the changed function, and counts the changes ("mutants") no test noticed. The score is
caught / all mutants, where caught means a test failed or hung (a timeout); a mutant in code no selected test
reaches counts as not caught.

What is mutated: every module of posture_watch/core/ as it is in this checkout (new modules are picked up),
except thresholds.py, which holds only constants: their values are justified by the accuracy benchmark on real
clips (tests/test_accuracy.py), and a unit test pinning each number would test the number, not the behaviour.

Which tests run: every tests/test_*.py that exercises the core alone, found by reading its imports: it imports
posture_watch.core, nothing else of posture_watch but errors, and no subprocess. These are fast and
deterministic, so every mutant is judged by them in milliseconds.

It works on a copy of the checkout in a temporary folder (mutmut writes a `mutants/` tree beside the sources),
so the checkout stays clean. Not part of the default test run: 4 to 9 minutes here with 2 jobs, by the load.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = "posture_watch/core"
NOT_MUTATED = ("thresholds.py",)


def core_test_files(tests: Path) -> list[str]:
    """The test files that exercise the pure core alone (see the module docstring)."""
    chosen = []
    for path in sorted(tests.glob("test_*.py")):
        modules = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                modules.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules.add(node.module)
                modules.update(f"{node.module}.{alias.name}" for alias in node.names)
        ours = {m for m in modules if m == "posture_watch" or m.startswith("posture_watch.")}
        reaches_core = any(m.startswith("posture_watch.core") for m in ours)
        only_core = all(m.startswith(("posture_watch.core", "posture_watch.errors")) for m in ours)
        if reaches_core and only_core and "subprocess" not in modules:
            chosen.append(f"tests/{path.name}")
    return chosen


def setup_cfg(test_files: list[str]) -> str:
    lines = "\n".join(f"    {f}" for f in test_files)
    skipped = "\n".join(f"    {CORE}/{name}" for name in NOT_MUTATED)
    # -n0: mutmut runs its own jobs; the suite's `-n auto` (pyproject addopts) would start workers for each mutant.
    return (f"[mutmut]\nsource_paths = posture_watch\nonly_mutate = {CORE}/*\ndo_not_mutate =\n{skipped}\n"
            f"pytest_add_cli_args =\n    -n0\npytest_add_cli_args_test_selection =\n{lines}\n")


def checkout_commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + (" + uncommitted changes" if git("status", "--porcelain", "--", CORE, "tests") else "")


def copy_tree(work: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "posture_watch", work / "posture_watch", ignore=ignore)
    shutil.copytree(ROOT / "tests", work / "tests", ignore=ignore)
    shutil.copy2(ROOT / "pyproject.toml", work / "pyproject.toml")  # the pytest settings; no [tool.mutmut] in it


def mutmut(work: Path, *args: str, log: Path | None = None) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("mutmut", path=str(Path(sys.executable).parent)) or shutil.which("mutmut")
    if exe is None:
        raise SystemExit("mutation.py: mutmut is not installed: pip install -e '.[mutation]'")
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    if log is None:
        return subprocess.run([exe, *args], cwd=work, env=env, capture_output=True, text=True)
    with log.open("w") as out:  # the progress spinner rewrites one line thousands of times: keep it out of sight
        return subprocess.run([exe, *args], cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT, text=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2, help="mutants tested at once (default %(default)s)")
    parser.add_argument("--survivors", type=Path, help="write every surviving mutant's diff to this file")
    parser.add_argument("--json", type=Path, help="write the counts and the survivors' names to this file")
    parser.add_argument("--keep", type=Path, help="work in this (new) folder and keep it, to inspect mutants")
    args = parser.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="posture-watch-mutation-"))
    try:
        work.mkdir(parents=True, exist_ok=bool(args.keep is None))
        copy_tree(work)
        tests = core_test_files(work / "tests")
        (work / "setup.cfg").write_text(setup_cfg(tests))
        print(f"mutating {CORE}/ (not {', '.join(NOT_MUTATED)}) at {checkout_commit()}", flush=True)
        print(f"tests: {' '.join(tests)}", flush=True)
        done = mutmut(work, "run", "--max-children", str(args.jobs), log=work / "mutmut-run.log")
        if done.returncode != 0:
            print((work / "mutmut-run.log").read_text()[-3000:], file=sys.stderr)
            print(f"mutation.py: mutmut run exited {done.returncode}", file=sys.stderr)
            return 1
        mutmut(work, "export-cicd-stats")
        stats = json.loads((work / "mutants" / "mutmut-cicd-stats.json").read_text())
        listed = [line.rsplit(":", 1) for line in mutmut(work, "results", "--all", "true").stdout.splitlines()
                  if ":" in line]
        survivors = sorted(name.strip() for name, status in listed if status.strip() in ("survived", "no tests"))
        timed_out = sorted(name.strip() for name, status in listed if status.strip() == "timeout")
        caught = stats["killed"] + stats["timeout"]
        score = caught / stats["total"] if stats["total"] else 0.0
        print(f"mutants: {stats['total']}; caught {caught} (killed {stats['killed']}, timed out "
              f"{stats['timeout']}); survived {stats['survived']}; in code no test reaches {stats['no_tests']}")
        print(f"score: {100 * score:.1f} %")
        for name in timed_out:
            print(f"  timed out (caught): {name}")
        for name in survivors:
            print(f"  survived: {name}")
        if args.survivors:
            diffs = [mutmut(work, "show", name).stdout for name in survivors]
            args.survivors.write_text("\n".join(diffs))
        if args.json:
            args.json.write_text(json.dumps({"commit": checkout_commit(), "tests": tests, "score": round(score, 4),
                                             **stats, "survivors": survivors, "timed_out": timed_out}, indent=2) + "\n")
        return 0
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
