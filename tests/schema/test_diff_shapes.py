"""diff_shapes: what one schema position is (kind, role, parts) after $ref resolution."""

from __future__ import annotations

from typing import Any

import pytest

from evolvekit.errors import RefError, SchemaError
from evolvekit.schema.diff_shapes import (
    COMBINED,
    EMPTY,
    ENUM,
    FALSE,
    NOT,
    NUMBER,
    Ctx,
    Shape,
    combined_branches,
    instance_types,
    resolve,
    shape_of,
)
from evolvekit.schema.refs import dialect_of, make_resolver

PLAIN = Ctx(None, None, label="old")


def ref_ctx(schema: Any, *, legacy: bool = False, draft4: bool = False) -> Ctx:
    resolver = make_resolver(schema, base_uri="urn:test:root", file="old")
    return Ctx(resolver, dialect_of(schema, file="old"), draft4, legacy, "old")


# --- kinds and roles --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "kind", "role", "label"),
    [
        (True, EMPTY, "empty", "empty"),
        (False, FALSE, "false", "false"),
        ({}, EMPTY, "empty", "empty"),
        ({"title": "x"}, EMPTY, "empty", "empty"),
        ({"type": "string"}, "string", "type", "string"),
        ({"type": "integer"}, NUMBER, "type", "integer"),
        ({"type": "number"}, NUMBER, "type", "number"),
        ({"type": "boolean"}, "boolean", "type", "boolean"),
        ({"type": "null"}, "null", "type", "null"),
        ({"type": "object"}, "object", "type", "object"),
        ({"type": "array"}, "array", "type", "array"),
        ({"type": "nonsense"}, EMPTY, "empty", "nonsense"),
        ({"minLength": 1}, "string", "type", "string"),
        ({"multipleOf": 2}, NUMBER, "type", "number"),
        ({"required": ["a"]}, "object", "type", "object"),
        ({"minItems": 1}, "array", "type", "array"),
        ({"enum": [1, "a"]}, ENUM, "enum", "enum"),
        ({"const": 3}, ENUM, "enum", "enum"),
        ({"anyOf": [{"type": "string"}]}, COMBINED, "anyOf", "anyOf"),
        ({"oneOf": [{"type": "string"}]}, COMBINED, "oneOf", "oneOf"),
        ({"allOf": [{"type": "string"}]}, COMBINED, "allOf", "allOf"),
        ({"anyOf": []}, EMPTY, "empty", "empty"),
        ({"not": {"type": "string"}}, NOT, "not", "not"),
        ({"if": {"type": "string"}}, "conditional", "if", "conditional"),
    ],
)
def test_single_shapes(raw: Any, kind: str, role: str, label: str) -> None:
    shape = shape_of(raw, PLAIN)
    assert shape.kind == kind
    assert shape.role == role
    assert shape.type_label() == label
    assert shape.part is False
    assert shape.synthetic is False


def test_integer_flag_and_requires() -> None:
    assert shape_of({"type": "integer"}, PLAIN).integer is True
    assert shape_of({"type": "number"}, PLAIN).integer is False
    assert shape_of({"type": "string"}, PLAIN).requires is True
    assert shape_of({"maxLength": 3}, PLAIN).requires is False


def test_implied_type_label_of_integer_without_type() -> None:
    shape = Shape(NUMBER, {"minimum": 1}, PLAIN, integer=True)
    assert shape.type_label() == "integer"
    assert Shape(NUMBER, {"minimum": 1}, PLAIN).type_label() == "number"


def test_enum_and_const_values() -> None:
    shape = shape_of({"enum": [1, "a"]}, PLAIN)
    assert list(shape.values) == [1, "a"]
    assert shape.enum_key == "enum"
    const = shape_of({"const": None}, PLAIN)
    assert list(const.values) == [None]
    assert const.enum_key == "const"
    # a non-list enum does not make an enum shape; a const beside it still does
    assert shape_of({"enum": "a"}, PLAIN).kind == EMPTY
    assert shape_of({"enum": "a", "const": 1}, PLAIN).enum_key == "const"
    assert shape_of({"enum": [2], "const": 1}, PLAIN).enum_key == "enum"


