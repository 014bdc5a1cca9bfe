"""diff_schemas: kinds, paths, directions, policies, $ref, hints and bad input."""

from __future__ import annotations

import gc
import sys
from pathlib import Path
from typing import Any

import pytest

import evolvekit as ek
from evolvekit.errors import InputError, RefError, SchemaError
from evolvekit.schema.changes import CONFLUENT_KINDS, KINDS, MISSING, mirror_kind
from evolvekit.schema.diff import diff_schemas, name_similarity
from evolvekit.schema.registry import SchemaRegistry

TUTORIAL_OLD = {
    "type": "object",
    "required": ["customerId", "interactionId", "agentEmail"],
    "properties": {
        "customerId": {"type": "string"},
        "interactionId": {"type": "string"},
        "agentEmail": {"type": "string"},
        "callDuration": {"type": "integer"},
    },
}
TUTORIAL_NEW = {
    "type": "object",
    "required": ["customerId", "interactionId", "agentId"],
    "properties": {
        "customerId": {"type": "string"},
        "interactionId": {"type": "string"},
        "agentId": {"type": "string"},
        "durationSeconds": {"type": "integer"},
    },
}


def kinds(old: Any, new: Any, **kw: Any) -> list[tuple[str, str, list[str]]]:
    return [(c.kind, c.path, sorted(c.breaks)) for c in diff_schemas(old, new, **kw).changes]


def test_identical_schemas_have_no_changes() -> None:
    d = diff_schemas(TUTORIAL_OLD, TUTORIAL_OLD)
    assert d.changes == [] and d.hints == []
    assert d.compatible("full")


def test_tutorial_rename_is_breaking_and_hinted() -> None:
    d = diff_schemas(TUTORIAL_OLD, TUTORIAL_NEW)
    assert not d.compatible("backward") and not d.compatible("forward")
    got = {(c.kind, c.path) for c in d.changes}
    assert ("required_property_added_to_open_content_model", "#/properties/agentId") in got
    assert ("property_removed_from_open_content_model", "#/properties/agentEmail") in got
    pairs = {(h.removed, h.added) for h in d.hints}
    assert ("#/properties/agentEmail", "#/properties/agentId") in pairs
    assert ("#/properties/callDuration", "#/properties/durationSeconds") in pairs
    assert all(0 < h.similarity <= 1 for h in d.hints)
    # hints never change the verdict
    assert d.breaking("backward")


def test_hints_need_compatible_types() -> None:
    old = {"properties": {"agentEmail": {"type": "string"}}}
    new = {"properties": {"agentEmails": {"type": "boolean"}}}
    assert diff_schemas(old, new).hints == []


def test_hints_in_a_large_object_pair_renames_by_shared_words() -> None:
    # 60 removed x 40 added is past the all-pairs budget: candidates come from rare shared
    # words, and each rename must still find its own partner (not a look-alike neighbour).
    old_props = {f"agentField{i}Code": {"type": "string"} for i in range(40)}
    old_props |= {f"legacyOnly{i}": {"type": "integer"} for i in range(20)}
    new_props = {f"agent_field_{i}_code_v2": {"type": "string"} for i in range(40)}
    d = diff_schemas({"properties": old_props}, {"properties": new_props})
    pairs = {(h.removed, h.added) for h in d.hints}
    assert pairs == {
        (f"#/properties/agentField{i}Code", f"#/properties/agent_field_{i}_code_v2")
        for i in range(40)
    }


def test_only_the_backward_walk_collects_hints() -> None:
    from evolvekit.schema.diff_walk import Walker

    assert Walker().collecting_hints and not Walker(hints=False).collecting_hints


def test_name_similarity_splits_case_styles() -> None:
    assert name_similarity("agentId", "agent_id") == 1.0
    assert name_similarity("StartDate", "start-date") == 1.0
    assert name_similarity("agentId", "zzz") < 0.3


