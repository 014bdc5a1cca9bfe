"""``diff_schemas``: every change between two JSON Schemas, with the directions it breaks.

The walk (``diff_walk``) judges one direction. A schema pair is walked old -> new (does every
old instance stay valid? = backward) and new -> old (forward); the two lists are merged into
one, named from the backward direction, where each change carries the set of directions it
breaks. A forward-only break that has no backward-named counterpart (the new schema accepts
something the old one did not, at a place where nothing else changed) is added under the
mirrored kind (``maximum_decreased`` seen backwards is ``maximum_increased``).

Rename hints come from the backward walk: in each object, removed and added properties whose
types are compatible and whose names look alike (difflib ratio over names split into words,
so ``agentEmail`` and ``agent_id`` compare as ``agent email`` / ``agent id``).
"""

from __future__ import annotations

import gc
import re
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from difflib import SequenceMatcher
from typing import TYPE_CHECKING, Any, Final

from evolvekit.errors import InputError, SchemaError
from evolvekit.schema.changes import (
    ANNOTATION_KINDS,
    POLICIES,
    Change,
    RenameHint,
    SchemaDiff,
    mirror_kind,
)
from evolvekit.schema.diff_records import Diff, HintGroup, child
from evolvekit.schema.diff_shapes import COMBINED, ENUM, NUMBER, TYPE_KINDS, Ctx, Shape
from evolvekit.schema.diff_values import contains_ref
from evolvekit.schema.diff_walk import Walker
from evolvekit.schema.refs import DRAFT4, DRAFT6, DRAFT7, dialect_of, dialect_uri_of, make_resolver

if TYPE_CHECKING:  # pragma: no cover
    from evolvekit.schema.registry import SchemaRegistry

__all__ = ["diff_schemas", "name_similarity"]

HINT_THRESHOLD: Final = 0.5
# Past this many removed x added pairs in one object, only pairs sharing a word are scored.
_HINT_PAIR_BUDGET: Final = 2_000
_RARE_WORD: Final = 8  # a word shared by more added names than this does not pair them
_RECURSION_FLOOR: Final = 20_000


def diff_schemas(
    old: Any,
    new: Any,
    *,
    policy: str = "strict",
    registry: SchemaRegistry | None = None,
    old_uri: str | None = None,
    new_uri: str | None = None,
) -> SchemaDiff:
    """Diff two schemas (dicts/bools, or ``"subject@version"`` looked up in ``registry``).

    ``policy`` is Confluent's content-model policy: ``strict`` (default) or ``lenient``.
    ``old_uri``/``new_uri`` are the base URIs relative ``$ref`` resolve against (registry
    refs get theirs from the registry).
    """
    if policy not in POLICIES:
        raise InputError(f"unknown policy {policy!r}; expected one of {', '.join(POLICIES)}")
    old_schema, old_base, old_label = _load(old, registry, old_uri, "old")
    new_schema, new_base, new_label = _load(new, registry, new_uri, "new")
    old_ctx, old_refs = _root_ctx(old_schema, old_base, registry, old_label)
    new_ctx, new_refs = _root_ctx(new_schema, new_base, registry, new_label)
    shortcut = not (old_refs or new_refs)
    backward, forward = Walker(policy, shortcut=shortcut), Walker(policy, shortcut=shortcut)
    back_diffs: list[Diff] = []
    fwd_diffs: list[Diff] = []
    with _deep_recursion():
        backward.compare_raw(old_schema, old_ctx, new_schema, new_ctx, "#", back_diffs)
        forward.compare_raw(new_schema, new_ctx, old_schema, old_ctx, "#", fwd_diffs)
        changes = _merge(backward, back_diffs, forward, fwd_diffs)
        hints = _hints(backward.hint_groups)
    return SchemaDiff(changes, hints, policy, old_label, new_label)


# --- inputs -----------------------------------------------------------------------------


def _load(
    value: Any, registry: SchemaRegistry | None, uri: str | None, side: str
) -> tuple[Any, str, str]:
    """(schema, base URI, label) for one side of the diff."""
    if isinstance(value, str):
        if registry is None:
            raise InputError(f"{side} schema {value!r} is a registry reference, but no registry "
                             "was given")  # fmt: skip
        from evolvekit.schema.registry import parse_ref

        subject, version = parse_ref(value)
        schema = registry.get(subject, version)
        base = uri or registry.uri(subject, version)
        return schema, base, value
    if isinstance(value, dict | bool):
        return value, uri or "", side
    raise SchemaError(f"{side} schema must be a JSON object or boolean, not "
                      f"{type(value).__name__}", pointer="#")  # fmt: skip


