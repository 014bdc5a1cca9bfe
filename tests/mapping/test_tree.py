from __future__ import annotations

import copy
from typing import Any

from evolvekit.mapping.paths import parse_path
from evolvekit.mapping.tree import (
    EMPTIED,
    build_trie,
    combine,
    first_leaf,
    prune,
)
from evolvekit.sentinel import MISSING


def trie(*paths: str) -> Any:
    return build_trie([parse_path(p) for p in paths])


def test_build_trie_absorbs_paths_under_a_removed_ancestor() -> None:
    assert trie("a.b", "a") == {"a": None}
    assert trie("a", "a.b") == {"a": None}
    assert trie("a.b", "a.c") == {"a": {"b": None, "c": None}}


def test_prune_copies_only_the_touched_spine() -> None:
    event = {"a": {"b": 1, "c": 2}, "untouched": {"deep": [1]}}
    before = copy.deepcopy(event)
    owned: set[int] = set()
    out = prune(event, trie("a.b"), owned)
    assert out == {"a": {"c": 2}, "untouched": {"deep": [1]}}
    assert event == before
    assert out["untouched"] is event["untouched"]  # shared, not copied
    assert id(out) in owned and id(out["a"]) in owned


def test_prune_reports_emptied_and_unchanged() -> None:
    owned: set[int] = set()
    assert prune({"a": 1}, trie("a"), owned) is EMPTIED
    event = {"a": 1}
    assert prune(event, trie("b"), owned) is event
    assert prune({"l": [{"x": 1}, {"x": 2}]}, trie("l[*].x"), owned) is EMPTIED
    assert prune({"l": [{"x": 1}, {"y": 2}]}, trie("l[*].x"), owned) == {"l": [{}, {"y": 2}]}
    assert prune({"l": [1, 2, 3]}, trie("l[0]", "l[2]"), owned) == {"l": [2]}


def test_first_leaf() -> None:
    assert first_leaf({"a": {"b": [{}]}}) == (("a", "b", 0), {})
    assert first_leaf({"a": 1}) == (("a",), 1)
    assert first_leaf({"a": [], "b": 2}) == (("a",), [])
    placeholder: dict[str, Any] = {}
    found = first_leaf({"a": [placeholder, {"b": 2}]}, (), {id(placeholder)})
    assert found == (("a", 1, "b"), 2)
    assert first_leaf({"a": [placeholder]}, (), {id(placeholder)}) is None


def test_combine() -> None:
    assert combine([1, MISSING, None], 0) == [1, None]
    assert combine([MISSING, MISSING], 0) is MISSING
    assert combine([[1, MISSING], [2]], 1) == [[1, 2], MISSING]
    assert combine([MISSING, "not a list"], 1) is MISSING
