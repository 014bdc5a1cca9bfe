"""The rule catalogue: complete, consistent with the kind classes, and docs/rules.md current."""

from __future__ import annotations

from pathlib import Path

import pytest

from evolvekit.cli.main import main
from evolvekit.schema.changes import KINDS, mirror_kind
from evolvekit.schema.rules import RULES, default_severity, rules_markdown

DOCS = Path(__file__).resolve().parents[2] / "docs" / "rules.md"


def test_every_kind_has_exactly_one_entry() -> None:
    assert len(KINDS) == 151
    assert list(RULES) == list(KINDS)
    for kind, entry in RULES.items():
        assert entry.id == kind and entry.title and entry.fix and entry.did


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_entry_explains_every_direction_its_kind_can_break(kind: str) -> None:
    entry = RULES[kind]
    if KINDS[kind] != "compatible":
        assert entry.narrow, f"{kind} breaks backward but says nothing about it"
    mirror = mirror_kind(kind)
    if mirror is not None and KINDS[mirror] != "compatible":
        assert entry.widen, f"{kind} breaks forward (as {mirror}) but says nothing about it"
    assert entry.backward.endswith(".") and entry.forward.endswith(".")


def test_default_severity() -> None:
    assert default_severity("required_attribute_added") == "breaking"
    assert default_severity("optional_property_added_to_open_content_model") == "breaking"
    assert default_severity("enum_array_extended") == "caution"
    assert default_severity("description_changed") == "info"


def test_docs_rules_md_is_generated_and_current() -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert text == rules_markdown(), "regenerate: evolvekit explain --markdown > docs/rules.md"
    for kind in KINDS:
        assert f"\n## {kind}\n" in text


def test_explain_prints_an_entry(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "required_attribute_added"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("required_attribute_added: property made required")
    assert "default severity: breaking" in out and "backward" in out and "forward" in out


def test_explain_list_names_every_rule_with_its_severity(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["explain", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(KINDS)
    assert lines[0].split()[:2] == ["id_changed", "info"]


def test_explain_unknown_rule_is_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "maximum"]) == 2
    err = capsys.readouterr().err.strip()
    assert "unknown rule 'maximum'" in err and "maximum_added" in err and "\n" not in err
