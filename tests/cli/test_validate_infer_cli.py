"""``evolvekit validate`` and ``evolvekit infer`` through the CLI entry point."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from evolvekit.cli.main import main

SHIPPED = Path(__file__).resolve().parents[2] / "schemas"
EXAMPLES = SHIPPED / "interaction.completed" / "examples"


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_validate_all_valid(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        ["validate", str(EXAMPLES / "2.1.0.jsonl"), "--schema", "interaction.completed@2.1.0",
         "--schemas", str(SHIPPED)], capsys)  # fmt: skip
    assert code == 0
    assert out.splitlines() == [
        "line 1: valid",
        "line 2: valid",
        "line 3: valid",
        "3 event(s) against interaction.completed@2.1.0: 3 valid, 0 invalid",
    ]


def test_validate_reports_pointer_message_and_malformed_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text(
        '{"agentId": 1, "sessionId": "s", "isActive": true, "startedAt": "2024-01-01T00:00:00Z"}\n'
        "\n"
        '{"agentId": "1", "sessionId": "s", "isActive": true, "startedAt": "x"}\n'
        "{not json\n"
    )
    code, out, err = run(
        ["validate", str(events), "--schema", "agent.session@v2.0.0", "--schemas", str(SHIPPED)],
        capsys,
    )
    assert code == 1 and err == ""
    lines = out.splitlines()
    assert lines[0] == "line 1: valid"
    assert lines[1] == "line 3: invalid"
    assert lines[2] == "  #/agentId: '1' is not of type 'integer'"
    assert lines[3].startswith("line 4: invalid: not valid JSON")
    assert lines[-1] == (
        "3 event(s) against agent.session@2.0.0: 1 valid, 2 invalid (1 not valid JSON)"
    )


def test_validate_quiet_and_latest(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        ["validate", str(EXAMPLES / "1.0.0.jsonl"), "--schema", "interaction.completed@latest",
         "--schemas", str(SHIPPED), "-q"], capsys)  # fmt: skip
    assert code == 1
    assert "against interaction.completed@3.0.0: 0 valid, 3 invalid" in out
    assert "valid\n" not in out.replace("invalid\n", "")
    assert "#: 'agent' is a required property" in out


def test_validate_against_a_schema_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    schema = tmp_path / "s.json"
    schema.write_text(json.dumps({"type": "object", "required": ["id"]}))
    events = tmp_path / "e.jsonl"
    events.write_text('{"id": 1}\n{"x": 2}\n')
    monkeypatch.chdir(tmp_path)  # no workspace here: a standalone file still works
    monkeypatch.delenv("EVOLVEKIT_HOME", raising=False)
    code, out, _ = run(["validate", str(events), "--schema", str(schema)], capsys)
    assert code == 1
    assert "line 2: invalid\n  #: 'id' is a required property" in out
    code, out, _ = run(
        ["validate", str(events), "--schema", str(SHIPPED / "agent.session" / "1.0.0.json"),
         "--schemas", str(SHIPPED)], capsys)  # fmt: skip
    assert code == 1 and "'AgentId' is a required property" in out


def test_validate_from_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stdin = io.TextIOWrapper(io.BytesIO(b'{"customerId": "c"}\n'))
    monkeypatch.setattr("sys.stdin", stdin)
    code, out, _ = run(
        ["validate", "-", "--schema", "interaction.completed@1.0.0", "--schemas", str(SHIPPED)],
        capsys,
    )
    assert code == 1 and "#: 'interactionId' is a required property" in out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--schema", "nosuch@1.0.0"], "unknown subject 'nosuch'"),
        (["--schema", "agent.session@7.0.0"], "has no version 7.0.0"),
        (["--schema", "agent.session@seven"], "not a semantic version"),
        (["--schema", "missing.json"], "missing.json: no such schema file"),
    ],
)
def test_validate_bad_input_exits_2(
    argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        ["validate", str(EXAMPLES / "1.0.0.jsonl"), *argv, "--schemas", str(SHIPPED)], capsys
    )
    assert code == 2 and out == ""
    assert err.startswith("evolvekit: ") and needle in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_validate_bad_schema_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"properties": {"a": {"$ref": "http://example.com/x.json"}}}')
    code, _, err = run(
        [
            "validate",
            str(EXAMPLES / "1.0.0.jsonl"),
            "--schema",
            str(bad),
            "--schemas",
            str(SHIPPED),
        ],
        capsys,
    )
    assert code == 2
    assert "bad.json #/properties/a" in err and "never fetched" in err
    missing = tmp_path / "none.jsonl"
    code, _, err = run(
        ["validate", str(missing), "--schema", "agent.session@1.0.0", "--schemas", str(SHIPPED)],
        capsys,
    )
    assert code == 2 and "cannot read events" in err


def test_infer_to_stdout_and_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = SHIPPED / "agent.session" / "examples" / "1.0.0.jsonl"
    code, out, _ = run(["infer", str(source), "--enums"], capsys)
    assert code == 0
    schema = json.loads(out)
    assert schema["properties"]["IsActive"]["enum"] == ["False", "True"]
    target = tmp_path / "inferred.json"
    code, out, err = run(["infer", str(source), "-o", str(target), "--title", "T"], capsys)
    assert code == 0 and out == "" and "wrote" in err
    written = json.loads(target.read_text())
    assert written["title"] == "T" and "enum" not in written["properties"]["IsActive"]
    # the written schema validates the events it came from
    code, out, _ = run(["validate", str(source), "--schema", str(target)], capsys)
    assert code == 0


def test_infer_malformed_line_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "e.jsonl"
    source.write_text('{"a": 1}\n{"a": \n')
    code, out, err = run(["infer", str(source)], capsys)
    assert code == 2 and out == ""
    assert f"{source}:2: not valid JSON" in err
