"""Object and array rules of the diff walk, case by case: kind, path, old/new and verdict.

Each row is one change as ``(kind, path, old, new, breaks)``, ``breaks`` spelt "b" (backward),
"f" (forward), "bf" (both) or "" (neither). The verdicts follow the JSON Schema meaning
(an instance valid under one side and rejected by the other), e.g. a property added under an
open content model breaks backward because an old producer may already send that name.
"""

from __future__ import annotations

from typing import Any

import pytest

from evolvekit.errors import SchemaError
from evolvekit.schema.diff import diff_schemas

from ..support.diff_rows import A, Row, rows

OBJ = "object"
D7 = "http://json-schema.org/draft-07/schema#"


CASES: dict[str, tuple[Any, Any, list[Row]]] = {
    "kept_now_required": (
        {"type": OBJ, "properties": {"a": {"type": "string"}}},
        {"type": OBJ, "properties": {"a": {"type": "string"}}, "required": ["a"]},
        [
            ("required_attribute_added", "#/required/a", False, True, "b"),
        ],
    ),
    "kept_now_required_default": (
        {"type": OBJ, "properties": {"a": {"type": "string"}}},
        {"type": OBJ, "properties": {"a": {"type": "string", "default": "x"}}, "required": ["a"]},
        [
            ("default_changed", "#/properties/a", A, "x", ""),
            ("required_attribute_with_default_added", "#/required/a", False, True, ""),
        ],
    ),
    "kept_no_longer_required": (
        {"type": OBJ, "properties": {"a": {"type": "string"}}, "required": ["a"]},
        {"type": OBJ, "properties": {"a": {"type": "string"}}},
        [
            ("required_attribute_removed", "#/required/a", True, False, "f"),
        ],
    ),
    "added_open_optional": (
        {"type": OBJ, "properties": {}},
        {"type": OBJ, "properties": {"b": {"type": "string"}}},
        [
            (
                "optional_property_added_to_open_content_model",
                "#/properties/b",
                A,
                {"type": "string"},
                "b",
            ),
        ],
    ),
    "added_open_empty": (
        {"type": OBJ},
        {"type": OBJ, "properties": {"b": {}}},
        [
            ("property_with_empty_schema_added_to_open_content_model", "#/properties/b", A, {}, ""),
        ],
    ),
    "added_closed_required_default": (
        {"type": OBJ, "additionalProperties": False},
        {
            "type": OBJ,
            "additionalProperties": False,
            "properties": {"b": {"type": "string", "default": "d"}},
            "required": ["b"],
        },
        [
            (
                "required_property_with_default_added_to_unopen_content_model",
                "#/properties/b",
                A,
                {"type": "string", "default": "d"},
                "f",
            ),
        ],
    ),
    "added_closed_required": (
        {"type": OBJ, "additionalProperties": False},
        {
            "type": OBJ,
            "additionalProperties": False,
            "properties": {"b": {"type": "string"}},
            "required": ["b"],
        },
        [
            (
                "required_property_added_to_unopen_content_model",
                "#/properties/b",
                A,
                {"type": "string"},
                "b",
            ),
            (
                "property_removed_from_closed_content_model",
                "#/properties/b",
                A,
                {"type": "string"},
                "f",
            ),
        ],
    ),
    "added_open_required_default": (
        {"type": OBJ},
        {"type": OBJ, "properties": {"b": {"type": "string", "default": "d"}}, "required": ["b"]},
        [
            (
                "required_property_with_default_added_to_open_content_model",
                "#/properties/b",
                A,
                {"type": "string", "default": "d"},
                "b",
            ),
        ],
    ),
    "removed_closed": (
        {"type": OBJ, "additionalProperties": False, "properties": {"a": {"type": "string"}}},
        {"type": OBJ, "additionalProperties": False},
        [
            (
                "property_removed_from_closed_content_model",
                "#/properties/a",
                {"type": "string"},
                A,
                "b",
            ),
        ],
    ),
    "removed_closed_false": (
        {"type": OBJ, "additionalProperties": False, "properties": {"a": False}},
        {"type": OBJ, "additionalProperties": False},
        [
            (
                "property_with_false_removed_from_closed_content_model",
                "#/properties/a",
                False,
                A,
                "",
            ),
        ],
    ),
    "removed_partial_covered": (
        {
            "type": OBJ,
            "properties": {"a": {"type": "string"}},
            "additionalProperties": {"type": "string"},
        },
        {"type": OBJ, "additionalProperties": {"type": "string"}},
        [
            (
                "property_removed_is_covered_by_partially_open_content_model",
                "#/properties/a",
                {"type": "string"},
                A,
                "",
            ),
        ],
    ),
    "removed_partial_not": (
        {
            "type": OBJ,
            "properties": {"a": {"type": "integer"}},
            "additionalProperties": {"type": "string"},
        },
        {"type": OBJ, "additionalProperties": {"type": "string"}},
        [
            ("type_changed", "#/properties/a", "integer", "string", "bf"),
            (
                "property_removed_not_covered_by_partially_open_content_model",
                "#/properties/a",
                {"type": "integer"},
                A,
                "bf",
            ),
        ],
    ),
    "added_partial_covered": (
        {"type": OBJ, "additionalProperties": {"type": "string"}},
        {
            "type": OBJ,
            "properties": {"a": {"type": "string", "maxLength": 3}},
            "additionalProperties": {"type": "string"},
        },
        [
            ("max_length_added", "#/properties/a/maxLength", A, 3, "b"),
            (
                "property_added_not_covered_by_partially_open_content_model",
                "#/properties/a",
                A,
                {"type": "string", "maxLength": 3},
                "b",
            ),
            (
                "optional_property_added_to_unopen_content_model",
                "#/properties/a",
                A,
                {"type": "string", "maxLength": 3},
                "",
            ),
        ],
    ),
    "added_pattern_cover": (
        {
            "type": OBJ,
            "patternProperties": {"^x": {"type": "string"}},
            "additionalProperties": False,
        },
        {
            "type": OBJ,
            "properties": {"xa": {"type": "string"}},
            "patternProperties": {"^x": {"type": "string"}},
            "additionalProperties": False,
        },
        [
            (
                "property_added_is_covered_by_partially_open_content_model",
                "#/properties/xa",
                A,
                {"type": "string"},
                "",
            ),
            (
                "optional_property_added_to_unopen_content_model",
                "#/properties/xa",
                A,
                {"type": "string"},
                "",
            ),
        ],
    ),
    "added_pattern_miss": (
        {
            "type": OBJ,
            "patternProperties": {"^x": {"type": "string"}},
            "additionalProperties": False,
        },
        {
            "type": OBJ,
            "properties": {"ya": {"type": "string"}},
            "patternProperties": {"^x": {"type": "string"}},
            "additionalProperties": False,
        },
        [
            (
                "optional_property_added_to_unopen_content_model",
                "#/properties/ya",
                A,
                {"type": "string"},
                "f",
            ),
        ],
    ),
    "required_without_property": (
        {"type": OBJ, "required": ["z"]},
        {"type": OBJ, "required": ["y"]},
        [
            ("required_attribute_added", "#/required/y", False, True, "b"),
            ("required_attribute_removed", "#/required/z", True, False, "f"),
        ],
    ),
    "dep_array": (
        {"dependentRequired": {"a": ["b"], "c": ["d"], "e": ["f"], "g": ["h"]}},
        {"dependentRequired": {"a": ["b", "x"], "c": [], "e": ["q"], "i": ["j"]}},
        [
            ("dependency_array_extended", "#/dependentRequired/a", ["b"], ["b", "x"], "b"),
            ("dependency_array_narrowed", "#/dependentRequired/c", ["d"], [], "f"),
            ("dependency_array_changed", "#/dependentRequired/e", ["f"], ["q"], "bf"),
            ("dependency_array_removed", "#/dependentRequired/g", ["h"], A, "f"),
            ("dependency_array_added", "#/dependentRequired/i", A, ["j"], "b"),
        ],
    ),
    "dep_schema": (
        {"dependentSchemas": {"a": {"required": ["b"]}, "c": {"required": ["d"]}}},
        {"dependentSchemas": {"a": {"required": ["b", "x"]}, "d": {"type": OBJ}}},
        [
            ("required_attribute_added", "#/dependentSchemas/a/required/x", False, True, "b"),
            ("dependency_schema_removed", "#/dependentSchemas/c", {"required": ["d"]}, A, "f"),
            ("dependency_schema_added", "#/dependentSchemas/d", A, {"type": OBJ}, "b"),
        ],
    ),
    "dependencies_mixed": (
        {"dependencies": {"a": ["b"]}},
        {"dependencies": {"a": {"required": ["b"]}}},
        [
            ("dependency_array_removed", "#/dependencies/a", ["b"], A, "f"),
            ("dependency_schema_added", "#/dependencies/a", A, {"required": ["b"]}, "b"),
        ],
    ),
    "additional_narrowed": (
        {"type": OBJ},
        {"type": OBJ, "additionalProperties": {"type": "string"}},
        [
            (
                "additional_properties_narrowed",
                "#/additionalProperties",
                A,
                {"type": "string"},
                "b",
            ),
        ],
    ),
    "additional_extended": (
        {"type": OBJ, "additionalProperties": {"type": "string"}},
        {"type": OBJ, "additionalProperties": True},
        [
            (
                "additional_properties_extended",
                "#/additionalProperties",
                {"type": "string"},
                True,
                "f",
            ),
        ],
    ),
    "additional_removed": (
        {"type": OBJ, "additionalProperties": {"type": "string"}},
        {"type": OBJ, "additionalProperties": False},
        [
            (
                "additional_properties_removed",
                "#/additionalProperties",
                {"type": "string"},
                False,
                "b",
            ),
        ],
    ),
    "additional_added": (
        {"type": OBJ, "additionalProperties": False},
        {"type": OBJ},
        [
            ("additional_properties_added", "#/additionalProperties", False, A, "f"),
        ],
    ),
    "additional_schema": (
        {"type": OBJ, "additionalProperties": {"type": "string"}},
        {"type": OBJ, "additionalProperties": {"type": "string", "maxLength": 2}},
        [
            ("max_length_added", "#/additionalProperties/maxLength", A, 2, "b"),
        ],
    ),
    "unevaluated": (
        {"type": OBJ},
        {"type": OBJ, "unevaluatedProperties": False},
        [
            ("unevaluated_properties_removed", "#/unevaluatedProperties", A, False, "b"),
        ],
    ),
    "pattern_changed": (
        {"type": OBJ, "patternProperties": {"^a": {"type": "string"}}},
        {"type": OBJ, "patternProperties": {"^a": {"type": "integer"}}},
        [
            ("type_changed", "#/patternProperties/^a", "string", "integer", "bf"),
        ],
    ),
    "pattern_added_open": (
        {"type": OBJ},
        {"type": OBJ, "patternProperties": {"^a": {"type": "string"}}},
        [
            ("pattern_property_added", "#/patternProperties/^a", A, {"type": "string"}, "b"),
        ],
    ),
    "pattern_added_closed": (
        {"type": OBJ, "additionalProperties": False},
        {
            "type": OBJ,
            "additionalProperties": False,
            "patternProperties": {"^a": {"type": "string"}},
        },
        [
            ("pattern_property_added", "#/patternProperties/^a", A, {"type": "string"}, "f"),
        ],
    ),
    "pattern_added_closed_others": (
        {
            "type": OBJ,
            "additionalProperties": False,
            "patternProperties": {"^b": {"type": "string"}},
        },
        {
            "type": OBJ,
            "additionalProperties": False,
            "patternProperties": {"^b": {"type": "string"}, "a$": {"type": "integer"}},
        },
        [
            ("pattern_property_added", "#/patternProperties/a$", A, {"type": "integer"}, "bf"),
        ],
    ),
    "pattern_added_partial": (
        {"type": OBJ, "additionalProperties": {"type": "string"}},
        {
            "type": OBJ,
            "additionalProperties": {"type": "string"},
            "patternProperties": {"^a": {"type": "string"}},
        },
        [
            ("pattern_property_added", "#/patternProperties/^a", A, {"type": "string"}, ""),
        ],
    ),
    "pattern_removed_closed": (
        {
            "type": OBJ,
            "additionalProperties": False,
            "patternProperties": {"^a": {"type": "string"}},
        },
        {"type": OBJ, "additionalProperties": False},
        [
            ("pattern_property_removed", "#/patternProperties/^a", {"type": "string"}, A, "b"),
        ],
    ),
    "pattern_removed_open": (
        {"type": OBJ, "patternProperties": {"^a": {"type": "string"}}},
        {"type": OBJ},
        [
            ("pattern_property_removed", "#/patternProperties/^a", {"type": "string"}, A, "f"),
        ],
    ),
    "pattern_removed_partial": (
        {
            "type": OBJ,
            "additionalProperties": {"type": "string"},
            "patternProperties": {"^a": {"type": "integer"}},
        },
        {"type": OBJ, "additionalProperties": {"type": "string"}},
        [
            ("pattern_property_removed", "#/patternProperties/^a", {"type": "integer"}, A, "bf"),
        ],
    ),
    "property_names": (
        {"type": OBJ},
        {"type": OBJ, "propertyNames": {"maxLength": 3}},
        [
            ("property_names_added", "#/propertyNames", A, {"maxLength": 3}, "b"),
        ],
    ),
    "property_names_removed": (
        {"type": OBJ, "propertyNames": {"maxLength": 3}},
        {"type": OBJ},
        [
            ("property_names_removed", "#/propertyNames", {"maxLength": 3}, A, "f"),
        ],
    ),
    "property_names_changed": (
        {"type": OBJ, "propertyNames": {"maxLength": 3}},
        {"type": OBJ, "propertyNames": {"maxLength": 2}},
        [
            ("max_length_decreased", "#/propertyNames/maxLength", 3, 2, "b"),
        ],
    ),
    "max_min_properties": (
        {"type": OBJ, "maxProperties": 3, "minProperties": 1},
        {"type": OBJ, "maxProperties": 2, "minProperties": 2},
        [
            ("max_properties_decreased", "#/maxProperties", 3, 2, "b"),
            ("min_properties_increased", "#/minProperties", 1, 2, "b"),
        ],
    ),
    "items_schema": (
        {"type": "array", "items": {"type": "string"}},
        {"type": "array", "items": {"type": "integer"}},
        [
            ("type_changed", "#/items", "string", "integer", "bf"),
        ],
    ),
    "items_added": (
        {"type": "array"},
        {"type": "array", "items": {"type": "string"}},
        [
            ("schema_added", "#/items", A, {"type": "string"}, "b"),
        ],
    ),
    "items_removed": (
        {"type": "array", "items": {"type": "string"}},
        {"type": "array"},
        [
            ("schema_removed", "#/items", {"type": "string"}, A, "f"),
        ],
    ),
    "tuple_removed_open": (
        {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}]},
        {"type": "array", "prefixItems": [{"type": "string"}]},
        [
            ("item_removed_from_open_content_model", "#/items/1", {"type": "integer"}, A, "f"),
        ],
    ),
    "tuple_removed_closed": (
        {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}], "items": False},
        {"type": "array", "prefixItems": [{"type": "string"}], "items": False},
        [
            ("item_removed_from_closed_content_model", "#/items/1", {"type": "integer"}, A, "b"),
        ],
    ),
    "tuple_removed_closed_false": (
        {"type": "array", "prefixItems": [{"type": "string"}, False], "items": False},
        {"type": "array", "prefixItems": [{"type": "string"}], "items": False},
        [
            ("item_with_false_removed_from_closed_content_model", "#/items/1", False, A, ""),
        ],
    ),
    "tuple_removed_partial": (
        {
            "type": "array",
            "prefixItems": [{"type": "string"}, {"type": "integer"}],
            "items": {"type": "integer"},
        },
        {"type": "array", "prefixItems": [{"type": "string"}], "items": {"type": "integer"}},
        [
            (
                "item_removed_is_covered_by_partially_open_content_model",
                "#/items/1",
                {"type": "integer"},
                A,
                "",
            ),
        ],
    ),
    "tuple_removed_partial_not": (
        {
            "type": "array",
            "prefixItems": [{"type": "string"}, {"type": "string"}],
            "items": {"type": "integer"},
        },
        {"type": "array", "prefixItems": [{"type": "string"}], "items": {"type": "integer"}},
        [
            ("type_changed", "#/items/1", "string", "integer", "bf"),
            (
                "item_removed_not_covered_by_partially_open_content_model",
                "#/items/1",
                {"type": "string"},
                A,
                "bf",
            ),
        ],
    ),
    "tuple_added_open": (
        {"type": "array", "prefixItems": [{"type": "string"}]},
        {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}, {}]},
        [
            ("item_added_to_open_content_model", "#/items/1", A, {"type": "integer"}, "b"),
            ("item_with_empty_schema_added_to_open_content_model", "#/items/2", A, {}, ""),
        ],
    ),
    "tuple_added_closed": (
        {"type": "array", "prefixItems": [{"type": "string"}], "items": False},
        {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}], "items": False},
        [
            ("item_added_to_closed_content_model", "#/items/1", A, {"type": "integer"}, "f"),
        ],
    ),
    "tuple_added_partial": (
        {"type": "array", "prefixItems": [{"type": "string"}], "items": {"type": "integer"}},
        {
            "type": "array",
            "prefixItems": [
                {"type": "string"},
                {"type": "integer", "minimum": 0},
                {"type": "string"},
            ],
            "items": {"type": "integer"},
        },
        [
            ("minimum_added", "#/items/1/minimum", A, 0, "b"),
            (
                "item_added_not_covered_by_partially_open_content_model",
                "#/items/1",
                A,
                {"type": "integer", "minimum": 0},
                "b",
            ),
            ("type_changed", "#/items/2", "integer", "string", "bf"),
            (
                "item_added_not_covered_by_partially_open_content_model",
                "#/items/2",
                A,
                {"type": "string"},
                "bf",
            ),
        ],
    ),
    "draft7_tuple": (
        {
            "$schema": D7,
            "type": "array",
            "items": [{"type": "string"}],
            "additionalItems": {"type": "string"},
        },
        {"$schema": D7, "type": "array", "items": [{"type": "string"}], "additionalItems": False},
        [
            ("additional_items_removed", "#/additionalItems", {"type": "string"}, False, "b"),
        ],
    ),
    "draft7_additional_items": (
        {"$schema": D7, "type": "array", "items": [{"type": "string"}]},
        {
            "$schema": D7,
            "type": "array",
            "items": [{"type": "string"}],
            "additionalItems": {"type": "string"},
        },
        [
            ("additional_items_narrowed", "#/additionalItems", A, {"type": "string"}, "b"),
        ],
    ),
    "additional_items_extended": (
        {"type": "array", "prefixItems": [{}], "items": {"type": "string"}},
        {"type": "array", "prefixItems": [{}], "items": True},
        [
            ("additional_items_extended", "#/additionalItems", {"type": "string"}, True, "f"),
        ],
    ),
    "additional_items_schema": (
        {"type": "array", "prefixItems": [{}], "items": {"type": "string"}},
        {"type": "array", "prefixItems": [{}], "items": {"type": "integer"}},
        [
            ("type_changed", "#/additionalItems", "string", "integer", "bf"),
        ],
    ),
    "items_bool": (
        {"type": "array", "items": True},
        {"type": "array", "items": False},
        [
            ("additional_items_removed", "#/additionalItems", True, False, "b"),
        ],
    ),
    "unevaluated_items": (
        {"type": "array"},
        {"type": "array", "unevaluatedItems": False},
        [
            ("unevaluated_items_removed", "#/unevaluatedItems", A, False, "b"),
        ],
    ),
    "array_bounds": (
        {"type": "array", "maxItems": 3, "minItems": 1, "uniqueItems": True},
        {"type": "array", "maxItems": 4, "minItems": 0},
        [
            ("max_items_increased", "#/maxItems", 3, 4, "f"),
            ("min_items_decreased", "#/minItems", 1, 0, "f"),
            ("unique_items_removed", "#/uniqueItems", True, False, "f"),
        ],
    ),
    "unique_added": (
        {"type": "array"},
        {"type": "array", "uniqueItems": True},
        [
            ("unique_items_added", "#/uniqueItems", False, True, "b"),
        ],
    ),
    "contains": (
        {"type": "array", "contains": {"type": "string"}},
        {
            "type": "array",
            "contains": {"type": "string", "maxLength": 2},
            "minContains": 2,
            "maxContains": 3,
        },
        [
            ("max_length_added", "#/contains/maxLength", A, 2, "b"),
            ("min_contains_increased", "#/minContains", 1, 2, "b"),
            ("max_contains_added", "#/maxContains", A, 3, "b"),
        ],
    ),
    "contains_max": (
        {"type": "array", "contains": {"type": "string", "maxLength": 2}, "maxContains": 3},
        {"type": "array", "contains": {"type": "string"}, "maxContains": 3},
        [
            ("max_length_removed", "#/contains/maxLength", 2, A, "bf"),
        ],
    ),
    "contains_added": (
        {"type": "array"},
        {"type": "array", "contains": {"type": "string"}},
        [
            ("contains_added", "#/contains", A, {"type": "string"}, "b"),
        ],
    ),
    "contains_removed": (
        {"type": "array", "contains": {"type": "string"}},
        {"type": "array"},
        [
            ("contains_removed", "#/contains", {"type": "string"}, A, "f"),
        ],
    ),
    "added_beside_patterns_open": (
        {"type": OBJ, "patternProperties": {"^x": {"type": "string"}}},
        {
            "type": OBJ,
            "patternProperties": {"^x": {"type": "string"}},
            "properties": {"ya": {"type": "string"}},
        },
        [
            (
                "optional_property_added_to_open_content_model",
                "#/properties/ya",
                A,
                {"type": "string"},
                "b",
            ),
        ],
    ),
    "tuple_removed_unevaluated_closed": (
        {
            "type": "array",
            "prefixItems": [{"type": "string"}, {"type": "integer"}],
            "unevaluatedItems": False,
        },
        {"type": "array", "prefixItems": [{"type": "string"}], "unevaluatedItems": False},
        [
            ("item_removed_from_closed_content_model", "#/items/1", {"type": "integer"}, A, "b"),
        ],
    ),
    "tuple_added_unevaluated_closed": (
        {"type": "array", "prefixItems": [{"type": "string"}], "unevaluatedItems": False},
        {
            "type": "array",
            "prefixItems": [{"type": "string"}, {"type": "integer"}],
            "unevaluatedItems": False,
        },
        [
            ("item_added_to_closed_content_model", "#/items/1", A, {"type": "integer"}, "f"),
        ],
    ),
    "tuple_item_changed": (
        {"type": "array", "prefixItems": [{"type": "string"}]},
        {"type": "array", "prefixItems": [{"type": "integer"}]},
        [
            ("type_changed", "#/items/0", "string", "integer", "bf"),
        ],
    ),
    "required_beside_declared": (
        {"type": OBJ, "properties": {"a": {}}},
        {"type": OBJ, "properties": {"a": {}}, "required": ["a", "z"]},
        [
            ("required_attribute_added", "#/required/a", False, True, "b"),
            ("required_attribute_added", "#/required/z", False, True, "b"),
        ],
    ),
    "contains_added_with_max": (
        {"type": "array"},
        {"type": "array", "contains": {"type": "string"}, "maxContains": 2},
        [
            ("contains_added", "#/contains", A, {"type": "string"}, "b"),
        ],
    ),
    "dependent_required_dropped": (
        {"dependentRequired": {"a": ["b"]}},
        {},
        [
            ("dependency_array_removed", "#/dependentRequired/a", ["b"], A, "f"),
        ],
    ),
    "draft7_additional_items_dropped": (
        {"$schema": D7, "type": "array", "items": [{"type": "string"}], "additionalItems": False},
        {"$schema": D7, "type": "array", "items": [{"type": "string"}]},
        [
            ("additional_items_added", "#/additionalItems", False, A, "f"),
        ],
    ),
    "pattern_added_unevaluated_closed": (
        {"type": OBJ, "unevaluatedProperties": False},
        {
            "type": OBJ,
            "unevaluatedProperties": False,
            "patternProperties": {"^a": {"type": "string"}},
        },
        [
            ("pattern_property_added", "#/patternProperties/^a", A, {"type": "string"}, "f"),
        ],
    ),
    "pattern_added_open_beside_others": (
        {"type": OBJ, "patternProperties": {"^b": {"type": "string"}}},
        {"type": OBJ, "patternProperties": {"^b": {"type": "string"}, "^a": {"type": "string"}}},
        [
            ("pattern_property_added", "#/patternProperties/^a", A, {"type": "string"}, "b"),
        ],
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_object_and_array_changes(name: str) -> None:
    old, new, expected = CASES[name]
    assert rows(old, new) == expected


@pytest.mark.parametrize(
    ("old", "new", "label"),
    [
        ({"type": OBJ, "properties": {"a": {}}, "additionalProperties": 5},
         {"type": OBJ, "additionalProperties": 5}, "new"),
        ({"type": OBJ, "additionalProperties": 5},
         {"type": OBJ, "properties": {"a": {}}, "additionalProperties": 5}, "old"),
    ],
)  # fmt: skip
def test_a_bad_content_model_is_named_at_the_property(old: Any, new: Any, label: str) -> None:
    with pytest.raises(SchemaError) as err:
        diff_schemas(old, new)
    assert (err.value.file, err.value.pointer) == (label, "#/properties/a")


def test_a_pattern_added_within_an_old_pattern_keeps_backward() -> None:
    # every name matching ^bb matched ^b already, with the same schema
    old = {"type": OBJ, "additionalProperties": False,
           "patternProperties": {"^b": {"type": "string"}}}  # fmt: skip
    new = {"type": OBJ, "additionalProperties": False,
           "patternProperties": {"^b": {"type": "string"}, "^bb": {"type": "string"}}}  # fmt: skip
    d = diff_schemas(old, new)
    assert [(c.kind, c.path) for c in d.changes] == [
        ("pattern_property_added", "#/patternProperties/^bb")
    ]
    assert d.backward is True
