"""Change.explanation: one specific sentence per change, naming where, what and who breaks."""

from __future__ import annotations

from evolvekit.schema.changes import Change
from evolvekit.schema.diff import diff_schemas
from evolvekit.schema.explain import explain_change, readable_location

OLD = {"type": "object", "properties": {"agentId": {"type": "string"}}}
NEW = {**OLD, "required": ["agentId"]}


def test_required_added_names_property_versions_and_consequence() -> None:
    d = diff_schemas(OLD, NEW)
    d.relabel("interaction.completed@1.0.0", "interaction.completed@2.0.0")
    assert [c.explanation for c in d.changes] == [
        "agentId is now required: an event without agentId, written by a 1.0.0 producer, "
        "is rejected by a 2.0.0 reader."
    ]


def test_forward_break_names_the_old_reader() -> None:
    old = {"type": "string", "enum": ["a"]}
    new = {"type": "string", "enum": ["a", "b"]}
    (change,) = diff_schemas(old, new).changes
    assert change.explanation == (
        'the event enum widened from ["a"] to ["a","b"]: an event using a value in ["a","b"] '
        'but not in ["a"], written by a new producer, is rejected by an old reader.'
    )


def test_compatible_change_says_so() -> None:
    (change,) = diff_schemas({"type": "string"}, {"type": "string", "title": "x"}).changes
    assert change.explanation.endswith("no event changes validity in either direction.")


def test_lenient_policy_explains_its_assumption() -> None:
    new = {**OLD, "properties": {**OLD["properties"], "note": {"type": "string"}}}
    (change,) = diff_schemas(OLD, new, policy="lenient").changes
    assert "lenient policy, which assumes no old producer sent note" in change.explanation


def test_readable_location() -> None:
    assert readable_location("#/") == ("the event", "the event")
    assert readable_location("#/properties/a/properties/b~1c/maxLength") == ("a.b/c", "b/c")
    assert readable_location("#/properties/tags/items/pattern") == ("tags[]", "tags")
    assert readable_location("#/items/0/type") == ("[0]", "[0]")
    assert readable_location("#/properties/a/required/b") == ("a.b", "b")
    assert readable_location("#/anyOf/1/minimum")[0] == "(anyOf #1)"


def test_a_hand_made_change_is_explained_on_first_use() -> None:
    change = Change("maximum_decreased", "#/properties/n/maximum", 10, 5,
                    frozenset({"backward"}))  # fmt: skip
    assert change.to_dict()["explanation"] == explain_change(
        "maximum_decreased", "#/properties/n/maximum", 10, 5, frozenset({"backward"}))
    assert "n maximum decreased from 10 to 5: a number above 5" in change.explanation
    assert "by a v2 reader" in change.explain("v1", "v2")
