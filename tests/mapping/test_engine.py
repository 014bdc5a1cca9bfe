from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import evolvekit as ek
from evolvekit.errors import MappingError
from evolvekit.mapping import transforms as tr
from evolvekit.mapping.paths import get_path, parse_path
from evolvekit.mapping.ruleset import RuleSet
from evolvekit.sentinel import MISSING

# The tutorial's schemas, event and rules, shared by the mapping tests.
TUTORIAL = json.loads((Path(__file__).parent / "tutorial.json").read_text())
TUTORIAL_EVENT, TUTORIAL_RULES = TUTORIAL["event"], TUTORIAL["rules"]


def apply(rules: dict[str, Any] | str, event: dict[str, Any]) -> dict[str, Any]:
    ruleset = RuleSet.from_yaml(rules) if isinstance(rules, str) else RuleSet.from_dict(rules)
    before = copy.deepcopy(event)
    result = ruleset.compile().apply(event)
    assert event == before, "apply mutated its input"
    return result


def test_tutorial_rules_keep_unread_fields() -> None:
    # The tutorial's engine lost customerId and interactionId; unmapped: keep keeps them.
    assert apply(TUTORIAL_RULES, TUTORIAL_EVENT) == {
        "eventType": "interaction.completed",
        "timestamp": "2024-01-15T10:30:00Z",
        "customerId": "CUST-99281",
        "interactionId": "INT-4421",
        "agentId": "agent.smith@company.com",
        "durationSeconds": 245,
    }


def test_unmapped_drop_keeps_only_targets() -> None:
    rules = {"unmapped": "drop", "rules": TUTORIAL_RULES}
    assert apply(rules, TUTORIAL_EVENT) == {
        "agentId": "agent.smith@company.com",
        "durationSeconds": 245,
    }


def test_unmapped_error_names_the_first_unread_field() -> None:
    rules = {"unmapped": "error", "rules": TUTORIAL_RULES}
    with pytest.raises(MappingError, match="field 'eventType' is read by no rule") as caught:
        apply(rules, TUTORIAL_EVENT)
    assert caught.value.path == "eventType"
    every = {"unmapped": "error", "rules": {k: k.upper() for k in TUTORIAL_EVENT}}
    assert apply(every, TUTORIAL_EVENT)["AGENTEMAIL"] == "agent.smith@company.com"


def test_unmapped_error_names_nested_leftovers() -> None:
    rules = {"unmapped": "error", "rules": {"a.b": "x"}}
    with pytest.raises(MappingError, match=r"field 'a\.c\[0\]\.d'"):
        apply(rules, {"a": {"b": 1, "c": [{"d": 2}]}})


def test_unmapped_error_looks_past_elements_emptied_by_wildcard_moves() -> None:
    rules = {"unmapped": "error", "rules": {"items[*].sku": "lines[*].productId"}}
    fully_read = {"items": [{"sku": "a"}, {"sku": "b"}]}
    assert apply(rules, fully_read) == {"lines": [{"productId": "a"}, {"productId": "b"}]}
    # items[0] is left as an empty stand-in; the field nobody reads is items[1].qty
    with pytest.raises(MappingError, match=r"field 'items\[1\]\.qty'"):
        apply(rules, {"items": [{"sku": "a"}, {"sku": "b", "qty": 1}]})


def test_nested_moves_remove_objects_they_empty() -> None:
    event = {"customer": {"id": "C1", "tier": "gold"}, "keep": {}, "other": {"x": 1, "y": 2}}
    rules = {"customer.id": "customerId", "customer.tier": "tier", "other.x": "x"}
    assert apply(rules, event) == {
        "keep": {},  # empty in the input: not emptied by a move, so it stays
        "other": {"y": 2},
        "customerId": "C1",
        "tier": "gold",
        "x": 1,
    }


def test_move_into_an_existing_object_copies_it() -> None:
    event = {"a": 1, "meta": {"source": "cxone"}}
    result = apply({"a": "meta.a"}, event)
    assert result == {"meta": {"source": "cxone", "a": 1}}
    assert event["meta"] == {"source": "cxone"}


def test_swap_reads_from_the_original_event() -> None:
    assert apply({"a": "b", "b": "a"}, {"a": 1, "b": 2}) == {"a": 2, "b": 1}


def test_a_target_replaces_a_kept_field() -> None:
    assert apply({"a": "b"}, {"a": 1, "b": 2}) == {"b": 1}


