"""Field paths of mapping rules: ``a.b``, ``a\\.b`` (a literal dot), ``items[0]``, ``items[*].sku``.

A path is parsed once into a tuple of segments: ``str`` (an object key), ``int`` (a list
index) or ``WILDCARD`` (every element of a list, mapped element-wise). ``format_path`` is the
inverse, so ``parse_path(format_path(s)) == s`` for every valid segment tuple.

Escapes inside a key: ``\\.`` ``\\[`` ``\\]`` ``\\\\`` stand for the character itself; any other
backslash sequence is an error (so a future escape can be added without changing meanings).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, TypeAlias

from evolvekit.errors import RuleSetError
from evolvekit.sentinel import MISSING, Singleton


class WildcardType(Singleton):
    """The ``[*]`` segment: every element of a list."""

    name = "WILDCARD"


WILDCARD: Final = WildcardType()

Segment: TypeAlias = str | int | WildcardType

_ESCAPABLE: Final = frozenset(".[]\\")


def parse_path(text: str) -> tuple[Segment, ...]:
    """Split a rule path into segments; bad syntax raises RuleSetError saying what is wrong."""
    if not isinstance(text, str):
        raise RuleSetError(f"a path must be a string, not {type(text).__name__}")
    if not text:
        raise RuleSetError("empty path")
    segments: list[Segment] = []
    key: list[str] = []
    # A key is "open" from its first character (or escape) up to the next "." or "[".
    key_open = False
    # After "]" only "." or "[" may follow; after "." a key must follow.
    after_bracket = False
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "." or ch == "[":
            if key_open:
                segments.append("".join(key))
                key.clear()
                key_open = False
            elif ch == "." and not after_bracket:
                where = "starts with" if i == 0 else "has an empty key before"
                raise RuleSetError(f"path {text!r} {where} '.' at position {i}")
            if ch == ".":
                _check_key_follows(text, i)
                after_bracket = False
                i += 1
            else:
                segment, i = _bracket(text, i)
                segments.append(segment)
                after_bracket = True
            continue
        if ch == "\\":
            _check_escape(text, i)
        elif ch == "]":
            raise RuleSetError(f"path {text!r}: unmatched ']' at position {i} (escape it as \\])")
        if after_bracket:
            raise RuleSetError(f"path {text!r}: expected '.' or '[' after ']' at position {i}")
        if ch == "\\":
            key.append(text[i + 1])
            i += 2
        else:
            key.append(ch)
            i += 1
        key_open = True
    if key_open:
        segments.append("".join(key))
    return tuple(segments)


def _check_escape(text: str, i: int) -> None:
    """The backslash at ``i`` escapes a character that may be escaped."""
    if i + 1 >= len(text):
        raise RuleSetError(f"path {text!r}: a trailing backslash escapes nothing")
    nxt = text[i + 1]
    if nxt not in _ESCAPABLE:
        raise RuleSetError(
            f"path {text!r}: unknown escape '\\{nxt}' at position {i} "
            "(only \\. \\[ \\] \\\\ are escapes)"
        )


def _check_key_follows(text: str, i: int) -> None:
    """The "." at ``i`` is followed by a key."""
    if i + 1 >= len(text):
        raise RuleSetError(f"path {text!r} ends with '.'")
    if text[i + 1] in ".[":
        raise RuleSetError(f"path {text!r}: empty key at position {i + 1}")


def _bracket(text: str, i: int) -> tuple[Segment, int]:
    """The segment of the "[...]" opening at ``i`` (an index or ``WILDCARD``) and the position
    just after its "]"."""
    close = text.find("]", i + 1)
    if close < 0:
        raise RuleSetError(f"path {text!r}: '[' at position {i} is never closed")
    inner = text[i + 1 : close]
    if inner == "*":
        return WILDCARD, close + 1
    if inner.isascii() and inner.isdigit():
        if len(inner) > 1 and inner[0] == "0":
            raise RuleSetError(f"path {text!r}: index [{inner}] has a leading zero")
        return int(inner), close + 1
    raise RuleSetError(
        f"path {text!r}: [{inner}] at position {i} is not an index; "
        "use [n] for an element, [*] for every element, \\[ for a literal '['"
    )


def _escape_key(key: str) -> str:
    if not any(c in _ESCAPABLE for c in key):
        return key
    return "".join("\\" + c if c in _ESCAPABLE else c for c in key)


def format_path(segments: Sequence[Segment]) -> str:
    """The text of a segment tuple (inverse of parse_path)."""
    if not segments:
        raise RuleSetError("empty path")
    parts: list[str] = []
    for segment in segments:
        if segment is WILDCARD:
            parts.append("[*]")
        elif isinstance(segment, bool):
            raise RuleSetError(f"bad path segment {segment!r}")
        elif isinstance(segment, int):
            if segment < 0:
                raise RuleSetError(f"bad path segment {segment!r}: indexes are not negative")
            parts.append(f"[{segment}]")
        elif isinstance(segment, str):
            if not segment:
                raise RuleSetError("a path key cannot be empty")
            parts.append(("." if parts else "") + _escape_key(segment))
        else:
            raise RuleSetError(f"bad path segment {segment!r}")
    return "".join(parts)


def wildcard_count(segments: Sequence[Segment]) -> int:
    return sum(1 for s in segments if s is WILDCARD)


def read_plain(obj: Any, segments: Sequence[Segment]) -> Any:
    """The value at a path without ``[*]`` (a wildcard there reads as absent), or MISSING."""
    current = obj
    for segment in segments:
        if isinstance(segment, str):
            if not isinstance(current, dict):
                return MISSING
            current = current.get(segment, MISSING)
            if current is MISSING:
                return MISSING
        else:
            if not isinstance(current, list) or not isinstance(segment, int):
                return MISSING
            if segment >= len(current):
                return MISSING
            current = current[segment]
    return current


def read_nested(obj: Any, segments: Sequence[Segment]) -> Any:
    """Like read_plain, but each ``[*]`` yields a list with one entry per element (MISSING
    kept, so positions line up with other element-wise reads); MISSING when a wildcard's
    container is not a list."""
    for position, segment in enumerate(segments):
        if segment is WILDCARD:
            container = read_plain(obj, segments[:position])
            if not isinstance(container, list):
                return MISSING
            rest = segments[position + 1 :]
            return [read_nested(element, rest) for element in container]
    return read_plain(obj, segments)


def get_path(obj: Any, segments: Sequence[Segment]) -> Any:
    """The value at ``segments`` in ``obj``, or MISSING when absent (JSON null is a value).

    A ``[*]`` segment collects the values found under every element of the list, in order,
    leaving out elements where the rest of the path is absent; a non-list there is absent.
    """
    if WILDCARD not in segments:
        return read_plain(obj, segments)
    return _present(read_nested(obj, segments), wildcard_count(segments))


def _present(value: Any, depth: int) -> Any:
    if depth == 0 or value is MISSING:
        return value
    return [_present(item, depth - 1) for item in value if item is not MISSING]