@pytest.mark.parametrize(
    ("old", "new", "kind", "path", "breaks"),
    [
        ({"type": "string", "maxLength": 5}, {"type": "string", "maxLength": 3},
         "max_length_decreased", "#/maxLength", ["backward"]),
        ({"type": "string", "maxLength": 3}, {"type": "string", "maxLength": 5},
         "max_length_increased", "#/maxLength", ["forward"]),
        ({"type": "string"}, {"type": "string", "minLength": 2},
         "min_length_added", "#/minLength", ["backward"]),
        ({"type": "string", "pattern": "^a"}, {"type": "string"},
         "pattern_removed", "#/pattern", ["forward"]),
        ({"type": "string", "pattern": "^a"}, {"type": "string", "pattern": "^b"},
         "pattern_changed", "#/pattern", ["backward", "forward"]),
        ({"type": "number", "minimum": 1}, {"type": "number", "minimum": 2},
         "minimum_increased", "#/minimum", ["backward"]),
        ({"type": "number", "maximum": 1}, {"type": "number"},
         "maximum_removed", "#/maximum", ["forward"]),
        ({"type": "number", "multipleOf": 2}, {"type": "number", "multipleOf": 4},
         "multiple_of_expanded", "#/multipleOf", ["backward"]),
        ({"type": "number", "multipleOf": 0.5}, {"type": "number", "multipleOf": 0.1},
         "multiple_of_reduced", "#/multipleOf", ["forward"]),
        ({"type": "number"}, {"type": "integer"}, "type_narrowed", "#/", ["backward"]),
        ({"type": "integer"}, {"type": "number"}, "type_extended", "#/", ["forward"]),
        ({"type": "string"}, {"type": "object"}, "type_changed", "#/", ["backward", "forward"]),
        ({"type": "array", "maxItems": 3}, {"type": "array", "maxItems": 2},
         "max_items_decreased", "#/maxItems", ["backward"]),
        ({"type": "array"}, {"type": "array", "uniqueItems": True},
         "unique_items_added", "#/uniqueItems", ["backward"]),
        ({"type": "object", "minProperties": 1}, {"type": "object", "minProperties": 2},
         "min_properties_increased", "#/minProperties", ["backward"]),
        ({"type": "object", "maxProperties": 1}, {"type": "object"},
         "max_properties_removed", "#/maxProperties", ["forward"]),
        ({"enum": ["a", "b"]}, {"enum": ["a", "b", "c"]},
         "enum_array_extended", "#/enum", ["forward"]),
        ({"enum": ["a", "b"]}, {"enum": ["a"]}, "enum_array_narrowed", "#/enum", ["backward"]),
        ({"const": "a"}, {"const": "b"}, "enum_array_changed", "#/const",
         ["backward", "forward"]),
        ({"type": "array", "items": {"type": "string"}},
         {"type": "array", "items": {"type": "integer"}}, "type_changed", "#/items",
         ["backward", "forward"]),
        ({"type": "array", "contains": {"type": "string"}},
         {"type": "array", "contains": {"type": "string"}, "minContains": 2},
         "min_contains_increased", "#/minContains", ["backward"]),
        ({"type": "array", "contains": {"type": "string"}, "maxContains": 2},
         {"type": "array", "contains": {"type": "string"}, "maxContains": 1},
         "max_contains_decreased", "#/maxContains", ["backward"]),
        ({"type": "array"}, {"type": "array", "contains": {"type": "string"}},
         "contains_added", "#/contains", ["backward"]),
    ],
)  # fmt: skip
def test_bounds_and_types(
    old: dict[str, Any], new: dict[str, Any], kind: str, path: str, breaks: list[str]
) -> None:
    assert (kind, path, breaks) in kinds(old, new)


def test_exclusive_bounds_are_judged_together() -> None:
    # exclusiveMinimum 10 -> minimum 10 admits one more number: backward compatible
    d = diff_schemas({"type": "number", "exclusiveMinimum": 10}, {"type": "number", "minimum": 10})
    assert d.compatible("backward") and not d.compatible("forward")
    # draft-04 boolean form is the same bound as draft-06+ numeric form
    draft4 = {"$schema": "http://json-schema.org/draft-04/schema#", "type": "number",
              "maximum": 10, "exclusiveMaximum": True}  # fmt: skip
    assert diff_schemas(draft4, {"type": "number", "exclusiveMaximum": 10}).changes == []


def test_nested_changes_report_their_pointer() -> None:
    old = {"type": "object", "properties": {"a": {"type": "object", "properties": {
        "b": {"type": "array", "items": {"type": "string", "maxLength": 9}}}}}}  # fmt: skip
    new = {"type": "object", "properties": {"a": {"type": "object", "properties": {
        "b": {"type": "array", "items": {"type": "string", "maxLength": 4}}}}}}  # fmt: skip
    assert kinds(old, new) == [
        ("max_length_decreased", "#/properties/a/properties/b/items/maxLength", ["backward"])
    ]


