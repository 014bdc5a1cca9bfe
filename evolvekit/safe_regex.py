"""User-written regular expressions, matched in linear time.

Every pattern a user writes and evolvekit runs against event data goes through this module,
so that no pattern/value pair can make matching take exponential time (ReDoS):

* rule patterns (the mapping ``regex`` transform) compile with RE2 (:func:`compile_pattern`),
  whose matching time is linear in the text. The common Python / ECMA-262 spellings RE2
  writes differently are translated (``\\Z`` -> ``\\z``, ``\\uXXXX`` and ``\\UXXXXXXXX`` ->
  ``\\x{...}``, ``{,n}`` -> ``{0,n}``); what needs backtracking (backreferences, lookahead,
  lookbehind, atomic groups, possessive quantifiers) is refused with an
  :class:`UnsupportedPattern` saying so, at load time;
* JSON Schema ``pattern``/``patternProperties`` keys are matched by the validator's own engine
  (:func:`schema_pattern_matcher`: jsonschema-rs, ECMA-262 semantics, the Rust ``regex``
  crate's linear-time matcher, and a bounded backtracking step budget for the few ECMA
  features that need it), so a schema never answers differently here than in validation.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jsonschema_rs
import re2
from re2 import _re2  # the RE2 binding itself (see SafePattern)

__all__ = [
    "SafeMatch",
    "SafePattern",
    "UnsupportedPattern",
    "compile_pattern",
    "schema_pattern_matcher",
    "to_re2",
]


class UnsupportedPattern(ValueError):
    """A pattern the linear-time engine cannot run; the message says what and why."""


_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # RE2 would print every refused pattern on stderr

# Constructs RE2 cannot run in linear time, with the words a person needs.
_REFUSED: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\\[1-9]|\\k<|\(\?P="), "backreferences (\\1, \\k<name>, (?P=name))"),
    (re.compile(r"\(\?<?[=!]"), "lookahead/lookbehind ((?=...), (?!...), (?<=...), (?<!...))"),
    (re.compile(r"\(\?>"), "atomic groups ((?>...))"),
    (re.compile(r"(?:[*+?}])\+"), "possessive quantifiers (*+, ++, ?+)"),
)  # fmt: skip
_HEX4 = re.compile(r"[0-9A-Fa-f]{4}")
_HEX8 = re.compile(r"[0-9A-Fa-f]{8}")
_BRACED_HEX = re.compile(r"\{([0-9A-Fa-f]{1,6})\}")
_UPTO = re.compile(r"\{,(\d+)\}")


def _unescaped(pattern: str) -> str:
    """``pattern`` with escaped pairs and character classes blanked, backreferences kept.

    What is left shows the constructs that matter: ``\\(?=`` or ``[?+]`` are not refused.
    """
    out: list[str] = []
    in_class = False
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            pair = pattern[index : index + 2]
            keep = not in_class and (pair[1].isdigit() or pair[1] == "k")
            out.append(pair if keep else "__")
            index += 2
            continue
        if in_class:
            in_class = char != "]" or pattern[index - 1] == "["
            out.append("_" if in_class else char)
        else:
            in_class = char == "["
            out.append(char)
        index += 1
    return "".join(out)


def _escape(pattern: str, index: int) -> tuple[str, int]:
    """RE2 spelling of the escape at ``pattern[index]`` (a backslash) and the next index."""
    nxt = pattern[index + 1] if index + 1 < len(pattern) else ""
    if nxt == "Z":
        return r"\z", index + 2
    if nxt == "u" and (braced := _BRACED_HEX.match(pattern, index + 2)):
        return f"\\x{{{braced.group(1)}}}", braced.end()
    if nxt == "u" and _HEX4.match(pattern, index + 2):
        return f"\\x{{{pattern[index + 2 : index + 6]}}}", index + 6
    if nxt == "U" and _HEX8.match(pattern, index + 2):
        return f"\\x{{{pattern[index + 2 : index + 10]}}}", index + 10
    return pattern[index : index + 2], index + 2


def to_re2(pattern: str) -> str:
    """``pattern`` (Python / ECMA-262 spelling) in RE2 syntax; UnsupportedPattern if it cannot be.

    Only spellings with the same meaning are rewritten; constructs that need backtracking are
    refused by name.
    """
    bare = _unescaped(pattern)
    for finder, what in _REFUSED:
        if finder.search(bare):
            raise UnsupportedPattern(
                f"uses {what}, which the linear-time regex engine (RE2) does not support"
            )
    out: list[str] = []
    in_class = False
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            text, index = _escape(pattern, index)
            out.append(text)
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            if pattern.startswith("]", index + 1) or pattern.startswith("^]", index + 1):
                closing = pattern.index("]", index + 1)  # a leading "]" is a literal
                out.append(pattern[index : closing + 1])
                index = closing + 1
                continue
        elif char == "{" and (upto := _UPTO.match(pattern, index)):
            out.append(f"{{0,{upto.group(1)}}}")
            index = upto.end()
            continue
        out.append(char)
        index += 1
    return "".join(out)


_UNANCHORED = _re2.RE2.Anchor.UNANCHORED
_NO_SPAN = (-1, -1)


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogatepass")


class SafeMatch:
    """One match: ``group(0)`` the whole match, ``group(n)``/``group(name)`` a group (or None)."""

    def __init__(self, pattern: SafePattern, data: bytes, spans: list[tuple[int, int]]) -> None:
        self._pattern = pattern
        self._data = data
        self._spans = spans

    def group(self, group: int | str = 0) -> str | None:
        index = self._pattern.groupindex[group] if isinstance(group, str) else group
        start, end = self._spans[index]
        return None if (start, end) == _NO_SPAN else _text(self._data[start:end])


@dataclass(frozen=True)
class SafePattern:
    """A compiled user pattern: ``pattern`` as written, its groups, and a linear-time search.

    Matching calls RE2's own ``Match`` on the UTF-8 bytes and decodes only the groups asked
    for (the ``re2`` module's ``re``-like wrapper maps every offset back to characters,
    which costs several times the match itself).
    """

    pattern: str
    groups: int
    groupindex: dict[str, int]
    _regexp: Any

    def search(self, text: str) -> SafeMatch | None:
        """The first match anywhere in ``text``, or None."""
        data = text.encode("utf-8", "surrogatepass")
        spans = self._regexp.Match(_UNANCHORED, data, 0, len(data))
        return None if spans[0] == _NO_SPAN else SafeMatch(self, data, list(spans))


@lru_cache(maxsize=512)
def compile_pattern(pattern: str) -> SafePattern:
    """Compile a user-written pattern with RE2; UnsupportedPattern (a ValueError) if it cannot."""
    if not isinstance(pattern, str):
        raise UnsupportedPattern(f"a pattern must be a string, not {type(pattern).__name__}")
    regexp = _re2.RE2(to_re2(pattern).encode("utf-8", "surrogatepass"), _OPTIONS)
    if not regexp.ok():
        error = regexp.error()
        raise UnsupportedPattern(_text(error) if isinstance(error, bytes) else str(error))
    names = {_text(name): index for name, index in regexp.NamedCapturingGroups()}
    return SafePattern(pattern, int(regexp.NumberOfCapturingGroups()), names, regexp)


@lru_cache(maxsize=512)
def schema_pattern_matcher(pattern: str) -> Callable[[str], bool] | None:
    """``text -> bool``: does ``pattern`` (a JSON Schema regex) match somewhere in ``text``?

    Matched by jsonschema-rs, as validation does (ECMA-262). None when the pattern does not
    compile there.
    """
    try:
        validator = jsonschema_rs.validator_for({"pattern": pattern})
    except (jsonschema_rs.ValidationError, ValueError):
        return None

    def matches(text: str) -> bool:
        return bool(validator.is_valid(text))

    return matches
