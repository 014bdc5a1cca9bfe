"""The ReDoS repros of issue 11, run as a user runs them: ``evolvekit`` in a subprocess.

Each hostile pattern/value pair needs ~2**40 steps in a backtracking engine. The subprocess
timeout is a hang guard (generous for a loaded CI machine), not a speed assertion: with a
linear-time engine each command ends in well under a second.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = str(REPO / "schemas")
SUBJECT = "interaction.completed"
HANG_GUARD = 60.0

RULES = f"""subject: {SUBJECT}
from_version: 1.0.0
to_version: 2.0.0
unmapped: keep
rules:
  - {{from: agentEmail, to: agentId}}
  - {{from: callDuration, to: durationSeconds}}
  - {{from: note, to: noteCode, transform: {{name: regex, pattern: "{{pattern}}"}}}}
"""


def evolvekit(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "evolvekit", *argv],
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
        check=False,
    )


def _rules(tmp_path: Path, pattern: str) -> Path:
    path = tmp_path / "1.0.0_to_2.0.0.yaml"
    path.write_text(RULES.replace("{pattern}", pattern))
    return path


def _hostile_event(tmp_path: Path) -> Path:
    event = {"customerId": "C", "interactionId": "I", "agentEmail": "a@b.co", "note": "a" * 40}
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps({**event, "note": "a" * 40 + "!"}) + "\n")
    return path


def test_hostile_rule_pattern_in_rules_check_and_transform(tmp_path: Path) -> None:
    rules = _rules(tmp_path, "^([a-z]+)+[0-9]$")
    events = _hostile_event(tmp_path)
    check = evolvekit("rules", "check", str(rules), "--schemas", SCHEMAS, "--samples", str(events))
    assert check.returncode in (0, 1), check.stderr
    assert "samples" in check.stdout.lower()
    dead = tmp_path / "dl.jsonl"
    out = evolvekit("transform", "--rules", str(rules), str(events), "--dead-letter", str(dead))
    assert out.returncode == 1 and out.stdout == ""
    [letter] = [json.loads(line) for line in dead.read_text().splitlines()]
    assert letter["stage"] == "map" and "does not match '^([a-z]+)+[0-9]$'" in letter["reason"]


def test_rule_pattern_the_engine_cannot_run_is_a_load_error_with_file_and_line(
    tmp_path: Path,
) -> None:
    rules = _rules(tmp_path, "^(?=[a-z])([a-z]+)+[0-9]$")
    for argv in (("rules", "check", str(rules), "--schemas", SCHEMAS),
                 ("transform", "--rules", str(rules), str(_hostile_event(tmp_path)))):  # fmt: skip
        result = evolvekit(*argv)
        assert result.returncode == 2
        line = result.stderr.strip()
        assert line.startswith(f"evolvekit: {rules}:8:") and "\n" not in line
        assert "transform 'regex': bad pattern" in line and "lookahead/lookbehind" in line


def test_validate_with_hostile_schema_patterns(tmp_path: Path) -> None:
    schemas = {
        "pattern": {"pattern": "^(a+)+$"},
        "patternProperties": {
            "type": "object",
            "patternProperties": {"^(a+)+$": {"type": "integer"}},
            "additionalProperties": False,
        },
    }
    value = "a" * 41 + "!"
    for name, instance, pointer, message in (
        ("pattern", value, "#", f"'{value}' does not match '^(a+)+$'"),
        ("patternProperties", {value: 1}, "#", f"('{value}' was unexpected)"),
    ):
        schema = tmp_path / f"{name}.json"
        schema.write_text(json.dumps(schemas[name]))
        events = tmp_path / f"{name}.jsonl"
        events.write_text(json.dumps(instance) + "\n")
        result = evolvekit("validate", str(events), "--schema", str(schema))
        assert result.returncode == 1, result.stderr
        assert f"  {pointer}: " in result.stdout and message in result.stdout