def test_pointer_tokens_are_escaped() -> None:
    old = {"properties": {"a/b": {"type": "string"}}}
    new = {"properties": {"a/b": {"type": "integer"}}}
    assert kinds(old, new)[0][1] == "#/properties/a~1b"


def test_required_and_optional_removal_differ() -> None:
    base = {"type": "object", "properties": {"x": {"type": "string"}, "y": {"type": "string"}}}
    required = {**base, "required": ["x"]}
    # making a property optional is backward compatible, forward breaking
    assert ("required_attribute_removed", "#/required/x", ["forward"]) in kinds(required, base)
    assert ("required_attribute_added", "#/required/x", ["backward"]) in kinds(base, required)
    with_default = {**base, "properties": {**base["properties"], "x": {
        "type": "string", "default": "n/a"}}, "required": ["x"]}  # fmt: skip
    got = {k for k, _, _ in kinds(base, with_default)}
    assert "required_attribute_with_default_added" in got


def test_required_name_without_property_still_counts() -> None:
    d = diff_schemas({"type": "object"}, {"type": "object", "required": ["ghost"]})
    assert [c.kind for c in d.breaking("backward")] == ["required_attribute_added"]


@pytest.mark.parametrize(
    ("old", "new", "strict", "lenient"),
    [
        # open content model gains a property: strict breaks, lenient allows
        ({"properties": {"a": {"type": "string"}}},
         {"properties": {"a": {"type": "string"}, "b": {"type": "number"}}}, False, True),
        # closed content model gains an optional property: fine either way
        ({"properties": {"a": {}}, "additionalProperties": False},
         {"properties": {"a": {}, "b": {"type": "number"}}, "additionalProperties": False},
         True, True),
        # closed model loses a property: lenient only
        ({"properties": {"a": {}, "b": {"type": "string"}}, "additionalProperties": False},
         {"properties": {"a": {}}, "additionalProperties": False}, False, True),
        # partially open model covers the removed property
        ({"properties": {"b": {"type": "string"}}, "additionalProperties": False},
         {"additionalProperties": {"type": "string"}}, True, True),
        # ... or does not (the type change itself breaks under either policy)
        ({"properties": {"b": {"type": "number"}}, "additionalProperties": False},
         {"additionalProperties": {"type": "string"}}, False, False),
        # unevaluatedProperties acts as the content model
        ({"properties": {"a": {}}, "unevaluatedProperties": {"type": "string"}},
         {"properties": {"a": {}, "b": {"type": "string"}}, "unevaluatedProperties": {
             "type": "string"}}, True, True),
        # patternProperties cover a removed property
        ({"properties": {"I_1": {"type": "integer"}}, "additionalProperties": False},
         {"patternProperties": {"^I_": {"type": "number"}}, "additionalProperties": False},
         True, True),
    ],
)  # fmt: skip
def test_content_models_under_both_policies(
    old: dict[str, Any], new: dict[str, Any], strict: bool, lenient: bool
) -> None:
    assert diff_schemas(old, new, policy="strict").compatible("backward") is strict
    assert diff_schemas(old, new, policy="lenient").compatible("backward") is lenient


def test_additional_properties_changes() -> None:
    assert ("additional_properties_removed", "#/additionalProperties", ["backward"]) in kinds(
        {"additionalProperties": True}, {"additionalProperties": False}
    )
    assert ("additional_properties_narrowed", "#/additionalProperties", ["backward"]) in kinds(
        {"additionalProperties": True}, {"additionalProperties": {"type": "number"}}
    )
    lenient = diff_schemas({"additionalProperties": True}, {"additionalProperties": False},
                           policy="lenient")  # fmt: skip
    assert lenient.compatible("backward")


def test_tuple_items_draft7_and_2020_12_agree() -> None:
    d7_old = {"type": "array", "items": [{"type": "string"}], "additionalItems": False}
    d7_new = {"type": "array", "items": [{"type": "string"}, {"type": "number"}],
              "additionalItems": False}  # fmt: skip
    modern_old = {"type": "array", "prefixItems": [{"type": "string"}], "items": False}
    modern_new = {"type": "array", "prefixItems": [{"type": "string"}, {"type": "number"}],
                  "items": False}  # fmt: skip
    expected = [("item_added_to_closed_content_model", "#/items/1", ["forward"])]
    assert kinds(d7_old, d7_new) == expected
    assert kinds(modern_old, modern_new) == expected


