"""diff: rename hints, name similarity, input errors and how the two directions merge."""

from __future__ import annotations

from typing import Any

import pytest

from evolvekit.errors import InputError, SchemaError
from evolvekit.schema.changes import MISSING
from evolvekit.schema.diff import _words, diff_schemas, name_similarity
from evolvekit.schema.diff_shapes import NUMBER

OBJ = "object"
WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
         "juliet", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo",
         "sierra", "tango"]  # fmt: skip


def props(**types: str) -> dict[str, Any]:
    return {"type": OBJ, "properties": {name: {"type": t} for name, t in types.items()}}


# --- names ------------------------------------------------------------------------------


def test_words_split_camel_snake_kebab_and_digits() -> None:
    assert _words("HTTPServerURL2") == ["http", "server", "url", "2"]
    assert _words("agent_email") == ["agent", "email"]
    assert _words("x-Ray") == ["x", "ray"]
    assert _words("__") == ["__"]


def test_name_similarity() -> None:
    assert name_similarity("agentEmail", "agent_email") == 1.0
    assert name_similarity("agentEmail", "agent-email") == 1.0
    assert name_similarity("abc", "abd") == pytest.approx(2 / 3)
    assert name_similarity("customerName", "clientName") == pytest.approx(7 / 12)
    # below the floor the exact ratio is not needed
    assert name_similarity("customerName", "clientName", floor=0.9) == 0.0
    assert name_similarity("customerName", "clientName", floor=0.5) == pytest.approx(7 / 12)
    assert name_similarity("abc", "xyz", floor=0.5) == 0.0


# --- hints ------------------------------------------------------------------------------


def test_hints_pair_by_similarity_and_compatible_type() -> None:
    old = props(agentEmail="string", callDuration="integer", zzz="boolean")
    new = props(agentEmailAddr="string", callDurationSecs="string",
                callDurationSeconds="integer", zzzz="string")  # fmt: skip
    hints = [h.to_dict() for h in diff_schemas(old, new).hints]
    assert hints == [
        {"removed": "#/properties/agentEmail", "added": "#/properties/agentEmailAddr",
         "similarity": 0.815},
        {"removed": "#/properties/callDuration", "added": "#/properties/callDurationSeconds",
         "similarity": 0.765},
    ]  # fmt: skip


def test_each_name_is_hinted_once_best_score_first() -> None:
    old = props(userName="string", userNames="string")
    new = props(userNamez="string")
    hints = diff_schemas(old, new).hints
    assert [(h.removed, h.added) for h in hints] == [
        ("#/properties/userName", "#/properties/userNamez")
    ]
    assert hints[0].similarity == pytest.approx(0.947, abs=1e-3)


def test_untyped_properties_pair_with_anything() -> None:
    old = {"type": OBJ, "properties": {"orderTotal": {}}}
    new = props(orderTotals="number")
    assert [(h.removed, h.added) for h in diff_schemas(old, new).hints] == [
        ("#/properties/orderTotal", "#/properties/orderTotals")
    ]


def test_no_hint_without_both_a_removed_and_an_added_property() -> None:
    assert diff_schemas(props(a="string"), props()).hints == []
    assert diff_schemas(props(), props(a="string")).hints == []
    assert diff_schemas(props(customerId="string"), props(zebra="string")).hints == []


def test_hints_of_nested_objects_name_their_path() -> None:
    old = {"type": OBJ, "properties": {"a/b": props(firstName="string")}}
    new = {"type": OBJ, "properties": {"a/b": props(first_name_="string")}}
    hints = diff_schemas(old, new).hints
    assert [(h.removed, h.added) for h in hints] == [
        ("#/properties/a~1b/properties/firstName", "#/properties/a~1b/properties/first_name_")
    ]


