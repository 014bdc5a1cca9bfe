"""Verdict paths of the scalar walk (bounds, const/enum) that no broader test pins."""

from __future__ import annotations

from typing import Any

import jsonschema

from evolvekit.schema.diff import diff_schemas


def _verdict(old: Any, new: Any) -> list[tuple[str, str, list[str]]]:
    return [(c.kind, c.path, sorted(c.breaks)) for c in diff_schemas(old, new).changes]


def test_exclusive_maximum_equal_to_maximum_added_is_breaking() -> None:
    old = {"type": "number", "maximum": 10}
    new = {"type": "number", "maximum": 10, "exclusiveMaximum": 10}
    assert jsonschema.validate(10, old) is None
    assert not jsonschema.Draft202012Validator(new).is_valid(10)
    assert _verdict(old, new) == [("exclusive_maximum_added", "#/exclusiveMaximum", ["backward"])]


def test_looser_redundant_exclusive_maximum_is_not_breaking() -> None:
    old = {"type": "number", "maximum": 10}
    new = {"type": "number", "maximum": 10, "exclusiveMaximum": 11}
    assert _verdict(old, new) == [("exclusive_maximum_added", "#/exclusiveMaximum", [])]


def test_const_to_enum_is_reported_once_at_the_enum() -> None:
    old = {"type": "object", "properties": {"a": {"const": 1}}}
    new = {"type": "object", "properties": {"a": {"enum": [1, 2]}}}
    assert _verdict(old, new) == [("enum_array_extended", "#/properties/a/enum", ["forward"])]
    assert _verdict(new, old) == [("enum_array_narrowed", "#/properties/a/enum", ["backward"])]
