"""Verdict paths of the object/array walk that no broader test pins, each with a witness.

Every breaking verdict here is backed by an instance jsonschema accepts on one side and rejects
on the other; every compatible verdict by the absence of such a difference for the witnesses.
"""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from evolvekit.schema.diff import diff_schemas


def _verdict(old: Any, new: Any, **kw: Any) -> list[tuple[str, str, list[str]]]:
    return [(c.kind, c.path, sorted(c.breaks)) for c in diff_schemas(old, new, **kw).changes]


def _valid(schema: Any, instance: Any) -> bool:
    return jsonschema.Draft202012Validator(schema).is_valid(instance)


def _array(contains: dict[str, Any], **bounds: int) -> dict[str, Any]:
    return {"type": "array", "contains": contains, **bounds}


@pytest.mark.parametrize(
    ("inner", "witness"),
    [
        ({"pattern": "[0-9]"}, ["0", "a"]),
        ({"minLength": 2}, ["ab", "a"]),
        ({"enum": ["0", "1"]}, ["0", "a"]),
    ],
)
def test_narrowed_contains_under_max_contains_breaks_both_directions(
    inner: dict[str, Any], witness: list[str]
) -> None:
    old = _array({"type": "string"}, maxContains=1)
    new = _array({"type": "string", **inner}, maxContains=1)
    # the witness proves the forward break: the new schema accepts it, the old does not
    assert _valid(new, witness) and not _valid(old, witness)
    d = diff_schemas(old, new)
    assert not d.forward and not d.backward
    assert [sorted(c.breaks) for c in d.changes] == [["backward", "forward"]]


def test_minimum_added_inside_contains_under_max_contains_breaks_forward() -> None:
    old = _array({"type": "integer"}, maxContains=1)
    new = _array({"type": "integer", "minimum": 3}, maxContains=1)
    assert _valid(new, [5, 1]) and not _valid(old, [5, 1])
    assert _verdict(old, new) == [("minimum_added", "#/contains/minimum", ["backward", "forward"])]


def test_widened_contains_under_max_contains_breaks_backward() -> None:
    old = _array({"type": "string", "pattern": "[0-9]"}, maxContains=1)
    new = _array({"type": "string"}, maxContains=1)
    assert _valid(old, ["0", "a"]) and not _valid(new, ["0", "a"])
    assert not diff_schemas(old, new).backward


def test_narrowed_contains_with_only_min_contains_stays_forward_compatible() -> None:
    # Without a cap, fewer matching items under new can only be more under old.
    old = _array({"type": "string"}, minContains=2)
    new = _array({"type": "string", "pattern": "[0-9]"}, minContains=2)
    assert _verdict(old, new) == [("pattern_added", "#/contains/pattern", ["backward"])]


def test_annotation_inside_contains_under_max_contains_breaks_nothing() -> None:
    old = _array({"type": "string"}, maxContains=1)
    new = _array({"type": "string", "description": "a code"}, maxContains=1)
    assert diff_schemas(old, new).compatible("full")


def test_additional_properties_empty_schema_is_as_open_as_absent() -> None:
    absent = {"type": "object", "properties": {"a": {"type": "string"}}}
    empty = {**absent, "additionalProperties": {}}
    assert _verdict(absent, empty) == []
    assert _verdict(empty, absent) == []
    typed = {**absent, "additionalProperties": {"type": "string"}}
    assert _verdict(empty, typed) == _verdict(absent, typed)
    assert _verdict(empty, typed)[0][0] == "additional_properties_narrowed"


def test_added_property_covered_by_pattern_properties_is_not_open() -> None:
    old = {"type": "object", "patternProperties": {"^x": {"type": "string"}}}
    new = {**old, "properties": {"xa": {"type": "string", "maxLength": 3}}}
    assert _valid(old, {"xa": "long"}) and not _valid(new, {"xa": "long"})
    # even the lenient policy (which lets an open model gain a property) must call it breaking
    rows = _verdict(old, new, policy="lenient")
    assert ("max_length_added", "#/properties/xa/maxLength", ["backward"]) in rows
    assert any(kind == "property_added_not_covered_by_partially_open_content_model"
               for kind, _, _ in rows)  # fmt: skip
    assert not any(kind.endswith("_to_open_content_model") for kind, _, _ in rows)
    assert not diff_schemas(old, new, policy="lenient").backward
