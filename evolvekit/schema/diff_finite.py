"""Schemas that list their values (``enum`` / ``const``): compared by validating the values.

A schema object holding ``enum`` or ``const`` accepts a finite set of instances: the listed
values that also satisfy its other keywords. Whether another schema accepts all of them is
decided exactly by validating each value, which settles cases the structural rules cannot
(``{"type": "number", "enum": [1]}`` against ``{"enum": [0, 1], "minimum": 1}``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import jsonschema_rs

from evolvekit.schema.diff_values import contains_ref

if TYPE_CHECKING:  # pragma: no cover
    from evolvekit.schema.diff_shapes import Shape

# Beyond this many listed values the structural verdict is kept (validation would be slow).
MAX_VALUES: Final = 1_000


def enumerated(shape: Shape) -> list[Any] | None:
    """The listed values of a schema object with ``enum``/``const``, else None."""
    raw = shape.raw
    if not isinstance(raw, dict) or shape.part:
        return None
    if "const" in raw:
        return [raw["const"]]
    values = raw.get("enum")
    if isinstance(values, list) and len(values) <= MAX_VALUES:
        return values
    return None


def _validator(shape: Shape) -> Any:
    """A jsonschema-rs validator for the shape's own schema (its patterns match in linear
    time), or None when it cannot be built on its own."""
    raw = shape.raw
    if not isinstance(raw, dict | bool) or (isinstance(raw, dict) and contains_ref(raw)):
        return None  # refs need the whole document: leave it to the structural walk
    cls = (
        jsonschema_rs.Draft4Validator
        if shape.ctx.draft4 and not isinstance(raw, bool)
        else (
            jsonschema_rs.Draft7Validator
            if shape.ctx.legacy_ref
            else jsonschema_rs.Draft202012Validator
        )
    )
    try:
        return cls(raw, validate_formats=False)
    except (jsonschema_rs.ValidationError, jsonschema_rs.ReferencingError, ValueError):
        return None


def accepted(shape: Shape, value: Any) -> bool:
    """Whether ``shape``'s own schema accepts ``value`` (True when undecidable)."""
    validator = _validator(shape)
    if validator is None:
        return True
    try:
        return bool(validator.is_valid(value))
    except (RecursionError, ValueError):
        return True


def accepts_all(shape: Shape, values: list[Any]) -> bool | None:
    """Whether ``shape`` accepts every value; None when that cannot be decided offline."""
    validator = _validator(shape)
    if validator is None:
        return None
    try:
        return all(validator.is_valid(v) for v in values)
    except (RecursionError, ValueError):
        return None
