"""evolvekit transform / suggest / rules check, run through cli.main in-process."""

from __future__ import annotations

import io
import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from evolvekit.cli.main import main
from evolvekit.mapping.ruleset import RuleSet
from evolvekit.schema.registry import SchemaRegistry

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = str(REPO / "schemas")
RULES = str(REPO / "rules")
SUBJECT = "interaction.completed"
EXAMPLES = REPO / "schemas" / SUBJECT / "examples"


def _lines(path: Path) -> list[Any]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _mixed_input(tmp_path: Path) -> Path:
    """Every shipped version's samples, one malformed line, one event of no version."""
    parts = [(EXAMPLES / f"{v}.jsonl").read_text() for v in ("1.0.0", "2.0.0", "2.1.0", "3.0.0")]
    text = "".join(parts) + '{"customerId": "C", oops\n' + '{"neither": "version"}\n' + "[1, 2]\n"
    path = tmp_path / "in.jsonl"
    path.write_text(text)
    return path


def test_transform_to_a_version_with_dead_letters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = _mixed_input(tmp_path)
    out, dead = tmp_path / "out.jsonl", tmp_path / "dl.jsonl"
    argv = ["transform", "--to", "3.0.0", "--subject", SUBJECT, "--validate", str(src)]
    argv += ["-o", str(out), "--dead-letter", str(dead), "--schemas", SCHEMAS]
    code = main([*argv, "--rules-dir", RULES])
    assert code == 1
    events = _lines(out)
    assert len(events) == 12
    validator = SchemaRegistry(SCHEMAS).validator(SUBJECT, "3.0.0")
    assert all(validator.errors(e) == [] for e in events)
    letters = _lines(dead)
    assert [(d["stage"], d["line"]) for d in letters] == [
        ("parse", 13),
        ("detect", 14),
        ("parse", 15),
    ]
    for record in letters:
        assert set(record) == {"id", "at", "stage", "reason", "subject", "version", "event", "line"}
        assert re.fullmatch(r"[0-9a-f]{32}", record["id"])
        assert record["at"].endswith("Z") and record["subject"] == SUBJECT
    assert letters[0]["event"] == '{"customerId": "C", oops'  # unparsable: the raw text
    assert letters[1]["event"] == {"neither": "version"}
    assert "closest is" in letters[1]["reason"]
    assert letters[2]["event"] == [1, 2]
    assert "read 15, written 12, dead-lettered 3" in capsys.readouterr().err


