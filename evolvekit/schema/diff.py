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

import re
import sys
from collections.abc import Callable, Iterable
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
from evolvekit.schema.diff_shapes import Ctx
from evolvekit.schema.diff_values import contains_ref
from evolvekit.schema.diff_walk import Walker
from evolvekit.schema.examples import EXAMPLE_LIMIT, attach_examples
from evolvekit.schema.refs import DRAFT4, DRAFT6, DRAFT7, dialect_of, dialect_uri_of, make_resolver

if TYPE_CHECKING:  # pragma: no cover
    from evolvekit.schema.registry import SchemaRegistry

__all__ = ["diff_schemas", "name_similarity"]

HINT_THRESHOLD: Final = 0.5
# Past this many removed x added pairs in one object, only pairs sharing a word are scored.
_HINT_PAIR_BUDGET: Final = 256
_RARE_WORD: Final = 8  # a word shared by more added names than this does not pair them
_COMMON_WORD_CAP: Final = 64  # ... but its least common word still does, up to this many
_POINTER_DEPTH_BOUND: Final = 1_000


def diff_schemas(
    old: Any,
    new: Any,
    *,
    policy: str = "strict",
    registry: SchemaRegistry | None = None,
    old_uri: str | None = None,
    new_uri: str | None = None,
    examples: bool | None = None,
) -> SchemaDiff:
    """Diff two schemas (dicts/bools, or ``"subject@version"`` looked up in ``registry``).

    ``policy`` is Confluent's content-model policy: ``strict`` (default) or ``lenient``.
    ``old_uri``/``new_uri`` are the base URIs relative ``$ref`` resolve against (registry
    refs get theirs from the registry). ``examples``: attach a checked counterexample event
    to every breaking change (``Change.example``); None (default) does so when the diff has
    at most ``EXAMPLE_LIMIT`` (200) breaking changes, True always, False never.
    """
    if policy not in POLICIES:
        raise InputError(f"unknown policy {policy!r}; expected one of {', '.join(POLICIES)}")
    old_schema, old_base, old_label = _load(old, registry, old_uri, "old")
    new_schema, new_base, new_label = _load(new, registry, new_uri, "new")
    old_ctx, old_refs = _root_ctx(old_schema, old_base, registry, old_label)
    new_ctx, new_refs = _root_ctx(new_schema, new_base, registry, new_label)
    shortcut = not (old_refs or new_refs)
    backward = Walker(policy, shortcut=shortcut)
    forward = Walker(policy, shortcut=shortcut, hints=False)  # hints come from one direction
    back_diffs: list[Diff] = []
    fwd_diffs: list[Diff] = []
    try:
        backward.compare_raw(old_schema, old_ctx, new_schema, new_ctx, "#", back_diffs)
        forward.compare_raw(new_schema, new_ctx, old_schema, old_ctx, "#", fwd_diffs)
    except RecursionError:
        raise _too_deep(old_schema, new_schema, old_label, new_label) from None
    changes = _merge(backward, back_diffs, forward, fwd_diffs, old_label, new_label)
    if examples or (examples is None and sum(bool(c.breaks) for c in changes) <= EXAMPLE_LIMIT):
        changes = attach_examples(changes, old_schema, new_schema, registry=registry,
                                  old_uri=old_base, new_uri=new_base)  # fmt: skip
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


def _too_deep(old: Any, new: Any, old_label: str, new_label: str) -> SchemaError:
    """The error for a schema nested deeper than this process's recursion limit allows.

    The walk recurses a few frames per schema level. It deliberately does not raise the
    recursion limit (nor pause the garbage collector) for itself: both are process-wide, and
    changing them under other threads (a notebook's broadcaster, a service's loop) is not a
    library's call. An application that needs deeper schemas raises the limit itself.
    """
    from evolvekit.schema.registry import max_depth_of, pointer_at_depth

    old_depth, new_depth = max_depth_of(old), max_depth_of(new)
    schema, depth, label = (old, old_depth, old_label) if old_depth >= new_depth else (
        new, new_depth, new_label)  # fmt: skip
    # The deepest point, or for a pathological depth the first point past a bound (building
    # pointers all the way down would cost depth squared).
    pointer = pointer_at_depth(schema, min(depth - 1, _POINTER_DEPTH_BOUND))
    return SchemaError(
        f"schema nesting is too deep to diff ({depth} levels; Python's recursion limit is "
        f"{sys.getrecursionlimit()}: an application may raise it with sys.setrecursionlimit)",
        file=label,
        pointer=pointer,
    )


# --- merging the two directions ---------------------------------------------------------


def _render(path: str) -> str:
    return "#/" if path == "#" else path


