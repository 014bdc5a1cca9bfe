"""diff/check CI outputs: --fail-on, junit (parsed by xml.etree), github workflow commands,
and settings taken from flag, subject.yaml or default."""

from __future__ import annotations

import json
import re
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from evolvekit.cli.main import main

OLD = {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "string"}}}
NEW = {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "string"},
                                        "c": {"type": "string"}}}  # fmt: skip
# GitHub's workflow command syntax: ::name key=value,key=value::message, one line each, with
# %, CR, LF escaped in the message and also : and , in property values.
GITHUB = re.compile(r"^::(error|warning|notice)( [a-z]+=[^,:\r\n]*(,[a-z]+=[^,:\r\n]*)*)?::"
                    r"[^\r\n]*$")  # fmt: skip


@pytest.fixture
def schemas(tmp_path: Path) -> Path:
    root = tmp_path / "schemas"
    for subject, mode in (("strictone", "backward"), ("loose", "none")):
        folder = root / subject
        folder.mkdir(parents=True)
        (folder / "1.0.0.json").write_text(json.dumps(OLD), encoding="utf-8")
        (folder / "2.0.0.json").write_text(json.dumps(NEW), encoding="utf-8")
        (folder / "subject.yaml").write_text(f"mode: {mode}\n", encoding="utf-8")
    return root


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_check_junit_has_a_case_per_pair_and_mode_none_passes(
    capsys: pytest.CaptureFixture[str], schemas: Path
) -> None:
    code, out, _ = run(capsys, "check", "--schemas", str(schemas), "--format", "junit")
    assert code == 1
    suite = ET.fromstring(out.split("?>", 1)[1])
    cases = {c.get("classname"): c for c in suite.iter("testcase")}
    assert set(cases) == {"strictone", "loose"}
    assert cases["loose"].find("failure") is None  # mode none: a passing case
    failure = cases["strictone"].find("failure")
    assert failure is not None and failure.get("type") == "type_narrowed"
    assert "#/properties/a" in (failure.text or "") and "rejected" in (failure.text or "")
    assert suite.get("tests") == "2" and suite.get("failures") == "1"


def test_check_github_lines_follow_the_workflow_command_syntax(
    capsys: pytest.CaptureFixture[str], schemas: Path
) -> None:
    code, out, _ = run(capsys, "check", "--schemas", str(schemas), "--format", "github")
    assert code == 1
    lines = out.splitlines()
    assert lines and all(GITHUB.match(line) for line in lines), lines
    assert lines[0].startswith("::error file=")
    assert "strictone/2.0.0.json,title=type_narrowed::" in lines[0]


def test_fail_on_levels(capsys: pytest.CaptureFixture[str], schemas: Path) -> None:
    old, new = str(schemas / "strictone" / "1.0.0.json"), str(schemas / "strictone" / "2.0.0.json")
    # files: no subject, default mode backward. c added to an open model: breaking (strict)
    assert run(capsys, "diff", new, new, "--fail-on", "info")[0] == 0
    assert run(capsys, "diff", old, new)[0] == 1
    assert run(capsys, "diff", old, new, "--fail-on", "never")[0] == 0
    lenient = ("diff", old, new, "--policy", "lenient", "--mode", "forward")
    assert run(capsys, *lenient)[0] == 0  # a widened type breaks nothing forward
    assert run(capsys, *lenient, "--fail-on", "info")[0] == 1


def test_diff_takes_mode_from_subject_yaml_and_says_so(
    capsys: pytest.CaptureFixture[str], schemas: Path
) -> None:
    code, out, _ = run(capsys, "diff", "loose@1.0.0", "loose@2.0.0", "--schemas", str(schemas))
    assert code == 0  # mode none enforces nothing
    assert "mode none from subject.yaml" in out.splitlines()[0]
    assert "policy strict from default" in out.splitlines()[0]
    code, out, _ = run(capsys, "diff", "loose@1.0.0", "loose@2.0.0", "--schemas", str(schemas),
                       "--mode", "backward")  # fmt: skip
    assert code == 1 and "mode backward from flag" in out.splitlines()[0]


def test_diff_expired_ignore_fails_naming_it(
    capsys: pytest.CaptureFixture[str], schemas: Path
) -> None:
    (schemas / "strictone" / "subject.yaml").write_text(
        "mode: backward\npolicy: lenient\nignore:\n  - rule: type_narrowed\n"
        "    path: \"#/properties/a\"\n    reason: ints only\n    until: 2000-01-01\n",
        encoding="utf-8")  # fmt: skip
    code, _, err = run(capsys, "diff", "strictone@1.0.0", "strictone@2.0.0", "--schemas",
                       str(schemas), "--fail-on", "never")  # fmt: skip
    assert code == 1
    assert "expired: ignore type_narrowed at #/properties/a until 2000-01-01 (ints only)" in err


def test_diff_ignored_change_is_shown_and_passes(
    capsys: pytest.CaptureFixture[str], schemas: Path
) -> None:
    (schemas / "strictone" / "subject.yaml").write_text(
        "mode: backward\npolicy: lenient\nignore:\n  - rule: type_narrowed\n"
        "    path: \"#/properties/*\"\n    reason: ints only\n"
        "  - rule: pattern_added\n    path: \"#/x\"\n    reason: stale\n",
        encoding="utf-8")  # fmt: skip
    code, out, err = run(capsys, "diff", "strictone@1.0.0", "strictone@2.0.0", "--schemas",
                         str(schemas))  # fmt: skip
    assert code == 0
    assert "ignored: ints only" in out
    assert "warning: unused: ignore pattern_added at #/x (stale)" in err
