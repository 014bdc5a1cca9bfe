"""Soundness: when the diff calls a direction compatible, no event can prove otherwise.

Schema pairs are one mutation away from a shipped or oracle schema (``$ref`` to the shared
definitions inlined); for every direction the diff calls compatible (every change in it
compatible), hypothesis-jsonschema draws events from the accepting schema and jsonschema must
accept each under the other. Bounded (a few seconds): 60 pairs, one event per direction.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis_jsonschema import from_schema

from evolvekit.schema.diff import diff_schemas

ROOT = Path(__file__).resolve().parents[2]
ORACLES = Path(__file__).resolve().parent / "oracles" / "jsoncompat"
DEFS = json.loads((ROOT / "schemas" / "_defs" / "common.json").read_text("utf-8"))["$defs"]
# Cases whose schemas use only what hypothesis-jsonschema generates from (draft 7 keywords).
ORACLE_CASES = ("enum_expanded", "maxlength_relaxed", "minlength_tighten", "nullability_added",
                "optional_to_required", "required_to_optional", "type_change_string_number",
                "uniqueitems_added", "exclusive_bounds", "integer_to_number",
                "complex_optional_prop_added", "nested_port_tighten")  # fmt: skip


def _inline(node: Any) -> Any:
    """The schema with every ``$ref`` to the shared definitions replaced by the definition."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and "/$defs/" in ref:
            return _inline(DEFS[ref.rsplit("/", 1)[1]])
        return {k: _inline(v) for k, v in node.items() if k not in ("$schema", "$id")}
    if isinstance(node, list):
        return [_inline(v) for v in node]
    return node


def _bases() -> list[dict[str, Any]]:
    out = [_inline(json.loads(path.read_text("utf-8")))
           for path in sorted((ROOT / "schemas").glob("*/*.json"))]  # fmt: skip
    for case in ORACLE_CASES:
        for side in ("old.json", "new.json"):
            schema = json.loads((ORACLES / case / side).read_text("utf-8"))
            if isinstance(schema, dict):
                out.append(_inline(schema))
    return out


BASES = _bases()


def _nodes(schema: Any, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if isinstance(schema, dict):
        found.append(schema)
        for sub in (schema.get("properties") or {}).values():
            _nodes(sub, found)
        if isinstance(schema.get("items"), dict):
            _nodes(schema["items"], found)
    return found


Mutation = Callable[[dict[str, Any]], None]


def _set(**values: Any) -> Mutation:
    return lambda node: node.update(copy.deepcopy(values))


def _drop(key: str) -> Mutation:
    return lambda node: node.pop(key, None)


def _add_property(node: dict[str, Any]) -> None:
    node.setdefault("properties", {})["zz"] = {"type": "integer"}


def _remove_property(node: dict[str, Any]) -> None:
    props = node.get("properties") or {}
    if props:
        props.pop(sorted(props)[0])


def _require_first(node: dict[str, Any]) -> None:
    props = sorted(node.get("properties") or {})
    if props:
        node["required"] = sorted({*node.get("required", []), props[0]})


MUTATIONS: list[Mutation] = [
    _set(maxLength=3), _set(minLength=2), _set(pattern="^[a-z]*$"), _set(enum=["voice", "x"]),
    _set(maximum=10), _set(minimum=-1), _set(exclusiveMaximum=3), _set(multipleOf=2),
    _set(type="integer"), _set(type="number"), _set(type=["string", "null"]),
    _set(maxItems=1), _set(minItems=1), _set(uniqueItems=True),
    _set(contains={"type": "string", "pattern": "[0-9]"}, maxContains=1),
    _set(additionalProperties=False), _set(additionalProperties={"type": "string"}),
    _set(maxProperties=2), _set(description="changed"), _add_property, _remove_property,
    _require_first, _drop("required"), _drop("enum"), _drop("maximum"), _drop("pattern"),
    _drop("type"), _drop("additionalProperties"), _drop("items"),
]  # fmt: skip


@st.composite
def schema_pairs(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    base = draw(st.sampled_from(BASES))
    new = copy.deepcopy(base)
    nodes = _nodes(new, [])
    draw(st.sampled_from(MUTATIONS))(draw(st.sampled_from(nodes)))
    return base, new


def _accepts(schema: dict[str, Any], event: Any) -> bool:
    return jsonschema.Draft7Validator(schema).is_valid(event)


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))  # fmt: skip
@given(pair=schema_pairs(), data=st.data())
def test_no_counterexample_to_a_compatible_verdict(
    pair: tuple[dict[str, Any], dict[str, Any]], data: st.DataObject
) -> None:
    old, new = pair
    diff = diff_schemas(old, new, examples=False)
    assume(diff.changes)
    for name, accepting, other in (("backward", old, new), ("forward", new, old)):
        if not diff.compatible(name):
            continue
        try:
            event = data.draw(from_schema(accepting), label=f"{name} event")
        except InvalidArgument:  # the mutation made the accepting schema unsatisfiable
            continue
        assert not _accepts(accepting, event) or _accepts(other, event), (
            f"diff calls {name} compatible, but this event is valid under the "
            f"{'old' if accepting is old else 'new'} schema only: {event!r}\n"
            f"changes: {[(c.kind, c.path) for c in diff.changes]}")  # fmt: skip


def test_the_search_finds_a_counterexample_when_one_exists() -> None:
    """Guard: the same search, pointed at a pair the diff calls breaking, finds its event."""
    old = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    new = {"type": "object", "properties": {"n": {"type": "integer", "maximum": 0}},
           "required": ["n"]}  # fmt: skip
    found: list[Any] = []

    @settings(max_examples=50, deadline=None, database=None)
    @given(event=from_schema(old))
    def search(event: Any) -> None:
        if not _accepts(new, event):
            found.append(event)

    search()
    assert found and not diff_schemas(old, new, examples=False).backward