def test_dependencies_all_spellings() -> None:
    got = kinds({"dependencies": {"a": ["b"]}}, {"dependencies": {"a": ["b", "c"]}})
    assert ("dependency_array_extended", "#/dependencies/a", ["backward"]) in got
    got = kinds({"dependentRequired": {"a": ["b"]}}, {})
    assert ("dependency_array_removed", "#/dependentRequired/a", ["forward"]) in got
    got = kinds({}, {"dependentSchemas": {"a": {"required": ["b"]}}})
    assert ("dependency_schema_added", "#/dependentSchemas/a", ["backward"]) in got


def test_combinators_pair_branches_by_best_match() -> None:
    old = {"oneOf": [{"type": "string", "maxLength": 5}]}
    new = {"oneOf": [{"type": "boolean"}, {"type": "string", "maxLength": 8}]}
    got = kinds(old, new)
    assert ("sum_type_extended", "#/", ["forward"]) in got
    assert ("max_length_increased", "#/oneOf/0/maxLength") in {(k, p) for k, p, _ in got}
    assert diff_schemas(old, new).compatible("backward")
    narrowed = diff_schemas(new, old)
    assert not narrowed.compatible("backward") and narrowed.compatible("forward")


def test_anyof_reordered_is_unchanged() -> None:
    old = {"anyOf": [{"type": "string"}, {"type": "integer"}]}
    new = {"anyOf": [{"type": "integer"}, {"type": "string"}]}
    assert diff_schemas(old, new).changes == []


def test_type_becomes_union() -> None:
    d = diff_schemas({"type": "string"}, {"type": ["string", "null"]})
    assert d.compatible("backward") and not d.compatible("forward")
    assert [c.kind for c in d.changes] == ["sum_type_extended"]


def test_not_is_compared_in_reverse() -> None:
    assert ("not_type_narrowed", "#/not", ["forward"]) in kinds(
        {"not": {"type": "number"}}, {"not": {"type": "integer"}}
    )
    assert ("not_type_extended", "#/not", ["backward"]) in kinds(
        {"not": {"type": "integer"}}, {"not": {"type": "number"}}
    )


def test_enum_values_are_checked_against_the_new_schema() -> None:
    d = diff_schemas({"type": "number", "enum": [1]},
                     {"type": "number", "enum": [0, 1], "minimum": 1})  # fmt: skip
    assert d.compatible("full")
    # true is not 1 in JSON
    assert not diff_schemas({"const": True}, {"const": 1}).compatible("backward")


def test_annotations_never_break_even_beside_a_narrowed_enum() -> None:
    d = diff_schemas({"enum": ["a", "b"], "title": "x"}, {"enum": ["a"], "title": "y"})
    title = next(c for c in d.changes if c.kind == "title_changed")
    assert title.breaks == frozenset()
    assert not d.compatible("backward")


def test_enum_added_to_a_typed_property_breaks_backward() -> None:
    d = diff_schemas({"type": "string"}, {"type": "string", "enum": ["voice", "chat"]})
    assert [(c.kind, sorted(c.breaks)) for c in d.changes] == [
        ("product_type_extended", ["backward"])
    ]
    assert d.changes[0].new == ["voice", "chat"]


def test_metadata_is_non_breaking() -> None:
    old = {"type": "string", "title": "a", "description": "x", "default": "d", "format": "email",
           "examples": ["a@b"], "$comment": "c"}  # fmt: skip
    new = {"type": "string", "title": "b", "description": "y", "default": "e",
           "format": "date-time", "examples": [], "deprecated": True}  # fmt: skip
    d = diff_schemas(old, new)
    got = {c.kind for c in d.changes}
    assert {"title_changed", "description_changed", "default_changed", "format_changed",
            "examples_changed", "comment_changed", "deprecated_added"} <= got  # fmt: skip
    assert d.compatible("full")
    assert all(c.severity("full") == "info" for c in d.changes)
    title = next(c for c in d.changes if c.kind == "title_changed")
    assert (title.old, title.new) == ("a", "b")
    comment = next(c for c in d.changes if c.kind == "comment_changed")
    assert comment.new is MISSING


