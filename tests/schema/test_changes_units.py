"""changes, unit by unit (written to kill mutants): Change, RenameHint, SchemaDiff verdicts
and the kind catalogue."""

from __future__ import annotations

import copy
import pickle

import pytest

from evolvekit.schema.changes import (
    COMPATIBLE,
    CONFLUENT_KINDS,
    INCOMPATIBLE,
    KINDS,
    LENIENT_ONLY,
    MISSING,
    OWN_KINDS,
    Change,
    RenameHint,
    SchemaDiff,
    _parse_table,
    check_mode,
    is_compatible_kind,
    mirror_kind,
)

BACK = frozenset({"backward"})
FWD = frozenset({"forward"})
BOTH = frozenset({"backward", "forward"})


# --- MISSING ----------------------------------------------------------------------------


def test_missing_is_a_falsy_singleton() -> None:
    assert type(MISSING)() is MISSING
    assert repr(MISSING) == "MISSING"
    assert bool(MISSING) is False
    assert pickle.loads(pickle.dumps(MISSING)) is MISSING
    assert copy.deepcopy(MISSING) is MISSING


# --- modes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "base"),
    [("backward", "backward"), ("forward_transitive", "forward"), ("full", "full"),
     ("full_transitive", "full")],
)  # fmt: skip
def test_check_mode(mode: str, base: str) -> None:
    assert check_mode(mode) == base


def test_check_mode_rejects_unknown_modes() -> None:
    with pytest.raises(ValueError) as err:
        check_mode("sideways")
    assert str(err.value) == (
        "unknown compatibility mode 'sideways'; expected one of backward, forward, full"
    )


# --- Change -----------------------------------------------------------------------------


def test_change_severity_by_mode() -> None:
    back = Change("max_length_decreased", "#/maxLength", 5, 3, BACK)
    assert back.severity() == "breaking"
    assert back.severity("backward") == "breaking"
    assert back.severity("forward") == "caution"
    assert back.severity("full") == "breaking"
    fwd = Change("max_length_increased", "#/maxLength", 3, 5, FWD)
    assert fwd.severity() == "caution"
    assert fwd.severity("forward") == "breaking"
    info = Change("title_changed", "#/title", "a", "b")
    assert info.severity("full") == "info"
    with pytest.raises(ValueError):
        info.severity("nope")


def test_change_to_dict_leaves_out_absent_values() -> None:
    change = Change("max_length_added", "#/maxLength", MISSING, 3, BOTH)
    out = change.to_dict()
    assert list(out) == ["kind", "path", "new", "breaks", "severity", "explanation"]
    assert out["kind"] == "max_length_added"
    assert out["path"] == "#/maxLength"
    assert out["new"] == 3
    assert out["breaks"] == ["backward", "forward"]
    assert out["severity"] == "breaking"
    assert out["explanation"] == change.explanation
    assert out["explanation"]


def test_change_to_dict_with_all_fields() -> None:
    change = Change("max_length_decreased", "#/maxLength", 5, None, FWD,
                    example={"a": 1}, ignored="known")  # fmt: skip
    out = change.to_dict("forward")
    assert out["old"] == 5
    assert out["new"] is None
    assert out["severity"] == "breaking"
    assert out["example"] == {"a": 1}
    assert out["ignored"] == "known"
    assert change.to_dict("backward")["severity"] == "caution"
    falsy = Change("title_changed", "#/title", 0, "", example=None).to_dict()
    assert falsy["old"] == 0
    assert falsy["new"] == ""
    assert falsy["example"] is None
    assert "ignored" not in falsy


def test_change_explanation_uses_its_labels_and_is_cached() -> None:
    change = Change("type_changed", "#/properties/a", "string", "integer", BACK,
                    labels=("alpha", "beta"))  # fmt: skip
    text = change.explanation
    assert "alpha" in text
    assert "beta" in text
    assert change.explanation is text
    assert change.explain("alpha", "beta") is text
    other = change.explain("v1", "v2")
    assert "v1" in other
    assert "v2" in other
    assert "alpha" not in other
    assert Change("type_changed", "#/a", "string", "integer", BACK).explain() == \
        Change("type_changed", "#/a", "string", "integer", BACK).explain("old", "new")


