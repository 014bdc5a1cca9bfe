"""Mutation-test ONE module with mutmut, in minutes, and print its score.

    python benchmarks/mutation.py evolvekit/cxone/retry.py [--timeout 1200] [--show-survivors]

The tree (tracked and untracked, not ignored files) is copied to a scratch directory, the
``[tool.mutmut]`` table of its pyproject.toml is narrowed to the one module and the tests that
cover it, and ``mutmut run`` runs there, so the working tree never gets a ``mutants/`` folder
and several modules can be mutated one after the other. The score is killed / (all mutants that
ran); timeouts count as killed (mutmut's own convention), "no tests" mutants count as survivors.
Not part of .ci/run: a module takes minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The tests that exercise each mutated module (mutmut then runs, per mutant, only those of
# them that reach the mutated function). The first matching prefix wins; the unit tests of a
# module come first, so a run takes minutes, not the whole suite per mutant.
TESTS_FOR = {
    "evolvekit/schema/changes.py": ["tests/schema/test_changes.py",
                                    "tests/schema/test_changes_units.py",
                                    "tests/schema/test_diff.py",
                                    "tests/schema/test_report.py", "tests/schema/test_compat.py"],
    "evolvekit/schema/diff": ["tests/schema/test_diff.py", "tests/schema/test_conformance.py",
                              "tests/schema/test_diff_properties.py",
                              "tests/schema/test_diff_objects.py",
                              "tests/schema/test_diff_walk.py",
                              "tests/schema/test_diff_values.py",
                              "tests/schema/test_diff_finite.py",
                              "tests/schema/test_diff_shapes.py",
                              "tests/schema/test_diff_object_rules.py",
                              "tests/schema/test_diff_walk_rules.py",
                              "tests/schema/test_diff_hints.py"],
    "evolvekit/mapping/": ["tests/mapping"],
    "evolvekit/cxone/retry.py": ["tests/cxone/test_retry.py", "tests/cxone/test_retry_pacing.py"],
    "evolvekit/cxone/": ["tests/cxone"],
    "evolvekit/pipeline/pipeline.py": ["tests/pipeline/test_pipeline.py"],
    "evolvekit/pipeline/": ["tests/pipeline"],
    "evolvekit/broadcast/": ["tests/broadcast"],
}  # fmt: skip

# Tests that cannot pass under mutmut's trampolines (each call gains frames), by prefix.
DESELECT_FOR = {
    # diffs 120-level schemas just within Python's recursion limit; wrapped, it overflows
    "evolvekit/schema/diff": [
        "tests/schema/test_diff.py::test_deep_nesting_within_the_recursion_limit_diffs",
    ],
}

_TABLE = re.compile(r"^\[tool\.mutmut\]\n(?:(?!^\[).*\n?)*", re.MULTILINE)


def _tests_for(module: str) -> list[str]:
    for prefix, tests in TESTS_FOR.items():
        if module.startswith(prefix):
            return tests
    raise SystemExit(f"mutation: no tests known for {module}; add it to TESTS_FOR")


def _deselect_args(module: str) -> list[str]:
    for prefix, tests in DESELECT_FOR.items():
        if module.startswith(prefix):
            return [arg for test in tests for arg in ("--deselect", test)]
    return []


def _copy_tree(target: Path) -> None:
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=ROOT, check=True, capture_output=True,
    ).stdout.decode().split("\0")
    for name in filter(None, listed):
        src = ROOT / name
        if src.is_file():
            dst = target / name
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)


def _narrow_config(pyproject: Path, module: str, tests: list[str]) -> None:
    text = pyproject.read_text()
    if not _TABLE.search(text):
        raise SystemExit("mutation: pyproject.toml has no [tool.mutmut] table")
    table = (
        "[tool.mutmut]\n"
        'source_paths = ["evolvekit"]\n'
        'also_copy = ["schemas", "rules"]\n'
        f"only_mutate = {json.dumps([module])}\n"
        f"pytest_add_cli_args = {json.dumps(['-q', *_deselect_args(module)])}\n"
        f"pytest_add_cli_args_test_selection = {json.dumps(tests)}\n"
    )
    pyproject.write_text(_TABLE.sub(table, text, count=1))


def _score(workdir: Path) -> dict[str, int]:
    subprocess.run(["mutmut", "export-cicd-stats"], cwd=workdir, check=True,
                   capture_output=True)
    stats: dict[str, int] = json.loads((workdir / "mutants/mutmut-cicd-stats.json").read_text())
    return stats


def _survivors(workdir: Path) -> str:
    out = subprocess.run(["mutmut", "results"], cwd=workdir, capture_output=True, text=True)
    return out.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("module", help="the module to mutate, e.g. evolvekit/cxone/retry.py")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds before giving up")
    parser.add_argument("--show-survivors", action="store_true",
                        help="print each surviving mutant's diff")
    parser.add_argument("--keep", action="store_true", help="keep the scratch copy and print it")
    parser.add_argument("--jobs", type=int, default=2, help="mutants tested in parallel (2)")
    args = parser.parse_args(argv)
    module = args.module.removeprefix("./")
    if not (ROOT / module).is_file():
        raise SystemExit(f"mutation: {module}: no such file")
    workdir = Path(tempfile.mkdtemp(prefix="evolvekit-mutation-"))
    try:
        _copy_tree(workdir)
        _narrow_config(workdir / "pyproject.toml", module, _tests_for(module))
        env = {**os.environ, "CI": ""}
        command = ["timeout", str(args.timeout), "mutmut", "run", "--max-children", str(args.jobs)]
        run = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True)
        if run.returncode not in (0, 1) and not (workdir / "mutants").is_dir():
            sys.stderr.write(run.stdout[-4000:] + run.stderr[-4000:])
            return 2
        stats = _score(workdir)
        if stats["killed"] + stats["survived"] + stats.get("timeout", 0) == 0:
            sys.stderr.write(run.stdout[-4000:] + run.stderr[-4000:])
            print(f"{module}: no mutant ran (mutmut's output above)")
            return 2
        survivors = _survivors(workdir)
        if args.show_survivors:
            for line in survivors.splitlines():
                name = line.split(":")[0].strip()
                if name:
                    show = subprocess.run(["mutmut", "show", name], cwd=workdir,
                                          capture_output=True, text=True)
                    print(show.stdout)
        else:
            print(survivors)
        killed = stats["killed"] + stats.get("timeout", 0)
        ran = killed + stats["survived"] + stats.get("no_tests", 0)
        score = 100.0 * killed / ran if ran else 0.0
        partial = " (timed out: partial)" if run.returncode == 124 else ""
        print(f"{module}: {killed}/{ran} mutants killed ({score:.0f}%){partial}, stats {stats}")
        return 0
    finally:
        if args.keep:
            print(f"scratch copy kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
