"""SchemaValidator: fast verdicts, detailed errors, shared configuration, no remote fetches."""

from __future__ import annotations

import http.server
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import referencing.exceptions

import evolvekit.schema.validate as validate_module
from evolvekit.errors import EventValidationError, RefError, SchemaError
from evolvekit.schema.registry import SchemaRegistry
from evolvekit.schema.validate import SchemaValidator, ecma_to_python, translate_patterns

SHIPPED = Path(__file__).resolve().parents[2] / "schemas"


class _Recorder(http.server.BaseHTTPRequestHandler):
    requests: list[str] = []  # noqa: RUF012 - shared on purpose: the test reads it

    def do_GET(self) -> None:
        type(self).requests.append(self.path)
        body = b'{"type": "string"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def schema_server() -> Iterator[tuple[str, list[str]]]:
    """A local HTTP server that serves a schema and records every request it gets."""
    _Recorder.requests = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", _Recorder.requests
    finally:
        server.shutdown()
        server.server_close()


def test_remote_ref_is_never_fetched(schema_server: tuple[str, list[str]]) -> None:
    base, requests = schema_server
    schema = {"properties": {"a": {"$ref": f"{base}/s.json"}}}
    with pytest.raises(RefError, match="never fetched"):
        SchemaValidator(schema)
    assert requests == []


