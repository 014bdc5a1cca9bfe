"""Properties of diff_schemas over generated, shipped-like event schemas."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evolvekit.schema.changes import KINDS
from evolvekit.schema.diff import diff_schemas
from evolvekit.schema.registry import SchemaRegistry

NAMES = st.sampled_from(["agentId", "agentEmail", "callDuration", "durationSeconds", "channel",
                         "customerId", "tags", "metadata", "startedAt", "skills"])  # fmt: skip
SETTINGS = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])  # fmt: skip


def _leaf() -> st.SearchStrategy[dict[str, Any]]:
    string = st.fixed_dictionaries(
        {"type": st.just("string")},
        optional={"maxLength": st.integers(1, 50), "minLength": st.integers(0, 5),
                  "pattern": st.sampled_from(["^[a-z]+$", "^\\d+$"]),
                  "format": st.sampled_from(["email", "date-time"]),
                  "enum": st.lists(st.sampled_from(["voice", "chat", "email"]), min_size=1,
                                   max_size=3, unique=True)},
    )  # fmt: skip
    number = st.fixed_dictionaries(
        {"type": st.sampled_from(["integer", "number"])},
        optional={"minimum": st.integers(-5, 5), "maximum": st.integers(6, 100),
                  "exclusiveMinimum": st.integers(-5, 5), "multipleOf": st.sampled_from([1, 2, 5])},
    )  # fmt: skip
    other = st.sampled_from([{"type": "boolean"}, {"type": "null"}, {"type": ["string", "null"]},
                             {"const": "fixed"}, {}, {"$ref": "#/$defs/id"}])  # fmt: skip
    return st.one_of(string, number, other)


def _node(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    obj = st.builds(
        lambda props, req, extra: {
            "type": "object", "properties": props,
            "required": sorted(n for n in req if n in props), **extra},
        st.dictionaries(NAMES, children, max_size=4),
        st.sets(NAMES, max_size=3),
        st.sampled_from([{}, {"additionalProperties": False},
                         {"additionalProperties": {"type": "string"}}]),
    )  # fmt: skip
    array = st.builds(lambda items, extra: {"type": "array", "items": items, **extra}, children,
                      st.sampled_from([{}, {"minItems": 1}, {"uniqueItems": True}]))  # fmt: skip
    union = st.builds(lambda a, b: {"anyOf": [a, b]}, children, children)
    return st.one_of(obj, array, union)


BODY = st.recursive(_leaf(), _node, max_leaves=8)


def _document(body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "$defs": {**body.get("$defs", {}), "id": {"type": "string", "minLength": 1}}}


SCHEMAS = BODY.map(_document)


def _mutate(schema: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    """One random change somewhere in the schema."""
    out = copy.deepcopy(schema)
    nodes: list[dict[str, Any]] = []  # schema positions only, never a name -> schema map
    stack: list[Any] = [out]
    while stack:
        node = stack.pop()
        if not isinstance(node, dict):
            continue
        nodes.append(node)
        for key, value in node.items():
            if key in ("properties", "patternProperties") and isinstance(value, dict):
                stack.extend(value.values())
            elif key in ("items", "additionalProperties", "not") and isinstance(value, dict):
                stack.append(value)
            elif key in ("anyOf", "oneOf", "allOf", "prefixItems") and isinstance(value, list):
                stack.extend(value)
    node = data.draw(st.sampled_from(nodes))
    action = data.draw(
        st.sampled_from(
            ["type", "drop", "bound", "enum", "required", "closed", "prop", "wrap", "title", "ref"]
        )
    )
    if action == "type":
        node["type"] = data.draw(st.sampled_from(["string", "integer", "number", "object"]))
    elif action == "drop" and set(node) - {"$defs"}:
        node.pop(data.draw(st.sampled_from(sorted(set(node) - {"$defs"}))))
    elif action == "bound":
        key = data.draw(st.sampled_from(["maxLength", "minimum", "maxItems", "minProperties"]))
        node[key] = data.draw(st.integers(0, 20))
    elif action == "enum":
        node["enum"] = data.draw(st.lists(st.sampled_from(["a", "b", 1, None]), min_size=1,
                                          max_size=3, unique=True))  # fmt: skip
    elif action == "required":
        node["required"] = [data.draw(NAMES)]
    elif action == "closed":
        node["additionalProperties"] = data.draw(st.booleans())
    elif action == "prop":
        node.setdefault("properties", {})[data.draw(NAMES)] = data.draw(_leaf())
    elif action == "wrap":
        inner = {k: v for k, v in node.items() if k != "$defs"}
        for key in list(inner):
            node.pop(key)
        node["oneOf"] = [inner, {"type": "null"}]
    elif action == "title":
        node["title"] = data.draw(st.text(max_size=5))
    elif action == "ref" and "$defs" not in node:
        node.clear()
        node["$ref"] = "#/$defs/id"
    return out


@SETTINGS
@given(SCHEMAS)
def test_a_schema_diffed_against_itself_has_no_changes(schema: dict[str, Any]) -> None:
    # a deep copy, and $ref in the documents, so the walk cannot short-cut on identity
    d = diff_schemas(schema, copy.deepcopy(schema))
    assert d.changes == []
    assert d.compatible("full")


@SETTINGS
@given(SCHEMAS, SCHEMAS, st.sampled_from(["strict", "lenient"]))
def test_backward_of_a_b_is_forward_of_b_a(
    a: dict[str, Any], b: dict[str, Any], policy: str
) -> None:
    ab = diff_schemas(a, b, policy=policy)
    ba = diff_schemas(b, a, policy=policy)
    assert ab.compatible("backward") == ba.compatible("forward")
    assert ab.compatible("forward") == ba.compatible("backward")


@SETTINGS
@given(SCHEMAS, st.data())
def test_single_mutations_are_classified(schema: dict[str, Any], data: st.DataObject) -> None:
    mutated = _mutate(schema, data)
    d = diff_schemas(schema, mutated)
    for change in d.changes:
        assert change.kind in KINDS
        assert change.path.startswith("#/")
        assert change.breaks <= {"backward", "forward"}
        assert change.severity("full") in ("breaking", "info")
    back = diff_schemas(mutated, schema)
    assert d.compatible("backward") == back.compatible("forward")
    assert d.to_dict()["compatible"] == d.compatible("backward")


SHIPPED = Path(__file__).resolve().parents[2] / "schemas"


def _shipped() -> list[tuple[str, str]]:
    registry = SchemaRegistry(SHIPPED)
    return [(s, v) for s in registry.subjects() for v in registry.versions(s)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_shipped()), st.data())
def test_mutations_of_shipped_schemas_are_classified(
    ref: tuple[str, str], data: st.DataObject
) -> None:
    registry = SchemaRegistry(SHIPPED)
    subject, version = ref
    # the mutations may add a ref to #/$defs/id: both sides carry that definition, so every
    # ref resolves and a RefError is a real failure, not a skipped example
    schema = _document(registry.get(subject, version))
    uri = registry.uri(subject, version)
    mutated = _mutate(schema, data)
    d = diff_schemas(schema, mutated, registry=registry, old_uri=uri, new_uri=uri)
    assert all(c.kind in KINDS for c in d.changes)
    assert diff_schemas(mutated, schema, registry=registry, old_uri=uri,
                        new_uri=uri).compatible("forward") == d.compatible("backward")  # fmt: skip
