from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

import evolvekit as ek
from evolvekit.errors import RuleSetError
from evolvekit.mapping.paths import WILDCARD
from evolvekit.mapping.ruleset import Rule, RuleSet, TransformSpec, ruleset_schema
from evolvekit.sentinel import MISSING

FULL = """\
subject: interaction.completed
from_version: 1.0.0
to_version: v2.0.0
unmapped: keep
rules:
  - from: agentEmail      # a comment
    to: agentId
    transform: lower
  - from: callDuration
    to: durationSeconds
    transform: [str, {name: int}]
  - to: metadata.migratedFrom
    value: "1.0.0"
  - from: [firstName, lastName]
    to: customerName
    transform: {name: join, sep: " "}
  - from: legacyNotes
    drop: true
  - from: customer.tier
    to: customerTier
    default: standard
    required: true
  - from: items[*].sku
    to: lines[*].productId
    note: element-wise
"""


def test_full_form_loads_every_rule_feature() -> None:
    rs = RuleSet.from_yaml(FULL, source="r.yaml")
    assert (rs.subject, rs.from_version, rs.to_version) == (
        "interaction.completed",
        "1.0.0",
        "2.0.0",
    )
    assert rs.unmapped == "keep" and rs.source == "r.yaml"
    assert [r.index for r in rs.rules] == list(range(7))
    assert [r.line for r in rs.rules] == [6, 9, 12, 14, 17, 19, 23]
    assert rs.rules[0] == Rule(
        index=0, sources=("agentEmail",), target="agentId",
        transforms=(TransformSpec("lower", {}),), line=6,
    )  # fmt: skip
    assert rs.rules[1].transforms == (TransformSpec("str", {}), TransformSpec("int", {}))
    assert rs.rules[2].sources == () and rs.rules[2].value == "1.0.0"
    assert rs.rules[3].sources == ("firstName", "lastName")
    assert rs.rules[3].transforms == (TransformSpec("join", {"sep": " "}),)
    assert rs.rules[4].drop and rs.rules[4].target is None
    assert rs.rules[5].default == "standard" and rs.rules[5].required
    assert rs.rules[0].value is MISSING and rs.rules[0].default is MISSING
    assert rs.rules[6].note == "element-wise" and rs.rules[0].note is None


def test_compact_form() -> None:
    rs = RuleSet.from_dict({"agentEmail": "agentId", "callDuration": "durationSeconds"})
    assert rs.unmapped == "keep" and rs.subject is None and rs.from_version is None
    assert [(r.sources, r.target) for r in rs.rules] == [
        (("agentEmail",), "agentId"),
        (("callDuration",), "durationSeconds"),
    ]


def test_compact_form_in_yaml_has_lines() -> None:
    rs = RuleSet.from_yaml("agentEmail: agentId\n\ncallDuration: durationSeconds\n")
    assert [r.line for r in rs.rules] == [1, 3]


def test_rules_as_a_mapping() -> None:
    text = "rules:\n  a: b\n  c:\n    to: d\n    transform: int\n"
    rs = RuleSet.from_yaml(text)
    assert [(r.sources, r.target, r.line) for r in rs.rules] == [
        (("a",), "b", 2),
        (("c",), "d", 3),
    ]


@pytest.mark.parametrize(
    "text", [FULL, "a: b\n", "description: d\nrules:\n  a: b\n  c: {drop: true, note: n}\n"]
)
def test_to_dict_round_trips(text: str) -> None:
    rs = RuleSet.from_yaml(text)
    again = RuleSet.from_dict(rs.to_dict())
    assert [_no_line(r) for r in again.rules] == [_no_line(r) for r in rs.rules]
    assert (again.subject, again.from_version, again.to_version, again.unmapped) == (
        rs.subject, rs.from_version, rs.to_version, rs.unmapped,
    )  # fmt: skip
    assert again.description == rs.description
    from_yaml = RuleSet.from_yaml(rs.to_yaml())
    assert [_no_line(r) for r in from_yaml.rules] == [_no_line(r) for r in rs.rules]


