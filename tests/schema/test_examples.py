"""Change.example: a counterexample event for breaking changes, checked, never unchecked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import referencing
import referencing.jsonschema

from evolvekit.schema.changes import MISSING
from evolvekit.schema.diff import diff_schemas
from evolvekit.schema.instances import minimal, sample_pattern
from evolvekit.schema.registry import SchemaRegistry

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def _python_validator(schema: Any, uri: str, reg: SchemaRegistry) -> Any:
    """jsonschema (pure Python), independent of the jsonschema-rs check the diff made."""

    def retrieve(target: str) -> referencing.Resource[Any]:
        return referencing.jsonschema.DRAFT202012.create_resource(reg.retrieve_json(target))

    registry: referencing.Registry[Any] = referencing.Registry(retrieve=retrieve)
    cls = jsonschema.validators.validator_for(schema)
    return cls({**schema, "$id": uri}, registry=registry)


def test_every_breaking_change_between_shipped_versions_is_explained_and_proven() -> None:
    reg = SchemaRegistry(SCHEMAS)
    proven = 0
    for subject in reg.subjects():
        versions = reg.versions(subject)
        assert len(versions) >= 2, subject
        for old_v in versions:
            for new_v in versions:
                if old_v == new_v:
                    continue
                old_ref, new_ref = f"{subject}@{old_v}", f"{subject}@{new_v}"
                diff = diff_schemas(old_ref, new_ref, registry=reg, examples=True)
                old = _python_validator(reg.get(subject, old_v), reg.uri(subject, old_v), reg)
                new = _python_validator(reg.get(subject, new_v), reg.uri(subject, new_v), reg)
                for change in diff.changes:
                    if not change.breaks:
                        continue
                    where = f"{old_ref} -> {new_ref} {change.kind} {change.path}"
                    assert change.explanation.endswith("."), where
                    assert change.example is not MISSING, where
                    accepted_by_old = old.is_valid(change.example)
                    accepted_by_new = new.is_valid(change.example)
                    if "backward" in change.breaks and accepted_by_old and not accepted_by_new:
                        proven += 1
                    else:
                        assert "forward" in change.breaks, where
                        assert accepted_by_new and not accepted_by_old, where
                        proven += 1
    assert proven >= 100


def test_the_issue_contains_case_gets_its_forward_counterexample() -> None:
    old = {"type": "array", "contains": {"type": "string"}, "maxContains": 1}
    new = {"type": "array", "contains": {"type": "string", "pattern": "[0-9]"}, "maxContains": 1}
    (change,) = diff_schemas(old, new).changes
    example = change.example
    assert jsonschema.Draft202012Validator(old).is_valid(example) != (
        jsonschema.Draft202012Validator(new).is_valid(example))  # fmt: skip


def test_no_counterexample_exists_none_is_shown() -> None:
    # Equivalent patterns written differently: reported as changed, but no event differs.
    old = {"type": "string", "pattern": "^a"}
    new = {"type": "string", "pattern": "^(?:a)"}
    (change,) = diff_schemas(old, new).changes
    assert change.breaks and change.example is MISSING


def test_examples_default_on_up_to_the_limit_and_can_be_forced_or_disabled() -> None:
    old = {"type": "object", "properties": {f"p{i}": {"type": "string"} for i in range(250)}}
    new = {"type": "object", "properties": {f"p{i}": {"type": "integer"} for i in range(250)}}
    assert all(c.example is MISSING for c in diff_schemas(old, new).changes)
    forced = diff_schemas(old, new, examples=True)
    assert all(c.example is not MISSING for c in forced.changes if c.breaks)
    small_old = {"type": "object", "properties": {"p0": {"type": "string"}}}
    small_new = {"type": "object", "properties": {"p0": {"type": "integer"}}}
    assert diff_schemas(small_old, small_new).changes[0].example == {"p0": ""}
    assert diff_schemas(small_old, small_new, examples=False).changes[0].example is MISSING


def test_minimal_instances_and_pattern_samples() -> None:
    schema = {"type": "object", "required": ["id", "n", "tags"], "properties": {
        "id": {"type": "string", "pattern": "^INT-[0-9]+$"},
        "n": {"type": "integer", "minimum": 5, "multipleOf": 2},
        "tags": {"type": "array", "minItems": 2, "items": {"enum": ["x"]}}}}  # fmt: skip
    instance = minimal(schema)
    assert instance == {"id": "INT-0", "n": 6, "tags": ["x", "x"]}
    assert jsonschema.Draft202012Validator(schema).is_valid(instance)
    assert sample_pattern("^(a|b)c{2}\\d$") == "acc0"
    assert sample_pattern("^[^x]$") is None