def test_change_str() -> None:
    assert str(Change("type_changed", "#/properties/a")) == "type_changed #/properties/a"


def test_rename_hint_to_dict() -> None:
    hint = RenameHint("agentEmail", "agentId", 0.5)
    assert hint.to_dict() == {"removed": "agentEmail", "added": "agentId", "similarity": 0.5}


# --- SchemaDiff -------------------------------------------------------------------------


def _diff() -> SchemaDiff:
    return SchemaDiff(
        [
            Change("title_changed", "#/title", "a", "b"),
            Change("max_length_increased", "#/maxLength", 3, 5, FWD),
            Change("type_changed", "#/properties/a", "string", "integer", BOTH),
            Change("max_length_decreased", "#/properties/b/maxLength", 5, 3, BACK,
                   ignored="accepted on purpose"),
        ],
        [RenameHint("x", "y", 0.75)],
    )


def test_breaking_by_mode_skips_ignored_changes() -> None:
    diff = _diff()
    assert [c.kind for c in diff.breaking()] == ["type_changed"]
    assert [c.kind for c in diff.breaking("forward")] == ["max_length_increased",
                                                         "type_changed"]
    assert [c.kind for c in diff.breaking("full_transitive")] == ["max_length_increased",
                                                                 "type_changed"]
    assert diff.compatible() is False
    assert diff.backward is False
    assert diff.forward is False


def test_verdicts_of_a_compatible_diff() -> None:
    diff = SchemaDiff([Change("max_length_increased", "#/maxLength", 3, 5, FWD)])
    assert diff.backward is True
    assert diff.forward is False
    assert diff.compatible("backward") is True
    assert diff.compatible("full") is False
    assert bool(diff) is True
    assert bool(SchemaDiff([])) is False
    assert SchemaDiff([]).compatible("full") is True


def test_sorted_changes_breaking_then_caution_then_info() -> None:
    diff = _diff()
    assert [c.kind for c in diff.sorted_changes()] == [
        "type_changed", "max_length_decreased", "max_length_increased", "title_changed"]
    assert [c.kind for c in diff.sorted_changes("forward")] == [
        "max_length_increased", "type_changed", "max_length_decreased", "title_changed"]


def test_schema_diff_to_dict() -> None:
    diff = _diff()
    out = diff.to_dict()
    assert out["compatible"] is False
    assert out["mode"] == "backward"
    assert out["policy"] == "strict"
    assert out["mode_source"] == "default"
    assert out["policy_source"] == "default"
    assert "configured_mode" not in out
    assert out["backward"] is False
    assert out["forward"] is False
    assert [c["kind"] for c in out["changes"]] == [c.kind for c in diff.changes]
    assert out["changes"][1]["severity"] == "caution"
    assert out["hints"] == [{"removed": "x", "added": "y", "similarity": 0.75}]
    forward = diff.to_dict("forward_transitive")
    assert forward["mode"] == "forward"
    assert forward["changes"][1]["severity"] == "breaking"


def test_schema_diff_to_dict_names_a_configured_mode_that_differs() -> None:
    diff = SchemaDiff([], configured_mode="none", mode_source="subject.yaml",
                      policy_source="flag", policy="lenient")  # fmt: skip
    out = diff.to_dict()
    assert out["configured_mode"] == "none"
    assert out["mode_source"] == "subject.yaml"
    assert out["policy_source"] == "flag"
    assert out["policy"] == "lenient"
    assert out["compatible"] is True
    same = SchemaDiff([], configured_mode="forward").to_dict("forward")
    assert "configured_mode" not in same
    assert SchemaDiff([], configured_mode="forward").to_dict()["configured_mode"] == "forward"


def test_relabel_rewords_every_explanation() -> None:
    diff = _diff()
    before = diff.changes[2].explanation
    assert "old" in before
    diff.relabel("alpha", "beta")
    assert (diff.old_label, diff.new_label) == ("alpha", "beta")
    assert all(c.labels == ("alpha", "beta") for c in diff.changes)
    after = diff.changes[2].explanation
    assert "alpha" in after
    assert "beta" in after
    assert after != before


