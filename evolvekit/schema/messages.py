"""Error messages for jsonschema-rs validation errors, worded as Python ``jsonschema`` words them.

jsonschema-rs decides validity and reports each problem (instance path, schema path, kind);
this module turns one of its errors into the ``(keyword, message)`` pair evolvekit shows, so
messages read the same as they always have (``'1' is not of type 'integer'``, Python reprs)
while the regex matching behind them stays in jsonschema-rs (linear time, ECMA-262).
An error kind without a wording here keeps jsonschema-rs's own message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Words = Callable[[Any, dict[str, Any]], str]


def _extras(names: list[Any]) -> str:
    verb = "was" if len(names) == 1 else "were"
    return f"{', '.join(repr(name) for name in names)} {verb} unexpected"


def _size(kind: str, instance: Any, limit: Any) -> str:
    """minLength/maxLength/minItems/maxItems/minProperties/maxProperties, as jsonschema says."""
    if kind.startswith("Min"):
        if limit == 1:
            return f"{instance!r} should be non-empty"
        short = "does not have enough properties" if kind == "MinProperties" else "is too short"
        return f"{instance!r} {short}"
    if limit == 0:
        return f"{instance!r} is expected to be empty"
    long = "has too many properties" if kind == "MaxProperties" else "is too long"
    return f"{instance!r} {long}"


_WORDS: dict[str, Words] = {
    "Type": lambda i, k: f"{i!r} is not of type {', '.join(repr(t) for t in k['types'])}",
    "Enum": lambda i, k: f"{i!r} is not one of {k['options']!r}",
    "Constant": lambda i, k: f"{k['expected_value']!r} was expected",
    "Required": lambda i, k: f"{k['property']!r} is a required property",
    "Pattern": lambda i, k: f"{i!r} does not match {k['pattern']!r}",
    "Minimum": lambda i, k: f"{i!r} is less than the minimum of {k['limit']!r}",
    "Maximum": lambda i, k: f"{i!r} is greater than the maximum of {k['limit']!r}",
    "ExclusiveMinimum": lambda i, k: (
        f"{i!r} is less than or equal to the minimum of {k['limit']!r}"
    ),
    "ExclusiveMaximum": lambda i, k: (
        f"{i!r} is greater than or equal to the maximum of {k['limit']!r}"
    ),
    "MultipleOf": lambda i, k: f"{i!r} is not a multiple of {k['multiple_of']!r}",
    "UniqueItems": lambda i, k: f"{i!r} has non-unique elements",
    "AnyOf": lambda i, k: f"{i!r} is not valid under any of the given schemas",
    "OneOfNotValid": lambda i, k: f"{i!r} is not valid under any of the given schemas",
    "OneOfMultipleValid": lambda i, k: f"{i!r} is valid under more than one of the given schemas",
    "Not": lambda i, k: f"{i!r} should not be valid under {k['schema']!r}",
    "FalseSchema": lambda i, k: f"False schema does not allow {i!r}",
    "AdditionalProperties": lambda i, k: (
        f"Additional properties are not allowed ({_extras(sorted(k['unexpected'], key=str))})"
    ),
    "UnevaluatedProperties": lambda i, k: (
        f"Unevaluated properties are not allowed ({_extras(sorted(k['unexpected'], key=str))})"
    ),
    "Contains": lambda i, k: f"{i!r} does not contain items matching the given schema",
}
_SIZES = ("MinLength", "MaxLength", "MinItems", "MaxItems", "MinProperties", "MaxProperties")


def keyword_of(error: Any) -> str:
    """The schema keyword that failed (``false`` for a false schema)."""
    kind = type(error.kind).__name__
    if kind == "FalseSchema":
        return "false"
    words = [part for part in error.schema_path if isinstance(part, str)]
    return words[-1] if words else kind


def message_of(error: Any) -> str:
    """jsonschema's wording for one jsonschema-rs error (its own message for other kinds)."""
    kind = type(error.kind).__name__
    words = _WORDS.get(kind)
    try:
        if words is not None:
            return words(error.instance, error.kind.as_dict())
        if kind in _SIZES:
            return _size(kind, error.instance, error.kind.as_dict()["limit"])
    except (KeyError, TypeError, AttributeError):
        pass  # a kind whose fields changed: its own message still says what is wrong
    return str(error.message)
