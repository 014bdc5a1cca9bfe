"""Schema inference from sample events (evolvekit.schema.infer)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evolvekit.errors import InputError
from evolvekit.schema.infer import NOTE_KEY, infer_schema
from evolvekit.schema.validate import SchemaValidator

SHIPPED = Path(__file__).resolve().parents[2] / "schemas"


def examples(subject: str, version: str) -> list[Any]:
    path = SHIPPED / subject / "examples" / f"{version}.jsonl"
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def test_types_merge_and_required_is_present_everywhere() -> None:
    schema = infer_schema([{"a": 1, "b": "x", "c": None}, {"a": 2.5, "c": "y"}, {"a": 3, "c": 1}])
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    props = schema["properties"]
    assert props["a"] == {"type": "number"}  # integer + number -> number
    assert props["b"] == {"type": "string"}
    assert props["c"]["type"] == ["string", "integer", "null"]
    assert schema["required"] == ["a", "c"]


def test_nested_objects_and_arrays() -> None:
    schema = infer_schema(
        [
            {"agent": {"id": "a", "skills": [{"id": 1}, {"id": 2, "name": "x"}]}, "tags": []},
            {"agent": {"id": "b", "skills": []}, "tags": ["t"]},
        ]
    )
    agent = schema["properties"]["agent"]
    assert agent["required"] == ["id", "skills"]
    skill = agent["properties"]["skills"]["items"]
    assert skill["required"] == ["id"]
    assert skill["properties"]["name"] == {"type": "string"}
    assert schema["properties"]["tags"] == {"type": "array", "items": {"type": "string"}}
    assert infer_schema([{"e": []}])["properties"]["e"] == {"type": "array"}


@pytest.mark.parametrize(
    ("values", "fmt"),
    [
        (["2024-01-15T10:30:00Z", "2024-01-15T10:30:00.123+02:00"], "date-time"),
        (["2024-01-15", "2023-12-31"], "date"),
        (["a@b.com", "first.last@company.co.uk"], "email"),
        (["3f2b8c1e-7d4a-4b9e-8c2d-1a2b3c4d5e6f"], "uuid"),
        (["10.0.0.1", "192.168.1.254"], "ipv4"),
        (["https://example.com/x", "ftp://host/p"], "uri"),
    ],
)
def test_formats_detected(values: list[str], fmt: str) -> None:
    schema = infer_schema([{"v": value} for value in values])
    assert schema["properties"]["v"]["format"] == fmt


@pytest.mark.parametrize(
    "values",
    [["2024-01-15T10:30:00Z", "yesterday"], ["2024-13-45"], ["999.1.1.1"], ["a@b"]],
)
def test_no_format_unless_every_value_has_it(values: list[str]) -> None:
    assert "format" not in infer_schema([{"v": value} for value in values])["properties"]["v"]


def test_cxone_string_typed_values_are_noted() -> None:
    schema = infer_schema(examples("agent.session", "1.0.0"))
    props = schema["properties"]
    assert props["Duration"][NOTE_KEY] == "string holding integers (CXone style)"
    assert props["IsActive"][NOTE_KEY] == "string holding booleans (CXone style)"
    assert props["AgentId"]["type"] == "string"
    assert NOTE_KEY not in props["TeamName"]
    assert props["StartDate"]["format"] == "date-time"
    decimals = infer_schema([{"p": "12.50"}, {"p": "3"}])
    assert decimals["properties"]["p"][NOTE_KEY] == "string holding numbers (CXone style)"


def test_enums_on_request_for_low_cardinality_strings() -> None:
    events = [{"c": "voice", "id": f"I{i}"} for i in range(3)] + [{"c": "chat", "id": "I9"}]
    plain = infer_schema(events)
    assert "enum" not in plain["properties"]["c"]
    schema = infer_schema(events, enums=True)
    assert schema["properties"]["c"]["enum"] == ["chat", "voice"]
    assert "enum" not in schema["properties"]["id"]  # every value distinct: not an enum
    many = [{"c": str(i % 5)} for i in range(20)]
    assert "enum" not in infer_schema(many, enums=True, max_enum=4)["properties"]["c"]
    nullable = infer_schema([{"c": "a"}, {"c": "a"}, {"c": None}], enums=True)
    assert nullable["properties"]["c"]["enum"] == ["a", None]


def test_inferred_schema_accepts_its_samples_and_is_valid() -> None:
    for subject, version in (
        ("interaction.completed", "1.0.0"),
        ("interaction.completed", "3.0.0"),
        ("agent.session", "1.0.0"),
        ("agent.session", "2.0.0"),
    ):
        events = examples(subject, version)
        schema = infer_schema(events, enums=True, title=f"{subject} inferred")
        jsonschema.Draft202012Validator.check_schema(schema)
        validator = SchemaValidator(schema)
        assert all(validator.is_valid(e) for e in events)
        assert schema["title"] == f"{subject} inferred"


def test_deterministic_for_the_same_input_in_any_key_order() -> None:
    a = infer_schema([{"b": 1, "a": {"y": "2024-01-01", "x": True}}, {"a": {"x": False}}])
    b = infer_schema([{"a": {"x": True, "y": "2024-01-01"}, "b": 1}, {"a": {"x": False}}])
    assert orjson.dumps(a) == orjson.dumps(b)
    assert list(a["properties"]) == ["a", "b"]


def test_bad_input() -> None:
    with pytest.raises(InputError, match="no events"):
        infer_schema([])
    with pytest.raises(InputError, match="max_enum"):
        infer_schema([{}], max_enum=0)
    with pytest.raises(InputError, match="not JSON"):
        infer_schema([{"a": object()}])
    deep: Any = 1
    for _ in range(500):
        deep = [deep]
    with pytest.raises(InputError, match="nested deeper"):
        infer_schema([deep])


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=60, deadline=None)
@given(st.lists(JSON, min_size=1, max_size=5))
def test_inferred_schema_accepts_every_sample(events: list[Any]) -> None:
    schema = infer_schema(events, enums=True)
    validator = SchemaValidator(schema)
    assert all(validator.is_valid(event) for event in events)
