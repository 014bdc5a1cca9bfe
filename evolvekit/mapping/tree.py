"""Pure helpers over JSON trees for the engine: removing a set of paths with copy-on-write
(a removal trie), so the mapper copies only the containers it changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from evolvekit.mapping.paths import WILDCARD, Segment
from evolvekit.sentinel import MISSING, Missing

Path = tuple[Segment, ...]
# A removal trie: segment -> subtrie; None means "remove this whole value".
Trie = dict[Segment, "Trie | None"]


class _Marker:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


GONE: Final = _Marker("GONE")  # the value itself was removed
EMPTIED: Final = _Marker("EMPTIED")  # a container that removals left empty


def is_scalar(value: Any) -> bool:
    return not isinstance(value, dict | list)


# --- removing ---------------------------------------------------------------------------


def build_trie(paths: Sequence[Path]) -> Trie:
    root: Trie = {}
    for path in paths:
        node = root
        for segment in path[:-1]:
            child = node.get(segment, MISSING)
            if child is None:
                break  # an ancestor is removed whole already
            if child is MISSING:
                child = node[segment] = {}
            assert isinstance(child, dict)
            node = child
        else:
            node[path[-1]] = None
    return root


def prune(value: Any, trie: Trie, owned: set[int]) -> Any:
    """``value`` without the trie's paths: the same object when nothing changed, a new
    (owned) container when something did, EMPTIED when removals left it empty."""
    if isinstance(value, dict):
        new: dict[str, Any] | None = None
        for segment, child in trie.items():
            if not isinstance(segment, str) or segment not in value:
                continue
            result = GONE if child is None else prune(value[segment], child, owned)
            if result is value[segment]:
                continue
            if new is None:
                new = dict(value)
                owned.add(id(new))
            if result is GONE or result is EMPTIED:
                del new[segment]
            else:
                new[segment] = result
        if new is None:
            return value
        return new if new else EMPTIED
    if isinstance(value, list):
        return _prune_list(value, trie, owned)
    return value


def _prune_list(value: list[Any], trie: Trie, owned: set[int]) -> Any:
    every = trie.get(WILDCARD, MISSING)
    changed = False
    items: list[Any] = []
    for index, element in enumerate(value):
        result = element
        for child in (every, trie.get(index, MISSING)):
            if isinstance(child, Missing) or result is GONE:
                continue
            if child is None:
                result = GONE
            elif result is not EMPTIED:
                result = prune(result, child, owned)
        if result is not element:
            changed = True
        items.append(result)
    if not changed:
        return value
    if all(r is GONE or r is EMPTIED for r in items):
        return EMPTIED
    # A removed element closes up; an emptied one stays as an empty placeholder so that
    # element-wise positions still line up with other [*] rules.
    new: list[Any] = []
    for result, old in zip(items, value, strict=True):
        if result is EMPTIED:
            placeholder = type(old)()
            owned.add(id(placeholder))
            new.append(placeholder)
        elif result is not GONE:
            new.append(result)
    owned.add(id(new))
    return new


def first_leaf(
    value: Any, path: tuple[Segment, ...] = (), placeholders: set[int] | None = None
) -> tuple[Path, Any] | None:
    """The first value in ``value`` that is not a non-empty container, with its path; None
    when there is none. Empty containers whose id is in ``placeholders`` (the element
    stand-ins ``prune`` leaves in lists) are passed over: they hold nothing of the event."""
    if isinstance(value, dict | list):
        if not value:
            return None if placeholders and id(value) in placeholders else (path, value)
        children = value.items() if isinstance(value, dict) else enumerate(value)
        for key, child in children:
            found = first_leaf(child, (*path, key), placeholders)
            if found is not None:
                return found
        return None
    return path, value


def combine(values: list[Any], depth: int) -> Any:
    """Several sources -> one list of the present values (MISSING when none is present);
    under wildcards, element by element."""
    if depth == 0:
        present = [v for v in values if v is not MISSING]
        return present if present else MISSING
    lists = [v for v in values if isinstance(v, list)]
    if not lists:
        return MISSING
    length = max(len(v) for v in lists)
    return [
        combine(
            [v[i] if isinstance(v, list) and i < len(v) else MISSING for v in values], depth - 1
        )
        for i in range(length)
    ]