def test_fast_engine_retriever_refuses_remote_refs(
    schema_server: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Even with the up-front ref check switched off, jsonschema-rs must not fetch."""
    base, requests = schema_server
    monkeypatch.setattr(validate_module, "check_refs", lambda *a, **k: None)
    with pytest.raises(SchemaError, match="does not compile"):
        SchemaValidator({"properties": {"a": {"$ref": f"{base}/s.json"}}})
    reg = SchemaRegistry(SHIPPED)
    with pytest.raises(SchemaError, match="never fetched"):
        SchemaValidator({"items": {"$ref": f"{base}/t.json"}}, registry=reg)
    assert requests == []


def test_detailed_engine_retriever_refuses_remote_refs(
    schema_server: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    base, requests = schema_server
    monkeypatch.setattr(validate_module, "check_refs", lambda *a, **k: None)
    validator = SchemaValidator({"type": "object"}, registry=SchemaRegistry(SHIPPED))
    validator.schema = {"items": {"$ref": f"{base}/u.json"}}  # bypass the fast engine
    validator._reference = None
    detailed = validator.reference_validator()
    with pytest.raises(referencing.exceptions.Unresolvable) as info:
        list(detailed.iter_errors([1]))
    cause: BaseException | None = info.value
    while cause is not None and not isinstance(cause, RefError):
        cause = cause.__cause__
    assert isinstance(cause, RefError) and "never fetched" in str(cause)
    assert requests == []


def test_valid_and_invalid_events_with_pointers() -> None:
    reg = SchemaRegistry(SHIPPED)
    v = reg.validator("agent.session", "2.0.0")
    good = {"agentId": 1, "sessionId": "s", "isActive": True, "startedAt": "2024-01-01T00:00:00Z"}
    assert v.is_valid(good) and v.errors(good) == []
    v.validate(good)
    bad = {**good, "agentId": "1", "skills": [{"id": 1, "name": "x", "extra": 1}]}
    del bad["sessionId"]
    assert not v.is_valid(bad)
    pointers = [p for p, _ in v.errors(bad)]
    assert pointers == ["#", "#/agentId", "#/skills/0"]
    with pytest.raises(EventValidationError) as info:
        v.validate(bad)
    assert info.value.errors == v.errors(bad)
    assert "(+2 more)" in str(info.value)
    problems = v.problems(bad)
    assert [(p.pointer, p.keyword) for p in problems] == [
        ("#", "required"),
        ("#/agentId", "type"),
        ("#/skills/0", "additionalProperties"),
    ]
    assert [(p.pointer, p.message) for p in problems] == v.errors(bad)
    assert v.problems(good) == []


def test_cross_file_refs_work_in_both_engines() -> None:
    v = SchemaRegistry(SHIPPED).validator("agent.session", "1.0.0")
    event = {"AgentId": "12", "SessionId": "S", "IsActive": "Yes", "StartDate": "2024-01-01"}
    assert not v.is_valid(event)
    assert v.errors(event) == [("#/IsActive", "'Yes' is not one of ['True', 'False']")]


def test_format_is_an_annotation_in_every_draft() -> None:
    for dialect in ("http://json-schema.org/draft-07/schema#",
                    "https://json-schema.org/draft/2020-12/schema",
                    "http://json-schema.org/draft-04/schema#"):  # fmt: skip
        v = SchemaValidator({"$schema": dialect, "format": "email"})
        assert v.is_valid("not an email") and v.errors("not an email") == []
        d = SchemaValidator({"$schema": dialect, "format": "date-time"})
        assert d.is_valid("yesterday")


@pytest.mark.parametrize(
    ("pattern", "text", "valid"),
    [
        (r"^\d+$", "123", True),
        (r"^\d+$", "١٢٣", False),  # Arabic-Indic digits: ASCII \d in ECMA-262
        (r"^\w+$", "é", False),
        (r"^[\d-]+$", "12-3", True),
        (r"^[\d]+$", "٣", False),
        (r"^\s$", "\ufeff", True),
        (r"^\S$", "\ufeff", False),
        (r"^a$", "a\n", False),  # Python's $ also matches before a final newline
        (r"^[$]$", "$", True),
        (r"^\$$", "$", True),
        (r"colou?r", "the colour", True),  # unanchored search, as in both
    ],
)
def test_regex_semantics_agree(pattern: str, text: str, valid: bool) -> None:
    v = SchemaValidator({"pattern": pattern})
    assert v.is_valid(text) is valid
    assert (v.errors(text) == []) is valid
    p = SchemaValidator(
        {"patternProperties": {pattern: {"type": "integer"}}, "additionalProperties": False}
    )
    assert p.is_valid({text: 1}) is valid
    assert (p.errors({text: 1}) == []) is valid


def test_pattern_messages_show_the_pattern_as_written() -> None:
    v = SchemaValidator({"properties": {"d": {"pattern": r"^\d+$"}}})
    assert v.errors({"d": "x"}) == [("#/d", r"'x' does not match '^\\d+$'")]


def test_ecma_to_python_translation() -> None:
    assert ecma_to_python(r"^\d{3}$") == r"^[0-9]{3}\Z"
    assert ecma_to_python(r"[\w.]+") == r"[0-9A-Z_a-z.]+"
    assert re.search(ecma_to_python(r"^[\W]$"), "ß") and not re.search(ecma_to_python(r"[\W]"), "a")
    assert re.search(ecma_to_python(r"^[\S]$"), "\x85") and not re.search(
        ecma_to_python(r"\s"), "\x1c"
    )
    assert ecma_to_python(r"[]$]") == r"[]$]"
    assert ecma_to_python(r"(?m)^a$") == r"(?m)^a$"
    assert re.search(ecma_to_python(r"^\W$"), "é")
    schema = {"properties": {"p": {"pattern": r"\d"}}, "enum": [{"pattern": r"\d"}],
              "patternProperties": {r"^\d$": {}}}  # fmt: skip
    translated = translate_patterns(schema)
    assert translated["properties"]["p"]["pattern"] == "[0-9]"
    assert translated["enum"] == [{"pattern": r"\d"}]  # data, untouched
    assert list(translated["patternProperties"]) == [r"^[0-9]\Z"]
    assert schema["properties"]["p"]["pattern"] == r"\d"  # the input is not mutated


def test_schema_without_registry_resolves_local_refs_only() -> None:
    v = SchemaValidator({"$defs": {"n": {"type": "integer"}}, "items": {"$ref": "#/$defs/n"}})
    assert v.is_valid([1, 2]) and v.errors([1, "x"]) == [("#/1", "'x' is not of type 'integer'")]
    with pytest.raises(RefError, match="no schema registry"):
        SchemaValidator({"$ref": "other.json"})


def test_recursive_schema_validates_deep_instances() -> None:
    tree = {"type": "object", "properties": {"kids": {"type": "array", "items": {"$ref": "#"}}},
            "additionalProperties": False}  # fmt: skip
    v = SchemaValidator(tree)
    node: dict[str, Any] = {}
    for _ in range(50):
        node = {"kids": [node]}
    assert v.is_valid(node)
    assert not v.is_valid({"kids": [{"kids": [{"x": 1}]}]})
    assert v.errors({"kids": [{"kids": [{"x": 1}]}]})[0][0] == "#/kids/0/kids/0"


def test_ad_hoc_schema_file_in_registry_root(tmp_path: Path) -> None:
    root = tmp_path / "schemas"
    (root / "_defs").mkdir(parents=True)
    (root / "_defs" / "c.json").write_text(json.dumps({"$defs": {"s": {"type": "string"}}}))
    cand = root / "cand.json"
    cand.write_text(json.dumps({"items": {"$ref": "_defs/c.json#/$defs/s"}}))
    reg = SchemaRegistry(root)
    v = SchemaValidator(reg.load_file(cand), registry=reg, base_uri=cand.resolve().as_uri())
    assert v.is_valid(["a"]) and v.errors([1]) == [("#/0", "1 is not of type 'string'")]


def test_schema_that_is_not_a_schema_is_refused() -> None:
    with pytest.raises(SchemaError, match="is not a 'regex'") as info:
        SchemaValidator({"properties": {"a": {"pattern": r"^\p{L}+$"}}}, file="s.json")
    assert info.value.pointer == "#/properties/a/pattern" and info.value.file == "s.json"
    with pytest.raises(SchemaError, match="not a valid JSON Schema"):
        SchemaValidator({"type": "strin"})


def test_validate_error_points_into_the_event() -> None:
    v = SchemaValidator({"properties": {"a": {"type": "string"}}, "required": ["b"]})
    with pytest.raises(EventValidationError) as info:
        v.validate({"a": 1})
    assert str(info.value) == "#: 'b' is a required property (+1 more)"
    assert info.value.errors == [
        ("#", "'b' is a required property"),
        ("#/a", "1 is not of type 'string'"),
    ]
