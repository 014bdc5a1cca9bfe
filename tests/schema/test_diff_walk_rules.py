"""Scalar, enum, annotation and combinator rules of the diff walk, case by case.

Each row is one change as ``(kind, path, old, new, breaks)``, ``breaks`` spelt "b" (backward),
"f" (forward), "bf" (both) or "" (neither), e.g. ``maxLength`` 5 -> 4 breaks backward (an old
5-character value is rejected) and 5 -> 6 breaks forward.
"""

from __future__ import annotations

from typing import Any

import pytest

from evolvekit.errors import SchemaError
from evolvekit.schema.changes import MISSING
from evolvekit.schema.diff import diff_schemas

from ..support.diff_rows import A, Row, rows

S = "string"
D4 = "http://json-schema.org/draft-04/schema#"


CASES: dict[str, tuple[Any, Any, list[Row]]] = {
    "meta_all": (
        {
            "type": S,
            "title": "a",
            "description": "d",
            "default": 1,
            "examples": [1],
            "$comment": "c",
            "readOnly": True,
            "writeOnly": False,
            "contentMediaType": "text/plain",
            "contentEncoding": "base64",
            "$id": "urn:a",
        },
        {
            "type": S,
            "title": "b",
            "description": "d",
            "default": 1.0,
            "examples": [2],
            "readOnly": False,
            "contentMediaType": "text/html",
            "$id": "urn:b",
        },
        [
            ("id_changed", "#/", "urn:a", "urn:b", ""),
            ("title_changed", "#/", "a", "b", ""),
            ("examples_changed", "#/", [1], [2], ""),
            ("comment_changed", "#/", "c", A, ""),
            ("read_only_changed", "#/", True, False, ""),
            ("write_only_changed", "#/", False, A, ""),
            ("content_changed", "#/", "text/plain", "text/html", ""),
            ("content_changed", "#/", "base64", A, ""),
        ],
    ),
    "meta_added": (
        {"type": S},
        {"type": S, "title": "t", "default": None},
        [
            ("title_changed", "#/", A, "t", ""),
            ("default_changed", "#/", A, None, ""),
        ],
    ),
    "meta_bool_default": (
        {"type": S, "default": True},
        {"type": S, "default": 1},
        [
            ("default_changed", "#/", True, 1, ""),
        ],
    ),
    "draft4_id": (
        {"$schema": D4, "type": S, "id": "urn:a"},
        {"$schema": D4, "type": S, "id": "urn:b"},
        [
            ("id_changed", "#/", "urn:a", "urn:b", ""),
        ],
    ),
    "format_added": (
        {"type": S},
        {"type": S, "format": "email"},
        [
            ("format_added", "#/format", A, "email", ""),
        ],
    ),
    "format_removed": (
        {"type": S, "format": "email"},
        {"type": S},
        [
            ("format_removed", "#/format", "email", A, ""),
        ],
    ),
    "format_changed": (
        {"type": S, "format": "email"},
        {"type": S, "format": "uri"},
        [
            ("format_changed", "#/format", "email", "uri", ""),
        ],
    ),
    "deprecated": (
        {"type": S},
        {"type": S, "deprecated": True},
        [
            ("deprecated_added", "#/deprecated", False, True, ""),
        ],
    ),
    "undeprecated": (
        {"type": S, "deprecated": True},
        {"type": S, "deprecated": False},
        [
            ("deprecated_removed", "#/deprecated", True, False, ""),
        ],
    ),
    "string_bounds": (
        {"type": S, "maxLength": 5, "minLength": 2},
        {"type": S, "maxLength": 6, "minLength": 1},
        [
            ("max_length_increased", "#/maxLength", 5, 6, "f"),
            ("min_length_decreased", "#/minLength", 2, 1, "f"),
        ],
    ),
    "string_bounds2": (
        {"type": S, "maxLength": 5, "minLength": 2},
        {"type": S, "maxLength": 4, "minLength": 3},
        [
            ("max_length_decreased", "#/maxLength", 5, 4, "b"),
            ("min_length_increased", "#/minLength", 2, 3, "b"),
        ],
    ),
    "string_bounds3": (
        {"type": S, "maxLength": 5},
        {"type": S, "minLength": 1},
        [
            ("max_length_removed", "#/maxLength", 5, A, "f"),
            ("min_length_added", "#/minLength", A, 1, "b"),
        ],
    ),
    "pattern_added": (
        {"type": S},
        {"type": S, "pattern": "^a"},
        [
            ("pattern_added", "#/pattern", A, "^a", "b"),
        ],
    ),
    "pattern_removed": (
        {"type": S, "pattern": "^a"},
        {"type": S},
        [
            ("pattern_removed", "#/pattern", "^a", A, "f"),
        ],
    ),
    "pattern_changed": (
        {"type": S, "pattern": "^a"},
        {"type": S, "pattern": "^b"},
        [
            ("pattern_changed", "#/pattern", "^a", "^b", "bf"),
        ],
    ),
    "int_to_number": (
        {"type": "integer"},
        {"type": "number"},
        [
            ("type_extended", "#/", "integer", "number", "f"),
        ],
    ),
    "number_to_int": (
        {"type": "number"},
        {"type": "integer"},
        [
            ("type_narrowed", "#/", "number", "integer", "b"),
        ],
    ),
    "type_changed": (
        {"type": S},
        {"type": "boolean"},
        [
            ("type_changed", "#/", S, "boolean", "bf"),
        ],
    ),
    "to_false": (
        {"type": S},
        False,
        [
            ("type_changed", "#/", S, "false", "b"),
        ],
    ),
    "from_false": (
        False,
        {"type": S},
        [
            ("type_changed", "#/", "false", S, "f"),
        ],
    ),
    "to_empty": (
        {"type": S},
        {},
        [
            ("type_changed", "#/", S, "empty", "f"),
        ],
    ),
    "implied_vs_empty": (
        {},
        {"maxLength": 3},
        [
            ("max_length_added", "#/maxLength", A, 3, "b"),
        ],
    ),
    "implied_to_typed": (
        {"maxLength": 3},
        {"type": S, "maxLength": 3},
        [],
    ),
    "max_min": (
        {"type": "number", "maximum": 5, "minimum": 1},
        {"type": "number", "maximum": 4, "minimum": 2},
        [
            ("maximum_decreased", "#/maximum", 5, 4, "b"),
            ("minimum_increased", "#/minimum", 1, 2, "b"),
        ],
    ),
    "max_min_relaxed": (
        {"type": "number", "maximum": 5, "minimum": 1},
        {"type": "number", "maximum": 6, "minimum": 0},
        [
            ("maximum_increased", "#/maximum", 5, 6, "f"),
            ("minimum_decreased", "#/minimum", 1, 0, "f"),
        ],
    ),
    "exclusive_to_inclusive": (
        {"type": "number", "exclusiveMinimum": 10, "exclusiveMaximum": 20},
        {"type": "number", "minimum": 10, "maximum": 20},
        [
            ("maximum_added", "#/maximum", A, 20, "f"),
            ("exclusive_maximum_removed", "#/exclusiveMaximum", 20, A, "f"),
            ("minimum_added", "#/minimum", A, 10, "f"),
            ("exclusive_minimum_removed", "#/exclusiveMinimum", 10, A, "f"),
        ],
    ),
    "inclusive_to_exclusive": (
        {"type": "number", "minimum": 10, "maximum": 20},
        {"type": "number", "exclusiveMinimum": 10, "exclusiveMaximum": 20},
        [
            ("maximum_removed", "#/maximum", 20, A, "b"),
            ("exclusive_maximum_added", "#/exclusiveMaximum", A, 20, "b"),
            ("minimum_removed", "#/minimum", 10, A, "b"),
            ("exclusive_minimum_added", "#/exclusiveMinimum", A, 10, "b"),
        ],
    ),
    "draft4_exclusive": (
        {"$schema": D4, "type": "number", "maximum": 5},
        {"$schema": D4, "type": "number", "maximum": 5, "exclusiveMaximum": True},
        [
            ("maximum_removed", "#/maximum", 5, A, "b"),
            ("exclusive_maximum_added", "#/exclusiveMaximum", A, 5, "b"),
        ],
    ),
    "multiple_added": (
        {"type": "number"},
        {"type": "number", "multipleOf": 2},
        [
            ("multiple_of_added", "#/multipleOf", A, 2, "b"),
        ],
    ),
    "multiple_removed": (
        {"type": "number", "multipleOf": 2},
        {"type": "number"},
        [
            ("multiple_of_removed", "#/multipleOf", 2, A, "f"),
        ],
    ),
    "multiple_expanded": (
        {"type": "number", "multipleOf": 0.5},
        {"type": "number", "multipleOf": 1.5},
        [
            ("multiple_of_expanded", "#/multipleOf", 0.5, 1.5, "b"),
        ],
    ),
    "multiple_reduced": (
        {"type": "number", "multipleOf": 4},
        {"type": "number", "multipleOf": 2},
        [
            ("multiple_of_reduced", "#/multipleOf", 4, 2, "f"),
        ],
    ),
    "multiple_changed": (
        {"type": "number", "multipleOf": 2},
        {"type": "number", "multipleOf": 3},
        [
            ("multiple_of_changed", "#/multipleOf", 2, 3, "bf"),
        ],
    ),
    "multiple_zero": (
        {"type": "number", "multipleOf": 0},
        {"type": "number", "multipleOf": 3},
        [
            ("multiple_of_changed", "#/multipleOf", 0, 3, "bf"),
        ],
    ),
    "enum_extended": (
        {"enum": ["a", "b"]},
        {"enum": ["a", "b", "c"]},
        [
            ("enum_array_extended", "#/enum", ["a", "b"], ["a", "b", "c"], "f"),
        ],
    ),
    "enum_narrowed": (
        {"enum": ["a", "b"]},
        {"enum": ["a"]},
        [
            ("enum_array_narrowed", "#/enum", ["a", "b"], ["a"], "b"),
        ],
    ),
    "enum_changed": (
        {"enum": ["a", "b"]},
        {"enum": ["a", "c"]},
        [
            ("enum_array_changed", "#/enum", ["a", "b"], ["a", "c"], "bf"),
        ],
    ),
    "enum_same_json": (
        {"enum": [1, {"a": 1, "b": 2}]},
        {"enum": [1.0, {"b": 2, "a": 1}]},
        [],
    ),
    "const_changed": (
        {"const": "a"},
        {"const": "b"},
        [
            ("enum_array_changed", "#/const", "a", "b", "bf"),
        ],
    ),
    "const_to_enum": (
        {"const": "a"},
        {"enum": ["a", "b"]},
        [
            ("enum_array_extended", "#/enum", "a", ["a", "b"], "f"),
        ],
    ),
    "typed_enum": (
        {"type": S, "enum": ["a", "b"]},
        {"type": S, "enum": ["a"]},
        [
            ("enum_array_narrowed", "#/enum", ["a", "b"], ["a"], "b"),
        ],
    ),
    "enum_to_type": (
        {"enum": ["a", "b"]},
        {"type": S},
        [
            ("type_changed", "#/", "enum", S, "f"),
        ],
    ),
    "not_narrowed": (
        {"not": {"type": S}},
        {"not": {"type": S, "maxLength": 3}},
        [
            ("not_type_narrowed", "#/not", {"type": S}, {"type": S, "maxLength": 3}, "f"),
        ],
    ),
    "not_extended": (
        {"not": {"type": S, "maxLength": 3}},
        {"not": {"type": S}},
        [
            ("not_type_extended", "#/not", {"type": S, "maxLength": 3}, {"type": S}, "b"),
        ],
    ),
    "not_title": (
        {"not": {"type": S}},
        {"not": {"type": S, "title": "x"}},
        [
            ("not_type_narrowed", "#/not", {"type": S}, {"type": S, "title": "x"}, ""),
        ],
    ),
    "cond_changed": (
        {"if": {"required": ["a"]}, "then": {"required": ["b"]}},
        {"if": {"required": ["c"]}, "else": {"required": ["b"]}},
        [
            (
                "conditional_changed",
                "#/if",
                {"if": {"required": ["a"]}, "then": {"required": ["b"]}},
                {"if": {"required": ["c"]}, "else": {"required": ["b"]}},
                "bf",
            ),
        ],
    ),
    "cond_then": (
        {"if": {"required": ["a"]}, "then": {"required": ["b"]}},
        {"if": {"required": ["a"]}, "then": {"required": ["b", "c"]}, "else": {"required": ["d"]}},
        [
            ("required_attribute_added", "#/then/required/c", False, True, "b"),
            ("required_attribute_added", "#/else/required/d", False, True, "b"),
        ],
    ),
    "cond_added": (
        {"type": "object"},
        {"type": "object", "if": {"required": ["a"]}, "then": {"required": ["b"]}},
        [
            ("conditional_added", "#/", A, {"required": ["a"]}, "b"),
        ],
    ),
    "cond_removed": (
        {"type": "object", "if": {"required": ["a"]}, "then": {"required": ["b"]}},
        {"type": "object"},
        [
            ("conditional_removed", "#/", {"required": ["a"]}, A, "f"),
        ],
    ),
    "role_added": (
        {"type": S},
        {"type": S, "not": {"const": "x"}},
        [
            ("product_type_extended", "#/", A, {"const": "x"}, "b"),
        ],
    ),
    "role_removed": (
        {"type": S, "enum": ["a"]},
        {"type": S},
        [
            ("product_type_narrowed", "#/", ["a"], A, "f"),
        ],
    ),
    "role_ref": (
        {"$defs": {"s": {"type": S}}, "properties": {"p": {"$ref": "#/$defs/s", "maxLength": 3}}},
        {"$defs": {"s": {"type": S}}, "properties": {"p": {"maxLength": 3}}},
        [
            ("product_type_narrowed", "#/properties/p", S, A, "f"),
        ],
    ),
    "comb_renamed_role": (
        {"type": S, "allOf": [{"maxLength": 3}]},
        {"type": S, "anyOf": [{"maxLength": 3}, {"minLength": 5}]},
        [
            ("combined_type_extended", "#/", "allOf", "anyOf", "f"),
            ("sum_type_extended", "#/", S, S, ""),
        ],
    ),
    "sum_extended": (
        {"anyOf": [{"type": S}]},
        {"anyOf": [{"type": S}, {"type": "integer"}]},
        [
            ("sum_type_extended", "#/", "anyOf", "anyOf", "f"),
        ],
    ),
    "sum_narrowed": (
        {"oneOf": [{"type": S}, {"type": "integer"}]},
        {"oneOf": [{"type": S}]},
        [
            ("sum_type_narrowed", "#/", "oneOf", "oneOf", "b"),
        ],
    ),
    "product_extended": (
        {"allOf": [{"type": S}]},
        {"allOf": [{"type": S}, {"maxLength": 3}]},
        [
            ("product_type_extended", "#/", "allOf", "allOf", "b"),
        ],
    ),
    "product_narrowed": (
        {"allOf": [{"type": S}, {"maxLength": 3}]},
        {"allOf": [{"type": S}]},
        [
            ("product_type_narrowed", "#/", "allOf", "allOf", "f"),
        ],
    ),
    "comb_any_to_all": (
        {"anyOf": [{"type": S}, {"type": "integer"}]},
        {"allOf": [{"type": S}, {"maxLength": 2}]},
        [
            ("combined_type_changed", "#/", "anyOf", "allOf", "b"),
            ("combined_type_subschemas_changed", "#/", "anyOf", "allOf", "f"),
        ],
    ),
    "comb_one_to_any": (
        {"oneOf": [{"type": S}, {"type": "integer"}]},
        {"anyOf": [{"type": S}, {"type": "integer"}]},
        [
            ("combined_type_extended", "#/", "oneOf", "anyOf", "f"),
        ],
    ),
    "comb_all1_to_one": (
        {"allOf": [{"type": S}]},
        {"oneOf": [{"type": S}, {"type": "integer"}]},
        [
            ("combined_type_extended", "#/", "allOf", "oneOf", "f"),
            ("sum_type_extended", "#/", "allOf", "oneOf", ""),
        ],
    ),
    "comb_all_to_one1": (
        {"allOf": [{"type": S}, {"maxLength": 2}]},
        {"oneOf": [{"type": S}]},
        [
            ("combined_type_extended", "#/", "allOf", "oneOf", "f"),
            ("product_type_narrowed", "#/", "allOf", "oneOf", ""),
        ],
    ),
    "comb_any_to_one": (
        {"anyOf": [{"type": S}, {"type": "integer"}]},
        {"oneOf": [{"type": S}, {"type": "integer"}]},
        [
            ("combined_type_changed", "#/", "anyOf", "oneOf", "b"),
        ],
    ),
    "comb_subschemas_changed": (
        {"anyOf": [{"type": S}, {"type": "integer"}]},
        {"anyOf": [{"type": "boolean"}, {"type": "null"}]},
        [
            ("combined_type_subschemas_changed", "#/", "anyOf", "anyOf", "bf"),
        ],
    ),
    "comb_pairing": (
        {"oneOf": [{"type": S, "maxLength": 3}, {"type": "integer"}]},
        {"oneOf": [{"type": "integer", "minimum": 0}, {"type": S}]},
        [
            ("max_length_removed", "#/oneOf/0/maxLength", 3, A, ""),
            ("combined_type_subschemas_changed", "#/", "oneOf", "oneOf", "bf"),
        ],
    ),
    "typelist": (
        {"type": [S, "null"]},
        {"type": [S, "null", "integer"]},
        [
            ("sum_type_extended", "#/", [S, "null"], [S, "null", "integer"], "f"),
        ],
    ),
    "typelist_narrowed": (
        {"type": [S, "null"]},
        {"type": [S]},
        [
            ("sum_type_narrowed", "#/", [S, "null"], [S], "b"),
        ],
    ),
    "singleton_new": (
        {"type": S},
        {"anyOf": [{"type": S}]},
        [],
    ),
    "singleton_new_bad": (
        {"type": S},
        {"anyOf": [{"type": "integer"}]},
        [
            ("type_changed", "#/", S, "anyOf", "bf"),
        ],
    ),
    "singleton_old": (
        {"anyOf": [{"type": S, "maxLength": 3}]},
        {"type": S},
        [
            ("max_length_removed", "#/maxLength", 3, A, "f"),
        ],
    ),
    "sum_new": (
        {"type": S, "maxLength": 3},
        {"oneOf": [{"type": "integer"}, {"type": S}]},
        [
            ("max_length_removed", "#/maxLength", 3, A, ""),
            ("sum_type_extended", "#/", S, "oneOf", "f"),
        ],
    ),
    "sum_new_bad": (
        {"type": S},
        {"oneOf": [{"type": "integer"}, {"type": "null"}]},
        [
            ("type_changed", "#/", S, "oneOf", "bf"),
        ],
    ),
    "product_new": (
        {"type": S, "maxLength": 3},
        {"allOf": [{"type": S}, {"maxLength": 5}]},
        [
            ("max_length_removed", "#/maxLength", 3, A, "f"),
            ("max_length_increased", "#/maxLength", 3, 5, ""),
        ],
    ),
    "product_new_bad": (
        {"type": S},
        {"allOf": [{"type": S}, {"maxLength": 5}]},
        [
            ("type_changed", "#/", S, "allOf", "b"),
        ],
    ),
    "product_old": (
        {"allOf": [{"type": S, "maxLength": 3}, {"minLength": 1}]},
        {"type": S},
        [
            ("max_length_removed", "#/maxLength", 3, A, ""),
            ("product_type_narrowed", "#/", "allOf", S, "f"),
        ],
    ),
    "product_old_bad": (
        {"allOf": [{"type": S}, {"minLength": 1}]},
        {"type": "integer"},
        [
            ("type_changed", "#/", "allOf", "integer", "bf"),
        ],
    ),
    "sum_old": (
        {"anyOf": [{"type": S}, {"type": "integer"}]},
        {"type": S},
        [
            ("type_changed", "#/", "anyOf", S, "b"),
        ],
    ),
    "typelist_branch_change": (
        {"type": [S, "null"], "maxLength": 3},
        {"type": [S, "null"], "maxLength": 5},
        [
            ("max_length_increased", "#/maxLength", 3, 5, "f"),
        ],
    ),
    "comb_cheapest_pair": (
        {"anyOf": [{"type": S, "maxLength": 3}]},
        {"anyOf": [{"type": S, "maxLength": 5}, {"type": S, "maxLength": 3}]},
        [
            ("sum_type_extended", "#/", "anyOf", "anyOf", "f"),
        ],
    ),
    "comb_augmenting_pair": (
        {"anyOf": [{"type": "integer", "title": "x"}, {"type": S}]},
        {"anyOf": [{"type": ["integer", S], "title": "x"}, {"type": "integer"}]},
        [
            ("title_changed", "#/anyOf/0", "x", A, ""),
            ("sum_type_extended", "#/anyOf/1", S, ["integer", S], "f"),
        ],
    ),
    "implied_vs_empty_meta": (
        {"title": "a"},
        {"maxLength": 3, "title": "b"},
        [
            ("title_changed", "#/", "a", "b", ""),
            ("max_length_added", "#/maxLength", A, 3, "b"),
        ],
    ),
    "not_implied_to_typed": (
        {"not": {"maxLength": 3}},
        {"not": {"type": S, "maxLength": 3}},
        [
            ("not_type_narrowed", "#/not", {"maxLength": 3}, {"type": S, "maxLength": 3}, ""),
        ],
    ),
    "not_unchanged_with_refs": (
        {
            "$defs": {"s": {"type": S}},
            "properties": {"p": {"$ref": "#/$defs/s"}},
            "not": {"type": "integer"},
        },
        {
            "$defs": {"s": {"type": S}},
            "properties": {"p": {"$ref": "#/$defs/s"}},
            "not": {"type": "integer"},
        },
        [],
    ),
    "implied_type_role_removed": (
        {"maxLength": 3, "enum": ["a"]},
        {"enum": ["a"]},
        [
            ("product_type_narrowed", "#/", S, A, ""),
        ],
    ),
    "const_role_removed": (
        {"type": S, "const": "a"},
        {"type": S},
        [
            ("product_type_narrowed", "#/", "a", A, "f"),
        ],
    ),
    "implied_to_empty": (
        {"maxLength": 3},
        {},
        [
            ("max_length_removed", "#/maxLength", 3, A, "f"),
        ],
    ),
    "false_to_conjunction": (
        False,
        {"type": S, "enum": ["a"]},
        [
            ("product_type_extended", "#/", A, S, "f"),
        ],
    ),
    "empty_to_conjunction": (
        {},
        {"type": S, "enum": ["a"]},
        [
            ("product_type_extended", "#/", A, S, "b"),
            ("product_type_extended", "#/", A, ["a"], "b"),
        ],
    ),
    "conjunction_title": (
        {"type": S, "enum": ["a"], "title": "x"},
        {"type": S, "enum": ["a"], "title": "y"},
        [
            ("title_changed", "#/", "x", "y", ""),
        ],
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_walk_changes(name: str) -> None:
    old, new, expected = CASES[name]
    assert rows(old, new) == expected


@pytest.mark.parametrize(
    ("old", "new", "pointer"),
    [
        ({"not": {"type": S}}, {"not": 5}, "#/not"),
        ({"not": 5}, {"not": {"type": S}}, "#/not"),
        ({"anyOf": [{"type": S}, 5]}, {"anyOf": [{"type": S}]}, "#/anyOf/1"),
        ({"anyOf": [{"type": S}]}, {"anyOf": [{"type": S}, 5]}, "#/anyOf/1"),
    ],
)
def test_a_bad_subschema_is_named_by_its_pointer(old: Any, new: Any, pointer: str) -> None:
    with pytest.raises(SchemaError) as err:
        diff_schemas(old, new)
    assert err.value.pointer == pointer


def test_hints_come_from_outside_trials_only() -> None:
    def obj(**props: Any) -> dict[str, Any]:
        return {"type": "object", "properties": props}

    # a property compared in a trial first (a singleton anyOf), then a rename beside it
    old = obj(a={"type": S}, agentEmail={"type": S})
    new = obj(a={"anyOf": [{"type": S}]}, agentMail={"type": S})
    assert [(h.removed, h.added) for h in diff_schemas(old, new).hints] == [
        ("#/properties/agentEmail", "#/properties/agentMail")
    ]
    # inside a combinator's branches (compared in trials) no hint is collected, even after
    # a nested trial
    old_branch = obj(a={"type": S}, agentEmail={"type": S})
    new_branch = obj(a={"anyOf": [{"type": S}]}, agentMail={"type": S})
    one = diff_schemas({"anyOf": [old_branch, {"type": "integer"}]},
                       {"anyOf": [new_branch, {"type": "integer"}]})  # fmt: skip
    assert one.hints == []


def test_a_dropped_ref_to_a_boolean_schema_names_its_type() -> None:
    # the old/new value of a role-level change; the verdict here is conservative (the ref
    # to ``true`` adds nothing), so only what is reported is pinned
    old = {"$defs": {"t": True}, "properties": {"p": {"$ref": "#/$defs/t", "maxLength": 3}}}
    new = {"$defs": {"t": True}, "properties": {"p": {"maxLength": 3}}}
    assert [(c.kind, c.path, c.old, c.new) for c in diff_schemas(old, new).changes] == [
        ("product_type_narrowed", "#/properties/p", "empty", MISSING)
    ]