def test_value_constants_are_fresh_each_time() -> None:
    rules = "rules:\n  - to: metadata.tags\n    value: [migrated]\n  - to: v\n    value: null\n"
    mapper = RuleSet.from_yaml(rules).compile()
    first = mapper.apply({})
    assert first == {"metadata": {"tags": ["migrated"]}, "v": None}
    first["metadata"]["tags"].append("changed")
    assert mapper.apply({}) == {"metadata": {"tags": ["migrated"]}, "v": None}


def test_value_with_a_transform() -> None:
    rules = "rules:\n  - to: n\n    value: '42'\n    transform: int\n"
    assert apply(rules, {}) == {"n": 42}


DEFAULTS = """\
rules:
  - from: customer.tier
    to: customerTier
    default: standard
  - from: channel
    to: medium
    default: {kind: voice}
  - from: optional
    to: maybe
"""


def test_default_is_used_only_when_absent() -> None:
    assert apply(DEFAULTS, {}) == {"customerTier": "standard", "medium": {"kind": "voice"}}
    # JSON null is a value, not absence: no default for it.
    got = apply(DEFAULTS, {"customer": {"tier": None}, "channel": "chat", "optional": 0})
    assert got == {"customerTier": None, "medium": "chat", "maybe": 0}


def test_a_container_default_is_copied_for_each_event() -> None:
    mapper = RuleSet.from_yaml(DEFAULTS).compile()
    first, second = mapper.apply({}), mapper.apply({})
    first["medium"]["kind"] = "changed"  # a consumer editing one output ...
    assert second["medium"] == {"kind": "voice"}  # ... changes no other output
    assert mapper.apply({})["medium"] == {"kind": "voice"}  # nor the rule itself
    listed = RuleSet.from_yaml("rules:\n  - from: a\n    to: b\n    default: [1]\n").compile()
    one = listed.apply({})
    one["b"].append(2)
    assert listed.apply({}) == {"b": [1]}


def test_a_plain_rename_with_a_default_still_applies_it() -> None:
    """Renames alone take a fast path; a rename with a default must not lose the default."""
    rules = "rules:\n  - from: a\n    to: b\n    default: 7\n  - from: c\n    to: d\n"
    for unmapped in ("keep", "drop"):
        mapper = RuleSet.from_yaml(f"unmapped: {unmapped}\n{rules}").compile()
        assert mapper.apply({"c": 1}) == {"b": 7, "d": 1}
        assert mapper.apply({"a": 2}) == {"b": 2}


def test_required_absent_raises_with_rule_line_and_path() -> None:
    rules = (
        "rules:\n  - from: a\n    to: b\n  - from: customer.tier\n    to: t\n    required: true\n"
    )
    mapper = RuleSet.from_yaml(rules, source="r.yaml").compile()
    assert mapper.apply({"customer": {"tier": None}}) == {"t": None}
    with pytest.raises(MappingError, match=r"rule 1 r\.yaml:4 path customer\.tier: required") as c:
        mapper.apply({"customer": {}})
    err = c.value
    assert (err.rule, err.line, err.file, err.path) == (1, 4, "r.yaml", "customer.tier")


def test_required_with_default_uses_the_default() -> None:
    rules = "rules:\n  - from: a\n    to: b\n    required: true\n    default: 0\n"
    assert apply(rules, {}) == {"b": 0}


def test_drop_removes_a_field() -> None:
    rules = "rules:\n  - from: legacy.notes\n    drop: true\n  - from: gone\n    drop: true\n"
    assert apply(rules, {"legacy": {"notes": "x"}, "id": 1}) == {"id": 1}
    assert apply(rules, {"legacy": {"notes": "x", "keep": 1}}) == {"legacy": {"keep": 1}}


def test_multi_source_passes_a_list() -> None:
    rules = "rules:\n  - from: [firstName, lastName]\n    to: customerName\n    transform: {name: join, sep: ' '}\n"  # noqa: E501
    assert apply(rules, {"firstName": "Ann", "lastName": "Lee", "x": 1}) == {
        "customerName": "Ann Lee",
        "x": 1,
    }
    assert apply(rules, {"lastName": "Lee"}) == {"customerName": "Lee"}
    assert apply(rules, {"x": 1}) == {"x": 1}
    plain = "rules:\n  - from: [a, b]\n    to: pair\n"
    assert apply(plain, {"a": 1, "b": None}) == {"pair": [1, None]}


