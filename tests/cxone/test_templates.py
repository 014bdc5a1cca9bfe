from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from evolvekit.cxone.templates import Template, TemplateError, parse_placeholders
from evolvekit.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
EVENT = {"id": "INT-1", "agent": {"name": "Ana", "skills": [4, 5]}, "n": 3, "ok": True}


def test_placeholders_parse_paths_keys_and_escaped_braces() -> None:
    assert parse_placeholders("a {agent.name} {{x}} {$key}") == [
        (False, "a "),
        (True, "agent.name"),
        (False, " "),
        (False, "{"),
        (False, "x"),
        (False, "}"),
        (False, " "),
        (True, "$key"),
    ]
    assert "unbalanced" in str(parse_placeholders("a {b"))
    assert "not a dot path" in str(parse_placeholders("{a b}"))


def test_the_default_template_serves_any_event() -> None:
    message = Template.default().render_dfo(EVENT, "k-1")
    assert message["idOnExternalPlatform"] == "k-1"
    assert message["thread"] == {"idOnExternalPlatform": "k-1"}
    assert orjson.loads(message["messageContent"]["payload"]["text"]) == EVENT
    assert message["messageContent"]["type"] == "TEXT"
    # Custom fields from the top-level scalars, as strings; objects are left out.
    assert message["contact"]["customFields"] == [
        {"ident": "id", "value": "INT-1"},
        {"ident": "n", "value": "3"},
        {"ident": "ok", "value": "true"},
    ]
    item = Template.default().render_work_item(EVENT, "k-1")
    assert item["workItemID"] == "k-1" and orjson.loads(item["workItemPayload"]) == EVENT


def test_a_template_file_maps_fields(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        "thread:\n  id: 'T-{id}'\n  name: '{agent.name}'\ntext: '{agent.name} has {n}'\n"
        "author:\n  id: '{agent.name}'\n  last_name: '{missing}'\n"
        "custom_fields:\n  skill: '{agent.skills.1}'\n"
        "work_item:\n  type: call\n  from: '{id}'\n"
    )
    template = Template.load(path)
    message = template.render_dfo(EVENT, "k")
    assert message["thread"] == {"idOnExternalPlatform": "T-INT-1", "threadName": "Ana"}
    assert message["messageContent"]["payload"]["text"] == "Ana has 3"
    assert message["authorEndUserIdentity"] == {"idOnExternalPlatform": "Ana", "lastName": ""}
    assert message["contact"]["customFields"] == [{"ident": "skill", "value": "5"}]
    item = template.render_work_item(EVENT, "k")
    assert item["workItemType"] == "call" and item["from"] == "INT-1"
    with pytest.raises(InputError, match=r"thread\.id"):
        Template.from_text("thread:\n  id: '{nothing}'\n").render_dfo(EVENT, "k")


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("thread:\n  id: x\ntxet: y\n", 3, "unknown key 'txet'"),
        ("thread:\n  id: x\n  colour: red\n", 3, "unknown key 'colour' in thread"),
        ("text: ok\ndirection: sideways\n", 2, "direction must be one of inbound, outbound"),
        ("text: ok\n\nauthor:\n  id: '{a b}'\n", 4, "author.id: placeholder"),
        ("text: ok\ncustom_fields:\n  a: '{x'\n", 3, "custom_fields.a: unbalanced"),
        ("text: ok\nwork_item: [1]\n", 2, "work_item must be a mapping"),
        ("text: [unclosed\n", 2, "not valid YAML"),
        ("text: ''\n", 1, "text must not be empty"),
    ],
)
def test_template_errors_name_the_line(text: str, line: int, message: str) -> None:
    with pytest.raises(TemplateError) as caught:
        Template.from_text(text, source="t.yaml")
    assert caught.value.line == line, str(caught.value)
    assert message in str(caught.value)
    assert str(caught.value).startswith(f"t.yaml:{line}")


@pytest.mark.parametrize(
    ("subject", "version"), [("interaction.completed", "3.0.0"), ("agent.session", "2.0.0")]
)
def test_shipped_templates_load_and_render_the_shipped_examples(subject: str, version: str) -> None:
    template = Template.load(ROOT / "templates" / "cxone" / f"{subject}.yaml")
    assert template.subject == subject
    lines = (ROOT / "schemas" / subject / "examples" / f"{version}.jsonl").read_bytes()
    events = [orjson.loads(line) for line in lines.splitlines() if line.strip()]
    assert events
    for event in events:
        message = template.render_dfo(event, "key")
        assert message["thread"]["idOnExternalPlatform"]  # never empty on these
        assert all(f["value"] is not None for f in message["contact"]["customFields"])
        assert orjson.loads(template.render_work_item(event, "key")["workItemPayload"]) == event
