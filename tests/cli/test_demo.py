"""``evolvekit demo`` walks the shipped registry and exits 0."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from evolvekit.cli import demo
from evolvekit.cli.main import main


def _section(out: str, title: str) -> str:
    """The text of one demo section (from its title to the next section rule)."""
    start = out.index(f"== {title}\n")
    body = out[start:].split("\n", 2)[2]
    end = re.search(r"^={20,}$", body, re.M)
    return body[: end.start()] if end else body


def test_demo_walks_the_shipped_registry(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EVOLVEKIT_HOME", raising=False)
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "\x1b[" not in out  # not a TTY: no colour
    for title in ("Schema registry", "Registry check (evolvekit check)", "Demo finished"):
        assert f"== {title}\n" in out
    # The tutorial's migration, 1.0.0 -> 2.0.0: agentId becomes required, agentEmail goes.
    tutorial = _section(out, "interaction.completed: 1.0.0 -> 2.0.0")
    breaking = tutorial.split("caution (")[0]
    assert "breaking (" in breaking
    assert re.search(
        r"required_property_added_to_open_content_model\s+#/properties/agentId", breaking
    )
    assert re.search(
        r"property_removed_from_open_content_model\s+#/properties/agentEmail", tutorial
    )
    assert re.search(r"agentEmail -> \S*agentId \(similarity 0\.\d\d\)", tutorial)
    assert "backward: INCOMPATIBLE" in tutorial
    # Every consecutive pair of every subject gets a section.
    assert "== interaction.completed: 2.1.0 -> 3.0.0\n" in out
    assert "== agent.session: 1.0.0 -> 2.0.0\n" in out
    check = _section(out, "Registry check (evolvekit check)")
    assert check.split()[:5] == ["subject", "compared", "mode", "verdict", "breaking"]
    assert "interaction.completed" in check and "agent.session" in check
    assert re.search(r"\d+ checked, 0 violation\(s\)", check)


def test_demo_runs_outside_the_repository(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("EVOLVEKIT_HOME", raising=False)
    monkeypatch.chdir(tmp_path)  # no schemas/ above: the packaged examples are used
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "(packaged)" in out
    assert "== interaction.completed: 1.0.0 -> 2.0.0\n" in out


def test_demo_reports_a_failing_registry(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    subject = tmp_path / "schemas" / "orders"
    subject.mkdir(parents=True)
    (subject / "1.0.0.json").write_text('{"type": "number"}', encoding="utf-8")
    (subject / "2.0.0.json").write_text('{"type": "integer"}', encoding="utf-8")
    assert main(["demo", "--schemas", str(tmp_path / "schemas")]) == 1
    out = capsys.readouterr().out
    assert "type_narrowed" in out
    assert "Demo finished with problems" in out and "check failed for orders" in out


def test_schema_steps_come_first_in_order() -> None:
    # Later stages append their own steps; the schema walk opens the demo.
    names = [step.__name__ for step in demo.STEPS]
    assert names[:3] == ["step_registry", "step_diffs", "step_check"]