def test_null_is_a_value_not_absence() -> None:
    d = diff_schemas({"default": None}, {})
    assert [(c.kind, c.old, c.new) for c in d.changes] == [("default_changed", None, MISSING)]


def test_severity_and_compatible_by_mode() -> None:
    d = diff_schemas({"type": "string", "maxLength": 3}, {"type": "string", "maxLength": 5})
    change = d.changes[0]
    assert change.severity("backward") == "caution"
    assert change.severity("forward") == "breaking"
    assert d.compatible("backward") and not d.compatible("full")


def test_local_refs_are_followed_and_reported_at_the_referencing_site() -> None:
    old = {"type": "array", "items": {"$ref": "#/definitions/x"},
           "definitions": {"x": {"type": "string"}}}  # fmt: skip
    new = {"type": "array", "items": {"$ref": "#/definitions/x"},
           "definitions": {"x": {"type": "number"}}}  # fmt: skip
    assert kinds(old, new) == [("type_changed", "#/items", ["backward", "forward"])]
    moved = {"$ref": "#/$defs/s", "$defs": {"s": {"type": "string"}}}
    assert diff_schemas({"type": "string"}, moved).changes == []


def test_recursive_schemas_terminate() -> None:
    tree = {"type": "object", "properties": {"value": {"type": "string"},
            "children": {"type": "array", "items": {"$ref": "#"}}}}  # fmt: skip
    changed = {"type": "object", "properties": {"value": {"type": "integer"},
               "children": {"type": "array", "items": {"$ref": "#"}}}}  # fmt: skip
    got = kinds(tree, changed)
    assert ("type_changed", "#/properties/value", ["backward", "forward"]) in got
    assert diff_schemas(tree, tree).changes == []


def test_confluent_recursive_support_file() -> None:
    source = Path(__file__).parent / "oracles" / "confluent" / "recursive-schema.json"
    import json

    schema = json.loads(source.read_text())
    assert diff_schemas(schema, schema).changes == []


def test_structureless_ref_cycle_is_a_ref_error() -> None:
    with pytest.raises(RefError):
        diff_schemas({"$ref": "#"}, {"type": "string"})


def test_remote_and_dangling_refs_are_errors() -> None:
    with pytest.raises(RefError, match="remote"):
        diff_schemas({"$ref": "https://example.com/x.json"}, {})
    with pytest.raises(RefError) as err:
        diff_schemas({"properties": {"a": {"$ref": "#/$defs/nope"}}}, {})
    assert "#/properties/a" in str(err.value)


def test_bad_input_is_one_line() -> None:
    with pytest.raises(SchemaError):
        diff_schemas([], {})
    with pytest.raises(SchemaError, match=r"\$schema"):
        diff_schemas({"$schema": "http://example.com/unknown"}, {})
    with pytest.raises(InputError, match="policy"):
        diff_schemas({}, {}, policy="loose")
    with pytest.raises(InputError, match="registry"):
        diff_schemas("a@1.0.0", {})


def test_a_list_where_a_schema_belongs_is_a_schema_error() -> None:
    with pytest.raises(SchemaError) as err:
        diff_schemas({"properties": {"a": {}}}, {"properties": {"a": [1]}})
    assert err.value.pointer == "#/properties/a"


def _nest(depth: int, leaf: dict[str, Any]) -> dict[str, Any]:
    node = leaf
    for _ in range(depth):
        node = {"type": "object", "properties": {"n": node}}
    return node


def test_deep_nesting_within_the_recursion_limit_diffs() -> None:
    d = diff_schemas(_nest(120, {"type": "string"}), _nest(120, {"type": "integer"}))
    assert [c.kind for c in d.changes] == ["type_changed"]
    assert d.changes[0].path.count("/properties/n") == 120


def test_too_deep_nesting_is_a_located_error_and_touches_no_process_state() -> None:
    limit, collecting = sys.getrecursionlimit(), gc.isenabled()
    old = _nest(900, {"type": "string"})
    with pytest.raises(SchemaError, match="too deep to diff") as err:
        diff_schemas(old, _nest(900, {"type": "integer"}))
    assert err.value.pointer is not None
    assert err.value.pointer.startswith("#/properties/n/properties/n")
    assert "\n" not in str(err.value)
    # The walk neither raises the recursion limit nor pauses the collector for itself:
    # both are process-wide and other threads share them.
    assert (sys.getrecursionlimit(), gc.isenabled()) == (limit, collecting)


