from __future__ import annotations

import pytest

from evolvekit.errors import RuleSetError
from evolvekit.mapping.rulefile import load_yaml, ruleset_schema, schema_problem


def test_load_yaml_records_value_and_key_marks() -> None:
    data, marks = load_yaml("rules:\n  - from: a\n    to: b\n", "r.yaml")
    assert data == {"rules": [{"from": "a", "to": "b"}]}
    assert marks.values[("rules", 0)] == (2, 5)
    assert marks.values[("rules", 0, "to")] == (3, 9)
    assert marks.keys[("rules", 0, "to")] == (3, 5)
    # An unknown path falls back to its nearest recorded ancestor.
    assert marks.find(("rules", 0, "to", "deeper")) == (3, 9)


def test_load_yaml_keeps_json_scalars() -> None:
    data, _ = load_yaml("a: 2024-01-15\nb: yes\nc: true\nd: 1.5\ne: null\n", None)
    assert data == {"a": "2024-01-15", "b": "yes", "c": True, "d": 1.5, "e": None}


def test_load_yaml_refuses_python_tags() -> None:
    with pytest.raises(RuleSetError, match="not valid YAML"):
        load_yaml("a: !!python/name:os.system\n", "r.yaml")


def test_schema_problem() -> None:
    assert schema_problem({"a": "b"}) is None
    assert schema_problem({"rules": [{"from": "a", "to": "b"}]}) is None
    message, path, at_key = schema_problem({"rules": [{"from": "a", "tto": "b"}]}) or ("", (), 0)
    assert message.startswith("unknown key 'tto' in rule 0")
    assert path == ("rules", 0, "tto") and at_key


def test_ruleset_schema_is_cached_and_describes_rules() -> None:
    assert ruleset_schema() is ruleset_schema()
    assert "rule" in ruleset_schema()["$defs"]
