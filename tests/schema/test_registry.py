"""The schema registry: layout, subject.yaml, loading checks, add(), the shipped examples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from evolvekit.errors import ConfigError, RefError, RegistryError, SchemaError, VersionError
from evolvekit.schema.registry import SchemaRegistry, looks_like_ref, max_depth_of, parse_ref

SHIPPED = Path(__file__).resolve().parents[2] / "schemas"
OBJ = {"type": "object", "properties": {"a": {"type": "string"}}}


def write(path: Path, value: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(value if isinstance(value, str) else json.dumps(value), encoding="utf-8")
    return path


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "schemas"
    folder.mkdir()
    return folder


# --- the shipped registry --------------------------------------------------------------


def test_shipped_subjects_versions_and_modes() -> None:
    reg = SchemaRegistry(SHIPPED)
    assert reg.subjects() == ["agent.session", "interaction.completed"]
    assert reg.versions("interaction.completed") == ["1.0.0", "2.0.0", "2.1.0", "3.0.0"]
    assert reg.versions("agent.session") == ["1.0.0", "2.0.0"]
    assert reg.latest("interaction.completed") == "3.0.0"
    assert reg.mode("interaction.completed") == "none"
    assert reg.config("interaction.completed").version_field == "schema_version"
    assert reg.config("agent.session").version_field is None


def test_shipped_legacy_schema_is_the_tutorials() -> None:
    legacy = SchemaRegistry(SHIPPED).get("interaction.completed", "1.0.0")
    assert legacy["required"] == ["customerId", "interactionId", "agentEmail"]
    assert legacy["properties"] == {
        "customerId": {"type": "string"},
        "interactionId": {"type": "string"},
        "agentEmail": {"type": "string"},
        "callDuration": {"type": "integer"},
    }
    assert "additionalProperties" not in legacy  # open, like the tutorial's


def test_every_shipped_example_validates_against_its_version() -> None:
    reg = SchemaRegistry(SHIPPED)
    for subject in reg.subjects():
        for version in reg.versions(subject):
            lines = (SHIPPED / subject / "examples" / f"{version}.jsonl").read_bytes().splitlines()
            events = [orjson.loads(line) for line in lines if line.strip()]
            assert len(events) >= 3
            validator = reg.validator(subject, version)
            for event in events:
                assert validator.errors(event) == [], (subject, version, event)
    tutorial = orjson.loads(
        (SHIPPED / "interaction.completed" / "examples" / "1.0.0.jsonl")
        .read_bytes()
        .split(b"\n")[0]
    )
    assert tutorial["agentEmail"] == "agent.smith@company.com" and tutorial["callDuration"] == 245


def test_shipped_schemas_share_definitions_across_files() -> None:
    text = (SHIPPED / "interaction.completed" / "3.0.0.json").read_text()
    assert "../_defs/common.json#/$defs/" in text
    v3 = SchemaRegistry(SHIPPED).validator("interaction.completed", "3.0.0")
    event = {"customerId": "C", "interactionId": "I", "agent": {"id": "a"}, "channel": "fax"}
    assert not v3.is_valid(event)  # the channel enum lives in _defs/common.json
    assert v3.errors(event)[0][0] == "#/channel"


def test_get_returns_a_fresh_copy_and_path_uri() -> None:
    reg = SchemaRegistry(SHIPPED)
    first = reg.get("agent.session", "2.0.0")
    first["properties"].clear()
    assert reg.get("agent.session", "v2.0.0")["properties"]
    assert reg.path("agent.session", "2.0.0") == SHIPPED / "agent.session" / "2.0.0.json"
    assert reg.uri("agent.session", "latest").startswith("file://")
    assert reg.uri("agent.session", "latest").endswith("/agent.session/2.0.0.json")
    assert reg.validator("agent.session", "2.0.0") is reg.validator("agent.session", "v2.0.0")


def test_unknown_subject_and_version_list_what_exists() -> None:
    reg = SchemaRegistry(SHIPPED)
    with pytest.raises(RegistryError, match=r"known: agent\.session, interaction\.completed"):
        reg.versions("nope")
    with pytest.raises(RegistryError, match=r"versions: 1\.0\.0, 2\.0\.0"):
        reg.get("agent.session", "9.9.9")
    with pytest.raises(RegistryError):
        reg.versions("_defs")  # a "_" folder is not a subject


def test_parse_ref() -> None:
    assert parse_ref("interaction.completed@v2.1.0") == ("interaction.completed", "2.1.0")
    assert parse_ref("a@latest") == ("a", "latest")
    with pytest.raises(RegistryError):
        parse_ref("no-version")
    with pytest.raises(VersionError):
        parse_ref("a@two")
    assert looks_like_ref("a@1.0.0")
    assert not looks_like_ref(str(SHIPPED / "agent.session" / "1.0.0.json"))


# --- layout ----------------------------------------------------------------------------


def test_versions_are_semver_ordered_and_v_prefix_accepted(root: Path) -> None:
    for name in ("1.9.0", "v1.10.0", "1.2.0", "2.0.0-rc.1", "2.0.0"):
        write(root / "s" / f"{name}.json", OBJ)
    write(root / "_defs" / "x.json", OBJ)
    (root / ".hidden").mkdir()
    reg = SchemaRegistry(root)
    assert reg.subjects() == ["s"]
    assert reg.versions("s") == ["1.2.0", "1.9.0", "1.10.0", "2.0.0-rc.1", "2.0.0"]
    assert reg.path("s", "1.10.0").name == "v1.10.0.json"


def test_unparsable_version_file_name_names_the_file(root: Path) -> None:
    write(root / "s" / "1.0.0.json", OBJ)
    write(root / "s" / "latest-draft.json", OBJ)
    with pytest.raises(VersionError) as info:
        SchemaRegistry(root).versions("s")
    assert info.value.file is not None and info.value.file.endswith("latest-draft.json")
    assert "not a semantic version" in str(info.value)


def test_same_version_twice_is_refused(root: Path) -> None:
    write(root / "s" / "1.0.0.json", OBJ)
    write(root / "s" / "v1.0.0.json", OBJ)
    with pytest.raises(RegistryError, match="defined twice"):
        SchemaRegistry(root).versions("s")


# --- subject.yaml ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "mode", "transitive"),
    [
        ("", "backward", False),
        ("mode: forward\n", "forward", False),
        ("mode: full_transitive\ndescription: d\nversion_field: v\n", "full_transitive", True),
        ("mode: none  # handled by migrations\n", "none", False),
    ],
)
def test_subject_yaml_modes(root: Path, text: str, mode: str, transitive: bool) -> None:
    write(root / "s" / "1.0.0.json", OBJ)
    write(root / "s" / "subject.yaml", text)
    config = SchemaRegistry(root).config("s")
    assert config.mode == mode and config.transitive is transitive


def test_no_subject_yaml_defaults_to_backward(root: Path) -> None:
    write(root / "s" / "1.0.0.json", OBJ)
    assert SchemaRegistry(root).mode("s") == "backward"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("mode: backward\ncompatibility: full\n", "unknown key 'compatibility'"),
        ("mode: sideways\n", "mode 'sideways' is not one of"),
        ("- a\n- b\n", "must be a mapping"),
        ("mode: [unclosed\n", "not valid YAML"),
        ("version_field: 3\n", "version_field must be a string"),
    ],
)
def test_bad_subject_yaml_names_file(root: Path, text: str, needle: str) -> None:
    write(root / "s" / "1.0.0.json", OBJ)
    write(root / "s" / "subject.yaml", text)
    with pytest.raises(ConfigError) as info:
        SchemaRegistry(root).mode("s")
    assert needle in str(info.value)
    assert info.value.file is not None and info.value.file.endswith("subject.yaml")


# --- bad schema files --------------------------------------------------------------------


def test_not_json_gives_line_and_column(root: Path) -> None:
    write(root / "s" / "1.0.0.json", '{\n  "type": "object",,\n}')
    with pytest.raises(SchemaError) as info:
        SchemaRegistry(root).get("s", "1.0.0")
    assert info.value.line == 2 and info.value.column is not None
    assert "not valid JSON" in str(info.value) and "1.0.0.json:2:" in str(info.value)


def test_not_a_schema_names_the_pointer(root: Path) -> None:
    write(root / "s" / "1.0.0.json", {"properties": {"a": {"type": "strin"}}})
    with pytest.raises(SchemaError) as info:
        SchemaRegistry(root).get("s", "1.0.0")
    assert info.value.pointer == "#/properties/a/type"
    assert "not a valid JSON Schema" in str(info.value)
    assert "\n" not in str(info.value)


def test_draft4_schema_with_boolean_exclusive_maximum_loads(root: Path) -> None:
    draft4 = {"$schema": "http://json-schema.org/draft-04/schema#", "type": "number",
              "maximum": 10, "exclusiveMaximum": True}  # fmt: skip
    write(root / "s" / "1.0.0.json", draft4)
    reg = SchemaRegistry(root)
    assert reg.get("s", "1.0.0")["exclusiveMaximum"] is True
    assert reg.validator("s", "1.0.0").is_valid(9.5)
    assert not reg.validator("s", "1.0.0").is_valid(10)


@pytest.mark.parametrize(
    ("schema", "error", "needle", "pointer"),
    [
        ({"$schema": "http://example.com/x"}, SchemaError, "unknown $schema", "#/$schema"),
        ({"properties": {"a": {"$ref": "#/$defs/no"}}}, RefError, "dangling", "#/properties/a"),
        ({"$ref": "#"}, RefError, "cycle", "#"),
        ({"items": {"$ref": "http://127.0.0.1:9/x.json"}}, RefError, "never fetched", "#/items"),
        ({"items": {"$ref": "../other/1.0.0.json"}}, RefError, "no such file", "#/items"),
    ],
)
def test_bad_schema_files_are_located(
    root: Path, schema: Any, error: type[Exception], needle: str, pointer: str
) -> None:
    write(root / "s" / "1.0.0.json", schema)
    with pytest.raises(error) as info:
        SchemaRegistry(root).get("s", "1.0.0")
    err = info.value
    assert isinstance(err, SchemaError)
    assert needle in str(err) and err.pointer == pointer
    assert err.file is not None and err.file.endswith("1.0.0.json")


def test_size_limit_is_configurable(root: Path) -> None:
    write(root / "s" / "1.0.0.json", {"description": "x" * 2000})
    with pytest.raises(SchemaError, match="over the limit of 1000"):
        SchemaRegistry(root, max_bytes=1000).get("s", "1.0.0")
    assert SchemaRegistry(root).get("s", "1.0.0")


def test_depth_limit_is_configurable_and_names_the_pointer(root: Path) -> None:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(30):
        schema = {"properties": {"a": schema}}
    write(root / "s" / "1.0.0.json", schema)
    with pytest.raises(SchemaError, match="deeper than the limit of 10") as info:
        SchemaRegistry(root, max_depth=10).get("s", "1.0.0")
    assert info.value.pointer is not None and info.value.pointer.startswith("#/properties/a/")
    assert SchemaRegistry(root).get("s", "1.0.0")


def test_hundred_thousand_deep_file_is_a_clean_error(root: Path) -> None:
    depth = 100_000
    write(root / "s" / "1.0.0.json", '{"items":' * depth + "{}" + "}" * depth)
    with pytest.raises(SchemaError, match="deeper than the JSON parser's limit") as info:
        SchemaRegistry(root).get("s", "1.0.0")
    assert info.value.line == 1


def test_max_depth_of_is_iterative() -> None:
    value: Any = 1
    for _ in range(50_000):
        value = [value]
    assert max_depth_of(value) == 50_000
    assert max_depth_of({"a": [1, {"b": None}]}) == 3


# --- load_file and add -------------------------------------------------------------------


def test_load_file_inside_root_resolves_relative_refs(root: Path) -> None:
    write(root / "_defs" / "c.json", {"$defs": {"s": {"type": "string"}}})
    inside = write(
        root / "drafts" / "candidate.json", {"items": {"$ref": "../_defs/c.json#/$defs/s"}}
    )
    assert SchemaRegistry(root).load_file(inside)["items"]


def test_load_file_outside_root_cannot_reach_outside(root: Path, tmp_path: Path) -> None:
    write(tmp_path / "other.json", {"type": "string"})
    outside = write(tmp_path / "cand.json", {"items": {"$ref": "other.json"}})
    with pytest.raises(RefError, match="outside the registry root"):
        SchemaRegistry(root).load_file(outside)
    with pytest.raises(SchemaError, match="no such schema file"):
        SchemaRegistry(root).load_file(tmp_path / "missing.json")


def test_add_writes_versions(root: Path) -> None:
    reg = SchemaRegistry(root)
    assert reg.add("orders", OBJ) == "1.0.0"
    assert reg.add("orders", OBJ) == "1.1.0"  # None: next minor after the latest
    assert reg.add("orders", OBJ, version="v3.0.0") == "3.0.0"
    assert reg.add("orders", OBJ) == "3.1.0"
    assert reg.versions("orders") == ["1.0.0", "1.1.0", "3.0.0", "3.1.0"]
    assert json.loads((root / "orders" / "3.0.0.json").read_text()) == OBJ
    assert SchemaRegistry(root).get("orders", "3.1.0") == OBJ
    with pytest.raises(RegistryError, match=r"already has version 1\.1\.0"):
        reg.add("orders", OBJ, version="1.1.0")
    with pytest.raises(RegistryError, match="not a valid subject"):
        reg.add("../evil", OBJ)
    with pytest.raises(RegistryError, match="not a valid subject"):
        reg.add("_defs", OBJ)


def test_add_refuses_bad_schemas_without_writing(root: Path) -> None:
    reg = SchemaRegistry(root)
    with pytest.raises(SchemaError):
        reg.add("orders", {"type": 12})
    with pytest.raises(RefError):
        reg.add("orders", {"$ref": "https://example.com/x.json"})
    assert not (root / "orders").exists() or not list((root / "orders").iterdir())


def test_listing_parses_nothing_and_a_shared_file_is_parsed_once(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What keeps a few hundred files fast (timed in benchmarks/bench_registry.py): listing
    reads no schema, and a file that 300 versions reference is parsed once."""
    import evolvekit.schema.registry as registry_module

    write(root / "_defs" / "c.json", {"$defs": {"s": {"type": "string"}}})
    for subject in range(30):
        for minor in range(10):
            props = {"a": {"$ref": "../_defs/c.json#/$defs/s"}, "n": {"type": "integer"}}
            write(root / f"subj{subject}" / f"1.{minor}.0.json", {"properties": props})
    parsed: list[str] = []
    real_parse = registry_module.parse_schema_bytes

    def counting_parse(data: bytes, *, file: str, max_depth: int = 1000) -> Any:
        parsed.append(file)
        return real_parse(data, file=file, max_depth=max_depth)

    monkeypatch.setattr(registry_module, "parse_schema_bytes", counting_parse)
    reg = SchemaRegistry(root)
    assert sum(len(reg.versions(s)) for s in reg.subjects()) == 300
    assert parsed == []
    for subject in reg.subjects():
        for version in reg.versions(subject):
            reg.get(subject, version)
    assert len(parsed) == 301 and len(set(parsed)) == 301


def test_broken_referenced_file_is_named_in_the_error(root: Path) -> None:
    write(root / "_defs" / "c.json", '{"$defs": {"s": {"type": "string"},}}')
    write(root / "s" / "1.0.0.json", {"items": {"$ref": "../_defs/c.json#/$defs/s"}})
    with pytest.raises(RefError) as info:
        SchemaRegistry(root).get("s", "1.0.0")
    text = str(info.value)
    assert info.value.pointer == "#/items"
    assert "c.json:1:" in text and "not valid JSON" in text


def test_edited_file_is_reread_and_its_validator_rebuilt(root: Path) -> None:
    path = write(root / "s" / "1.0.0.json", {"type": "string"})
    reg = SchemaRegistry(root)
    first = reg.validator("s", "1.0.0")
    assert first.is_valid("x") and reg.validator("s", "1.0.0") is first
    path.write_text(json.dumps({"type": "integer", "description": "edited, different size"}))
    second = reg.validator("s", "1.0.0")
    assert second is not first and second.is_valid(3) and not second.is_valid("x")
    assert reg.get("s", "1.0.0")["type"] == "integer"