def _root_ctx(
    schema: Any, base: str, registry: SchemaRegistry | None, label: str
) -> tuple[Ctx, bool]:
    """The walk context at a document root, and whether the document holds any $ref."""
    dialect = dialect_uri_of(schema, file=label)
    has_refs = contains_ref(schema)
    resolver = spec = None
    if has_refs:
        resolver = make_resolver(schema, base_uri=base, registry=registry, file=label)
        spec = dialect_of(schema, file=label)
    legacy = dialect in (DRAFT4, DRAFT6, DRAFT7)
    return Ctx(resolver, spec, draft4=dialect == DRAFT4, legacy_ref=legacy, label=label), has_refs


_GUARD_LOCK = threading.Lock()
_guard_state: dict[str, Any] = {"active": 0, "limit": 0, "collecting": False}


@contextmanager
def _deep_recursion() -> Iterator[None]:
    """Deeply nested schemas recurse deeply; fail with a clear error, never a traceback.

    The walk also allocates many small, acyclic objects: left on, the cyclic collector's full
    passes over a large heap make the cost grow faster than the schema (measured 4x at
    100,000 properties), while reference counting frees everything the walk drops anyway.
    Both settings are process-wide, so concurrent diffs share one guard: the first to enter
    changes them, the last to leave restores them.
    """
    with _GUARD_LOCK:
        if _guard_state["active"] == 0:
            _guard_state["limit"] = sys.getrecursionlimit()
            _guard_state["collecting"] = gc.isenabled()
            sys.setrecursionlimit(max(_guard_state["limit"], _RECURSION_FLOOR))
            gc.disable()
        _guard_state["active"] += 1
    try:
        yield
    except RecursionError:
        raise SchemaError("schema nesting is too deep to diff", pointer="#") from None
    finally:
        with _GUARD_LOCK:
            _guard_state["active"] -= 1
            if _guard_state["active"] == 0:
                sys.setrecursionlimit(_guard_state["limit"])
                if _guard_state["collecting"]:
                    gc.enable()


# --- merging the two directions ---------------------------------------------------------


def _render(path: str) -> str:
    return "#/" if path == "#" else path


def _merge(
    back: Walker, back_diffs: list[Diff], fwd: Walker, fwd_diffs: list[Diff]
) -> list[Change]:
    below: dict[str, list[int]] | None = None
    rows: list[tuple[str, str, Any, Any, set[str]]] = []
    by_path: dict[str, list[int]] = {}
    for d in back_diffs:
        breaks = set() if back.compatible((d,)) else {"backward"}
        by_path.setdefault(d.path, []).append(len(rows))
        rows.append((d.kind, d.path, d.old, d.new, breaks))
    extra: dict[int, list[tuple[str, str, Any, Any, set[str]]]] = {}
    for d in fwd_diffs:
        if fwd.compatible((d,)):
            continue
        mirrored = mirror_kind(d.kind) or d.kind
        target = _counterpart(rows, by_path.get(d.path, ()), mirrored)
        if target is None and not by_path.get(d.path):
            # A break seen at a combinator is often explained by a change inside it.
            if below is None:
                below = _descendants(rows)
            target = _counterpart(rows, below.get(d.path, ()), "")
        if target is not None:
            rows[target][4].add("forward")
            continue
        if any(i < 0 or "forward" in rows[i][4] for i in by_path.get(d.path, ())):
            continue  # this place already breaks forward (-1: an added row); one mark is enough
        row = (mirrored, d.path, d.new, d.old, {"forward"})
        by_path.setdefault(d.path, []).append(-1)
        extra.setdefault(_anchor(d.path, by_path), []).append(row)
    ordered = list(extra.get(-1, ())) if -1 in extra and not rows else []
    for index, row in enumerate(rows):
        ordered.append(row)
        ordered.extend(extra.get(index, ()))
    if rows:
        ordered.extend(extra.get(-1, ()))
    return [
        Change(kind, _render(path), old, new, frozenset(breaks))
        for kind, path, old, new, breaks in ordered
    ]


def _counterpart(
    rows: list[tuple[str, str, Any, Any, set[str]]], candidates: Iterable[int], mirrored: str
) -> int | None:
    """The backward-named change a forward break belongs to, if there is one."""
    fallback = None
    for index in candidates:
        if index < 0:
            continue
        kind, _, _, _, breaks = rows[index]
        if "forward" in breaks:
            continue
        if kind == mirrored:
            return index
        if fallback is None and kind not in ANNOTATION_KINDS and "backward" not in breaks:
            fallback = index
    return fallback