def test_type_list_is_a_typelist_any_of() -> None:
    shape = shape_of({"type": ["string", "integer", "string", "bogus", 3]}, PLAIN)
    assert shape.kind == COMBINED
    assert shape.typelist is True
    assert shape.criterion == "anyOf"
    assert shape.role == "type"
    assert [s.kind for s in shape.subs] == ["string", NUMBER]
    assert [s.integer for s in shape.subs] == [False, True]
    assert all(s.requires for s in shape.subs)
    assert shape.type_label() == ["string", "integer", "string", "bogus", 3]
    assert instance_types(shape) == (NUMBER, "string")


def test_several_shapes_make_a_synthetic_conjunction_keyed_by_role() -> None:
    raw = {"type": "string", "enum": ["a"], "anyOf": [{}], "oneOf": [{}], "allOf": [{}],
           "not": {}, "if": {}}  # fmt: skip
    shape = shape_of(raw, PLAIN)
    assert shape.kind == COMBINED
    assert shape.synthetic is True
    assert shape.criterion == "allOf"
    assert shape.role == "type"
    assert sorted(shape.roles) == ["allOf", "anyOf", "enum", "if", "not", "oneOf", "type"]
    assert all(part.part for part in shape.roles.values())
    assert shape.roles["type"].kind == "string"
    assert shape.roles["enum"].kind == ENUM
    assert shape.roles["not"].kind == NOT
    assert shape.roles["if"].kind == "conditional"
    assert shape.roles["anyOf"].criterion == "anyOf"
    assert instance_types(shape) == ("string",)


def test_implied_types_of_several_kinds() -> None:
    shape = shape_of({"minLength": 1, "minimum": 0}, PLAIN)
    assert shape.kind == COMBINED
    assert shape.synthetic is True
    assert sorted(shape.roles) == ["type:number", "type:string"]
    assert [p.requires for p in shape.roles.values()] == [False, False]
    assert instance_types(shape) is None  # no "type" role: anything of other types passes


def test_synthetic_part_of_implied_types_inside_a_conjunction() -> None:
    shape = shape_of({"minLength": 1, "minimum": 0, "enum": [1]}, PLAIN)
    assert sorted(shape.roles) == ["enum", "type"]
    inner = shape.roles["type"]
    assert inner.synthetic is True
    assert inner.part is True
    assert sorted(inner.roles) == ["type:number", "type:string"]


# --- instance_types ---------------------------------------------------------------------


def test_instance_types() -> None:
    assert instance_types(shape_of({"type": "integer"}, PLAIN)) == (NUMBER,)
    values = {"enum": [True, 1, 1.5, "a", None, [1], {"a": 1}]}
    assert instance_types(shape_of(values, PLAIN)) == (
        "array", "boolean", "null", NUMBER, "object", "string")  # fmt: skip
    assert instance_types(shape_of({"enum": [{}]}, PLAIN)) == ("object",)
    assert instance_types(shape_of({}, PLAIN)) is None
    assert instance_types(shape_of({"anyOf": [{"type": "string"}]}, PLAIN)) is None
    assert instance_types(shape_of({"not": {}}, PLAIN)) is None


# --- combined_branches ------------------------------------------------------------------


def test_combined_branches_drop_duplicates_and_keep_indexes() -> None:
    raw = {"oneOf": [{"type": "string"}, {"type": "integer"}, {"type": "string"},
                     {"minimum": 1.0, "type": "integer"}, {"type": "integer", "minimum": 1}]}
    shape = shape_of(raw, PLAIN)
    branches = combined_branches(shape, "#/x")
    assert [i for i, _ in branches] == [0, 1, 3]
    assert [b.kind for _, b in branches] == ["string", NUMBER, NUMBER]