def test_transforms_apply_in_order() -> None:
    rules = "rules:\n- from: d\n  to: ms\n  transform: [strip, int, {name: scale, factor: 1000}]\n"
    assert apply(rules, {"d": " 245 "}) == {"ms": 245000}


def test_transform_failure_names_rule_path_value_and_transform() -> None:
    rules = (
        "rules:\n  - from: a\n    to: b\n  - from: callDuration\n    to: d\n    transform: int\n"
    )
    mapper = RuleSet.from_yaml(rules, source="r.yaml").compile()
    with pytest.raises(MappingError) as caught:
        mapper.apply({"callDuration": "abc"})
    err = caught.value
    assert (err.rule, err.line, err.file, err.path, err.value, err.transform) == (
        1, 4, "r.yaml", "callDuration", "abc", "int",
    )  # fmt: skip
    assert str(err) == (
        "rule 1 r.yaml:4 path callDuration transform int: int: cannot convert 'abc' to an integer"
    )


def test_a_transform_raising_value_or_other_errors_names_rule_path_value_and_transform() -> None:
    @ek.register_transform("test_picky")
    def picky(value: Any) -> Any:
        raise ValueError("not this one")

    @ek.register_transform("test_buggy")
    def buggy(value: Any) -> Any:
        raise RuntimeError("kaput")

    try:
        for name, message in [
            ("test_picky", "test_picky: cannot handle integer 7: not this one"),
            ("test_buggy", "test_buggy failed: RuntimeError: kaput"),
        ]:
            rules = f"rules:\n  - from: a.b\n    to: c\n    transform: [str, int, {name}]\n"
            mapper = RuleSet.from_yaml(rules, source="r.yaml").compile()
            with pytest.raises(MappingError) as caught:
                mapper.apply({"a": {"b": 7}})
            err = caught.value
            assert (err.rule, err.line, err.file, err.path, err.value, err.transform) == (
                0, 2, "r.yaml", "a.b", 7, name)  # fmt: skip
            assert str(err).endswith(message)
    finally:
        tr._REGISTRY.pop("test_picky", None)
        tr._REGISTRY.pop("test_buggy", None)


def test_mapper_repr_names_its_rules_mode_and_origin() -> None:
    rules = "unmapped: drop\nrules:\n  - from: a\n    to: b\n  - from: c\n    drop: true\n"
    assert repr(RuleSet.from_yaml(rules, source="r.yaml").compile()) == (
        "<Mapper of 2 rules, unmapped=drop, from r.yaml>"
    )
    plain = RuleSet.from_dict({"rules": [{"from": "a", "to": "b"}]}).compile()
    assert repr(plain) == "<Mapper of 1 rules, unmapped=keep, from a dict>"


def test_user_transform_bugs_are_reported_as_mapping_errors() -> None:
    @ek.register_transform("test_boom")
    def boom(value: Any) -> Any:
        raise RuntimeError("kaput")

    try:
        rules = "rules:\n  - from: a\n    to: b\n    transform: test_boom\n"
        with pytest.raises(MappingError, match="test_boom failed: RuntimeError: kaput"):
            apply(rules, {"a": 1})
    finally:
        tr._REGISTRY.pop("test_boom", None)


def test_user_transform_in_a_rule_file() -> None:
    @ek.register_transform("test_domain", output_type="string")
    def domain(value: str, keep_at: bool = False) -> str:
        host = value.split("@", 1)[1]
        return "@" + host if keep_at else host

    try:
        rules = (
            "rules:\n  - from: e\n    to: d\n    transform: {name: test_domain, keep_at: true}\n"
        )
        assert apply(rules, {"e": "a@b.com"}) == {"d": "@b.com"}
    finally:
        tr._REGISTRY.pop("test_domain", None)


def test_hash_end_to_end(monkeypatch: pytest.MonkeyPatch) -> None:
    rules = "rules:\n  - from: agentEmail\n    to: agentId\n    transform: [lower, {name: hash, salt_env: EK_T_SALT}]\n"  # noqa: E501
    monkeypatch.delenv("EK_T_SALT", raising=False)
    mapper = RuleSet.from_yaml(rules).compile()  # compiling does not need the salt yet
    with pytest.raises(MappingError, match="EK_T_SALT is not set") as caught:
        mapper.apply({"agentEmail": "A@x.com"})
    assert caught.value.transform == "hash"
    monkeypatch.setenv("EK_T_SALT", "s3cret")
    result = mapper.apply({"agentEmail": "A@x.com"})["agentId"]
    assert len(result) == 64 and "s3cret" not in result
    assert RuleSet.from_yaml(rules).compile().apply({"agentEmail": "a@x.com"})["agentId"] == result