@pytest.mark.parametrize(
    ("old_names", "new_names"),
    [
        ([f"{w}CustomerName" for w in WORDS], [f"{w}CustomerLabel" for w in WORDS]),
        ([f"customerName{i}" for i in range(20)], [f"customerLabel{i}" for i in range(20)]),
    ],
)
def test_hints_in_large_objects_pair_by_rare_words(old_names: list[str],
                                                   new_names: list[str]) -> None:  # fmt: skip
    old = {"type": OBJ, "properties": {n: {"type": "string"} for n in old_names}}
    new = {"type": OBJ, "properties": {n: {"type": "string"} for n in new_names}}
    pairs = {(h.removed, h.added) for h in diff_schemas(old, new).hints}
    assert pairs == {(f"#/properties/{o}", f"#/properties/{n}")
                     for o, n in zip(old_names, new_names, strict=True)}  # fmt: skip


def test_hints_come_from_the_backward_walk_only() -> None:
    # the forward walk would see the same pair reversed; it must not add a second hint
    hints = diff_schemas(props(agentEmail="string"), props(agentMail="string")).hints
    assert len(hints) == 1
    assert hints[0].removed == "#/properties/agentEmail"


# --- inputs -----------------------------------------------------------------------------


def test_a_registry_reference_needs_a_registry() -> None:
    with pytest.raises(InputError) as err:
        diff_schemas("orders@1", {})
    assert str(err.value) == ("old schema 'orders@1' is a registry reference, but no registry "
                              "was given")  # fmt: skip
    with pytest.raises(InputError) as err:
        diff_schemas({}, "orders@2")
    assert "new schema 'orders@2'" in str(err.value)


def test_a_schema_must_be_an_object_or_boolean() -> None:
    with pytest.raises(SchemaError) as err:
        diff_schemas([1], {})
    assert "old schema must be a JSON object or boolean, not list" in str(err.value)
    with pytest.raises(SchemaError) as err:
        diff_schemas({}, 3)
    assert "new schema must be a JSON object or boolean, not int" in str(err.value)


def test_unknown_policy() -> None:
    with pytest.raises(InputError) as err:
        diff_schemas({}, {}, policy="loose")
    assert str(err.value) == "unknown policy 'loose'; expected one of strict, lenient"


def test_boolean_schemas() -> None:
    d = diff_schemas(True, False)
    assert [(c.kind, c.path, sorted(c.breaks)) for c in d.changes] == [
        ("type_changed", "#/", ["backward"])
    ]
    assert d.changes[0].old == "empty"
    assert d.changes[0].new == "false"
    assert diff_schemas(False, True).backward is True
    assert diff_schemas(False, True).forward is False


# --- merging the two directions ---------------------------------------------------------


def test_a_change_breaking_both_ways_is_one_row() -> None:
    d = diff_schemas({"type": "string"}, {"type": "integer"})
    assert [(c.kind, c.path, c.old, c.new, sorted(c.breaks)) for c in d.changes] == [
        ("type_changed", "#/", "string", "integer", ["backward", "forward"])
    ]


def test_a_forward_break_joins_the_backward_row_at_its_path() -> None:
    old = {"type": OBJ, "properties": {"a": {"type": "string", "maxLength": 3},
                                       "b": {"type": "string"}},
           "additionalProperties": False}  # fmt: skip
    new = {"type": OBJ, "properties": {"a": {"type": "string", "maxLength": 5},
                                       "c": {"type": "string"}},
           "additionalProperties": False}  # fmt: skip
    rows = [(c.kind, c.path, sorted(c.breaks)) for c in diff_schemas(old, new).changes]
    assert rows == [
        ("max_length_increased", "#/properties/a/maxLength", ["forward"]),
        ("property_removed_from_closed_content_model", "#/properties/b", ["backward"]),
        # the forward walk's break at c is carried by the backward row at the same path
        ("optional_property_added_to_unopen_content_model", "#/properties/c", ["forward"]),
    ]


