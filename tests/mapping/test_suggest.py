"""suggest_rules: renames, moves, casts, units, defaults and drops drafted from a diff."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from evolvekit.mapping.ruleset import RuleSet
from evolvekit.mapping.suggest import Suggestion, suggest_rules
from evolvekit.schema.changes import SchemaDiff
from evolvekit.schema.diff import diff_schemas
from evolvekit.schema.registry import SchemaRegistry

REPO = Path(__file__).resolve().parents[2]

# The tutorial's schemas, event and rules, shared by the mapping tests.
TUTORIAL = json.loads((Path(__file__).parent / "tutorial.json").read_text())
LEGACY, NEW, LEGACY_EVENT = (TUTORIAL[k] for k in ("legacy_schema", "new_schema", "event"))


def _pairs(suggestion: Suggestion) -> dict[str, dict[str, Any]]:
    return {item.rule["from"]: item.rule for item in suggestion.items if "from" in item.rule}


@pytest.mark.parametrize("with_schemas", [True, False])
def test_tutorial_schemas_suggest_both_renames(with_schemas: bool) -> None:
    diff = diff_schemas(LEGACY, NEW)
    kwargs: dict[str, Any] = {"old_schema": LEGACY, "new_schema": NEW} if with_schemas else {}
    suggestion = suggest_rules(diff, **kwargs)
    pairs = _pairs(suggestion)
    assert pairs["agentEmail"] == {"from": "agentEmail", "to": "agentId"}
    assert pairs["callDuration"] == {"from": "callDuration", "to": "durationSeconds"}
    assert all(0 < item.confidence <= 1 and item.reason for item in suggestion.items)
    # The draft works: the tutorial's event becomes a valid new event, ids kept.
    mapped = suggestion.ruleset.compile().apply(LEGACY_EVENT)
    assert mapped["agentId"] == "agent.smith@company.com"
    assert mapped["customerId"] == "CUST-99281"
    from evolvekit.schema.validate import SchemaValidator

    assert SchemaValidator(NEW).errors(mapped) == []


def test_to_yaml_is_a_commented_rule_file_that_loads_back() -> None:
    suggestion = suggest_rules(
        diff_schemas(LEGACY, NEW),
        [LEGACY_EVENT],
        old_schema=LEGACY,
        new_schema=NEW,
        subject="interaction.completed",
        from_version="1.0.0",
        to_version="2.0.0",
    )
    text = suggestion.to_yaml()
    lines = text.splitlines()
    for item in suggestion.items:
        at = lines.index(f"  - from: {item.rule['from']}")
        assert lines[at - 1].startswith(f"  # confidence {item.confidence:.2f}")
    loaded = RuleSet.from_yaml(text)
    assert loaded.to_dict() == suggestion.ruleset.to_dict()
    assert (loaded.subject, loaded.from_version, loaded.to_version) == (
        "interaction.completed",
        "1.0.0",
        "2.0.0",
    )
    assert yaml.safe_load(text)["unmapped"] == "keep"


def test_samples_shape_raises_or_lowers_confidence() -> None:
    old = {"type": "object", "properties": {"agentEmail": {"type": "string"}}}
    new_fmt = {"type": "object", "properties": {"agentMail": {"type": "string", "format": "email"}}}
    diff = diff_schemas(old, new_fmt)
    blind = suggest_rules(diff, old_schema=old, new_schema=new_fmt).items[0]
    emails = [{"agentEmail": "a@b.co"}, {"agentEmail": "x.y@z.org"}]
    seen = suggest_rules(diff, emails, old_schema=old, new_schema=new_fmt).items[0]
    assert seen.confidence > blind.confidence and "email" in seen.reason
    digits = [{"agentEmail": "1234"}]
    doubt = suggest_rules(diff, digits, old_schema=old, new_schema=new_fmt)
    assert all(i.confidence < blind.confidence for i in doubt.items if i.kind == "rename")
    new_pat = {"type": "object", "properties": {"agentMail": {"type": "string", "pattern": "^AG-"}}}
    miss = suggest_rules(diff_schemas(old, new_pat), emails, old_schema=old, new_schema=new_pat)
    (rename,) = [i for i in miss.items if i.kind == "rename"]
    assert rename.confidence < blind.confidence and "do not match" in rename.reason


def test_moves_and_units_on_the_shipped_3_0_0() -> None:
    registry = SchemaRegistry(REPO / "schemas")
    subject = "interaction.completed"
    old, new = registry.get(subject, "2.1.0"), registry.get(subject, "3.0.0")
    suggestion = suggest_rules(
        diff_schemas(
            old,
            new,
            registry=registry,
            old_uri=registry.uri(subject, "2.1.0"),
            new_uri=registry.uri(subject, "3.0.0"),
        ),
        old_schema=old,
        new_schema=new,
        registry=registry,
        old_uri=registry.uri(subject, "2.1.0"),
        new_uri=registry.uri(subject, "3.0.0"),
    )
    pairs = _pairs(suggestion)
    assert pairs["agentId"] == {"from": "agentId", "to": "agent.id"}
    assert pairs["durationSeconds"]["to"] == "durationMs"
    assert pairs["durationSeconds"]["transform"] == {"name": "scale", "factor": 1000}
    kinds = {i.rule["from"]: i.kind for i in suggestion.items}
    assert kinds["agentId"] == "move" and kinds["durationSeconds"] == "unit"


def test_moves_out_of_nested_objects_and_ms_to_seconds() -> None:
    old = {
        "type": "object",
        "properties": {
            "agent": {"type": "object", "properties": {"id": {"type": "string"}}},
            "holdMs": {"type": "integer"},
        },
    }
    new = {
        "type": "object",
        "properties": {"agentId": {"type": "string"}, "holdSeconds": {"type": "integer"}},
    }
    pairs = _pairs(suggest_rules(diff_schemas(old, new), old_schema=old, new_schema=new))
    assert pairs["agent.id"] == {"from": "agent.id", "to": "agentId"}
    assert pairs["holdMs"]["transform"] == [
        {"name": "scale", "factor": 0.001},
        {"name": "int", "rounding": "down"},
    ]
    mapper = suggest_rules(diff_schemas(old, new), old_schema=old, new_schema=new).ruleset.compile()
    assert mapper.apply({"holdMs": 431500})["holdSeconds"] == 431


def test_casts_for_cxone_strings() -> None:
    registry = SchemaRegistry(REPO / "schemas")
    subject = "agent.session"
    old, new = registry.get(subject, "1.0.0"), registry.get(subject, "2.0.0")
    path = REPO / "schemas" / subject / "examples" / "1.0.0.jsonl"
    samples = [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]
    suggestion = suggest_rules(
        diff_schemas(
            old,
            new,
            registry=registry,
            old_uri=registry.uri(subject, "1.0.0"),
            new_uri=registry.uri(subject, "2.0.0"),
        ),
        samples,
        old_schema=old,
        new_schema=new,
        registry=registry,
        old_uri=registry.uri(subject, "1.0.0"),
        new_uri=registry.uri(subject, "2.0.0"),
    )
    pairs = _pairs(suggestion)
    assert pairs["AgentId"] == {"from": "AgentId", "to": "agentId", "transform": "int"}
    assert pairs["IsActive"] == {"from": "IsActive", "to": "isActive", "transform": "bool"}
    assert pairs["Skills[*].SkillId"]["to"] == "skills[*].id"
    assert pairs["StartDate"]["to"] == "startedAt"
    # The draft maps every sample to a valid 2.0.0 event.
    mapper = suggestion.ruleset.compile()
    validator = registry.validator(subject, "2.0.0")
    for sample in samples:
        assert validator.errors(mapper.apply(sample)) == []
    # And back: booleans become CXone's exact spellings through a map, not str.
    back = suggest_rules(
        diff_schemas(
            new,
            old,
            registry=registry,
            old_uri=registry.uri(subject, "2.0.0"),
            new_uri=registry.uri(subject, "1.0.0"),
        ),
        old_schema=new,
        new_schema=old,
        registry=registry,
        old_uri=registry.uri(subject, "2.0.0"),
        new_uri=registry.uri(subject, "1.0.0"),
    )
    rule = _pairs(back)["isActive"]
    assert rule["transform"] == {"name": "map", "table": {"true": "True", "false": "False"}}


def test_type_change_in_place_is_a_cast() -> None:
    old = {"type": "object", "properties": {"n": {"type": "string"}, "f": {"type": "integer"}}}
    new = {"type": "object", "properties": {"n": {"type": "integer"}, "f": {"type": "string"}}}
    suggestion = suggest_rules(
        diff_schemas(old, new), [{"n": "245"}], old_schema=old, new_schema=new
    )
    pairs = _pairs(suggestion)
    assert pairs["n"] == {"from": "n", "to": "n", "transform": "int"}
    assert pairs["f"] == {"from": "f", "to": "f", "transform": "str"}
    by_from = {i.rule["from"]: i for i in suggestion.items}
    assert by_from["n"].confidence > 0.9 and "digits" in by_from["n"].reason
    bad = suggest_rules(diff_schemas(old, new), [{"n": "abc"}], old_schema=old, new_schema=new)
    assert {i.rule["from"]: i for i in bad.items}["n"].confidence < 0.5


def test_defaults_for_newly_required_fields_and_drops() -> None:
    old = {
        "type": "object",
        "properties": {"legacyNotes": {"type": "string"}, "n": {"type": "string"}},
    }
    new = {
        "type": "object",
        "required": ["tier", "n"],
        "properties": {
            "tier": {"type": "string", "default": "standard"},
            "n": {"type": "integer", "default": 0},
            "region": {"type": "string"},
        },
        "additionalProperties": False,
    }
    suggestion = suggest_rules(diff_schemas(old, new), old_schema=old, new_schema=new)
    by_from = {i.rule["from"]: i for i in suggestion.items}
    assert by_from["tier"].rule == {"from": "tier", "to": "tier", "default": "standard"}
    assert by_from["tier"].kind == "default"
    # the cast of n carries its default: one rule per target
    assert by_from["n"].rule == {"from": "n", "to": "n", "transform": "int", "default": 0}
    assert by_from["legacyNotes"].rule == {"from": "legacyNotes", "drop": True}
    assert by_from["legacyNotes"].confidence >= 0.9  # the new schema is closed
    assert len(suggestion.ruleset.rules) == 3  # loads: no two rules write one target
    # From the diff alone the default still comes from the added property's schema.
    alone = suggest_rules(diff_schemas(old, new))
    assert {"from": "tier", "to": "tier", "default": "standard"} in [i.rule for i in alone.items]


def test_required_field_with_no_source_is_left_to_a_person() -> None:
    old = {"type": "object", "properties": {"a": {"type": "string"}}}
    new = {
        "type": "object",
        "required": ["zzz"],
        "properties": {"a": {"type": "string"}, "zzz": {"type": "integer"}},
    }
    suggestion = suggest_rules(diff_schemas(old, new), old_schema=old, new_schema=new)
    assert suggestion.items == []
    assert any("zzz" in note for note in suggestion.unresolved)
    text = suggestion.to_yaml()
    assert "rules: []" in text and "# Not resolved" in text
    assert RuleSet.from_yaml(text).rules == ()


def test_an_empty_diff_suggests_nothing() -> None:
    suggestion = suggest_rules(SchemaDiff([]), old_schema=NEW, new_schema=NEW)
    assert suggestion.items == [] and suggestion.unresolved == []