def _no_line(rule: Rule) -> Rule:
    return Rule(**{**rule.__dict__, "line": None})


def test_to_dict_is_valid_under_the_packaged_schema() -> None:
    rs = RuleSet.from_yaml(FULL)
    jsonschema.Draft202012Validator(ruleset_schema()).validate(rs.to_dict())


def test_schema_is_packaged_and_valid() -> None:
    schema = ruleset_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(yaml.safe_load(FULL))


def test_from_json_with_lines() -> None:
    data = {"rules": [{"from": "a", "to": "b"}, {"from": "c", "to": "d", "transform": "int"}]}
    text = json.dumps(data, indent=2)
    rs = RuleSet.from_json(text, source="r.json")
    assert [r.target for r in rs.rules] == ["b", "d"]
    assert all(r.line is not None for r in rs.rules)
    with pytest.raises(RuleSetError, match=r"r\.json:\d+:\d+: unknown transform 'nope'"):
        RuleSet.from_json(text.replace('"int"', '"nope"'), source="r.json")


def test_from_json_syntax_error_has_line() -> None:
    with pytest.raises(RuleSetError, match=r"r\.json:\d+:\d+: not valid JSON: trailing comma"):
        RuleSet.from_json('{"a": "b",\n}', source="r.json")


def test_yaml_timestamps_stay_strings() -> None:
    rs = RuleSet.from_yaml("rules:\n  - to: at\n    value: 2024-01-15T10:30:00Z\n")
    assert rs.rules[0].value == "2024-01-15T10:30:00Z"


