"""``Change.example``: an event that proves a breaking change, checked before it is shown.

For a change that breaks backward the event must be valid under the OLD schema and invalid
under the NEW one (forward: the reverse). It is built for the change: a minimal instance of
the accepting schema (``minimal``) with the changed location filled by a probe value, the
probes drawn from the change itself (its old/new bounds, enum members, subschemas) and from a
small fixed set of values of every JSON type. A probe is first tried against the two local
subschemas (cheap), then the whole event against BOTH whole schemas with the validator
(jsonschema-rs, configured as ``SchemaValidator`` configures it). No event passes that check:
no example (never an unchecked one). Pure apart from reading registry files for ``$ref``.

Cost: two validator compilations per diff (a 10,000-property schema: ~0.1 s each), then per
breaking change at most ``_FULL_CHECKS`` whole-event validations and a few hundred local ones.
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urldefrag, urljoin

import jsonschema_rs
import orjson

from evolvekit.errors import RefError
from evolvekit.schema.changes import MISSING, Change
from evolvekit.schema.diff_values import contains_ref

if TYPE_CHECKING:  # pragma: no cover
    from evolvekit.schema.registry import SchemaRegistry

__all__ = ["EXAMPLE_LIMIT", "attach_examples", "minimal"]

EXAMPLE_LIMIT: Final = 200  # diffs with more breaking changes get no examples by default
_FULL_CHECKS: Final = 24  # whole-event validations per change
_DEPTH: Final = 24
_REMOVE: Final = object()  # probe: the location absent
_SCALARS: Final[tuple[Any, ...]] = (
    None, True, False, 0, 1, -1, 0.5, 10**9, -(10**9), "", "a", "0", "A", "a0", "aa",
    "2026-01-01T00:00:00Z", "x" * 80,
)  # fmt: skip
_GENERIC: Final[tuple[Any, ...]] = (*_SCALARS, [], [None], ["a", "a"], [0, 0], {}, {"a": None})
_FILLERS: Final[tuple[Any, ...]] = ("a", 0, None, {})
_PAIRS: Final[tuple[Any, ...]] = (None, 0, 1, -1, "", "a", "0", "aa", True)
_NODE_KEYS: Final = frozenset({"anyOf", "oneOf", "allOf"})
_SAME_PLACE: Final = frozenset({"not", "if", "then", "else"})
_EXTRA_KEY: Final = "x-extra"
# Python's regex parser (parse only, never match): no stubs, hence Any.
_re_parser: Any = importlib.import_module("re._parser")


class _Docs:
    """Follows ``$ref`` (local pointers, and registry files when a registry is given)."""

    def __init__(self, root: Any, base: str, registry: SchemaRegistry | None) -> None:
        self.root, self.base, self.registry = root, base, registry

    def deref(self, node: Any, doc: Any, base: str) -> tuple[Any, Any, str]:
        for _ in range(_DEPTH):
            if not (isinstance(node, dict) and isinstance(node.get("$ref"), str)):
                break
            uri, fragment = urldefrag(urljoin(base, node["$ref"]))
            if uri and uri != urldefrag(base)[0]:
                if self.registry is None:
                    break
                try:
                    doc, base = self.registry.retrieve_json(uri), uri
                except Exception:  # an unresolvable ref: no example, no error
                    break
            node = _pointer(doc, fragment)
            if node is MISSING:
                break
        return node, doc, base

    def at(self, tokens: list[str]) -> Any:
        """The subschema at ``tokens`` (schema pointer tokens), following refs on the way."""
        node, doc, base = self.root, self.root, self.base
        for token in tokens:
            node, doc, base = self.deref(node, doc, base)
            if isinstance(node, dict):
                node = node.get(token, MISSING)
            elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                node = node[int(token)]
            else:
                return MISSING
        return self.deref(node, doc, base)[0]


def _pointer(doc: Any, fragment: str) -> Any:
    node = doc
    for raw in fragment.lstrip("/").split("/") if fragment.strip("/") else []:
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return MISSING
    return node


# --- minimal instances ------------------------------------------------------------------


def minimal(schema: Any, docs: _Docs | None = None, depth: int = 0) -> Any:
    """A small instance the schema likely accepts (best effort: callers validate it)."""
    if docs is not None:
        schema = docs.deref(schema, docs.root, docs.base)[0]
    if not isinstance(schema, dict) or depth > _DEPTH:
        return None
    if "const" in schema:
        return copy.deepcopy(schema["const"])
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return copy.deepcopy(schema["enum"][0])
    for key in ("allOf", "anyOf", "oneOf"):
        branches = schema.get(key)
        if isinstance(branches, list) and branches and "type" not in schema:
            merged = dict(schema)
            del merged[key]
            first = branches[0]
            if docs is not None:
                first = docs.deref(first, docs.root, docs.base)[0]
            if isinstance(first, dict):
                merged = {**first, **merged}
            return minimal(merged, docs, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), kind[0] if kind else None)
    if kind is None:
        kind = _implied_type(schema)
    build = _BUILDERS.get(str(kind))
    return build(schema, docs, depth) if build is not None else None


def _implied_type(schema: dict[str, Any]) -> str | None:
    if {"properties", "required", "additionalProperties"} & schema.keys():
        return "object"
    if {"items", "prefixItems", "contains", "minItems"} & schema.keys():
        return "array"
    if {"minLength", "maxLength", "pattern"} & schema.keys():
        return "string"
    if {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"} & schema.keys():
        return "number"
    return None


def _object(schema: dict[str, Any], docs: _Docs | None, depth: int) -> Any:
    props: dict[str, Any] = schema["properties"] if isinstance(schema.get("properties"),
                                                                 dict) else {}  # fmt: skip
    required = [r for r in schema.get("required", []) if isinstance(r, str)] if isinstance(
        schema.get("required"), list) else []  # fmt: skip
    return {name: minimal(props.get(name, True), docs, depth + 1) for name in required}


def _array(schema: dict[str, Any], docs: _Docs | None, depth: int) -> Any:
    prefix = schema.get("prefixItems")
    if not isinstance(prefix, list):
        prefix = schema["items"] if isinstance(schema.get("items"), list) else []
    out = [minimal(s, docs, depth + 1) for s in prefix]
    items = schema.get("items")
    items = items if isinstance(items, dict) else {}
    if "contains" in schema and not out:
        out.append(minimal(schema["contains"], docs, depth + 1))
    least = schema.get("minItems")
    while isinstance(least, int) and len(out) < min(least, 64):
        out.append(minimal(items, docs, depth + 1))
    return out


def _string(schema: dict[str, Any], _docs: _Docs | None, _depth: int) -> Any:
    least = schema.get("minLength")
    text = "a" * min(least, 256) if isinstance(least, int) else ""
    if schema.get("format") == "date-time":
        return "2026-01-01T00:00:00Z"
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        sample = sample_pattern(pattern)
        if sample is not None and len(sample) < len(text):
            sample += "0" * (len(text) - len(sample))  # best effort; the validator decides
        return text if sample is None else sample
    return text


def sample_pattern(pattern: str) -> str | None:
    """A short string meant to match ``pattern`` (simple patterns; None when unsure).

    Only parses the pattern (linear, never matches with it); the result is validated later.
    """
    try:
        tree = _re_parser.parse(pattern)
    except Exception:  # not a pattern Python parses: no sample
        return None
    out: list[str] = []
    return "".join(out) if _sample(list(tree), out, 0) else None


def _sample(items: list[Any], out: list[str], depth: int) -> bool:
    if depth > _DEPTH:
        return False
    for op, arg in items:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(arg))
        elif name == "ANY":
            out.append("a")
        elif name == "IN":
            char = _class_char(arg)
            if char is None:
                return False
            out.append(char)
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, _high, sub = arg
            for _ in range(min(low, 64)):
                if not _sample(list(sub), out, depth + 1):
                    return False
        elif name == "SUBPATTERN":
            if not _sample(list(arg[-1]), out, depth + 1):
                return False
        elif name == "BRANCH":
            if not _sample(list(arg[1][0]), out, depth + 1):
                return False
        elif name != "AT":
            return False
    return True


def _class_char(items: list[Any]) -> str | None:
    for op, arg in items:
        name = str(op)
        if name == "NEGATE":
            return None
        if name == "LITERAL":
            return chr(arg)
        if name == "RANGE":
            return chr(arg[0])
        if name == "CATEGORY":
            return {"CATEGORY_DIGIT": "0", "CATEGORY_WORD": "a", "CATEGORY_SPACE": " "}.get(
                str(arg))  # fmt: skip
    return None


def _number(schema: dict[str, Any], _docs: _Docs | None, _depth: int) -> Any:
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    value: Any = 0
    if isinstance(low, int | float) and not isinstance(low, bool) and value < low:
        value = int(low) + 1
    elif isinstance(high, int | float) and not isinstance(high, bool) and value > high:
        value = int(high) - 1
    step = schema.get("multipleOf")
    if isinstance(step, int) and step > 0 and value % step:
        value += step - value % step
    return value


_BUILDERS: Final[dict[str, Callable[[dict[str, Any], _Docs | None, int], Any]]] = {
    "object": _object, "array": _array, "string": _string, "number": _number,
    "integer": _number, "boolean": lambda _s, _d, _n: False, "null": lambda _s, _d, _n: None,
}  # fmt: skip


# --- where the change is in an instance -------------------------------------------------


def _location(path: str) -> tuple[list[str], list[str | int], list[int]]:
    """(schema tokens of the innermost schema node, instance tokens of the value it judges,
    and for each instance token how many schema tokens lead to it)."""
    tokens = [t.replace("~1", "/").replace("~0", "~") for t in path.removeprefix("#").split("/")
              if t != ""]  # fmt: skip
    schema: list[str] = []
    instance: list[str | int] = []
    lengths: list[int] = []
    index = 0
    while index < len(tokens):
        token, nxt = tokens[index], tokens[index + 1] if index + 1 < len(tokens) else None
        if token == "properties" and nxt is not None:
            schema += [token, nxt]
            instance.append(nxt)
            index += 2
        elif token in ("items", "prefixItems") and nxt is not None and nxt.isdigit():
            schema += [token, nxt]
            instance.append(int(nxt))
            index += 2
        elif token == "items" and (nxt is None or not nxt.isdigit()):
            schema.append(token)
            instance.append(0)
            index += 1
        elif token in ("additionalProperties", "unevaluatedProperties") and nxt is not None:
            schema.append(token)
            instance.append(_EXTRA_KEY)
            index += 1
        elif token in _NODE_KEYS and nxt is not None and nxt.isdigit():
            schema += [token, nxt]
            index += 2
        elif token in _SAME_PLACE and nxt is not None:
            schema.append(token)
            index += 1
        else:
            break  # a keyword of this node (or a place no single value stands for)
        lengths += [len(schema)] * (len(instance) - len(lengths))
    return schema, instance, lengths


def _place(base: Any, where: list[str | int], value: Any, filler: Callable[[int], Any]) -> Any:
    """``base`` with ``value`` at ``where`` (``_REMOVE``: deleted); missing containers on the
    way are created from ``filler(depth)``. Only the containers on the path are copied: the
    rest is shared with ``base`` (callers copy the one event they keep)."""
    if not where:
        return value
    out = _shallow(base)
    node = out
    for depth, token in enumerate(where):
        if isinstance(token, int) != isinstance(node, list) or not isinstance(node, list | dict):
            return MISSING
        if isinstance(node, list):
            while len(node) <= int(token):
                node.append(filler(depth) if depth < len(where) - 1 else None)
        if depth == len(where) - 1:
            if value is _REMOVE:
                node.pop(int(token)) if isinstance(node, list) else node.pop(token, None)
            else:
                node[token] = value  # type: ignore[index]
            return out
        if isinstance(node, dict) and token not in node:
            node[token] = filler(depth)
        child = _shallow(node[token])  # type: ignore[index]
        node[token] = child  # type: ignore[index]
        node = child
    return out


def _shallow(value: Any) -> Any:
    return dict(value) if isinstance(value, dict) else list(value) if isinstance(
        value, list) else value  # fmt: skip


# --- probes -----------------------------------------------------------------------------


def _numbers(value: Any) -> Iterator[float | int]:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return
    yield from (value, value + 1, value - 1, value + 0.5, value - 0.5, value * 2)


def _probes(change: Change, current: Any, docs: tuple[_Docs, _Docs]) -> Iterator[Any]:
    yield _REMOVE
    for value in (change.old, change.new):
        for number in _numbers(value):
            yield number
            if isinstance(number, int) and 0 <= number <= 64:
                yield "a" * number
                yield list(range(number))
                yield from ([item] * number for item in _FILLERS)
                yield {f"k{i}": None for i in range(number)}
        if isinstance(value, list):
            yield from value
        if isinstance(value, dict | bool):
            for side in docs:
                yield minimal(value, side)
    yield from _GENERIC
    if isinstance(current, dict):
        for key in list(current)[:16]:
            yield {k: v for k, v in current.items() if k != key}
        for extra in _SCALARS[:8]:
            yield {**current, _EXTRA_KEY: extra}
    if isinstance(current, list):
        yield current + current
        yield current[:-1]
    for first in _PAIRS:
        for second in _PAIRS:
            yield [first, second]


# --- proving ----------------------------------------------------------------------------


class _Side:
    """One whole schema: its documents, a compiled validator, a minimal instance."""

    def __init__(self, schema: Any, base: str, registry: SchemaRegistry | None) -> None:
        self.docs = _Docs(schema, base, registry)
        def retrieve(uri: str) -> Any:
            if registry is None:
                raise RefError(f"$ref to {uri} cannot be resolved: no schema registry was given")
            return registry.retrieve_json(uri)

        self.validator = jsonschema_rs.validator_for(
            schema, validate_formats=False, base_uri=base or None, retriever=retrieve)
        self.dialect = schema.get("$schema") if isinstance(schema, dict) else None
        self._minimal: Any = MISSING

    @property
    def instance(self) -> Any:
        if self._minimal is MISSING:
            self._minimal = minimal(self.docs.root, self.docs)
        return self._minimal

    def local(self, tokens: list[str]) -> Callable[[Any], bool] | None:
        """A validator of the subschema at ``tokens``, when it stands alone (no $ref)."""
        node = self.docs.at(tokens)
        if node is MISSING or not isinstance(node, dict | bool) or contains_ref(node):
            return None
        if isinstance(node, dict) and self.dialect and "$schema" not in node:
            node = {**node, "$schema": self.dialect}
        try:
            return jsonschema_rs.validator_for(node, validate_formats=False).is_valid
        except Exception:  # a fragment that does not compile alone
            return None


def _prove(change: Change, accept: _Side, reject: _Side, shared: Any) -> Any:
    """A checked event for ``change`` (accepted by ``accept``, rejected by ``reject``).

    ``shared`` is an event both schemas accept (MISSING when none was found): the probe then
    alone makes the difference. Without one, the rejection must sit at the changed location.
    """
    schema_at, where, lengths = _location(change.path)
    base = accept.instance if shared is MISSING else shared
    if not accept.validator.is_valid(base):
        return MISSING
    local_ok, local_bad = accept.local(schema_at), reject.local(schema_at)

    def filler(depth: int) -> Any:  # a missing container on the way: minimal of its schema
        return minimal(accept.docs.at(schema_at[: lengths[depth]]), accept.docs)

    current = _current(base, where) if where else base
    if current is MISSING:
        current = minimal(accept.docs.at(schema_at), accept.docs)
    checks = 0
    for probe in _probes(change, current, (accept.docs, reject.docs)):
        if probe is _REMOVE and not where:
            continue
        if probe is not _REMOVE and local_ok is not None and (
                not local_ok(probe) or (local_bad is not None and local_bad(probe))):  # fmt: skip
            continue
        event = _place(base, where, probe, filler)
        if event is MISSING:
            continue
        checks += 1
        if _proves(event, accept, reject) and (
                shared is not MISSING or _rejected_at(event, reject, where, probe)):  # fmt: skip
            return _detached(event)
        if checks >= _FULL_CHECKS:
            break
    return MISSING


def _detached(event: Any) -> Any:
    """A copy of the kept event that shares nothing with the base (orjson: fast)."""
    try:
        return orjson.loads(orjson.dumps(event))
    except (TypeError, orjson.JSONEncodeError):  # e.g. an integer past 64 bits
        return copy.deepcopy(event)


def _rejected_at(event: Any, reject: _Side, where: list[str | int], probe: Any) -> bool:
    """Every reason ``reject`` gives lies at the changed location (for a removed value: at
    its parent, where ``required`` reports it)."""
    anchor = where[:-1] if probe is _REMOVE else where
    errors = list(reject.validator.iter_errors(event))
    return bool(errors) and all(list(e.instance_path)[: len(anchor)] == anchor and
                                len(e.instance_path) >= len(anchor) for e in errors)  # fmt: skip


def _merged(first: Any, second: Any) -> Any:
    """``second`` laid over ``first``, objects merged key by key."""
    if isinstance(first, dict) and isinstance(second, dict):
        out = dict(first)
        for key, value in second.items():
            out[key] = _merged(first[key], value) if key in first else value
        return out
    return second


def _shared_base(one: _Side, other: _Side) -> Any:
    """An event both schemas accept, built from their minimal instances (MISSING: none)."""
    for candidate in (one.instance, other.instance, _merged(other.instance, one.instance),
                      _merged(one.instance, other.instance)):  # fmt: skip
        try:
            if one.validator.is_valid(candidate) and other.validator.is_valid(candidate):
                return candidate
        except ValueError:
            continue
    return MISSING


def _proves(event: Any, accept: _Side, reject: _Side) -> bool:
    try:
        return bool(accept.validator.is_valid(event) and not reject.validator.is_valid(event))
    except ValueError:  # a value the validator cannot take (e.g. an integer past 64 bits)
        return False


def _current(base: Any, where: list[str | int]) -> Any:
    node = base
    for token in where:
        in_list = isinstance(node, list) and isinstance(token, int) and token < len(node)
        if not (in_list or (isinstance(node, dict) and token in node)):
            return MISSING
        node = node[token]
    return node


def attach_examples(
    changes: list[Change], old: Any, new: Any, *, registry: SchemaRegistry | None = None,
    old_uri: str = "", new_uri: str = "",
) -> list[Change]:  # fmt: skip
    """``changes`` with ``example`` set on every breaking change a checked event proves."""
    if not any(c.breaks for c in changes):
        return changes
    try:
        old_side, new_side = _Side(old, old_uri, registry), _Side(new, new_uri, registry)
    except Exception:  # a schema the validator cannot compile: no examples
        return changes
    out = []
    shared = _shared_base(old_side, new_side)
    for change in changes:
        example = MISSING
        if "backward" in change.breaks:
            example = _prove(change, old_side, new_side, shared)
        if example is MISSING and "forward" in change.breaks:
            example = _prove(change, new_side, old_side, shared)
        out.append(change if example is MISSING else replace(change, example=example))
    return out