def test_a_forward_break_with_no_backward_row_stands_alone() -> None:
    rows = [(c.kind, c.path, c.old, c.new, sorted(c.breaks))
            for c in diff_schemas({"type": "integer"}, {"type": "number"}).changes]  # fmt: skip
    assert rows == [("type_extended", "#/", "integer", "number", ["forward"])]
    assert NUMBER == "number"


def test_a_forward_break_beside_a_breaking_row_gets_its_own_row() -> None:
    old = {"type": OBJ, "additionalProperties": False}
    new = {"type": OBJ, "additionalProperties": False, "required": ["b"],
           "properties": {"b": {"type": "string"}}}  # fmt: skip
    rows = [(c.kind, c.path, c.old, c.new, sorted(c.breaks))
            for c in diff_schemas(old, new).changes]  # fmt: skip
    assert rows == [
        ("required_property_added_to_unopen_content_model", "#/properties/b", MISSING,
         {"type": "string"}, ["backward"]),
        ("property_removed_from_closed_content_model", "#/properties/b", MISSING,
         {"type": "string"}, ["forward"]),
    ]  # fmt: skip


def test_a_forward_break_at_a_new_path_follows_its_nearest_ancestor_row() -> None:
    old = {"type": OBJ, "title": "t", "properties": {"a": {"type": "integer"}}}
    new = {"type": OBJ, "title": "u", "properties": {"a": {"type": "number"}}}
    rows = [(c.kind, c.path, sorted(c.breaks)) for c in diff_schemas(old, new).changes]
    assert rows == [
        ("title_changed", "#/", []),
        ("type_extended", "#/properties/a", ["forward"]),
    ]


def test_labels_reach_every_change() -> None:
    d = diff_schemas({"type": "string"}, {"type": "integer"})
    assert d.old_label == "old"
    assert d.new_label == "new"
    assert all(c.labels == ("old", "new") for c in d.changes)


def test_a_forward_break_is_placed_right_after_its_ancestor_row() -> None:
    old = {"type": OBJ, "title": "t",
           "properties": {"a": {"type": "integer"}, "b": {"type": "string"}}}  # fmt: skip
    new = {"type": OBJ, "title": "u",
           "properties": {"a": {"type": "number"}, "b": {"type": "integer"}}}  # fmt: skip
    rows = [(c.kind, c.path, sorted(c.breaks)) for c in diff_schemas(old, new).changes]
    assert rows == [
        ("title_changed", "#/", []),  # row 0 anchors the forward break below, not the end
        ("type_extended", "#/properties/a", ["forward"]),
        ("type_changed", "#/properties/b", ["backward", "forward"]),
    ]


def test_words_of_a_name_without_ascii_words_is_the_lowercased_name() -> None:
    assert _words("ÄÖ") == ["äö"]
    assert _words("__") == ["__"]


def test_small_objects_score_every_pair_large_ones_only_pairs_sharing_a_word() -> None:
    small_old = {"type": OBJ, "properties": {"colour": {"type": "string"}}}
    small_new = {"type": OBJ, "properties": {"color": {"type": "string"}}}
    assert [(h.removed, h.added) for h in diff_schemas(small_old, small_new).hints] == [
        ("#/properties/colour", "#/properties/color")
    ]
    # 17 x 16 = 272 pairs, past the budget of 256: "colour" and "color" share no word
    pairs = colour_pairs(extra_old=16, extra_new=15)
    assert ("#/properties/colour", "#/properties/color") not in pairs


def test_exactly_the_pair_budget_still_scores_every_pair() -> None:
    # 16 x 16 = 256 pairs: the budget exactly
    assert ("#/properties/colour", "#/properties/color") in colour_pairs(15, 15)


def colour_pairs(extra_old: int, extra_new: int) -> set[tuple[str, str]]:
    """Hints between "colour" + N ``<word>Id`` names and "color" + M ``<word>Key`` names."""

    def schema(names: list[str]) -> dict[str, object]:
        return {"type": OBJ, "properties": {n: {"type": "string"} for n in names}}

    old = schema(["colour", *(f"{w}Id" for w in WORDS[:extra_old])])
    new = schema(["color", *(f"{w}Key" for w in WORDS[:extra_new])])
    return {(h.removed, h.added) for h in diff_schemas(old, new).hints}