def test_yaml_booleans_are_only_true_and_false() -> None:
    text = "rules:\n  - to: a\n    value: [yes, no, on, off, true, False]\n"
    assert RuleSet.from_yaml(text).rules[0].value == ["yes", "no", "on", "off", True, False]
    table = (
        "rules:\n  - {from: c, to: c, transform: {name: map, table: {no: NO, 2: two, true: T}}}\n"
    )
    mapper = RuleSet.from_yaml(table).compile()
    assert [mapper.apply({"c": v})["c"] for v in ("no", 2, True)] == ["NO", "two", "T"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rules:\n  - from: a\n    to: b\n    drop: true\n",
         r"f\.yaml:2:5: a rule cannot both drop and map a field: remove 'to'"),
        ("rules:\n  - from: a\n    value: 1\n    to: b\n",
         r"f\.yaml:2:5: a rule has either 'from' .* or 'value'"),
        ("rules:\n  - drop: true\n", r"f\.yaml:2:5: a drop rule needs 'from'"),
        ("rules:\n  - from: a\n", r"f\.yaml:2:5: a rule needs 'to'"),
        ("rules:\n  - to: a\n    value: 1\n    default: 2\n",
         r"'default' and 'required' apply to 'from' rules"),
        ("rules:\n  - from: a\n    too: b\n",
         r"f\.yaml:3:5: unknown key 'too' in rule 0 \(allowed: default, drop, from"),
        ("description: d\na: b\n", r"f\.yaml:2:1: unknown key 'a'"),
        ("subject: s\nrule: []\n",
         r"f\.yaml:2:1: unknown key 'rule' \(allowed: description, from_version, rules"),
        ("rules:\n  - from: a\n    to: b\n    transform: nope\n",
         r"f\.yaml:4:16: unknown transform 'nope'"),
        ("rules:\n  - from: a\n    to: b\n    transform: [lower, {name: nope}]\n",
         r"f\.yaml:4:\d+: unknown transform 'nope'"),
        ("rules:\n  - from: a\n    to: b\n    transform: {name: split, sepp: 1}\n",
         r"f\.yaml:4:16: transform 'split' has no parameter 'sepp'"),
        ("rules:\n  - from: a\n    to: b\n    transform: {name: regex, pattern: '('}\n",
         r"f\.yaml:4:16: transform 'regex': bad pattern"),
        ("rules:\n  - from: a\n    to: b\n  - from: c\n    to: b\n",
         r"f\.yaml:5:9: writes 'b', which rule 0 \(line 2\) also writes"),
        ("rules:\n  - from: a\n    to: b\n  - from: c\n    to: b.x\n",
         r"f\.yaml:5:9: target 'b\.x' is nested in rule 0 \(line 2\)'s target 'b'"),
        ("rules:\n  - from: a\n    to: l[0]\n  - from: c[*]\n    to: l[*]\n",
         r"writes 'l\[\*\]', which rule 0"),
        ("rules:\n  - from: a[\n    to: b\n", r"f\.yaml:2:11: path 'a\[': '\[' at position 1"),
        ("rules:\n  - from: a\n    to: b..c\n", r"f\.yaml:3:9: path 'b\.\.c': empty key"),
        ("rules:\n  - from: '[0]'\n    to: b\n", r"must start with a field name"),
        ("rules:\n  - from: a[*].b\n    to: c\n",
         r"'from' 'a\[\*\]\.b' has 1 \[\*\] but 'to' 'c' has 0"),
        ("rules:\n  - from: ['a[*]', b]\n    to: c[*]\n", r"'from' 'b' has 0 \[\*\]"),
        ("rules:\n  - to: c[*].x\n    value: 1\n", r"a constant cannot be written to 'c\[\*\]\.x'"),
        ("unmapped: sometimes\nrules: []\n",
         r"f\.yaml:1:11: unmapped must be one of keep, drop, error, not 'sometimes'"),
        ("from_version: '1.0'\nrules: []\n", r"from_version '1\.0' is not a semantic version"),
        ("rules:\n  - from: 5\n    to: b\n", r"f\.yaml:2:11: from of rule 0 must be a string or"),
        ("rules:\n  - from: a\n    to: b\n    required: yes please\n",
         r"required of rule 0 must be a boolean"),
        ("rules: 5\n", r"rules must be an array or object"),
        ("- a\n- b\n", r"a rule file must be a mapping, not a list"),
        ("", r"f\.yaml: the rule file is empty"),
        ("a: [b\n", r"f\.yaml:2:1: not valid YAML"),
        ("a: b\na: c\n", r"f\.yaml:2:1: duplicate key 'a' \(first at line 1\)"),
        ("a: 5\n", r"f\.yaml:1:4: a must be a string, not a number"),
        ("rules:\n  a: 5\n", r"f\.yaml:2:6: rule 'a' must be a target path or a rule mapping"),
        ("!!python/object:os.system {}\n", r"not valid YAML"),
    ],
)  # fmt: skip
def test_load_errors_say_where_and_what(text: str, message: str) -> None:
    with pytest.raises(RuleSetError, match=message) as caught:
        RuleSet.from_yaml(text, source="f.yaml")
    assert "\n" not in str(caught.value)


def test_errors_from_dicts_name_the_rule_index() -> None:
    with pytest.raises(RuleSetError, match=r"^rule 1: unknown transform 'nope'") as caught:
        RuleSet.from_dict({"rules": [{"from": "a", "to": "b"}, {"from": "c", "to": "d",
                                                                "transform": "nope"}]})  # fmt: skip
    assert caught.value.rule == 1


def test_from_dict_rejects_non_mappings() -> None:
    with pytest.raises(RuleSetError, match="must be a mapping"):
        RuleSet.from_dict(["a"])  # type: ignore[arg-type]


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_load_takes_subject_and_versions_from_the_path(tmp_path: Path) -> None:
    path = _write(tmp_path / "rules" / "agent.session" / "1.0.0_to_2.0.0.yaml", "a: b\n")
    rs = ek.RuleSet.load(path)
    assert (rs.subject, rs.from_version, rs.to_version) == ("agent.session", "1.0.0", "2.0.0")
    assert rs.source == str(path)


