"""The compatibility matrix and the field lineage of a subject, and their HTML."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from evolvekit.schema.matrix import (
    compatibility_matrix,
    field_lineage,
    lineage_html,
    matrix_html,
    properties,
    subject_report_html,
)
from evolvekit.schema.registry import SchemaRegistry

REPO = Path(__file__).resolve().parents[2]
SUBJECT = "interaction.completed"


@pytest.fixture(scope="module")
def registry() -> SchemaRegistry:
    return SchemaRegistry(REPO / "schemas")


def test_matrix_is_n_by_n_with_each_pairs_own_verdict(registry: SchemaRegistry) -> None:
    matrix = compatibility_matrix(registry, SUBJECT)
    versions = registry.versions(SUBJECT)
    assert matrix.versions == versions and len(matrix.cells) == len(versions) ** 2
    assert all(matrix.cell(v, v).verdict == "same" for v in versions)
    # 2.0.0 -> 2.1.0 only adds optional fields: old readers keep working (forward)
    forward = matrix.cell("2.0.0", "2.1.0")
    assert forward.verdict == "forward" and forward.forward_breaking == 0
    assert forward.backward_breaking > 0
    # the same pair read the other way round swaps the directions
    back = matrix.cell("2.1.0", "2.0.0")
    assert back.verdict == "backward" and back.forward_breaking == forward.backward_breaking
    assert matrix.cell("1.0.0", "2.0.0").verdict == "none"


def test_full_when_nothing_breaks(tmp_path: Path) -> None:
    subject = tmp_path / "s"
    subject.mkdir()
    schema = '{"type": "object", "properties": {"a": {"type": "string"}}}'
    (subject / "1.0.0.json").write_text(schema)
    (subject / "1.1.0.json").write_text(schema.replace('"string"}', '"string", "title": "A"}'))
    matrix = compatibility_matrix(SchemaRegistry(tmp_path), "s")
    assert matrix.cell("1.0.0", "1.1.0").verdict == "full"


def test_lineage_follows_renames_retypes_and_removals(registry: SchemaRegistry) -> None:
    lineage = field_lineage(registry, SUBJECT)
    email = lineage.history("agentEmail")
    assert email["1.0.0"].status == "added"
    assert email["2.0.0"].status == "renamed" and email["2.0.0"].detail == "to agentId"
    assert lineage.history("agentId")["2.0.0"].detail == "from agentEmail"
    assert lineage.history("agentId")["3.0.0"].status == "removed"
    channel = lineage.history("channel")["3.0.0"]
    assert channel.status == "retyped" and channel.detail.startswith("string → ")
    assert lineage.history("agent.id")["3.0.0"].status == "added"  # nested fields are dotted
    assert lineage.history("customerId")["3.0.0"].status == "kept"


def test_properties_are_walked_with_their_types() -> None:
    schema = {"properties": {"a": {"type": "object", "properties": {"b": {"type": ["string",
              "null"]}}}, "c": {"$ref": "#/$defs/x"}, "d": {"enum": [1]}}}  # fmt: skip
    assert list(properties(schema)) == [("a", "object"), ("a.b", "string|null"),
                                        ("c", "$ref x"), ("d", "enum")]  # fmt: skip


def test_html_is_self_contained_and_linked(registry: SchemaRegistry) -> None:
    matrix = compatibility_matrix(registry, SUBJECT)
    html = matrix_html(matrix, lambda old, new: f"#pair-{old}-{new}")
    assert "<script" not in html and "http" not in html
    assert html.count('class="ek-cell"') == 16
    assert 'href="#pair-2.0.0-2.1.0"' in html and 'data-verdict="forward"' in html
    lineage = lineage_html(field_lineage(registry, SUBJECT))
    assert 'data-status="renamed"' in lineage and "from agentEmail" in lineage
    report = subject_report_html(registry, SUBJECT)
    anchors = set(re.findall(r'<div class="ek-pair" id="([^"]+)"', report))
    links = set(re.findall(r'href="#([^"]+)"', report))
    assert len(anchors) == 12 and links == anchors, "every cell opens its pair's diff"