# A diff of a large schema keeps one record per change alive until it returns; every one is
# a container the cyclic garbage collector scans on each full pass over the heap. The merge
# therefore keeps its bookkeeping in untracked values (int flags, tuples of ints) and shares
# the four possible ``breaks`` sets, rather than allocating a set and a list per change.
_BACKWARD: Final = 1
_FORWARD: Final = 2
_BREAKS: Final[tuple[frozenset[str], ...]] = (
    frozenset(),
    frozenset({"backward"}),
    frozenset({"forward"}),
    frozenset({"backward", "forward"}),
)


def _merge(
    back: Walker, back_diffs: list[Diff], fwd: Walker, fwd_diffs: list[Diff],
    old_label: str = "old", new_label: str = "new",
) -> list[Change]:  # fmt: skip
    """One change list named from the backward walk, each change marked with what it breaks.

    ``by_path`` maps a path to the indexes of its backward changes (-1 marks a forward-only
    change added there); ``extra`` holds forward-only changes, placed after their anchor.
    """
    flags = [0 if back.compatible((d,)) else _BACKWARD for d in back_diffs]
    by_path: dict[str, tuple[int, ...]] = {}
    for index, d in enumerate(back_diffs):
        by_path[d.path] = (*by_path.get(d.path, ()), index)
    below: dict[str, list[int]] | None = None
    extra: dict[int, list[Diff]] = {}
    for d in fwd_diffs:
        if fwd.compatible((d,)):
            continue
        mirrored = mirror_kind(d.kind) or d.kind
        here = by_path.get(d.path, ())
        target = _counterpart(back_diffs, flags, here, mirrored)
        if target is None and not here:
            # A break seen at a combinator is often explained by a change inside it.
            if below is None:
                below = _descendants(back_diffs)
            target = _counterpart(back_diffs, flags, below.get(d.path, ()), "")
        if target is not None:
            flags[target] |= _FORWARD
            continue
        if any(i < 0 or flags[i] & _FORWARD for i in here):
            continue  # this place already breaks forward (-1: an added row); one mark is enough
        by_path[d.path] = (*here, -1)
        extra.setdefault(_anchor(d.path, by_path), []).append(Diff(mirrored, d.path, d.new, d.old))
    rows: list[tuple[Diff, int]] = []
    if not back_diffs:
        rows.extend((d, _FORWARD) for d in extra.get(-1, ()))
    for index, d in enumerate(back_diffs):
        rows.append((d, flags[index]))
        rows.extend((f, _FORWARD) for f in extra.get(index, ()))
    if back_diffs:
        rows.extend((d, _FORWARD) for d in extra.get(-1, ()))
    labels = (old_label, new_label)  # one tuple shared by every change (see _BREAKS)
    return [Change(d.kind, _render(d.path), d.old, d.new, _BREAKS[flag], labels=labels)
            for d, flag in rows]  # fmt: skip


def _counterpart(
    rows: list[Diff], flags: list[int], candidates: Iterable[int], mirrored: str
) -> int | None:
    """The backward-named change a forward break belongs to, if there is one."""
    fallback = None
    for index in candidates:
        if index < 0 or flags[index] & _FORWARD:
            continue
        kind = rows[index].kind
        if kind == mirrored:
            return index
        if fallback is None and kind not in ANNOTATION_KINDS and not flags[index] & _BACKWARD:
            fallback = index
    return fallback


def _descendants(rows: list[Diff]) -> dict[str, list[int]]:
    """For each ancestor path, the rows below it."""
    out: dict[str, list[int]] = {}
    for index, row in enumerate(rows):
        path = row.path
        while "/" in path:
            path = path.rsplit("/", 1)[0]
            out.setdefault(path, []).append(index)
    return out


def _anchor(path: str, by_path: dict[str, tuple[int, ...]]) -> int:
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


_Types = tuple[str, ...] | None


def _compatible_types(a: _Types, b: _Types) -> bool:
    return a is None or b is None or not set(a).isdisjoint(b)


def _candidates(group: HintGroup) -> Callable[[str], list[tuple[str, _Types]]]:
    """The added properties worth scoring against a removed one.

    All of them in ordinary objects; in large ones only those sharing a rare word with it
    (or, when every word it has is common, those sharing its least common word, up to a
    cap), so the cost per removed property is bounded and the whole stays linear instead of
    removed x added.
    """
    if len(group.removed) * len(group.added) <= _HINT_PAIR_BUDGET:
        return lambda _name: group.added
    by_word: dict[str, list[tuple[str, _Types]]] = {}
    for name, shape in group.added:
        for word in set(_words(name)):
            by_word.setdefault(word, []).append((name, shape))

    def rare(name: str) -> list[tuple[str, _Types]]:
        seen: dict[str, tuple[str, _Types]] = {}
        buckets = [by_word.get(word, []) for word in set(_words(name))]
        for bucket in buckets:
            if len(bucket) <= _RARE_WORD:
                seen.update((n, (n, s)) for n, s in bucket)
        if not seen and buckets:
            fewest = min(buckets, key=len)
            if len(fewest) <= _COMMON_WORD_CAP:
                seen.update((n, (n, s)) for n, s in fewest)
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
