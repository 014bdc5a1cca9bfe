"""Offline $ref resolution and dialect detection (evolvekit.schema.refs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import referencing.jsonschema

from evolvekit.errors import RefError, SchemaError
from evolvekit.schema.refs import (
    DRAFT7,
    DRAFT202012,
    check_refs,
    dialect_of,
    dialect_uri_of,
    iter_refs,
    lookup,
    make_resolver,
    pointer_join,
)
from evolvekit.schema.registry import SchemaRegistry


def write(path: Path, value: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("declared", "spec"),
    [
        ("http://json-schema.org/draft-04/schema#", referencing.jsonschema.DRAFT4),
        ("http://json-schema.org/draft-06/schema#", referencing.jsonschema.DRAFT6),
        ("http://json-schema.org/draft-07/schema#", referencing.jsonschema.DRAFT7),
        ("http://json-schema.org/draft-07/schema", referencing.jsonschema.DRAFT7),
        ("https://json-schema.org/draft-07/schema#", referencing.jsonschema.DRAFT7),
        ("https://json-schema.org/draft/2019-09/schema", referencing.jsonschema.DRAFT201909),
        ("https://json-schema.org/draft/2020-12/schema", referencing.jsonschema.DRAFT202012),
        ("https://json-schema.org/draft/2020-12/schema#", referencing.jsonschema.DRAFT202012),
    ],
)
def test_dialect_of_known_drafts(declared: str, spec: object) -> None:
    assert dialect_of({"$schema": declared}) is spec


def test_no_schema_keyword_means_2020_12() -> None:
    assert dialect_uri_of({"type": "object"}) == DRAFT202012
    assert dialect_uri_of(True) == DRAFT202012
    assert dialect_uri_of({"$schema": "http://json-schema.org/draft-07/schema#"}) == DRAFT7


def test_unknown_dialect_is_a_located_schema_error() -> None:
    with pytest.raises(SchemaError) as info:
        dialect_of({"$schema": "http://example.com/my-dialect"}, file="x.json")
    assert info.value.file == "x.json"
    assert info.value.pointer == "#/$schema"
    assert "unknown $schema" in str(info.value)
    with pytest.raises(SchemaError, match="must be a string"):
        dialect_of({"$schema": 7})


def test_pointer_join_escapes_tokens() -> None:
    assert pointer_join("#", "properties", "a/b", "c~d") == "#/properties/a~1b/c~0d"
    assert pointer_join("#/", "x") == "#/x"


def test_local_refs_and_recursion_resolve() -> None:
    tree = {
        "$defs": {"node": {"type": "object", "properties": {"children": {
            "type": "array", "items": {"$ref": "#/$defs/node"}}}}},
        "$ref": "#/$defs/node",
        "definitions": {"legacy": {"type": "string"}},
        "properties": {"legacy": {"$ref": "#/definitions/legacy"}, "self": {"$ref": "#"}},
    }  # fmt: skip
    check_refs(tree)  # recursion through properties/items descends: fine
    resolver = make_resolver(tree)
    assert lookup(resolver, "#/definitions/legacy").contents == {"type": "string"}


@pytest.mark.parametrize(
    ("schema", "pointer"),
    [
        ({"$ref": "#"}, "#"),
        ({"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}},
          "properties": {"x": {"$ref": "#/$defs/a"}}}, "#/properties/x"),
        ({"allOf": [{"$ref": "#"}]}, "#/allOf/0"),
        ({"$defs": {"a": {"anyOf": [{"type": "string"}, {"$ref": "#/$defs/a"}]}},
          "items": {"$ref": "#/$defs/a"}}, "#/items"),
    ],
)  # fmt: skip
def test_structureless_cycles_are_refused(schema: dict[str, Any], pointer: str) -> None:
    with pytest.raises(RefError, match="cycle with no structure") as info:
        check_refs(schema, file="cyc.json")
    assert info.value.pointer == pointer
    assert info.value.file == "cyc.json"


def test_dangling_pointer_is_refused_with_location() -> None:
    schema = {"properties": {"a": {"$ref": "#/$defs/missing"}}}
    with pytest.raises(RefError, match="dangling") as info:
        check_refs(schema, file="d.json")
    assert str(info.value).startswith("d.json #/properties/a: ")


def test_remote_ref_is_refused_without_registry() -> None:
    with pytest.raises(RefError, match="never fetched") as info:
        check_refs({"properties": {"a": {"$ref": "https://example.com/s.json"}}}, file="r.json")
    assert info.value.pointer == "#/properties/a"


def test_relative_ref_without_registry_is_refused() -> None:
    with pytest.raises(RefError, match="no schema registry"):
        check_refs({"$ref": "other.json"})


def test_only_schema_positions_are_refs() -> None:
    schema = {
        "properties": {"$ref": {"type": "string"}},  # a property NAMED $ref
        "enum": [{"$ref": "http://example.com/not-a-ref"}],
        "default": {"$ref": "#/nowhere"},
    }
    check_refs(schema)
    assert list(iter_refs(schema)) == []


def test_nested_id_changes_the_base() -> None:
    schema = {
        "$id": "urn:example:root",
        "$defs": {"inner": {"$id": "urn:example:inner", "$defs": {"s": {"type": "string"}},
                            "properties": {"x": {"$ref": "#/$defs/s"}}}},
        "properties": {"i": {"$ref": "urn:example:inner"}},
    }  # fmt: skip
    check_refs(schema)
    refs = list(iter_refs(schema, base_uri="urn:example:root"))
    assert ("#/$defs/s", "urn:example:inner", "#/$defs/inner/properties/x") in refs


def test_deep_schema_walk_has_no_recursion_limit() -> None:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(5000):
        schema = {"properties": {"a": schema}}
    check_refs(schema)  # no RecursionError


def test_cross_file_refs_within_registry(tmp_path: Path) -> None:
    root = tmp_path / "schemas"
    write(root / "_defs" / "common.json", {"$defs": {"id": {"type": "string"}}})
    write(
        root / "s" / "1.0.0.json",
        {"properties": {"id": {"$ref": "../_defs/common.json#/$defs/id"}}},
    )
    reg = SchemaRegistry(root)
    schema = reg.get("s", "1.0.0")
    resolver = make_resolver(schema, base_uri=reg.uri("s", "1.0.0"), registry=reg)
    assert lookup(resolver, "../_defs/common.json#/$defs/id").contents == {"type": "string"}


def test_ref_escaping_the_root_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "schemas"
    write(tmp_path / "outside.json", {"type": "string"})
    write(root / "s" / "1.0.0.json", {"properties": {"x": {"$ref": "../../outside.json"}}})
    with pytest.raises(RefError, match="outside the registry root") as info:
        SchemaRegistry(root).get("s", "1.0.0")
    assert info.value.pointer == "#/properties/x"
    assert info.value.file is not None and info.value.file.endswith("1.0.0.json")


def test_cross_file_cycle_without_structure_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "schemas"
    write(root / "_defs" / "a.json", {"$ref": "b.json"})
    write(root / "_defs" / "b.json", {"$ref": "a.json"})
    write(root / "s" / "1.0.0.json", {"properties": {"x": {"$ref": "../_defs/a.json"}}})
    with pytest.raises(RefError, match="cycle"):
        SchemaRegistry(root).get("s", "1.0.0")
