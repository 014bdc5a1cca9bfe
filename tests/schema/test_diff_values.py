"""diff_values: JSON equality, canonical keys, $ref detection and numeric bounds."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import pytest

from evolvekit.schema.diff_values import (
    as_fraction,
    as_number,
    canonical,
    contains_ref,
    escape,
    json_equal,
    limits,
    lower_bound,
    lower_kept,
    same_json,
    upper_bound,
    upper_kept,
)


def _nested(depth: int, leaf: Any) -> Any:
    """A list nested ``depth`` levels deep around ``leaf`` (deeper than orjson's 255)."""
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


@pytest.fixture
def deep_stack() -> Iterator[None]:
    """Room for 300-level values even when each call is wrapped (e.g. by a mutation tool)."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, 10_000))
    yield
    sys.setrecursionlimit(old)


# --- canonical / json_equal / same_json -------------------------------------------------


def test_canonical_is_sorted_compact_json() -> None:
    assert canonical({"b": 1, "a": [True, None, "x"]}) == b'{"a":[true,null,"x"],"b":1}'


def test_canonical_keeps_non_ascii_text_as_utf8() -> None:
    assert canonical("é") == '"é"'.encode()
    assert canonical({"k": 1e100}) == b'{"k":1e+100}'


def test_canonical_folds_integral_floats_and_keeps_others() -> None:
    assert canonical(1.0) == b"1"
    assert canonical(-3.0) == b"-3"
    assert canonical(1.5) == b"1.5"
    assert canonical({"k": [2.0, (3.0, 4.5)]}) == b'{"k":[2,[3,4.5]]}'


def test_canonical_keeps_huge_integral_floats_as_floats() -> None:
    # 2**63 as an int would not be the same JSON number token; it stays a float.
    assert canonical(float(2**63)) == b"9.223372036854776e+18"
    assert canonical(float(2**63 - 1024)) == b"9223372036854774784"
    assert canonical(-float(2**63)) == b"-9.223372036854776e+18"


def test_canonical_keeps_bools_and_none_apart_from_numbers() -> None:
    assert canonical(True) == b"true"
    assert canonical(1) == b"1"
    assert canonical(None) == b"null"
    assert canonical(0) == b"0"


def test_canonical_of_a_very_deep_value_uses_the_standard_library(deep_stack: None) -> None:
    deep = _nested(300, {"b": 1.0, "a": 2})
    expected = ("[" * 300 + '{"a":2,"b":1}' + "]" * 300).encode()
    assert canonical(deep) == expected


def test_canonical_of_a_non_json_value_falls_back_to_repr(deep_stack: None) -> None:
    class Odd:
        def __repr__(self) -> str:
            return "Odd()"

    assert canonical(_nested(300, Odd())) == ("[" * 300 + "Odd()" + "]" * 300).encode()
    assert canonical({1j}) == b"{1j}"


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        (True, 1, False),
        (False, 0, False),
        (1, 1.0, True),
        ({"a": 1, "b": 2}, {"b": 2.0, "a": 1}, True),
        ("x", "x", True),
        ("x", "y", False),
        (True, True, True),
        (True, False, False),
        ([1, 2], [2, 1], False),
        (None, None, True),
        (None, 0, False),
    ],
)
def test_json_equal(a: Any, b: Any, equal: bool) -> None:
    assert json_equal(a, b) is equal
    assert json_equal(b, a) is equal


def test_json_equal_same_object() -> None:
    value = {"a": [1]}
    assert json_equal(value, value) is True


def test_same_json_tells_bools_from_numbers() -> None:
    assert same_json(True, 1) is False
    assert same_json(1, True) is False
    assert same_json(1, 2) is False
    assert same_json({"a": 1, "b": 2}, {"b": 2, "a": 1}) is True
    assert same_json({"b": 2, "a": 1}, {"a": 1, "b": 2}) is True
    # the fast path compares encodings: 1 and 1.0 only cost a full comparison elsewhere
    assert same_json(1, 1.0) is False
    assert same_json({"b": 1, "a": 1.0}, {"a": 1.0, "b": 1}) is True
    assert same_json([1], [1]) is True
    obj = object()
    assert same_json(obj, obj) is True


def test_same_json_of_deep_equal_values(deep_stack: None) -> None:
    assert same_json(_nested(300, 1), _nested(300, 1)) is True
    assert same_json(_nested(300, 1), _nested(300, True)) is False


# --- contains_ref -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "found"),
    [
        ({"$ref": "#/a"}, True),
        ({"properties": {"a": {"items": [{"$ref": "#"}]}}}, True),
        ({"properties": {"a": {"type": "string"}}}, False),
        ([1, {"x": [{"$ref": "#"}]}], True),
        ({"$refs": 1}, False),
        ("plain", False),
    ],
)
def test_contains_ref(value: Any, found: bool) -> None:
    assert contains_ref(value) is found


@pytest.mark.parametrize(
    ("leaf", "found"),
    [
        ({"$ref": "#"}, True),
        ({"a": {"b": [{"$ref": "#"}]}}, True),
        ({"a": {"b": [{"c": 1}], "d": "$ref"}}, False),
        ([{"x": 1}, [2, {"y": {"z": {"$ref": "#"}}}]], True),
        ([{"x": 1}, [2, {"y": {"z": 3}}]], False),
    ],
)
def test_contains_ref_deeper_than_orjson(leaf: Any, found: bool, deep_stack: None) -> None:
    assert contains_ref(_nested(300, leaf)) is found


def test_contains_ref_deep_dict_chain(deep_stack: None) -> None:
    value: Any = {"$ref": "#"}
    for _ in range(300):
        value = {"not": value}
    assert contains_ref(value) is True
    plain: Any = {"type": "string"}
    for _ in range(300):
        plain = {"not": plain, "other": [1, "x"]}
    assert contains_ref(plain) is False


# --- small helpers ----------------------------------------------------------------------


def test_as_number() -> None:
    assert as_number(3) == 3
    assert as_number(2.5) == 2.5
    assert as_number(True) is None
    assert as_number(False) is None
    assert as_number("3") is None
    assert as_number(None) is None


def test_as_fraction_is_exact_as_written() -> None:
    assert as_fraction(0.1) == Fraction(1, 10)
    assert as_fraction(3) == Fraction(3)


def test_escape() -> None:
    assert escape("a/b~c") == "a~1b~0c"
    assert escape("~1") == "~01"
    assert escape("plain") == "plain"


# --- numeric bounds ---------------------------------------------------------------------


def test_limits_modern() -> None:
    raw = {"maximum": 9, "exclusiveMaximum": 8, "minimum": 1, "exclusiveMinimum": 2}
    assert limits(raw) == (9, 8, 1, 2)
    assert limits({}) == (None, None, None, None)


def test_limits_draft4_booleans() -> None:
    raw = {"maximum": 9, "exclusiveMaximum": True, "minimum": 1, "exclusiveMinimum": True}
    assert limits(raw) == (None, 9, None, 1)
    raw = {"maximum": 9, "exclusiveMaximum": False, "minimum": 1, "exclusiveMinimum": False}
    assert limits(raw) == (9, None, 1, None)


def test_lower_bound() -> None:
    assert lower_bound({}) is None
    assert lower_bound({"minimum": 3}) == (3, False)
    assert lower_bound({"exclusiveMinimum": 3}) == (3, True)
    # the tighter (larger) bound wins; at a tie the exclusive one is tighter
    assert lower_bound({"minimum": 3, "exclusiveMinimum": 3}) == (3, True)
    assert lower_bound({"minimum": 5, "exclusiveMinimum": 3}) == (5, False)
    assert lower_bound({"minimum": 2, "exclusiveMinimum": 3}) == (3, True)
    assert lower_bound({"minimum": "5"}) is None
    assert lower_bound({"minimum": 4, "exclusiveMinimum": True}) == (4, True)


def test_upper_bound() -> None:
    assert upper_bound({}) is None
    assert upper_bound({"maximum": 3}) == (3, False)
    assert upper_bound({"exclusiveMaximum": 3}) == (3, True)
    # the tighter (smaller) bound wins; at a tie the exclusive one is tighter
    assert upper_bound({"maximum": 3, "exclusiveMaximum": 3}) == (3, True)
    assert upper_bound({"exclusiveMaximum": 3, "maximum": 3}) == (3, True)
    assert upper_bound({"maximum": 2, "exclusiveMaximum": 3}) == (2, False)
    assert upper_bound({"maximum": 5, "exclusiveMaximum": 3}) == (3, True)
    assert upper_bound({"maximum": True}) is None
    assert upper_bound({"maximum": 4, "exclusiveMaximum": True}) == (4, True)


@pytest.mark.parametrize(
    ("old", "new", "kept"),
    [
        (None, None, True),
        ((1, False), None, True),
        (None, (1, False), False),
        ((1, False), (0, False), True),
        ((1, False), (2, False), False),
        ((1, False), (1, False), True),
        ((1, True), (1, True), True),
        ((1, True), (1, False), True),
        ((1, False), (1, True), False),
        ((1, True), (0, True), True),
    ],
)
def test_lower_kept(old: Any, new: Any, kept: bool) -> None:
    assert lower_kept(old, new) is kept


@pytest.mark.parametrize(
    ("old", "new", "kept"),
    [
        (None, None, True),
        ((1, False), None, True),
        (None, (1, False), False),
        ((1, False), (2, False), True),
        ((1, False), (0, False), False),
        ((1, False), (1, False), True),
        ((1, True), (1, True), True),
        ((1, True), (1, False), True),
        ((1, False), (1, True), False),
        ((1, True), (2, True), True),
    ],
)
def test_upper_kept(old: Any, new: Any, kept: bool) -> None:
    assert upper_kept(old, new) is kept