def test_pathological_nesting_fails_fast_with_a_bounded_pointer() -> None:
    def items(depth: int, leaf: dict[str, Any]) -> dict[str, Any]:
        for _ in range(depth):
            leaf = {"items": leaf}
        return leaf

    with pytest.raises(SchemaError, match=r"too deep to diff \(20001 levels") as err:
        diff_schemas(items(20_000, {"type": "string"}), items(20_000, {"type": "integer"}))
    assert err.value.pointer is not None
    assert err.value.pointer.count("/items") == 1_000  # a place past the bound, not all the way


def test_concurrent_diffs_in_threads_agree_with_a_serial_one() -> None:
    from concurrent.futures import ThreadPoolExecutor

    expected = diff_schemas(TUTORIAL_OLD, TUTORIAL_NEW)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: diff_schemas(TUTORIAL_OLD, TUTORIAL_NEW), range(16)))
    assert all(r.changes == expected.changes and r.hints == expected.hints for r in results)
    assert gc.isenabled()


def test_an_application_that_raises_the_recursion_limit_diffs_deeper() -> None:
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(20_000)
    try:
        d = diff_schemas(_nest(900, {"type": "string"}), _nest(900, {"type": "integer"}))
    finally:
        sys.setrecursionlimit(limit)
    assert [c.kind for c in d.changes] == ["type_changed"]
    assert d.changes[0].path.count("/properties/n") == 900


def test_registry_refs_and_labels() -> None:
    reg = SchemaRegistry(Path(__file__).resolve().parents[2] / "schemas")
    subject = "interaction.completed"
    versions = reg.versions(subject)
    d = diff_schemas(f"{subject}@{versions[0]}", f"{subject}@{versions[1]}", registry=reg)
    assert d.old_label == f"{subject}@{versions[0]}"
    assert d.hints, "the tutorial's renames are hinted"
    # the same version against itself (through cross-file refs) has no changes
    same = diff_schemas(f"{subject}@{versions[-1]}", f"{subject}@{versions[-1]}", registry=reg)
    assert same.changes == []


def test_public_api_and_catalogue() -> None:
    assert ek.diff_schemas is diff_schemas
    assert len(CONFLUENT_KINDS) == 132
    assert all(k == k.lower() for k in KINDS)
    assert mirror_kind("maximum_increased") == "maximum_decreased"
    assert mirror_kind("property_removed_from_open_content_model") == (
        "property_added_to_open_content_model"
    )
    assert mirror_kind("type_changed") == "type_changed"


def test_every_reported_kind_is_catalogued() -> None:
    old = {"type": "object", "properties": {"a": {"type": "string", "format": "email"},
           "b": {"type": "array", "prefixItems": [{"type": "string"}]}}}  # fmt: skip
    new = {"type": "object", "properties": {"a": {"type": "string"},
           "b": {"type": "array", "prefixItems": [{"type": "number"}, {}]},
           "c": {"if": {"type": "string"}, "then": {"minLength": 1}}}}  # fmt: skip
    changes = diff_schemas(old, new).changes
    # one change per edit: format dropped, item retyped, item appended, property added
    assert len(changes) == 4
    for change in changes:
        assert change.kind in KINDS


def test_listed_values_meet_hostile_patterns_in_linear_time() -> None:
    """An enum value against a catastrophic-backtracking pattern (issue 11): the values are
    checked by jsonschema-rs, whose matching is linear; with Python's re it never ends. Run
    in a fresh interpreter with a timeout as a hang guard (re holds the GIL)."""
    import subprocess

    hostile = "a" * 5000 + "!"
    code = (
        "from evolvekit.schema.diff import diff_schemas\n"
        f"old = {{'type': 'string', 'enum': [{hostile!r}, 'aa']}}\n"
        "new = {'type': 'string', 'pattern': '^(a+)+$'}\n"
        "print([(c.kind, sorted(c.breaks)) for c in diff_schemas(old, new).changes])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert "('pattern_added', ['backward'])" in done.stdout
    new = {"type": "string", "pattern": "^(a+)+$"}
    assert ("pattern_added", "#/pattern", []) in kinds({"type": "string", "enum": ["aa"]}, new)