def test_load_json_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "rules" / "s" / "2.0.0_to_1.0.0.json", '{"b": "a"}')
    rs = RuleSet.load(path)
    assert (rs.subject, rs.from_version, rs.to_version) == ("s", "2.0.0", "1.0.0")
    assert rs.rules[0].sources == ("b",)


def test_file_and_path_must_agree(tmp_path: Path) -> None:
    agreeing = "subject: s\nfrom_version: 1.0.0\nto_version: 2.0.0\nrules: {a: b}\n"
    path = _write(tmp_path / "rules" / "s" / "1.0.0_to_2.0.0.yaml", agreeing)
    assert RuleSet.load(path).subject == "s"
    bad = _write(tmp_path / "rules" / "s" / "1.0.0_to_3.0.0.yaml", agreeing)
    with pytest.raises(RuleSetError, match=r"to_version '2\.0\.0' in the file disagrees with '3"):
        RuleSet.load(bad)
    other = _write(tmp_path / "rules" / "t" / "1.0.0_to_2.0.0.yaml", agreeing)
    with pytest.raises(RuleSetError, match="subject 's' in the file disagrees with 't'"):
        RuleSet.load(other)


def test_outside_a_rules_tree_the_file_subject_wins(tmp_path: Path) -> None:
    text = "subject: s\nrules: {a: b}\n"
    rs = RuleSet.load(_write(tmp_path / "scratch" / "1.0.0_to_2.0.0.yaml", text))
    assert (rs.subject, rs.from_version) == ("s", "1.0.0")
    plain = RuleSet.load(_write(tmp_path / "scratch" / "mine.yaml", text))
    assert (plain.subject, plain.from_version) == ("s", None)


def test_load_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RuleSetError, match="cannot read rule file"):
        RuleSet.load(tmp_path / "nope.yaml")


def test_rule_path_properties() -> None:
    rule = RuleSet.from_dict({"items[*].sku": "lines[*].productId"}).rules[0]
    assert rule.source_segments == (("items", WILDCARD, "sku"),)
    assert rule.target_segments is not None and rule.target_segments[-1] == "productId"


def test_compile_returns_a_mapper() -> None:
    mapper = RuleSet.from_dict({"a": "b"}).compile()
    result: dict[str, Any] = mapper.apply({"a": 1})
    assert result == {"b": 1}
    assert mapper.ruleset.rules[0].target == "b"


def test_alias_bombs_and_deep_nesting_are_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 8):
        refs = ", ".join([f"*a{level - 1}"] * 10)
        lines.append(f"a{level}: &a{level} [{refs}]")
    bomb = "\n".join(lines) + "\nrules:\n  - to: t\n    value: *a7\n"
    with pytest.raises(RuleSetError, match="too many nodes"):
        RuleSet.from_yaml(bomb, source="b.yaml")
    deep = "rules:\n  - to: t\n    value: " + "[" * 200 + "]" * 200 + "\n"
    with pytest.raises(RuleSetError, match=r"nesting too deep|nested too deeply"):
        RuleSet.from_yaml(deep)
    very_deep = "a: " + "[" * 5000 + "]" * 5000 + "\n"
    with pytest.raises(RuleSetError, match="nest"):
        RuleSet.from_yaml(very_deep)


def test_anchors_within_limits_work() -> None:
    text = "rules:\n  - {from: a, to: b, transform: &t {name: map, table: {x: y}}}\n"
    text += "  - {from: c, to: d, transform: *t}\n"
    mapper = RuleSet.from_yaml(text).compile()
    assert mapper.apply({"a": "x", "c": "x"}) == {"b": "y", "d": "y"}


def test_huge_files_are_refused_before_parsing() -> None:
    with pytest.raises(RuleSetError, match=r"too big: \d+ characters"):
        RuleSet.from_yaml("a: b\n#" + "x" * 1_000_000 + "\n", source="big.yaml")
