"""JSON value helpers for the diff: equality and set keys with JSON's meaning, not Python's.

In Python ``True == 1`` and ``1 == 1.0``; in JSON Schema ``true`` and ``1`` differ while ``1``
and ``1.0`` are the same number. Enum sets, defaults and duplicate branches use these helpers.
"""

from __future__ import annotations

import json
from fractions import Fraction
from typing import Any

import orjson


def _normal(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() and abs(value) < 2**63 else value
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normal(v) for v in value]
    return value


def canonical(value: Any) -> bytes:
    """A key equal for JSON-equal values (object key order and 1 vs 1.0 do not matter)."""
    normal = _normal(value)
    try:
        return orjson.dumps(normal, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        # orjson stops at 255 levels of nesting; the standard library goes deeper.
        try:
            return json.dumps(normal, sort_keys=True, separators=(",", ":")).encode()
        except (TypeError, ValueError):
            return repr(value).encode()


def same_json(a: Any, b: Any) -> bool:
    """Fast exact sameness for the diff's shortcut: equal AND encoded alike.

    Python's ``==`` alone would take ``true`` for ``1``; the encoding tells them apart. It
    may also tell ``1`` from ``1.0``, which only costs a full comparison, never a wrong answer.
    """
    if a is b:
        return True
    if a != b:
        return False
    try:
        return bool(orjson.dumps(a, option=orjson.OPT_SORT_KEYS)
                    == orjson.dumps(b, option=orjson.OPT_SORT_KEYS))  # fmt: skip
    except TypeError:
        return canonical(a) == canonical(b)


def contains_ref(value: Any) -> bool:
    """Whether a JSON document has a ``"$ref"`` key anywhere."""
    try:
        # Fast path: a "$ref" key always appears as this byte string in the encoding (a
        # string VALUE "$ref" may too, which only disables the diff's shortcut).
        return b'"$ref"' in orjson.dumps(value)
    except TypeError:
        pass  # deeper than orjson's 255 levels: walk it
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "$ref" in node:
                return True
            stack.extend(v for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, dict | list))
    return False


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality: ``true != 1``, ``1 == 1.0``, objects compared regardless of key order."""
    if a is b:
        return True
    if type(a) is type(b) and isinstance(a, str | bool):
        return bool(a == b)
    return canonical(a) == canonical(b)


def as_number(value: Any) -> float | None:
    """A numeric keyword's value, or None when absent or not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


def as_fraction(value: float) -> Fraction:
    """Exact value of a JSON number as written (0.1 stays one tenth)."""
    return Fraction(str(value))


def escape(token: str) -> str:
    """One JSON-pointer token (RFC 6901)."""
    return token.replace("~", "~0").replace("/", "~1")


# --- numeric bounds ---------------------------------------------------------------------


def lower_bound(raw: dict[str, Any]) -> tuple[float, bool] | None:
    """The effective lower bound (value, exclusive) of minimum / exclusiveMinimum."""
    _, _, minimum, exmin = limits(raw)
    bounds = [(v, e) for v, e in ((as_number(minimum), False), (as_number(exmin), True))
              if v is not None]  # fmt: skip
    return max(bounds, key=lambda b: (b[0], b[1])) if bounds else None


def upper_bound(raw: dict[str, Any]) -> tuple[float, bool] | None:
    maximum, exmax, _, _ = limits(raw)
    bounds = [(v, e) for v, e in ((as_number(maximum), False), (as_number(exmax), True))
              if v is not None]  # fmt: skip
    return min(bounds, key=lambda b: (b[0], not b[1])) if bounds else None


def lower_kept(old: tuple[float, bool] | None, new: tuple[float, bool] | None) -> bool:
    """Every number above ``old`` is above ``new`` too (the lower bound did not tighten)."""
    if new is None:
        return True
    if old is None:
        return False
    return new[0] < old[0] or (new[0] == old[0] and (old[1] or not new[1]))


def upper_kept(old: tuple[float, bool] | None, new: tuple[float, bool] | None) -> bool:
    if new is None:
        return True
    if old is None:
        return False
    return new[0] > old[0] or (new[0] == old[0] and (old[1] or not new[1]))


def limits(raw: dict[str, Any]) -> tuple[Any, Any, Any, Any]:
    """(maximum, exclusiveMaximum, minimum, exclusiveMinimum), draft-04 booleans folded in."""
    maximum, exmax = raw.get("maximum"), raw.get("exclusiveMaximum")
    minimum, exmin = raw.get("minimum"), raw.get("exclusiveMinimum")
    if isinstance(exmax, bool):
        maximum, exmax = (None, maximum) if exmax else (maximum, None)
    if isinstance(exmin, bool):
        minimum, exmin = (None, minimum) if exmin else (minimum, None)
    return maximum, exmax, minimum, exmin