def test_combined_branches_of_a_type_list() -> None:
    shape = shape_of({"type": ["string", "null"]}, PLAIN)
    assert [(i, b.kind) for i, b in combined_branches(shape, "#")] == [(0, "string"),
                                                                       (1, "null")]


def test_combined_branch_pointer_names_the_bad_branch() -> None:
    shape = shape_of({"anyOf": [{"type": "string"}, 5]}, PLAIN)
    with pytest.raises(SchemaError) as err:
        combined_branches(shape, "#/properties/a")
    assert "#/properties/a/anyOf/1" in str(err.value)


# --- $ref -------------------------------------------------------------------------------


def test_not_a_schema() -> None:
    with pytest.raises(SchemaError) as err:
        shape_of(5, PLAIN, "#/properties/x")
    message = str(err.value)
    assert "not a schema: expected an object or boolean, found int" in message
    assert "#/properties/x" in message
    assert "old" in message


def test_a_ref_is_followed() -> None:
    schema = {"$defs": {"s": {"type": "string"}, "t": {"$ref": "#/$defs/s"}},
              "properties": {"a": {"$ref": "#/$defs/t"}}}  # fmt: skip
    ctx = ref_ctx(schema)
    shape = shape_of({"$ref": "#/$defs/t", "description": "only an annotation"}, ctx)
    assert shape.kind == "string"
    assert shape.synthetic is False
    target, _, siblings = resolve({"$ref": "#/$defs/t"}, ctx, "#")
    assert target == {"type": "string"}
    assert siblings is None


def test_a_ref_without_a_resolver_is_a_ref_error() -> None:
    with pytest.raises(RefError) as err:
        resolve({"$ref": "#/$defs/s"}, PLAIN, "#/properties/a")
    assert "cannot be resolved" in str(err.value)
    assert "#/properties/a" in str(err.value)