# --- the kind catalogue -----------------------------------------------------------------


def test_catalogue_sizes_and_classes() -> None:
    assert len(CONFLUENT_KINDS) == 132
    assert len(OWN_KINDS) == 19
    assert KINDS == {**CONFLUENT_KINDS, **OWN_KINDS}
    assert set(KINDS.values()) == {COMPATIBLE, LENIENT_ONLY, INCOMPATIBLE}


def test_parse_table() -> None:
    table = "\n  a_added c|b_removed i\nc_changed l\n"
    assert _parse_table(table) == {"a_added": COMPATIBLE, "b_removed": INCOMPATIBLE,
                                   "c_changed": LENIENT_ONLY}  # fmt: skip
    assert list(_parse_table(table)) == ["a_added", "b_removed", "c_changed"]


@pytest.mark.parametrize(
    ("kind", "cls", "strict", "lenient"),
    [
        ("max_length_increased", COMPATIBLE, True, True),
        ("max_length_decreased", INCOMPATIBLE, False, False),
        ("additional_properties_removed", LENIENT_ONLY, False, True),
        ("format_added", COMPATIBLE, True, True),
        ("conditional_added", INCOMPATIBLE, False, False),
    ],
)
def test_kind_class_and_compatibility(kind: str, cls: str, strict: bool, lenient: bool) -> None:
    assert KINDS[kind] == cls
    assert is_compatible_kind(kind) is strict
    assert is_compatible_kind(kind, "strict") is strict
    assert is_compatible_kind(kind, "lenient") is lenient


def test_unknown_kind() -> None:
    with pytest.raises(KeyError):
        KINDS["nonsense"]
    with pytest.raises(KeyError):
        is_compatible_kind("nonsense")


@pytest.mark.parametrize(
    ("kind", "mirror"),
    [
        ("maximum_increased", "maximum_decreased"),
        ("maximum_decreased", "maximum_increased"),
        ("max_length_added", "max_length_removed"),
        ("max_length_removed", "max_length_added"),
        ("enum_array_extended", "enum_array_narrowed"),
        ("enum_array_narrowed", "enum_array_extended"),
        ("multiple_of_expanded", "multiple_of_reduced"),
        ("multiple_of_reduced", "multiple_of_expanded"),
        ("item_added_to_open_content_model", "item_removed_from_open_content_model"),
        ("item_removed_from_open_content_model", "item_added_to_open_content_model"),
        ("type_changed", "type_changed"),
        ("anything_changed", "anything_changed"),
        ("schema_added", "schema_removed"),
        ("required_attribute_added", "required_attribute_removed"),
        ("reserved_property_conflicts_with_property", "reserved_property_conflicts_with_property"),
        ("required_property_added_to_open_content_model", None),
        ("item_with_empty_schema_added_to_open_content_model", None),
        ("nonsense", None),
    ],
)
def test_mirror_kind(kind: str, mirror: str | None) -> None:
    assert mirror_kind(kind) == mirror


def test_explain_names_the_old_and_new_value() -> None:
    text = Change("type_changed", "#/a", "string", "integer", BACK).explain()
    assert '"string"' in text
    assert '"integer"' in text


def test_to_dataframe_sorted_by_severity_for_the_mode() -> None:
    frame = _diff().to_dataframe()
    assert list(frame.columns) == ["severity", "path", "kind", "old", "new", "breaks",
                                   "explanation", "example"]  # fmt: skip
    assert list(frame["kind"]) == ["type_changed", "max_length_decreased",
                                   "max_length_increased", "title_changed"]  # fmt: skip
    assert list(frame["severity"]) == ["breaking", "breaking", "caution", "info"]
    forward = _diff().to_dataframe("forward")
    assert list(forward["kind"])[:2] == ["max_length_increased", "type_changed"]
    assert list(forward["severity"])[:2] == ["breaking", "breaking"]
