"""The evidence suggest_rules weighs: name words, unit words, value shapes, type casts.

Names are compared as words (``agentEmail`` -> agent, email; ``durationSeconds`` -> duration
plus the unit word seconds), so a rename, a move into a nested object and a unit change can
each be recognised. Values are classified by shape (e-mail, uuid, ISO time, digits ...).
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from evolvekit.mapping.schema_fields import Key, json_type

# Unit words, each with its size in a common base, so a pair of them gives a scale factor.
UNITS: dict[str, tuple[str, float]] = {
    **dict.fromkeys(("ms", "millis", "msec", "millisecond", "milliseconds"), ("time", 0.001)),
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), ("time", 1.0)),
    **dict.fromkeys(("min", "mins", "minute", "minutes"), ("time", 60.0)),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), ("time", 3600.0)),
}

# old JSON type -> new JSON type -> the built-in transform that converts.
CASTS: dict[str, dict[str, str]] = {
    "string": {"integer": "int", "number": "float", "boolean": "bool"},
    "integer": {"string": "str", "boolean": "bool"},
    "number": {"string": "str", "integer": "int"},
    "boolean": {"string": "str", "integer": "int"},
}

SHAPES: list[tuple[str, re.Pattern[str]]] = [
    ("email", re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")),
    (
        "uuid",
        re.compile(
            r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
        ),
    ),
    (
        "date-time",
        re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$"),
    ),
    ("date", re.compile(r"^\d{4}-\d{2}-\d{2}$")),
    ("digits", re.compile(r"^-?\d+$")),
    ("decimal", re.compile(r"^-?\d+\.\d+$")),
    ("boolean-text", re.compile(r"^(?i:true|false)$")),
]
FORMAT_SHAPES = {"email": "email", "uuid": "uuid", "date-time": "date-time", "date": "date"}


_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


def tokens(key: Key) -> list[str]:
    words: list[str] = []
    for segment in key:
        if isinstance(segment, str):
            for part in re.split(r"[^A-Za-z0-9]+", segment):
                words.extend(w.lower() for w in _CAMEL.findall(part))
    return words


def split_units(words: list[str]) -> tuple[list[str], tuple[str, float] | None]:
    plain = [w for w in words if w not in UNITS]
    units = [UNITS[w] for w in words if w in UNITS]
    return plain, (units[-1] if units else None)


def name_similarity(old: Key, new: Key) -> float:
    old_words, _ = split_units(tokens(old))
    new_words, _ = split_units(tokens(new))
    if not old_words or not new_words:
        old_words, new_words = tokens(old), tokens(new)
    if old_words == new_words:
        return 1.0
    common = len(set(old_words) & set(new_words))
    token_score = 2 * common / (len(set(old_words)) + len(set(new_words)))
    text_score = difflib.SequenceMatcher(None, "".join(old_words), "".join(new_words)).ratio()
    return 0.5 * token_score + 0.5 * text_score


def unit_factor(old: Key, new: Key) -> float | None:
    _, old_unit = split_units(tokens(old))
    _, new_unit = split_units(tokens(new))
    if old_unit is None or new_unit is None or old_unit[0] != new_unit[0]:
        return None
    factor = old_unit[1] / new_unit[1]
    if factor == 1:
        return None
    return int(factor) if factor >= 1 and float(factor).is_integer() else round(factor, 12)


def shape(value: Any) -> str:
    if isinstance(value, str):
        for name, pattern in SHAPES:
            if pattern.match(value):
                return name
        return "text"
    return json_type(value)


def main_type(types: frozenset[str] | None) -> str | None:
    if not types:
        return None
    real = sorted(types - {"null"})
    return real[0] if len(real) == 1 else None


def cast_for(old: frozenset[str] | None, new: frozenset[str] | None) -> tuple[str | None, bool]:
    """(transform name or None, compatible): how old values become new ones."""
    if old is None or new is None:
        return None, True
    if old <= new or ("integer" in old and "number" in new and old - {"integer"} <= new):
        return None, True
    src, dst = main_type(old), main_type(new)
    if src is None or dst is None:
        return None, bool(old & new)
    name = CASTS.get(src, {}).get(dst)
    return name, name is not None


def cast_fits(cast: str, shapes: set[str]) -> bool:
    allowed = {
        "int": {"digits", "integer", "boolean"},
        "float": {"digits", "decimal", "integer", "number"},
        "bool": {"boolean-text", "boolean", "integer"},
        "str": {"integer", "number", "boolean", "text", "digits"},
    }.get(cast)
    return allowed is None or shapes <= allowed