def test_transform_with_a_rule_file_streams_stdin_to_stdout(
    monkeypatch: pytest.MonkeyPatch, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    data = (EXAMPLES / "1.0.0.jsonl").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    code = main(["transform", "--rules", str(REPO / "rules" / SUBJECT / "1.0.0_to_2.0.0.yaml")])
    captured = capsysbinary.readouterr()
    assert code == 0
    events = [json.loads(line) for line in captured.out.splitlines()]
    assert [e["agentId"] for e in events] == [
        "agent.smith@company.com",
        "maria.lopez@company.com",
        "j.okafor@company.com",
    ]
    assert all("customerId" in e for e in events)
    assert b"read 3, written 3, dead-lettered 0" in captured.err


def test_transform_map_and_validate_failures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "r.yaml"
    rules.write_text(
        "subject: interaction.completed\nfrom_version: 1.0.0\nto_version: 2.0.0\n"
        "rules:\n  - from: callDuration\n    to: durationSeconds\n    transform: str\n"
        "  - from: agentEmail\n    to: agentId\n    transform: upper\n"
    )
    src = tmp_path / "in.jsonl"
    src.write_text(
        '{"customerId": "C", "interactionId": "I", "agentEmail": "a@b.co", "callDuration": 5}\n'
        '{"customerId": "C", "interactionId": "I", "agentEmail": 7}\n'
        '{"customerId": "C", "interactionId": "I", "agentEmail": "x@y.co"}\n'
    )
    dead = tmp_path / "dl.jsonl"
    out = tmp_path / "out.jsonl"
    argv = ["transform", "--rules", str(rules), "--validate", "--schemas", SCHEMAS, str(src)]
    code = main([*argv, "-o", str(out), "--dead-letter", str(dead)])
    assert code == 1
    letters = _lines(dead)
    assert [(d["stage"], d["line"], d["version"]) for d in letters] == [
        ("validate", 1, "1.0.0"),
        ("map", 2, "1.0.0"),
    ]
    assert "durationSeconds" in letters[0]["reason"]
    assert "upper" in letters[1]["reason"]
    assert _lines(out) == [
        {"customerId": "C", "interactionId": "I", "agentId": "X@Y.CO"},
    ]
    assert "dead-lettered 2" in capsys.readouterr().err


def test_transform_without_dead_letter_file_reports_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text("not json\n\n")
    code = main(
        ["transform", "--to", "2.0.0", "--subject", SUBJECT, str(src), "-o", str(tmp_path / "o")]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert f"{src}:1: parse:" in err and "read 1, written 0, dead-lettered 1" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["transform", "--to", "3.0.0"], "--to needs --subject"),
        (["transform", "--to", "9.0.0", "--subject", SUBJECT], "no such version"),
        (["transform", "--to", "3.0.0", "--subject", "nope"], "unknown subject"),
        (["transform", "--rules", "/no/such/rules.yaml"], "cannot read rule file"),
        (["rules", "check", "/no/such/rules.yaml"], "cannot read rule file"),
        (["suggest", "nope@1.0.0", f"{SUBJECT}@2.0.0"], "unknown subject"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "--schemas", SCHEMAS]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("evolvekit: ") and message in err and "\n" not in err


def test_validate_needs_a_target(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules = tmp_path / "r.yaml"
    rules.write_text("agentEmail: agentId\n")
    src = tmp_path / "in.jsonl"
    src.write_text("{}\n")
    assert main(["transform", "--rules", str(rules), "--validate", str(src)]) == 2
    assert "--validate needs the target schema" in capsys.readouterr().err


def test_suggest_writes_a_rule_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "draft.yaml"
    argv = ["suggest", f"{SUBJECT}@1.0.0", f"{SUBJECT}@2.0.0", "--schemas", SCHEMAS]
    code = main([*argv, "--samples", str(EXAMPLES / "1.0.0.jsonl"), "-o", str(out)])
    assert code == 0
    assert "wrote 2 suggested rule(s)" in capsys.readouterr().err
    text = out.read_text()
    assert "# confidence" in text
    ruleset = RuleSet.from_yaml(text)
    assert (ruleset.subject, ruleset.from_version, ruleset.to_version) == (
        SUBJECT,
        "1.0.0",
        "2.0.0",
    )
    assert {(r.sources, r.target) for r in ruleset.rules} == {
        (("agentEmail",), "agentId"),
        (("callDuration",), "durationSeconds"),
    }


def test_suggest_from_files_to_stdout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = tmp_path / "old.json"
    new = tmp_path / "new.json"
    old.write_text(
        json.dumps({"type": "object", "properties": {"DurationSecs": {"type": "string"}}})
    )
    new.write_text(
        json.dumps({"type": "object", "properties": {"durationMs": {"type": "integer"}}})
    )
    assert main(["suggest", str(old), str(new), "--schemas", SCHEMAS]) == 0
    rules = RuleSet.from_yaml(capsys.readouterr().out)
    (rule,) = rules.rules
    assert rule.sources == ("DurationSecs",) and rule.target == "durationMs"
    assert [t.name for t in rule.transforms] == ["int", "scale"]


def test_rules_check_shipped_file_is_ok(capsys: pytest.CaptureFixture[str]) -> None:
    path = REPO / "rules" / "agent.session" / "1.0.0_to_2.0.0.yaml"
    samples = REPO / "schemas" / "agent.session" / "examples" / "1.0.0.jsonl"
    code = main(["rules", "check", str(path), "--samples", str(samples), "--schemas", SCHEMAS])
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.startswith("OK: agent.session 1.0.0 -> 2.0.0") and "3/3 valid" in out


def test_rules_check_finds_problems(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "rules" / SUBJECT
    folder.mkdir(parents=True)
    path = folder / "1.0.0_to_2.0.0.yaml"
    path.write_text("unmapped: drop\nrules:\n  - {from: agentEmail, to: agentId}\n")
    argv = ["rules", "check", str(path), "--schemas", SCHEMAS]
    assert main([*argv, "--samples", str(EXAMPLES / "1.0.0.jsonl")]) == 1
    out = capsys.readouterr().out
    assert out.startswith("NOT OK") and "missing_required" in out and "customerId" in out
    assert main([*argv, "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and report["unmapped"] == "drop"
    assert main([*argv, "--format", "html"]) == 1
    assert capsys.readouterr().out.startswith("<!DOCTYPE html>")


def test_rules_check_needs_subject_and_versions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "loose.yaml"
    path.write_text("agentEmail: agentId\n")
    assert main(["rules", "check", str(path), "--schemas", SCHEMAS]) == 2
    assert "cannot tell which schemas" in capsys.readouterr().err


def test_rules_check_bad_samples_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    samples = tmp_path / "s.jsonl"
    samples.write_text('{"a": 1}\n{broken\n')
    path = REPO / "rules" / SUBJECT / "1.0.0_to_2.0.0.yaml"
    assert main(["rules", "check", str(path), "--samples", str(samples), "--schemas", SCHEMAS]) == 2
    assert f"{samples}:2" in capsys.readouterr().err


def test_rules_without_subcommand_prints_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules"]) == 2
    assert "check" in capsys.readouterr().err


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("tty", [True, False])
def test_transform_shows_progress_only_on_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tty: bool
) -> None:
    stderr = _Terminal() if tty else io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    out = tmp_path / "out.jsonl"
    rules = str(REPO / "rules" / SUBJECT / "1.0.0_to_2.0.0.yaml")
    assert main(["transform", "--rules", rules, str(EXAMPLES / "1.0.0.jsonl"), "-o", str(out)]) == 0
    assert len(_lines(out)) == 3
    text = stderr.getvalue()
    assert text.endswith("read 3, written 3, dead-lettered 0\n")
    assert ("events/s" in text) is tty  # tqdm's bar, on a terminal only


def test_transform_to_refuses_a_broken_rule_file_before_reading_events(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    broken = rules / SUBJECT / "2.1.0_to_3.0.0.yaml"
    broken.write_text("rules:\n  - from: agentId\n    to: agent.id\n    transform: nope\n")
    out = tmp_path / "out.jsonl"
    argv = ["transform", "--to", "2.0.0", "--subject", SUBJECT, "--schemas", SCHEMAS]
    code = main([*argv, "--rules-dir", str(rules), str(EXAMPLES / "1.0.0.jsonl"), "-o", str(out)])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"evolvekit: {broken}:4:16: unknown transform 'nope'")
    assert "\n" not in err
    assert not out.exists()  # nothing half-written