WILD = """\
rules:
  - from: items[*].sku
    to: lines[*].productId
  - from: items[*].qty
    to: lines[*].quantity
    transform: int
    default: 1
"""


def test_wildcards_map_element_wise() -> None:
    event = {"items": [{"sku": "A", "qty": "2"}, {"sku": "B"}], "id": 7}
    assert apply(WILD, event) == {
        "id": 7,
        "lines": [{"productId": "A", "quantity": 2}, {"productId": "B", "quantity": 1}],
    }


def test_wildcards_keep_unread_element_fields_in_place() -> None:
    event = {"items": [{"sku": "A", "note": "n"}, {"sku": "B"}]}
    assert apply(WILD, event) == {
        "items": [{"note": "n"}, {}],  # positions still line up with lines[*]
        "lines": [{"productId": "A", "quantity": 1}, {"productId": "B", "quantity": 1}],
    }


def test_wildcard_absent_list_writes_nothing() -> None:
    assert apply(WILD, {"id": 1}) == {"id": 1}
    assert apply(WILD, {"items": "not a list"}) == {"items": "not a list"}
    assert apply(WILD, {"items": []}) == {"items": [], "lines": []}


def test_wildcard_errors_name_the_element() -> None:
    with pytest.raises(MappingError, match=r"path items\[1\]\.qty transform int") as caught:
        apply(WILD, {"items": [{"qty": 1}, {"qty": "many"}]})
    assert caught.value.value == "many"


def test_wildcard_required_per_element() -> None:
    rules = "rules:\n  - from: a[*].x\n    to: b[*].y\n    required: true\n"
    assert apply(rules, {"a": [{"x": None}]}) == {"b": [{"y": None}]}
    with pytest.raises(MappingError, match=r"path a\[1\]\.x: required"):
        apply(rules, {"a": [{"x": 1}, {}]})
    with pytest.raises(MappingError, match=r"path a\[\*\]\.x: required"):
        apply(rules, {})


def test_nested_wildcards_and_whole_elements() -> None:
    rules = {"groups[*].members[*].id": "teams[*].people[*]", "tags[*]": "labels[*]"}
    event = {"groups": [{"members": [{"id": 1}, {"id": 2}]}, {"members": []}], "tags": ["a"]}
    assert apply(rules, event) == {
        # group 1's list was empty in the input (not emptied by a move), so it stays
        "groups": [{}, {"members": []}],
        "teams": [{"people": [1, 2]}, {"people": []}],
        "labels": ["a"],
    }
    full = {"groups": [{"members": [{"id": 1}]}], "tags": ["a", "b"]}
    assert apply(rules, full) == {"teams": [{"people": [1]}], "labels": ["a", "b"]}


def test_wildcard_multi_source() -> None:
    rules = "rules:\n  - from: ['p[*].first', 'p[*].last']\n    to: 'n[*].full'\n    transform: {name: join, sep: ' '}\n"  # noqa: E501
    event = {"p": [{"first": "A", "last": "B"}, {"last": "C"}]}
    assert apply(rules, event) == {"n": [{"full": "A B"}, {"full": "C"}]}


def test_index_paths() -> None:
    rules = {"phones[0]": "primaryPhone", "a[1].b": "c[2].d"}
    event = {"phones": ["111", "222"], "a": [{"b": 0}, {"b": 1, "e": 2}]}
    assert apply(rules, event) == {
        "phones": ["222"],  # a moved element closes up
        "a": [{"b": 0}, {"e": 2}],
        "primaryPhone": "111",
        "c": [None, None, {"d": 1}],
    }
    assert apply({"phones[0]": "p"}, {"phones": ["111"]}) == {"p": "111"}


def test_writing_through_a_scalar_is_an_error() -> None:
    with pytest.raises(MappingError, match=r"cannot write 'meta\.a': 'meta' holds string"):
        apply({"a": "meta.a"}, {"a": 1, "meta": "text"})


def test_event_must_be_an_object() -> None:
    mapper = RuleSet.from_dict(TUTORIAL_RULES).compile()
    with pytest.raises(MappingError, match="an event must be a JSON object, not array"):
        mapper.apply([1])  # type: ignore[arg-type]


