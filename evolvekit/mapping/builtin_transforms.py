"""The built-in transforms (each registered with a one-line description for the workbench).

Conversions (str, int, float, bool), strings (lower, upper, strip, split, join, replace,
regex), lookup (map), time (timestamp), numbers (scale) and pseudonymisation (hash).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import math
import os
import re
from datetime import UTC, datetime, timedelta
from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    Decimal,
    InvalidOperation,
)
from typing import Any, Final

import orjson

from evolvekit.jsonio import json_type
from evolvekit.mapping.transform_types import Transform, TransformFailure, transform_decorator
from evolvekit.mapping.transform_types import expect_string as _expect_string
from evolvekit.mapping.transform_types import show_value as _show
from evolvekit.safe_regex import SafePattern, UnsupportedPattern, compile_pattern
from evolvekit.sentinel import MISSING

# Every built-in transform, in definition order; mapping/transforms.py registers them.
BUILTIN_TRANSFORMS: list[Transform] = []


_builtin = functools.partial(transform_decorator, add=BUILTIN_TRANSFORMS.append)


# --- conversions -----------------------------------------------------------------------


def _scalar_text(name: str, value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if value is None:
        raise TransformFailure(f"{name}: cannot convert null to a string")
    if isinstance(value, list | dict):
        return orjson.dumps(value).decode()
    raise TransformFailure(f"{name}: cannot convert {_show(value)} to a string")


@_builtin(
    "str",
    description="Convert to a string (true/false for booleans, JSON text for objects)",
    output_type="string",
)
def _to_str(value: Any) -> str:
    return _scalar_text("str", value)


# How ``int {rounding: ...}`` turns a number with a fraction into an integer.
ROUNDINGS: Final = {
    "down": ROUND_DOWN,  # toward zero: 431.5 -> 431, -2.5 -> -2 (truncation)
    "floor": ROUND_FLOOR,
    "ceiling": ROUND_CEILING,
    "half_up": ROUND_HALF_UP,  # 2.5 -> 3, -2.5 -> -3
    "half_even": ROUND_HALF_EVEN,  # 2.5 -> 2, 3.5 -> 4 (banker's rounding)
}


def _prepare_int(params: dict[str, Any]) -> dict[str, Any]:
    rounding = params.get("rounding")
    if rounding is not None and rounding not in ROUNDINGS:
        raise TransformFailure(
            f"'rounding' must be one of {', '.join(ROUNDINGS)}, not {rounding!r} "
            "(omit it to refuse numbers with a fraction)"
        )
    return params


def _exact_number(value: Any) -> Decimal | None:
    """A finite int/float/numeric string as a Decimal (exact: 0.1 stays 0.1), else None."""
    try:
        number = Decimal(value.strip() if isinstance(value, str) else repr(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


@_builtin(
    "int",
    description='Convert to an integer: integral numbers and digit strings such as "245" '
    "('rounding': down, floor, ceiling, half_up or half_even for fractions)",
    input_types={"integer", "number", "string", "boolean"},
    output_type="integer",
    prepare=_prepare_int,
)
def _to_int(value: Any, rounding: str | None = None) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip(), 10)
        except ValueError:
            pass
    number = _exact_number(value) if isinstance(value, float | str) else None
    if number is None:
        raise TransformFailure(f"int: cannot convert {_show(value)} to an integer")
    if number == number.to_integral_value():
        return int(number)
    if rounding is None:
        raise TransformFailure(
            f"int: {_show(value)} is not a whole number (give 'rounding', e.g. down or half_up)"
        )
    return int(number.to_integral_value(rounding=ROUNDINGS[rounding]))


@_builtin(
    "float",
    description='Convert to a number: integers and numeric strings such as "2.5"',
    input_types={"integer", "number", "string"},
    output_type="number",
)
def _to_float(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        result = float(value)
    elif isinstance(value, str):
        try:
            result = float(value.strip())
        except ValueError:
            raise TransformFailure(f"float: cannot convert {_show(value)} to a number") from None
    else:
        raise TransformFailure(f"float: cannot convert {_show(value)} to a number")
    if not math.isfinite(result):
        raise TransformFailure(f"float: {_show(value)} is not a finite number (JSON has no NaN)")
    return result


_TRUE: Final = frozenset({"true", "1"})
_FALSE: Final = frozenset({"false", "0"})


@_builtin(
    "bool",
    description='Convert to a boolean: true/false in any case (CXone\'s "True"), "1"/"0", 1/0',
    input_types={"boolean", "string", "integer"},
    output_type="boolean",
)
def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise TransformFailure(
        f"bool: cannot convert {_show(value)} to a boolean (accepted: true/false, 1/0)"
    )


# --- strings ----------------------------------------------------------------------------


@_builtin(
    "lower", description="Lower-case a string", input_types={"string"}, output_type="string"
)
def _lower(value: Any) -> str:
    return _expect_string("lower", value).lower()


@_builtin(
    "upper", description="Upper-case a string", input_types={"string"}, output_type="string"
)
def _upper(value: Any) -> str:
    return _expect_string("upper", value).upper()


@_builtin(
    "strip",
    description="Remove leading and trailing white space",
    input_types={"string"},
    output_type="string",
)
def _strip(value: Any) -> str:
    return _expect_string("strip", value).strip()


def _prepare_split(params: dict[str, Any]) -> dict[str, Any]:
    sep = params.get("sep")
    if sep is not None and (not isinstance(sep, str) or not sep):
        raise TransformFailure("'sep' must be a non-empty string (omit it to split on white space)")
    index = params.get("index")
    if index is not None and (isinstance(index, bool) or not isinstance(index, int)):
        raise TransformFailure("'index' must be an integer (negative counts from the end)")
    return params


@_builtin(
    "split",
    description="Split a string on 'sep' (white space if omitted); 'index' picks one part",
    input_types={"string"},
    prepare=_prepare_split,
)
def _split(value: Any, sep: str | None = None, index: int | None = None) -> Any:
    parts = _expect_string("split", value).split(sep)
    if index is None:
        return parts
    try:
        return parts[index]
    except IndexError:
        raise TransformFailure(
            f"split: {_show(value)} has {len(parts)} part(s), no index {index}"
        ) from None


def _prepare_join(params: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(params.get("sep", ""), str):
        raise TransformFailure("'sep' must be a string")
    return params


@_builtin(
    "join",
    description="Join a list (e.g. from: [firstName, lastName]) into one string with 'sep'",
    input_types={"array"},
    output_type="string",
    prepare=_prepare_join,
)
def _join(value: Any, sep: str = "") -> str:
    if not isinstance(value, list):
        raise TransformFailure(f"join: expected a list, got {json_type(value)} {_show(value)}")
    return sep.join(_scalar_text("join", item) for item in value)


def _prepare_replace(params: dict[str, Any]) -> dict[str, Any]:
    for key in ("old", "new"):
        if not isinstance(params[key], str):
            raise TransformFailure(f"{key!r} must be a string")
    if not params["old"]:
        raise TransformFailure("'old' must not be empty")
    return params


@_builtin(
    "replace",
    description="Replace every occurrence of 'old' with 'new' in a string",
    input_types={"string"},
    output_type="string",
    prepare=_prepare_replace,
)
def _replace(value: Any, old: str, new: str) -> str:
    return _expect_string("replace", value).replace(old, new)


def _prepare_regex(params: dict[str, Any]) -> dict[str, Any]:
    pattern = params["pattern"]
    if not isinstance(pattern, str):
        raise TransformFailure("'pattern' must be a string")
    try:
        compiled = compile_pattern(pattern)
    except UnsupportedPattern as exc:
        raise TransformFailure(f"bad pattern {pattern!r}: {exc}") from None
    group = params.get("group", 0)
    if isinstance(group, bool) or not isinstance(group, int | str):
        raise TransformFailure("'group' must be a group number or name")
    if isinstance(group, int) and not 0 <= group <= compiled.groups:
        raise TransformFailure(f"pattern has {compiled.groups} group(s), no group {group}")
    if isinstance(group, str) and group not in compiled.groupindex:
        raise TransformFailure(f"pattern has no group named {group!r}")
    return {"pattern": compiled, "group": group}


@_builtin(
    "regex",
    description="Extract the first match of 'pattern' (its 'group', default the whole match)",
    input_types={"string"},
    output_type="string",
    prepare=_prepare_regex,
)
def _regex(value: Any, pattern: str | SafePattern, group: int | str = 0) -> str:
    compiled = pattern if isinstance(pattern, SafePattern) else compile_pattern(pattern)
    match = compiled.search(_expect_string("regex", value))
    if match is None:
        raise TransformFailure(f"regex: {_show(value)} does not match {compiled.pattern!r}")
    found = match.group(group)
    if found is None:
        raise TransformFailure(f"regex: group {group!r} did not take part in the match")
    return found


def _prepare_map(params: dict[str, Any]) -> dict[str, Any]:
    table = params["table"]
    if not isinstance(table, dict):
        raise TransformFailure("'table' must be a mapping of old value -> new value")
    # JSON keys are text; a YAML key written as 1 or true is looked up as "1" / "true".
    params["table"] = {
        (key if isinstance(key, str) else "null" if key is None else _scalar_text("map", key)): v
        for key, v in table.items()
    }
    return params


@_builtin(
    "map",
    description="Look the value up in 'table'; 'default' for values not in it (else an error)",
    prepare=_prepare_map,
)
def _map(value: Any, table: dict[str, Any], default: Any = MISSING) -> Any:
    # Table keys are strings in YAML/JSON, so scalars are also looked up by their text.
    if isinstance(value, str | int | float | bool) or value is None:
        if isinstance(value, str) and value in table:
            return table[value]
        if not isinstance(value, str) and value is not None:
            text = _scalar_text("map", value)
            if text in table:
                return table[text]
        if value is None and "null" in table:
            return table["null"]
    if default is not MISSING:
        return default
    known = ", ".join(map(repr, list(table)[:10]))
    raise TransformFailure(f"map: {_show(value)} is not in the table (keys: {known})")


# --- time and numbers -------------------------------------------------------------------

TIME_FORMATS: Final = ("iso8601", "epoch_s", "epoch_ms")
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def _prepare_timestamp(params: dict[str, Any]) -> dict[str, Any]:
    for key in ("input", "output"):
        if params[key] not in TIME_FORMATS:
            raise TransformFailure(
                f"{key!r} must be one of {', '.join(TIME_FORMATS)}, not {params[key]!r}"
            )
    return params


def _read_time(value: Any, fmt: str) -> datetime:
    if fmt == "iso8601":
        text = _expect_string("timestamp", value).strip()
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise TransformFailure(
                f"timestamp: {_show(value)} is not an ISO 8601 time (e.g. 2024-01-15T10:30:00Z)"
            ) from None
        # A time without an offset is taken as UTC, the convention of CXone's payloads.
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    number: int | float | Decimal
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TransformFailure(f"timestamp: expected an epoch number, got {_show(value)}")
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise TransformFailure(f"timestamp: {_show(value)} is not an epoch number") from None
    else:
        number = value
    try:
        if fmt == "epoch_s":
            return _EPOCH + timedelta(seconds=float(number))
        return _EPOCH + timedelta(milliseconds=float(number))
    except (OverflowError, ValueError):
        raise TransformFailure(f"timestamp: {_show(value)} is out of range") from None


def _write_time(moment: datetime, fmt: str) -> Any:
    if fmt == "iso8601":
        micro = moment.microsecond
        base = moment.strftime("%Y-%m-%dT%H:%M:%S")
        if micro == 0:
            return base + "Z"
        if micro % 1000 == 0:
            return f"{base}.{micro // 1000:03d}Z"
        return f"{base}.{micro:06d}Z"
    delta = moment - _EPOCH
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    unit = 1_000_000 if fmt == "epoch_s" else 1_000
    whole, rest = divmod(micros, unit)
    return whole if rest == 0 else micros / unit


@_builtin(
    "timestamp",
    description="Convert a time between 'input' and 'output' formats: iso8601, epoch_s, epoch_ms",
    input_types={"string", "integer", "number"},
    prepare=_prepare_timestamp,
)
def _timestamp(value: Any, input: str, output: str) -> Any:
    return _write_time(_read_time(value, input), output)


def _prepare_scale(params: dict[str, Any]) -> dict[str, Any]:
    factor = params["factor"]
    if isinstance(factor, bool) or not isinstance(factor, int | float) or not math.isfinite(factor):
        raise TransformFailure("'factor' must be a finite number (e.g. 1000 or 0.001)")
    return params


@_builtin(
    "scale",
    description="Multiply a number by 'factor' (e.g. 1000: s -> ms, 0.001: ms -> s)",
    input_types={"integer", "number"},
    output_type="number",
    prepare=_prepare_scale,
)
def _scale(value: Any, factor: int | float) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TransformFailure(f"scale: expected a number, got {json_type(value)} {_show(value)}")
    if isinstance(value, float):
        return value * factor
    if isinstance(factor, int):
        return value * factor
    # Decimal arithmetic keeps 245000 * 0.001 == 245 exactly, so integers stay integers.
    product = Decimal(value) * Decimal(repr(factor))
    if product == product.to_integral_value():
        return int(product)
    return float(product)


_HASH_ALGORITHMS: Final = frozenset(
    a for a in hashlib.algorithms_guaranteed if not a.startswith("shake_")
)


class _Salt:
    """The salt, read from the environment on first use (never from the rule file)."""

    def __init__(self, variable: str) -> None:
        self.variable = variable
        self._value: bytes | None = None

    def get(self) -> bytes:
        if self._value is None:
            text = os.environ.get(self.variable)
            if not text:
                raise TransformFailure(
                    f"hash: environment variable {self.variable} is not set or empty "
                    "(it holds the salt; set it before mapping)"
                )
            self._value = text.encode()
        return self._value

    def __repr__(self) -> str:  # never shows the salt itself
        return f"<salt from ${self.variable}>"


def _prepare_hash(params: dict[str, Any]) -> dict[str, Any]:
    algorithm = params.get("algorithm", "sha256")
    if algorithm not in _HASH_ALGORITHMS:
        raise TransformFailure(
            f"'algorithm' must be one of {', '.join(sorted(_HASH_ALGORITHMS))}, not {algorithm!r}"
        )
    variable = params["salt_env"]
    if not isinstance(variable, str) or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", variable):
        raise TransformFailure("'salt_env' must name an environment variable (e.g. EK_SALT)")
    return {"algorithm": algorithm, "salt_env": _Salt(variable)}


@_builtin(
    "hash",
    description="Pseudonymise: keyed hex digest (HMAC) with a salt read from env var 'salt_env'",
    input_types={"string", "integer", "number", "boolean"},
    output_type="string",
    prepare=_prepare_hash,
)
def _hash(value: Any, salt_env: str | _Salt, algorithm: str = "sha256") -> str:
    salt = salt_env if isinstance(salt_env, _Salt) else _Salt(salt_env)
    data = _scalar_text("hash", value).encode()
    return hmac.new(salt.get(), data, algorithm).hexdigest()
