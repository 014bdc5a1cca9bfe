"""JSON in and out, fast (orjson), with errors that say where."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

import orjson

from evolvekit.errors import InputError

JSON_TYPES: frozenset[str] = frozenset(
    {"null", "boolean", "integer", "number", "string", "array", "object"}
)


def json_type(value: Any) -> str:
    """The JSON Schema type name of a parsed JSON value (``"integer"`` for ints, never bools)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, dict):
        return "object"
    return f"non-JSON {type(value).__name__}"


def loads(data: bytes | str, *, source: str | None = None, line: int | None = None) -> Any:
    """Parse JSON; a syntax error becomes an InputError naming the source and line."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc}", file=source, line=line) from None


def dumps(value: Any, *, indent: bool = False, sort_keys: bool = False) -> bytes:
    """Serialise to UTF-8 JSON bytes."""
    option = 0
    if indent:
        option |= orjson.OPT_INDENT_2
    if sort_keys:
        option |= orjson.OPT_SORT_KEYS
    try:
        return orjson.dumps(value, option=option)
    except TypeError as exc:
        raise InputError(f"value is not JSON-serialisable: {exc}") from None


def dumps_str(value: Any, *, indent: bool = False, sort_keys: bool = False) -> str:
    return dumps(value, indent=indent, sort_keys=sort_keys).decode()


def iter_jsonl(stream: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    """Yield ``(line_number, raw_line)`` for each non-blank line of a binary stream."""
    for number, raw in enumerate(stream, start=1):
        stripped = raw.strip()
        if stripped:
            yield number, stripped
