"""The diff vocabulary: Change, SchemaDiff and the kind catalogue, on their own."""

from __future__ import annotations

import pytest

from evolvekit.schema.changes import (
    KINDS,
    MISSING,
    Change,
    RenameHint,
    SchemaDiff,
    check_mode,
    is_compatible_kind,
    mirror_kind,
)

BACKWARD = Change("type_changed", "#/properties/a", "string", "integer", frozenset({"backward"}))
FORWARD = Change("maximum_increased", "#/maximum", 5, 9, frozenset({"forward"}))
NEUTRAL = Change("title_changed", "#/title", "a", "b")


def test_check_mode() -> None:
    assert [check_mode(m) for m in ("backward", "forward", "full")] == [
        "backward", "forward", "full"]  # fmt: skip
    assert check_mode("full_transitive") == "full"
    with pytest.raises(ValueError, match=r"^unknown compatibility mode 'sideways'; expected one "
                                         r"of backward, forward, full$"):  # fmt: skip
        check_mode("sideways")


def test_severity_defaults_to_backward() -> None:
    assert (BACKWARD.severity(), FORWARD.severity(), NEUTRAL.severity()) == (
        "breaking", "caution", "info")  # fmt: skip
    assert (BACKWARD.severity("forward"), FORWARD.severity("forward")) == ("caution", "breaking")
    assert FORWARD.severity("full") == "breaking"


def test_change_to_dict_leaves_out_what_is_absent() -> None:
    # every change carries its one-sentence explanation; old/new only when present
    backward = BACKWARD.to_dict()
    assert backward.pop("explanation").startswith('a type changed from "string" to "integer"')
    assert backward == {
        "kind": "type_changed", "path": "#/properties/a", "old": "string", "new": "integer",
        "breaks": ["backward"], "severity": "breaking",
    }  # fmt: skip
    added = Change("property_added", "#/properties/b", MISSING, {"type": "string"},
                   frozenset({"forward", "backward"})).to_dict("forward")  # fmt: skip
    assert added.pop("explanation").startswith("b property added:")
    assert added == {
        "kind": "property_added", "path": "#/properties/b", "new": {"type": "string"},
        "breaks": ["backward", "forward"], "severity": "breaking",
    }  # fmt: skip
    assert (NEUTRAL.to_dict()["old"], NEUTRAL.to_dict()["new"]) == ("a", "b")
    bare = Change("x", "#").to_dict()
    assert isinstance(bare.pop("explanation"), str)
    assert bare == {"kind": "x", "path": "#", "breaks": [], "severity": "info"}
    assert str(BACKWARD) == "type_changed #/properties/a"


def test_schema_diff_verdicts_default_to_backward() -> None:
    diff = SchemaDiff([FORWARD, NEUTRAL], [RenameHint("#/a", "#/b", 0.8)])
    assert diff.breaking() == [] and diff.compatible() is True
    assert diff.breaking("forward") == [FORWARD] and diff.compatible("forward") is False
    assert (diff.backward, diff.forward, bool(diff)) == (True, False, True)
    assert bool(SchemaDiff([])) is False
    assert diff.to_dict()["mode"] == "backward" and diff.to_dict()["compatible"] is True
    assert diff.to_dict("full")["compatible"] is False


def test_the_catalogue() -> None:
    assert KINDS["additional_properties_added"] == "compatible"
    assert KINDS["additional_properties_removed"] == "compatible_lenient_only"
    assert KINDS["type_changed"] == "incompatible"
    assert is_compatible_kind("additional_properties_removed") is False  # strict by default
    assert is_compatible_kind("additional_properties_removed", "lenient") is True
    assert is_compatible_kind("title_changed") is True
    assert is_compatible_kind("type_changed", "lenient") is False
    assert mirror_kind("pattern_changed") == "pattern_changed"
    assert mirror_kind("additional_properties_added") == "additional_properties_removed"
    assert mirror_kind("no_such_kind_added") is None