# --- schemas nested too deep for the walk ------------------------------------------------


def _nest(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "string"}
    for _ in range(depth):
        node = {"type": OBJ, "properties": {"n": node}}
    return node


@pytest.mark.parametrize(
    ("old_depth", "new_depth", "side", "levels"),
    [(450, 400, "old", 450), (400, 450, "new", 450), (400, 400, "old", 400)],
)
def test_too_deep_names_the_deeper_side_and_its_deepest_point(
    old_depth: int, new_depth: int, side: str, levels: int
) -> None:
    with pytest.raises(SchemaError) as err:
        diff_schemas(_nest(old_depth), _nest(new_depth))
    # two dicts per level plus the leaf; under the pointer bound (1000) the pointer is the
    # leaf's; ties go to "old"
    assert f"too deep to diff ({2 * levels + 1} levels;" in str(err.value)
    assert (err.value.file, err.value.pointer) == (side, "#" + "/properties/n" * levels)


# --- which added names a removed one is scored against ----------------------------------


def test_a_score_exactly_at_the_floor_is_kept() -> None:
    # "id" / "idcode": ratio, quick_ratio and real_quick_ratio are all exactly 0.5
    assert name_similarity("id", "idcode", floor=0.5) == 0.5


def _hint_pairs(removed: list[str], added: list[str]) -> set[tuple[str, str]]:
    old = {"type": OBJ, "properties": {n: {"type": "string"} for n in removed}}
    new = {"type": OBJ, "properties": {n: {"type": "string"} for n in added}}
    return {(h.removed, h.added) for h in diff_schemas(old, new, examples=False).hints}


def test_a_word_shared_by_eight_added_names_is_still_rare() -> None:
    added = ["kiloSizing", *(f"kilo{w.title()}" for w in WORDS[:7])]  # "kilo": 8 names
    others = [w for w in WORDS if w != "kilo"]
    pairs = _hint_pairs(["kiloSize", *(f"{w}Zz" for w in others)],
                        [*added, *(f"{w}Yy" for w in others)])  # fmt: skip
    assert ("#/properties/kiloSize", "#/properties/kiloSizing") in pairs


def test_only_common_words_pair_through_the_least_common_one_up_to_the_cap() -> None:
    # "size" is in 74 added names (listed first), "kilo" in 64: the shortest bucket, at the
    # cap, is the one scored (not the alphabetically first, not none)
    added = [*(f"abcSize{i}" for i in range(10)), *(f"kiloSize{i}" for i in range(64))]
    pairs = _hint_pairs(["kiloSize", *(f"{w}Zz" for w in WORDS[:4])], added)
    assert pairs == {("#/properties/kiloSize", "#/properties/kiloSize0")}


def test_nested_changes_are_reported_in_document_order_each_at_its_own_path() -> None:
    # (A mutation rerun showed this does not reach diff._anchor: the backward walk reports
    # the mirrored kind too. Pinning _anchor needs a change only the forward walk reports.)
    inner_old = {"type": OBJ, "title": "x", "properties": {"a": {"type": "integer"}}}
    inner_new = {"type": OBJ, "title": "y", "properties": {"a": {"type": "number"}}}
    old = {"type": OBJ, "title": "t", "properties": {"o": inner_old, "b": {"type": "string"}}}
    new = {"type": OBJ, "title": "u", "properties": {"o": inner_new, "b": {"type": "integer"}}}
    rows = [(c.kind, c.path, sorted(c.breaks)) for c in diff_schemas(old, new).changes]
    assert rows == [
        ("title_changed", "#/", []),
        ("title_changed", "#/properties/o", []),
        ("type_extended", "#/properties/o/properties/a", ["forward"]),
        ("type_changed", "#/properties/b", ["backward", "forward"]),
    ]