def test_mapper_is_callable_and_reusable() -> None:
    mapper = RuleSet.from_dict(TUTORIAL_RULES).compile()
    assert mapper(TUTORIAL_EVENT) == mapper.apply(TUTORIAL_EVENT)
    assert "2 rules" in repr(mapper)


def test_one_event_to_several_rule_sets_leaves_it_intact() -> None:
    # The broadcaster migrates one event to several versions: each apply must leave it intact.
    event = {"a": {"b": [1, {"c": 2}]}, "k": {"x": 1}}
    snapshot = copy.deepcopy(event)
    mappers = [
        RuleSet.from_dict({"a.b[1].c": "c"}).compile(),
        RuleSet.from_dict({"k.x": "k.y", "a.b[0]": "first"}).compile(),
        RuleSet.from_dict({"unmapped": "drop", "rules": {"a": "z"}}).compile(),
    ]
    outputs = [m.apply(event) for m in mappers]
    assert event == snapshot
    assert outputs[0] == {"a": {"b": [1, {}]}, "k": {"x": 1}, "c": 2}
    assert outputs[1] == {"a": {"b": [{"c": 2}]}, "k": {"y": 1}, "first": 1}
    outputs[2]["z"]["b"].append("x")  # a moved subtree is shared, DESIGN allows it
    assert mappers[0].apply(snapshot) == outputs[0]


# --- properties ---------------------------------------------------------------------

_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=3))
_json = st.recursive(
    _leaf,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.sampled_from("abcxy"), children, max_size=3),
    ),
    max_leaves=12,
)
_events = st.dictionaries(st.sampled_from("abcdxy"), _json, max_size=5)
PROPERTY_RULES = {"a": "moved.a", "b.c": "bc", "d[0]": "d0", "x.a": "xa"}


@settings(max_examples=150, deadline=None)
@given(_events)
def test_apply_moves_values_and_never_mutates(event: dict[str, Any]) -> None:
    ruleset = RuleSet.from_dict(PROPERTY_RULES)
    before = copy.deepcopy(event)
    out = ruleset.compile().apply(event)
    assert event == before
    for source, target in PROPERTY_RULES.items():
        value = get_path(event, parse_path(source))
        if value is not MISSING:
            assert get_path(out, parse_path(target)) == value
    if "y" in event:  # never read: kept as is
        assert out["y"] == event["y"]
    if "a" in event:  # read: moved away
        assert out["moved"]["a"] == event["a"] and "a" not in out


_flat_events = st.dictionaries(st.sampled_from("abcdef"), _leaf, max_size=6)
_renames = st.dictionaries(st.sampled_from("abcdef"), st.sampled_from("abcdefgh"), max_size=4)


@settings(max_examples=100, deadline=None)
@given(_flat_events, _renames, st.sampled_from(["keep", "drop"]), st.booleans())
def test_rename_fast_path_matches_the_general_path(
    event: dict[str, Any], renames: dict[str, str], unmapped: str, with_drop: bool
) -> None:
    assume(len(set(renames.values())) == len(renames))  # two rules writing one target: refused
    rules: list[dict[str, Any]] = [{"from": s, "to": t} for s, t in renames.items()]
    unread = sorted(set("abcdef") - set(renames))
    if with_drop and unread:
        rules.append({"from": unread[0], "drop": True})
    mapper = RuleSet.from_dict({"unmapped": unmapped, "rules": rules}).compile()
    assert mapper._renames is not None
    general = RuleSet.from_dict({"unmapped": unmapped, "rules": rules}).compile()
    general._renames = None
    before = dict(event)
    assert mapper.apply(event) == general.apply(event)
    assert event == before


def test_empty_input_containers_are_never_written_into() -> None:
    rules = {"items[*].sku": "items[*].code", "other[*]": "items[*].extra"}
    event: dict[str, Any] = {"items": [{"sku": 1}, {}], "other": [5, 6]}
    out = apply(rules, event)  # apply() also checks the input is unchanged
    assert out == {"items": [{"code": 1, "extra": 5}, {"extra": 6}]}
    assert event["items"][1] == {}


def test_writing_through_a_list_element_of_the_wrong_kind_is_an_error() -> None:
    with pytest.raises(MappingError, match=r"cannot write 'l\[0\]\.x': \[0\] holds integer 5"):
        apply({"a": "l[0].x"}, {"a": 1, "l": [5]})
    with pytest.raises(MappingError, match=r"'l' holds object .*, not a list"):
        apply({"a": "l[0]"}, {"a": 1, "l": {"k": 1}})
