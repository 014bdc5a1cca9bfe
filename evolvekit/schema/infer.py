"""Infer a draft 2020-12 JSON Schema from sample events.

CXone publishes no JSON Schemas, so analysts start from samples. The result is a starting
point to edit, not a contract:

* types are merged across samples (``integer`` + ``number`` -> ``number``; a field that is
  sometimes null gets a type array with ``"null"``);
* nested objects and arrays are described to any depth (array items are merged across every
  element of every sample);
* ``required`` lists the properties present in every sample object at that place;
* ``format`` is set when every string seen there has it (date-time, date, email, uuid,
  ipv4, uri);
* CXone's string-typed values (``"4500"``, ``"True"``) are noted in ``x-evolvekit-note``
  and the description, so a mapping rule can convert them;
* with ``enums=True`` a string field with at most ``max_enum`` distinct values, at least one
  of them repeated, gets an ``enum``.

The output is deterministic for the same input: keys and enum values are sorted.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from evolvekit.errors import InputError
from evolvekit.jsonio import JSON_TYPES, json_type

DIALECT = "https://json-schema.org/draft/2020-12/schema"
NOTE_KEY = "x-evolvekit-note"
MAX_DEPTH = 200  # deeper samples are refused rather than risking Python's recursion limit

# JSON type names in the order they are listed in a type array.
_TYPE_ORDER = ("object", "array", "string", "integer", "number", "boolean", "null")

_DATE_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$"
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_IPV4 = re.compile(r"^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$")
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^\s]+$")
_INT_STRING = re.compile(r"^-?\d+$")
_NUM_STRING = re.compile(r"^-?\d+\.\d+$")
_BOOL_STRINGS = frozenset({"True", "False", "true", "false"})


def _is_date_time(text: str) -> bool:
    if not _DATE_TIME.match(text):
        return False
    try:
        datetime.fromisoformat(text.replace("z", "Z").replace("t", "T"))
    except ValueError:
        return False
    return True


def _is_date(text: str) -> bool:
    if not _DATE.match(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _is_ipv4(text: str) -> bool:
    if not _IPV4.match(text):
        return False
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return True


# Checked in this order; the first format every value satisfies wins.
_FORMATS: tuple[tuple[str, Callable[[str], bool]], ...] = (
    ("date-time", _is_date_time),
    ("date", _is_date),
    ("email", lambda s: bool(_EMAIL.match(s))),
    ("uuid", lambda s: bool(_UUID.match(s))),
    ("ipv4", _is_ipv4),
    ("uri", lambda s: bool(_URI.match(s))),
)
# CXone-style string-typed values: (name, test, note).
_STRING_STYLES: tuple[tuple[str, Callable[[str], bool], str], ...] = (
    ("integer", lambda s: bool(_INT_STRING.match(s)), "string holding integers (CXone style)"),
    ("number", lambda s: bool(_NUM_STRING.match(s) or _INT_STRING.match(s)),
     "string holding numbers (CXone style)"),
    ("boolean", lambda s: s in _BOOL_STRINGS, "string holding booleans (CXone style)"),
)  # fmt: skip


@dataclass
class _Node:
    """What has been seen at one place in the samples."""

    types: set[str] = field(default_factory=set)
    objects: int = 0  # how many objects were seen here (for `required`)
    properties: dict[str, _Node] = field(default_factory=dict)
    presence: dict[str, int] = field(default_factory=dict)
    items: _Node | None = None
    strings: int = 0
    distinct: set[str] = field(default_factory=set)
    distinct_overflow: bool = False
    formats: set[str] | None = None  # formats every string so far satisfies
    styles: set[str] | None = None  # CXone styles every string so far satisfies


def _observe(root: _Node, event: Any, cap: int) -> None:
    """Merge one sample into the tree, iteratively (no recursion on deep samples)."""
    stack: list[tuple[_Node, Any, int]] = [(root, event, 0)]
    while stack:
        node, value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise InputError(f"sample nested deeper than {MAX_DEPTH} levels")
        kind = json_type(value)
        if kind not in JSON_TYPES:
            raise InputError(f"a sample holds a {kind} value, which is not JSON")
        node.types.add(kind)
        if kind == "object":
            node.objects += 1
            for key, child in value.items():
                node.presence[key] = node.presence.get(key, 0) + 1
                sub = node.properties.setdefault(key, _Node())
                stack.append((sub, child, depth + 1))
        elif kind == "array":
            if value and node.items is None:
                node.items = _Node()
            for child in value:
                assert node.items is not None
                stack.append((node.items, child, depth + 1))
        elif kind == "string":
            _observe_string(node, value, cap)


def _observe_string(node: _Node, text: str, cap: int) -> None:
    node.strings += 1
    if not node.distinct_overflow:
        node.distinct.add(text)
        if len(node.distinct) > cap:
            node.distinct_overflow = True
            node.distinct.clear()
    fits = {name for name, test in _FORMATS if test(text)}
    node.formats = fits if node.formats is None else node.formats & fits
    styles = {name for name, test, _ in _STRING_STYLES if test(text)}
    node.styles = styles if node.styles is None else node.styles & styles


def _type_keyword(types: set[str]) -> str | list[str]:
    merged = set(types)
    if "integer" in merged and "number" in merged:
        merged.discard("integer")
    ordered = [t for t in _TYPE_ORDER if t in merged]
    return ordered[0] if len(ordered) == 1 else ordered


def _emit(node: _Node, *, enums: bool, max_enum: int) -> dict[str, Any]:
    schema: dict[str, Any] = {}
    if not node.types:  # an array that was always empty: nothing known about its items
        return schema
    schema["type"] = _type_keyword(node.types)
    if "string" in node.types:
        _emit_string(node, schema, enums=enums, max_enum=max_enum)
    if "object" in node.types:
        schema["properties"] = {
            key: _emit(node.properties[key], enums=enums, max_enum=max_enum)
            for key in sorted(node.properties)
        }
        required = sorted(k for k, n in node.presence.items() if n == node.objects)
        if required:
            schema["required"] = required
    if "array" in node.types and node.items is not None:
        schema["items"] = _emit(node.items, enums=enums, max_enum=max_enum)
    return schema


def _emit_string(node: _Node, schema: dict[str, Any], *, enums: bool, max_enum: int) -> None:
    formats = [name for name, _ in _FORMATS if node.formats and name in node.formats]
    if formats:
        schema["format"] = formats[0]
    elif node.styles:
        note = next(text for name, _, text in _STRING_STYLES if name in node.styles)
        schema[NOTE_KEY] = note
        schema["description"] = note
    repeated = node.strings > len(node.distinct)
    if (
        enums
        and not node.distinct_overflow
        and 0 < len(node.distinct) <= max_enum
        and repeated
        and not formats
        and node.types <= {"string", "null"}  # an enum must not exclude other types seen
    ):
        values: list[Any] = sorted(node.distinct)
        if "null" in node.types:
            values.append(None)
        schema["enum"] = values


def infer_schema(
    events: Iterable[Any],
    *,
    enums: bool = False,
    max_enum: int = 10,
    title: str | None = None,
) -> dict[str, Any]:
    """A draft 2020-12 schema describing every sample in ``events`` (see the module doc)."""
    if max_enum < 1:
        raise InputError(f"max_enum must be at least 1, not {max_enum}")
    root = _Node()
    count = 0
    for event in events:
        _observe(root, event, max_enum)
        count += 1
    if count == 0:
        raise InputError("no events to infer a schema from")
    body = _emit(root, enums=enums, max_enum=max_enum)
    schema: dict[str, Any] = {"$schema": DIALECT}
    if title:
        schema["title"] = title
    schema["description"] = f"Inferred by evolvekit from {count} sample event(s)."
    schema.update(body)
    return schema
