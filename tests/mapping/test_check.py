"""check_rules: static findings (required, unread, types) and sample validation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from evolvekit.mapping.check import RulesReport, check_rules
from evolvekit.mapping.ruleset import RuleSet
from evolvekit.schema.registry import SchemaRegistry

REPO = Path(__file__).resolve().parents[2]

# The tutorial's schemas, event and rules, shared by the mapping tests.
TUTORIAL = json.loads((Path(__file__).parent / "tutorial.json").read_text())
LEGACY, NEW = TUTORIAL["legacy_schema"], TUTORIAL["new_schema"]
EVENT = {k: v for k, v in TUTORIAL["event"].items() if k not in ("eventType", "timestamp")}
TUTORIAL_RULES = TUTORIAL["rules"]


def _rules(rules: list[dict[str, Any]], unmapped: str = "keep") -> RuleSet:
    return RuleSet.from_dict({"unmapped": unmapped, "rules": rules})


def _kinds(report: RulesReport, severity: str | None = None) -> set[tuple[str, str]]:
    return {(f.kind, f.path) for f in report.findings if severity is None or f.severity == severity}


def test_tutorial_rules_with_keep_are_ok() -> None:
    report = check_rules(RuleSet.from_dict(TUTORIAL_RULES), LEGACY, NEW, [EVENT])
    assert report.ok
    assert _kinds(report, "error") == set()
    assert ("unread_source", "customerId") in _kinds(report, "info")
    assert report.samples is not None and report.samples.share == 1.0


def test_unmapped_drop_loses_required_fields() -> None:
    # The tutorial's engine behaviour: everything no rule names is dropped.
    rs = _rules([{"from": "agentEmail", "to": "agentId"}], unmapped="drop")
    report = check_rules(rs, LEGACY, NEW)
    assert not report.ok
    errors = _kinds(report, "error")
    assert ("missing_required", "customerId") in errors
    assert ("missing_required", "interactionId") in errors
    message = next(
        f.message for f in report.findings if f.path == "customerId" and f.severity == "error"
    )
    assert "unmapped: drop" in message
    assert ("unread_source", "callDuration") in _kinds(report, "info")


def test_missing_rule_for_a_renamed_required_field() -> None:
    report = check_rules(_rules([]), LEGACY, NEW)
    assert ("missing_required", "agentId") in _kinds(report, "error")
    assert not report.ok


def test_unmapped_error_with_an_unread_required_source() -> None:
    rs = _rules(
        [
            {"from": "agentEmail", "to": "agentId"},
            {"from": "customerId", "to": "customerId"},
            {"from": "interactionId", "to": "interactionId"},
        ],
        unmapped="error",
    )
    report = check_rules(rs, LEGACY, NEW)
    assert ("unread_source", "callDuration") in _kinds(report, "warning")
    assert report.ok  # optional: only events that carry it fail
    strict = check_rules(_rules([{"from": "agentEmail", "to": "agentId"}], "error"), LEGACY, NEW)
    assert ("unread_source", "customerId") in _kinds(strict, "error")


def test_type_conflict_source_to_transform() -> None:
    rs = _rules(
        [
            {"from": "agentEmail", "to": "agentId"},
            {"from": "callDuration", "to": "durationSeconds", "transform": "lower"},
        ]
    )
    report = check_rules(rs, LEGACY, NEW)
    conflict = next(f for f in report.findings if f.kind == "type_conflict")
    assert conflict.severity == "error" and conflict.rule == 1
    assert "integer" in conflict.message and "lower" in conflict.message


def test_type_conflict_transform_to_target() -> None:
    rs = _rules(
        [
            {"from": "agentEmail", "to": "agentId"},
            {"from": "callDuration", "to": "durationSeconds", "transform": "str"},
        ]
    )
    report = check_rules(rs, LEGACY, NEW)
    assert ("type_conflict", "durationSeconds") in _kinds(report, "error")


def test_type_conflict_plain_rename_and_constant_and_default() -> None:
    rs = _rules(
        [
            {"from": "agentEmail", "to": "durationSeconds"},
            {"from": "callDuration", "to": "agentId", "default": 5},
            {"to": "metadata", "value": "not an object"},
        ]
    )
    report = check_rules(rs, LEGACY, NEW)
    errors = [f for f in report.findings if f.kind == "type_conflict"]
    paths = sorted(f.path for f in errors)
    assert paths == ["agentId", "agentId", "durationSeconds", "metadata"]


def test_casts_that_fit_raise_nothing() -> None:
    old = {"type": "object", "properties": {"n": {"type": "string"}, "b": {"type": "string"}}}
    new = {"type": "object", "properties": {"n": {"type": "integer"}, "b": {"type": "boolean"}}}
    rs = _rules(
        [
            {"from": "n", "to": "n", "transform": "int"},
            {"from": "b", "to": "b", "transform": "bool"},
        ]
    )
    assert _kinds(check_rules(rs, old, new)) == set()


def test_number_into_integer_is_a_warning_and_whole_scale_is_fine() -> None:
    old = {"type": "object", "properties": {"s": {"type": "integer"}}}
    new = {"type": "object", "properties": {"ms": {"type": "integer"}}}
    up = _rules([{"from": "s", "to": "ms", "transform": {"name": "scale", "factor": 1000}}])
    assert _kinds(check_rules(up, old, new)) == set()
    down = _rules([{"from": "s", "to": "ms", "transform": {"name": "scale", "factor": 0.001}}])
    assert ("type_conflict", "ms") in _kinds(check_rules(down, old, new), "warning")


def test_map_transform_output_types_come_from_its_table() -> None:
    old = {"type": "object", "properties": {"b": {"type": "boolean"}}}
    new = {"type": "object", "properties": {"b": {"enum": ["True", "False"]}}}
    good = _rules(
        [
            {
                "from": "b",
                "to": "b",
                "transform": {"name": "map", "table": {"true": "True", "false": "False"}},
            }
        ]
    )
    assert check_rules(good, old, new).ok
    bad = _rules(
        [{"from": "b", "to": "b", "transform": {"name": "map", "table": {"true": 1, "false": 0}}}]
    )
    assert ("type_conflict", "b") in _kinds(check_rules(bad, old, new), "error")


def test_target_not_allowed_by_a_closed_object() -> None:
    new = {
        "type": "object",
        "properties": {
            "agent": {
                "type": "object",
                "properties": {"id": {"type": "string"}},
                "additionalProperties": False,
            }
        },
    }
    rs = _rules([{"from": "agentEmail", "to": "agent.mail"}])
    assert ("unknown_target", "agent.mail") in _kinds(check_rules(rs, LEGACY, new), "error")


def test_kept_field_not_allowed_by_a_closed_target() -> None:
    closed = dict(NEW, additionalProperties=False)
    rs = RuleSet.from_dict(TUTORIAL_RULES)
    report = check_rules(
        rs,
        dict(LEGACY, properties={**LEGACY["properties"], "legacyNotes": {"type": "string"}}),
        closed,
    )
    finding = next(f for f in report.findings if f.path == "legacyNotes")
    assert finding.severity == "warning" and "does not allow" in finding.message


def test_unknown_source_and_maybe_missing() -> None:
    new = {"type": "object", "required": ["d"], "properties": {"d": {"type": "integer"}}}
    rs = _rules([{"from": "callDuration", "to": "d"}, {"from": "nothere", "to": "x"}])
    report = check_rules(rs, LEGACY, new)
    assert ("maybe_missing", "d") in _kinds(report, "warning")
    assert ("unknown_source", "nothere") in _kinds(report, "warning")
    with_default = _rules([{"from": "callDuration", "to": "d", "default": 0}])
    assert ("maybe_missing", "d") not in _kinds(check_rules(with_default, LEGACY, new))


def test_nested_required_fields_and_wildcards() -> None:
    old = {
        "type": "object",
        "properties": {
            "items": {
                "type": "array",
                "items": {"type": "object", "properties": {"sku": {"type": "string"}}},
            }
        },
    }
    new = {
        "type": "object",
        "required": ["agent"],
        "properties": {
            "agent": {
                "type": "object",
                "required": ["id"],
                "properties": {"id": {"type": "string"}},
            },
            "lines": {
                "type": "array",
                "items": {"type": "object", "properties": {"productId": {"type": "integer"}}},
            },
        },
    }
    rs = _rules([{"from": "items[*].sku", "to": "lines[*].productId"}])
    report = check_rules(rs, old, new)
    errors = _kinds(report, "error")
    assert ("missing_required", "agent") in errors
    assert ("type_conflict", "lines[*].productId") in errors
    fixed = _rules(
        [
            {"from": "items[*].sku", "to": "lines[*].productId", "transform": "int"},
            {"to": "agent.id", "value": "x"},
        ]
    )
    assert check_rules(fixed, old, new).ok


def test_samples_grouped_by_pointer_and_keyword() -> None:
    rs = _rules([{"from": "callDuration", "to": "durationSeconds", "transform": "str"}])
    samples = [
        EVENT,
        dict(EVENT, callDuration=3),
        {"customerId": "C", "interactionId": "I", "agentEmail": "e"},
    ]
    report = check_rules(rs, LEGACY, NEW, samples)
    assert report.samples is not None
    assert (report.samples.total, report.samples.valid) == (3, 0)
    groups = {(g.pointer, g.keyword): g for g in report.samples.groups}
    assert groups[("#", "required")].count == 3
    assert groups[("#/durationSeconds", "type")].count == 2
    assert groups[("#/durationSeconds", "type")].samples == [0, 1]
    assert not report.ok


def test_mapping_failures_in_samples_are_grouped_too() -> None:
    rs = _rules([{"from": "agentEmail", "to": "agentId", "transform": "int"}])
    report = check_rules(rs, LEGACY, NEW, [EVENT])
    assert report.samples is not None
    (group,) = report.samples.groups
    assert group.keyword == "mapping" and group.pointer == "agentEmail"
    assert "int" in group.message


def test_renderings() -> None:
    rs = _rules([{"from": "agentEmail", "to": "agentId"}], unmapped="drop")
    hostile = {"<script>alert(1)</script>": {"type": "string"}}
    source = dict(LEGACY, properties={**LEGACY["properties"], **hostile})
    report = check_rules(rs, source, NEW, [EVENT])
    text = report.to_text()
    assert text.startswith("NOT OK") and "missing_required" in text and "samples: 0/1" in text
    page = report.to_html()
    assert page.startswith("<!DOCTYPE html>") and "<script>" not in page
    assert "&lt;script&gt;" in page
    data = report.to_dict()
    assert data["ok"] is False and data["unmapped"] == "drop"
    assert json.loads(json.dumps(data))["samples"]["total"] == 1


@pytest.mark.parametrize(
    "name",
    sorted(p.relative_to(REPO / "rules").as_posix() for p in (REPO / "rules").glob("*/*.yaml")),
)
def test_shipped_rules_check_clean(name: str) -> None:
    registry = SchemaRegistry(REPO / "schemas")
    rs = RuleSet.load(REPO / "rules" / name)
    assert rs.subject and rs.from_version and rs.to_version
    examples = REPO / "schemas" / rs.subject / "examples" / f"{rs.from_version}.jsonl"
    samples = [orjson.loads(line) for line in examples.read_bytes().splitlines() if line.strip()]
    report = check_rules(
        rs,
        registry.get(rs.subject, rs.from_version),
        registry.get(rs.subject, rs.to_version),
        samples,
        registry=registry,
        source_uri=registry.uri(rs.subject, rs.from_version),
        target_uri=registry.uri(rs.subject, rs.to_version),
    )
    assert report.ok, report.to_text()
    assert not report.by_severity("warning"), report.to_text()


def test_cross_file_refs_are_followed_with_a_registry() -> None:
    registry = SchemaRegistry(REPO / "schemas")
    subject = "agent.session"
    # Without a cast, "True" (a $ref'd string enum) into a boolean is a conflict, which only
    # the registry's other file can reveal.
    rs = _rules([{"from": "IsActive", "to": "isActive"}])
    args = (rs, registry.get(subject, "1.0.0"), registry.get(subject, "2.0.0"))
    blind = check_rules(*args)
    assert ("type_conflict", "isActive") not in _kinds(blind)
    seeing = check_rules(
        *args,
        registry=registry,
        source_uri=registry.uri(subject, "1.0.0"),
        target_uri=registry.uri(subject, "2.0.0"),
    )
    assert ("type_conflict", "isActive") in _kinds(seeing, "error")
