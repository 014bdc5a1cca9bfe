from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evolvekit.errors import RuleSetError
from evolvekit.mapping.paths import (
    WILDCARD,
    Segment,
    format_path,
    get_path,
    parse_path,
    read_nested,
    read_plain,
    wildcard_count,
)
from evolvekit.sentinel import MISSING


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("a", ("a",)),
        ("a.b.c", ("a", "b", "c")),
        (r"a\.b", ("a.b",)),
        (r"a\.b.c", ("a.b", "c")),
        ("items[0]", ("items", 0)),
        ("items[12].sku", ("items", 12, "sku")),
        ("items[*].sku", ("items", WILDCARD, "sku")),
        ("m[0][1]", ("m", 0, 1)),
        ("a[*][*].b", ("a", WILDCARD, WILDCARD, "b")),
        (r"odd\[key\]", ("odd[key]",)),
        (r"back\\slash", ("back\\slash",)),
        ("with space.ü", ("with space", "ü")),
        ("[0].a", (0, "a")),
    ],
)
def test_parse_path(text: str, segments: tuple[Segment, ...]) -> None:
    assert parse_path(text) == segments
    assert format_path(segments) == text


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty path"),
        (".a", "starts with '.'"),
        ("a.", "ends with '.'"),
        ("a..b", "empty key"),
        ("a.[0]", "empty key"),
        ("a[", "never closed"),
        ("a[x]", "not an index"),
        ("a[-1]", "not an index"),
        ("a[01]", "leading zero"),
        ("a]", "unmatched ']'"),
        ("a[0]b", "expected '.' or '['"),
        ("a\\", "trailing backslash"),
        ("a\\n", "unknown escape"),
    ],
)
def test_parse_path_errors_say_what_is_wrong(text: str, fragment: str) -> None:
    with pytest.raises(RuleSetError, match=fragment.replace("[", r"\[").replace(".", r"\.")):
        parse_path(text)


def test_parse_path_rejects_non_strings() -> None:
    with pytest.raises(RuleSetError, match="must be a string"):
        parse_path(3)  # type: ignore[arg-type]


def test_format_path_rejects_bad_segments() -> None:
    for bad in [(), ("",), (-1,), (True,), (1.5,)]:
        with pytest.raises(RuleSetError):
            format_path(bad)  # type: ignore[arg-type]


_keys = st.text(min_size=1, max_size=6)
_segments = st.lists(
    st.one_of(_keys, st.integers(min_value=0, max_value=999), st.just(WILDCARD)),
    min_size=1,
    max_size=6,
)


@settings(max_examples=200, deadline=None)
@given(_segments)
def test_format_then_parse_round_trips(segments: list[Segment]) -> None:
    assert parse_path(format_path(segments)) == tuple(segments)


def test_wildcard_count() -> None:
    assert wildcard_count(parse_path("a[*].b[*].c[0]")) == 2


def test_wildcard_singleton_survives_copy_and_pickle() -> None:
    import copy
    import pickle

    assert copy.deepcopy(WILDCARD) is WILDCARD
    assert pickle.loads(pickle.dumps(WILDCARD)) is WILDCARD
    assert repr(WILDCARD) == "WILDCARD"


EVENT = {
    "a": {"b": None, "c": [10, {"d": 1}]},
    "items": [{"sku": "x"}, {"qty": 2}, {"sku": "z"}],
    "n": 0,
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("a.b", None),  # JSON null is a value
        ("a.c[0]", 10),
        ("a.c[1].d", 1),
        ("a.c[2]", MISSING),
        ("a.x", MISSING),
        ("n.x", MISSING),
        ("a.c.d", MISSING),
        ("n[0]", MISSING),
        ("items[*].sku", ["x", "z"]),
        ("items[*].qty", [2]),
        ("a[*]", MISSING),
    ],
)
def test_get_path(path: str, expected: object) -> None:
    assert get_path(EVENT, parse_path(path)) == expected
    if expected is MISSING:
        assert get_path(EVENT, parse_path(path)) is MISSING


def test_read_plain_and_nested() -> None:
    event = {"a": [{"x": 1}, {"y": 2}], "n": None}
    assert read_plain(event, parse_path("a[1].y")) == 2
    assert read_plain(event, parse_path("n")) is None
    assert read_plain(event, parse_path("n.x")) is MISSING
    assert read_nested(event, parse_path("a[*].x")) == [1, MISSING]
    assert read_nested(event, parse_path("n[*].x")) is MISSING
    assert get_path({"a": [{"b": [{"c": 1}, {}]}, {}, {"b": 5}]}, parse_path("a[*].b[*].c")) == [
        [1]
    ]
