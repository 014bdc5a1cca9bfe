"""diff_finite: schemas that list their values, decided by validating those values."""

from __future__ import annotations

from typing import Any

import pytest

from evolvekit.schema.diff import diff_schemas
from evolvekit.schema.diff_finite import MAX_VALUES, accepted, accepts_all, enumerated
from evolvekit.schema.diff_shapes import Ctx, Shape

MODERN = Ctx(None, None)  # draft 2020-12
DRAFT7 = Ctx(None, None, legacy_ref=True)
DRAFT4 = Ctx(None, None, draft4=True, legacy_ref=True)


def shape(raw: Any, ctx: Ctx = MODERN, *, part: bool = False) -> Shape:
    return Shape("any", raw, ctx, part=part)


# --- enumerated -------------------------------------------------------------------------


def test_enumerated_const_and_enum() -> None:
    assert enumerated(shape({"const": [1, 2]})) == [[1, 2]]
    assert enumerated(shape({"const": None})) == [None]
    assert enumerated(shape({"enum": ["a", "b"]})) == ["a", "b"]
    assert enumerated(shape({"type": "string"})) is None
    assert enumerated(shape({"enum": "a"})) is None
    assert enumerated(shape(True)) is None


def test_enumerated_ignores_parts_of_a_conjunction() -> None:
    assert enumerated(shape({"enum": [1]}, part=True)) is None


def test_enumerated_keeps_up_to_max_values() -> None:
    at_limit = list(range(MAX_VALUES))
    assert enumerated(shape({"enum": at_limit})) == at_limit
    assert enumerated(shape({"enum": [*at_limit, MAX_VALUES]})) is None


# --- accepted / accepts_all -------------------------------------------------------------


def test_accepts_all_validates_every_value() -> None:
    new = shape({"type": "integer", "minimum": 1})
    assert accepts_all(new, [1, 2, 3]) is True
    assert accepts_all(new, [1, 0]) is False
    assert accepted(new, 2) is True
    assert accepted(new, 0) is False


def test_boolean_schemas() -> None:
    assert accepts_all(shape(True), [1, "x"]) is True
    assert accepts_all(shape(False), [1]) is False
    assert accepts_all(shape(False, DRAFT4), [1]) is False
    assert accepted(shape(False, DRAFT4), 1) is False


def test_a_ref_is_left_to_the_structural_walk() -> None:
    # The validator could resolve this local ref, but refs are left undecided on purpose.
    raw = {"$defs": {"s": {"type": "string"}}, "$ref": "#/$defs/s"}
    assert accepts_all(shape(raw), [1]) is None
    assert accepted(shape(raw), 1) is True  # undecidable counts as accepted


def test_an_invalid_schema_is_undecided() -> None:
    raw = {"type": 5}
    assert accepts_all(shape(raw), [1]) is None
    assert accepted(shape(raw), 1) is True


def test_draft4_uses_the_draft4_validator() -> None:
    # boolean exclusiveMaximum is draft-04 only; later drafts reject the schema
    raw = {"maximum": 5, "exclusiveMaximum": True}
    assert accepts_all(shape(raw, DRAFT4), [4]) is True
    assert accepts_all(shape(raw, DRAFT4), [5]) is False
    assert accepted(shape(raw, DRAFT4), 5) is False
    assert accepts_all(shape(raw, DRAFT7), [5]) is None
    assert accepts_all(shape(raw, MODERN), [5]) is None


def test_legacy_ref_drafts_use_the_draft7_validator() -> None:
    # an array "items" is a tuple in draft 7 and an invalid schema in 2020-12
    raw = {"items": [{"type": "string"}]}
    assert accepts_all(shape(raw, DRAFT7), [["a"]]) is True
    assert accepts_all(shape(raw, DRAFT7), [[1]]) is False
    assert accepts_all(shape(raw, MODERN), [[1]]) is None


@pytest.mark.parametrize("ctx", [MODERN, DRAFT7, DRAFT4])
def test_formats_are_not_validated(ctx: Ctx) -> None:
    raw = {"type": "string", "format": "email"}
    assert accepts_all(shape(raw, ctx), ["not an email"]) is True
    assert accepted(shape(raw, ctx), "not an email") is True


def test_a_value_the_validator_cannot_take_is_undecided() -> None:
    new = shape({"type": "string"})
    assert accepted(new, {1, 2}) is True
    assert accepts_all(new, ["a", {1, 2}]) is None


# --- through diff_schemas ---------------------------------------------------------------


def test_enum_against_a_narrower_minimum_is_decided_by_the_values() -> None:
    old = {"type": "number", "enum": [1]}
    new = {"enum": [0, 1], "minimum": 1}
    assert diff_schemas(old, new).backward is True
    assert diff_schemas(old, {"enum": [0, 1], "minimum": 2}).backward is False


def test_an_enum_value_dropped_by_a_new_type_breaks() -> None:
    old = {"enum": ["a", 1]}
    result = diff_schemas(old, {"type": "string"})
    assert result.backward is False
    broken = result.breaking("backward")
    assert broken
    assert all(c.path.startswith("#") for c in broken)
    assert diff_schemas(old, {"type": ["string", "integer"]}).backward is True