def test_a_ref_cycle_is_a_ref_error() -> None:
    schema = {"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}}
    ctx = ref_ctx(schema)
    with pytest.raises(RefError) as err:
        resolve(schema["$defs"]["a"], ctx, "#/p")
    assert "cycle with no structure" in str(err.value)
    assert "#/p" in str(err.value)


def test_siblings_of_a_ref_apply_in_2020_12() -> None:
    schema = {"$defs": {"s": {"type": "string"}}}
    ctx = ref_ctx(schema)
    raw = {"$ref": "#/$defs/s", "maxLength": 3, "title": "t"}
    _, _, siblings = resolve(raw, ctx, "#")
    assert siblings == {"maxLength": 3, "title": "t"}
    shape = shape_of(raw, ctx)
    assert shape.kind == COMBINED
    assert shape.synthetic is True
    assert shape.criterion == "allOf"
    assert sorted(shape.roles) == ["$ref", "type"]
    assert shape.roles["$ref"].kind == "string"
    assert shape.roles["$ref"].part is True
    assert shape.roles["type"].kind == "string"


def test_synthetic_siblings_of_a_ref_keep_their_roles() -> None:
    schema = {"$defs": {"s": {"type": "string"}}}
    raw = {"$ref": "#/$defs/s", "enum": ["a"], "not": {"const": "b"}}
    shape = shape_of(raw, ref_ctx(schema))
    assert sorted(shape.roles) == ["$ref", "enum", "not"]


def test_siblings_of_a_ref_are_ignored_in_legacy_drafts() -> None:
    schema = {"definitions": {"s": {"type": "string"}}}
    ctx = ref_ctx(schema, legacy=True)
    raw = {"$ref": "#/definitions/s", "maxLength": 3}
    assert resolve(raw, ctx, "#")[2] is None
    assert shape_of(raw, ctx).kind == "string"


def test_annotation_only_siblings_are_just_the_ref() -> None:
    schema = {"$defs": {"s": {"type": "string"}}}
    raw = {"$ref": "#/$defs/s", "title": "t", "format": "email", "$comment": "c"}
    assert resolve(raw, ref_ctx(schema), "#")[2] is None


def test_siblings_that_only_hold_unknown_keywords_count() -> None:
    schema = {"$defs": {"s": {"type": "string"}}}
    raw = {"$ref": "#/$defs/s", "x-extra": 1}
    assert resolve(raw, ref_ctx(schema), "#")[2] == {"x-extra": 1}
    shape = shape_of(raw, ref_ctx(schema))
    assert sorted(shape.roles) == ["$ref"]


def test_a_ref_inside_a_subschema_with_its_own_id() -> None:
    schema = {"$defs": {"inner": {"$id": "urn:test:inner", "$defs": {"s": {"type": "null"}},
                                  "properties": {"p": {"$ref": "#/$defs/s"}}}}}  # fmt: skip
    ctx = ref_ctx(schema)
    inner = schema["$defs"]["inner"]
    child = ctx.child(inner)
    assert child is not ctx
    assert shape_of(inner["properties"]["p"], child).kind == "null"
    # "#..." ids and non-dicts do not move the base
    assert ctx.child({"$id": "#frag"}) is ctx
    assert ctx.child({"$id": ""}) is ctx
    assert ctx.child([1]) is ctx
    assert PLAIN.child({"$id": "urn:x"}) is PLAIN


def test_draft4_ids_use_the_id_keyword() -> None:
    schema = {"$schema": "http://json-schema.org/draft-04/schema#",
              "definitions": {"inner": {"id": "urn:test:d4", "definitions": {"s": {"type": "null"}}}}}  # fmt: skip  # noqa: E501
    ctx = ref_ctx(schema, legacy=True, draft4=True)
    inner = schema["definitions"]["inner"]
    assert ctx.child(inner) is not ctx
    assert ctx.child({"$id": "urn:test:other"}) is ctx
    child = ctx.child(inner)
    assert child.draft4 is True
    assert child.legacy_ref is True
    assert child.label == "old"


def test_ref_errors_name_the_file_and_pointer() -> None:
    with pytest.raises(RefError) as err:
        resolve({"$ref": "#/$defs/s"}, PLAIN, "#/properties/a")
    assert (err.value.file, err.value.pointer) == ("old", "#/properties/a")
    assert str(err.value) == "old #/properties/a: $ref '#/$defs/s' cannot be resolved"
    schema = {"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}}
    with pytest.raises(RefError) as err:
        resolve(schema["$defs"]["a"], ref_ctx(schema), "#/p")
    assert (err.value.file, err.value.pointer) == ("old", "#/p")


def test_a_missing_target_is_a_ref_error_naming_the_file() -> None:
    schema = {"$defs": {"a": {"$ref": "#/$defs/nowhere"}}}
    with pytest.raises(RefError) as err:
        resolve(schema["$defs"]["a"], ref_ctx(schema), "#/q")
    assert err.value.file == "old"
    assert err.value.pointer == "#/q"


def test_a_ref_into_a_malformed_schema_is_a_ref_error() -> None:
    schema = {"$defs": {"bad": {"$ref": "#/$defs/list/0"}, "list": [1, 2]}}
    with pytest.raises(RefError) as err:
        resolve(schema["$defs"]["bad"], ref_ctx(schema), "#/x")
    assert str(err.value) == ("old #/x: $ref '#/$defs/list/0' cannot be resolved in a malformed "
                              "schema: 'list' object has no attribute 'get'")  # fmt: skip
    assert (err.value.file, err.value.pointer) == ("old", "#/x")


def test_a_ref_resolves_against_its_own_id() -> None:
    inner = {"$id": "urn:test:inner", "$ref": "#/$defs/s", "$defs": {"s": {"type": "null"}}}
    schema = {"$defs": {"inner": inner}}
    target, _, _ = resolve(inner, ref_ctx(schema), "#")
    assert target == {"type": "null"}


def test_a_resolved_target_keeps_the_dialect_for_nested_ids() -> None:
    nested = {"$id": "urn:test:q", "$defs": {"s": {"type": "null"}}, "$ref": "#/$defs/s"}
    schema = {"$defs": {"outer": {"properties": {"q": nested}}}}
    target, tctx, _ = resolve({"$ref": "#/$defs/outer"}, ref_ctx(schema), "#")
    assert shape_of(target["properties"]["q"], tctx).kind == "null"
    assert tctx.spec is not None
    assert tctx.label == "old"


def test_a_resolved_draft4_target_keeps_using_id() -> None:
    nested = {"id": "urn:test:d4q", "definitions": {"s": {"type": "null"}},
              "properties": {"r": {"$ref": "#/definitions/s"}}}  # fmt: skip
    schema = {"$schema": "http://json-schema.org/draft-04/schema#",
              "definitions": {"outer": {"properties": {"q": nested}}}}  # fmt: skip
    ctx = ref_ctx(schema, legacy=True, draft4=True)
    target, tctx, _ = resolve({"$ref": "#/definitions/outer"}, ctx, "#")
    assert tctx.draft4 is True
    assert tctx.legacy_ref is True
    inner = target["properties"]["q"]
    assert shape_of(inner["properties"]["r"], tctx.child(inner)).kind == "null"


def test_parts_of_a_conjunction_read_the_same_schema_object() -> None:
    raw = {"type": ["string", "null"], "const": "a"}
    shape = shape_of(raw, PLAIN)
    typelist, const = shape.roles["type"], shape.roles["enum"]
    assert typelist.part is True
    assert const.part is True
    assert const.enum_key == "const"
    assert all(sub.raw is raw and sub.ctx is PLAIN for sub in typelist.subs)
    implied_raw = {"minLength": 1, "minimum": 0, "enum": [1]}
    inner = shape_of(implied_raw, PLAIN).roles["type"]
    assert inner.raw is implied_raw
    assert inner.ctx is PLAIN
    assert inner.criterion == "allOf"
    assert inner.type_label() == "allOf"


def test_boolean_shapes_keep_their_schema_and_context() -> None:
    for raw in (True, False):
        shape = shape_of(raw, PLAIN)
        assert shape.raw is raw
        assert shape.ctx is PLAIN


def test_an_object_with_its_own_id_is_shaped_in_its_own_context() -> None:
    schema = {"$defs": {"s": {"type": "string"}}}
    ctx = ref_ctx(schema)
    raw = {"$id": "urn:test:own", "type": "string"}
    shape = shape_of(raw, ctx)
    assert shape.raw is raw
    assert shape.ctx is not ctx
    assert shape.ctx.spec is ctx.spec
    # a resolver without a dialect cannot read ids: the context stays
    no_spec = Ctx(ctx.resolver, None, label="old")
    assert no_spec.child(raw) is no_spec


def test_ref_siblings_are_shaped_in_the_ref_holders_context() -> None:
    schema = {"$defs": {"s": {"type": "string"}}}
    ctx = ref_ctx(schema)
    raw = {"$id": "urn:test:root", "$ref": "#/$defs/s", "maxLength": 3}
    shape = shape_of(raw, ctx)
    assert shape.raw is raw
    assert shape.ctx is ctx
    assert shape.roles["type"].ctx is not ctx  # the child context of the $id
    assert shape.roles["type"].ctx.resolver is not None


@pytest.mark.parametrize("siblings", [{}, {"maxLength": 3}])
def test_a_ref_to_a_non_schema_names_the_referring_pointer(siblings: dict[str, Any]) -> None:
    schema = {"$defs": {"n": 5}}
    with pytest.raises(SchemaError) as err:
        shape_of({"$ref": "#/$defs/n", **siblings}, ref_ctx(schema), "#/properties/p")
    assert err.value.pointer == "#/properties/p"
    assert err.value.file == "old"
