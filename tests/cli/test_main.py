"""The entry point: lazy start-up, the command table, exit codes through a closed pipe."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from evolvekit.cli.main import COMMAND_MODULES, COMMANDS, build_parser, command_of, main

REPO = Path(__file__).resolve().parents[2]
# `import evolvekit.cli.main` (cumulative, from python -X importtime): the lazy entry point
# imports no command module; on an idle machine it takes ~30 ms, the budget leaves room for a
# busy one while still failing when a command module (~100 ms to 3 s) is imported up front.
IMPORT_BUDGET_US = 150_000


def test_the_command_table_matches_what_the_modules_register() -> None:
    registered = {}
    for module in COMMAND_MODULES:
        parser = argparse.ArgumentParser()
        sub = parser.add_subparsers()
        importlib.import_module(f"evolvekit.cli.{module}").register(sub)
        for action in sub._choices_actions:
            registered[action.dest] = (module, action.help)
    assert registered == COMMANDS


def test_help_and_a_command_parser_import_only_what_they_need() -> None:
    code = (
        "import sys\n"
        "from evolvekit.cli.main import build_parser\n"
        "build_parser(None)\n"
        "top = sorted(m for m in sys.modules if m.startswith('evolvekit.cli.'))\n"
        "build_parser('diff')\n"
        "diff = sorted(m for m in sys.modules if m.startswith('evolvekit.cli.'))\n"
        "heavy = [m for m in ('jsonschema', 'httpx', 'websockets', 'starlette')\n"
        "         if m in sys.modules]\n"
        "import json; print(json.dumps([top, diff, heavy]))\n"
    )  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=REPO).stdout  # fmt: skip
    top, diff, heavy = json.loads(out)
    assert top == ["evolvekit.cli.main"]
    assert "evolvekit.cli.compat_cmds" in diff and "evolvekit.cli.cxone_cmds" not in diff
    assert heavy == [], f"`evolvekit diff --help` imports {heavy}"


def _import_time_us() -> int:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import evolvekit.cli.main"],
        capture_output=True, text=True, check=True, cwd=REPO,
    )  # fmt: skip
    line = next(x for x in proc.stderr.splitlines() if x.rstrip().endswith("| evolvekit.cli.main"))
    return int(line.split("|")[1])


def test_import_time_of_the_entry_point_is_within_budget() -> None:
    # the fastest of three, so a moment of load on a shared machine does not decide it
    fastest = min(_import_time_us() for _ in range(3))
    assert fastest < IMPORT_BUDGET_US, f"import evolvekit.cli.main took {fastest} us"


def test_command_of_skips_options() -> None:
    assert command_of(["-v", "diff", "a", "b"]) == "diff"
    assert command_of(["--help"]) is None


def test_a_command_missing_from_the_table_still_parses(monkeypatch: pytest.MonkeyPatch) -> None:
    table = dict(COMMANDS)
    del table["diff"]
    monkeypatch.setattr("evolvekit.cli.main.COMMANDS", table)
    args = build_parser("diff").parse_args(["diff", "a.json", "b.json"])
    assert args.old == "a.json" and callable(args.func)


def test_an_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["no-such-command"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'no-such-command'" in capsys.readouterr().err


def test_full_parser_has_every_command() -> None:
    parser = build_parser(full=True)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert set(sub.choices) == set(COMMANDS)


def test_exit_code_survives_a_closed_pipe(tmp_path: Path) -> None:
    """`evolvekit validate ... | head -2` exits as the unpiped run does (1), not 0 or 141."""
    example = (REPO / "schemas" / "interaction.completed" / "examples" / "1.0.0.jsonl").read_text()
    events = tmp_path / "many.jsonl"
    events.write_text(example * 700, encoding="utf-8")  # output far beyond a pipe's buffer
    argv = [sys.executable, "-m", "evolvekit", "validate", "--schema",
            "interaction.completed@3.0.0", str(events)]  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    unpiped = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             cwd=REPO, env=env, check=False)  # fmt: skip
    assert unpiped.returncode == 1
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO,
                            env=env)  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    head = [proc.stdout.readline() for _ in range(2)]
    proc.stdout.close()  # what `head -2` does
    err = proc.stderr.read().decode()
    assert proc.wait(120) == unpiped.returncode, err
    assert head[0].startswith(b"line 1: invalid")
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_diff_and_suggest_give_a_renamed_pair_one_similarity(
    capsys: pytest.CaptureFixture[str],
) -> None:
    old, new = "interaction.completed@1.0.0", "interaction.completed@2.0.0"
    schemas = str(REPO / "schemas")
    main(["diff", old, new, "--schemas", schemas, "--color", "never"])
    diff_out = capsys.readouterr().out
    assert main(["suggest", old, new, "--schemas", schemas]) == 0
    suggest_out = capsys.readouterr().out
    for removed, added in (("callDuration", "durationSeconds"), ("agentEmail", "agentId")):
        pattern = rf"{removed} -> #/properties/{added} \(similarity (\d\.\d\d)\)"
        hinted = re.search(pattern, diff_out)
        assert hinted is not None, diff_out
        reasons = re.findall(r"name similarity (\d\.\d\d)", suggest_out)
        assert hinted.group(1) in reasons, (hinted.group(1), reasons)
    assert "name similarity 0.73" not in suggest_out  # suggest's own, different figure


def test_diff_and_check_html_carry_the_matrix_and_the_lineage(
    capsys: pytest.CaptureFixture[str],
) -> None:
    schemas = str(REPO / "schemas")
    assert main(["diff", "interaction.completed@1.0.0", "interaction.completed@2.0.0", "--mode",
                 "backward", "--format", "html", "--schemas", schemas]) == 1  # fmt: skip
    html = capsys.readouterr().out
    assert html.count('class="ek-cell"') == 16 and "Field lineage of" in html
    assert 'href="#ek-pair-interaction.completed-1.0.0-2.0.0"' in html
    assert main(["check", "--format", "html", "--schemas", schemas]) == 0
    html = capsys.readouterr().out
    from evolvekit.schema.registry import SchemaRegistry

    subjects = SchemaRegistry(schemas).subjects()
    assert html.count('<section class="ek-subject-report">') == len(subjects) == 2