def _descendants(rows: list[tuple[str, str, Any, Any, set[str]]]) -> dict[str, list[int]]:
    """For each ancestor path, the rows below it."""
    out: dict[str, list[int]] = {}
    for index, row in enumerate(rows):
        path = row[1]
        while "/" in path:
            path = path.rsplit("/", 1)[0]
            out.setdefault(path, []).append(index)
    return out


def _anchor(path: str, by_path: dict[str, list[int]]) -> int:
    """Index of the last backward change at ``path``'s nearest ancestor (-1: none)."""
    current = path
    while True:
        known = [i for i in by_path.get(current, ()) if i >= 0]
        if known:
            return known[-1]
        if current == "#" or "/" not in current:
            return -1
        current = current.rsplit("/", 1)[0]


# --- rename hints -----------------------------------------------------------------------

_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def _words(name: str) -> list[str]:
    return [w.lower() for w in _WORDS.findall(name)] or [name.lower()]


def name_similarity(a: str, b: str, *, floor: float = 0.0) -> float:
    """0..1 likeness of two property names, insensitive to camelCase / snake_case / kebab.

    Below ``floor`` the exact ratio is not needed: cheap upper bounds may answer 0.
    """
    matcher = SequenceMatcher(None, " ".join(_words(a)), " ".join(_words(b)))
    if floor and (matcher.real_quick_ratio() < floor or matcher.quick_ratio() < floor):
        return 0.0
    return matcher.ratio()


def _types(shape: Shape) -> set[str] | None:
    """The instance types a property accepts, or None when unknown (anything goes)."""
    if shape.kind in TYPE_KINDS:
        return {NUMBER if shape.kind == NUMBER else shape.kind}
    if shape.kind == COMBINED and shape.typelist:
        return {s.kind for s in shape.subs}
    if shape.kind == ENUM:
        names = set()
        for value in shape.values:
            names.add(
                "boolean" if isinstance(value, bool) else NUMBER if isinstance(value, int | float)
                else "string" if isinstance(value, str) else "null" if value is None
                else "array" if isinstance(value, list) else "object"
            )  # fmt: skip
        return names
    if shape.kind == COMBINED and shape.synthetic and "type" in shape.roles:
        return _types(shape.roles["type"])
    return None


def _compatible_types(a: Shape, b: Shape) -> bool:
    ta, tb = _types(a), _types(b)
    return ta is None or tb is None or bool(ta & tb)


def _candidates(group: HintGroup) -> Callable[[str], list[tuple[str, Shape]]]:
    """The added properties worth scoring against a removed one.

    All of them in ordinary objects; in huge ones (thousands of renames) only those sharing a
    rare word with it, so the cost stays linear instead of removed x added.
    """
    if len(group.removed) * len(group.added) <= _HINT_PAIR_BUDGET:
        return lambda _name: group.added
    by_word: dict[str, list[tuple[str, Shape]]] = {}
    for name, shape in group.added:
        for word in set(_words(name)):
            by_word.setdefault(word, []).append((name, shape))

    def rare(name: str) -> list[tuple[str, Shape]]:
        seen: dict[str, tuple[str, Shape]] = {}
        for word in set(_words(name)):
            bucket = by_word.get(word, [])
            if len(bucket) <= _RARE_WORD:
                seen.update((n, (n, s)) for n, s in bucket)
        return list(seen.values())

    return rare


def _hints(groups: list[HintGroup]) -> list[RenameHint]:
    out: list[RenameHint] = []
    for group in groups:
        scored: list[tuple[float, str, str]] = []
        candidates = _candidates(group)
        for rname, rshape in group.removed:
            for aname, ashape in candidates(rname):
                if not _compatible_types(rshape, ashape):
                    continue
                score = name_similarity(rname, aname, floor=HINT_THRESHOLD)
                if score >= HINT_THRESHOLD:
                    scored.append((score, rname, aname))
        scored.sort(key=lambda s: (-s[0], s[1], s[2]))
        used_removed: set[str] = set()
        used_added: set[str] = set()
        for score, rname, aname in scored:
            if rname in used_removed or aname in used_added:
                continue
            used_removed.add(rname)
            used_added.add(aname)
            out.append(RenameHint(_render(child(group.path, "properties", rname)),
                                  _render(child(group.path, "properties", aname)),
                                  round(score, 3)))  # fmt: skip
    return out
