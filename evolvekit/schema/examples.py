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
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final

import jsonschema_rs
import orjson

from evolvekit.errors import RefError
from evolvekit.schema.changes import MISSING, Change
from evolvekit.schema.diff_values import contains_ref
from evolvekit.schema.instances import Docs, minimal

if TYPE_CHECKING:  # pragma: no cover
    from evolvekit.schema.registry import SchemaRegistry

__all__ = ["EXAMPLE_LIMIT", "attach_examples"]

EXAMPLE_LIMIT: Final = 200  # diffs with more breaking changes get no examples by default
_FULL_CHECKS: Final = 24  # whole-event validations per change
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


def _probes(change: Change, current: Any, docs: tuple[Docs, Docs]) -> Iterator[Any]:
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
        self.docs = Docs(schema, base, registry)
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
