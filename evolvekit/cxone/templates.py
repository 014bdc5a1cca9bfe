"""Publish templates: which event fields become a DFO message or a work item.

A template is a small YAML (or JSON) file checked by ``template.schema.json``; a mistake is
reported as one line naming the file, line and column, as rule files are. Every string may
hold placeholders: ``{a.b}`` (a dot path into the event; a missing field renders empty, a
non-string value as compact JSON), ``{$key}`` (the idempotency key), ``{$json}`` (the whole
event as compact JSON); ``{{`` and ``}}`` are literal braces.

``Template.default()`` serves any event with no file: thread id = the idempotency key, text =
the event as compact JSON, custom fields = the event's top-level scalars. Examples for the
shipped subjects live in ``templates/cxone/``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, cast

import orjson
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from evolvekit.errors import InputError, RuleSetError
from evolvekit.mapping.rulefile import Marks, load_yaml

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_PATH = re.compile(r"^(\$key|\$json|[A-Za-z0-9_@-]+(?:\.[A-Za-z0-9_@-]+)*)$")
MAX_TEMPLATE_CHARS = 100_000


class TemplateError(InputError):
    """A template file that does not load or does not check (names file and line)."""


Part = tuple[bool, str]  # (is a placeholder, literal text or path)


def parse_placeholders(text: str) -> list[Part] | str:
    """The literal and placeholder parts of ``text``, or a message saying what is wrong."""
    parts: list[Part] = []
    position = 0
    for match in _PLACEHOLDER.finditer(text):
        if match.start() > position:
            parts.append((False, text[position : match.start()]))
        token = match.group(0)
        if token in ("{{", "}}"):
            parts.append((False, token[0]))
        elif token in ("{", "}"):
            return f"unbalanced {token!r} at character {match.start() + 1} (write {token * 2})"
        else:
            path = match.group(1).strip()
            if not _PATH.match(path):
                return f"placeholder {token!r} is not a dot path, {{$key}} or {{$json}}"
            parts.append((True, path))
        position = match.end()
    if position < len(text):
        parts.append((False, text[position:]))
    return parts


def _lookup(event: Any, path: str, key: str) -> str:
    if path == "$key":
        return key
    if path == "$json":
        return orjson.dumps(event).decode()
    value = event
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return ""
    if value is None:
        return ""
    return value if isinstance(value, str) else orjson.dumps(value).decode()


@dataclass(frozen=True)
class Field:
    """One template string, parsed."""

    source: str
    parts: tuple[Part, ...]

    @classmethod
    def of(cls, text: str) -> Field:
        parts = parse_placeholders(text)
        if isinstance(parts, str):
            raise TemplateError(parts)
        return cls(text, tuple(parts))

    def render(self, event: Any, key: str) -> str:
        return "".join(
            _lookup(event, text, key) if is_path else text for is_path, text in self.parts
        )


@dataclass(frozen=True)
class Template:
    """How an event becomes a DFO message or a work item (see the module docstring)."""

    thread_id: Field = field(default_factory=lambda: Field.of("{$key}"))
    thread_name: Field | None = None
    text: Field = field(default_factory=lambda: Field.of("{$json}"))
    direction: str = "inbound"
    author_id: Field = field(default_factory=lambda: Field.of("evolvekit"))
    author_first_name: Field | None = None
    author_last_name: Field | None = None
    custom_fields: dict[str, Field] | None = None  # None: the event's top-level scalars
    work_item_type: Field = field(default_factory=lambda: Field.of("evolvekit"))
    work_item_payload: Field = field(default_factory=lambda: Field.of("{$json}"))
    work_item_from: Field | None = None
    subject: str | None = None
    source: str | None = None

    @classmethod
    def default(cls) -> Template:
        return cls()

    @classmethod
    def load(cls, path: str | Path) -> Template:
        where = str(path)
        try:
            text = Path(path).read_text("utf-8")
        except OSError as exc:
            raise TemplateError(f"cannot read the template: {exc.strerror}", file=where) from None
        except UnicodeDecodeError:
            raise TemplateError("the template is not UTF-8 text", file=where) from None
        return cls.from_text(text, source=where)

    @classmethod
    def from_text(cls, text: str, *, source: str | None = None) -> Template:
        if len(text) > MAX_TEMPLATE_CHARS:
            raise TemplateError(
                f"the template is too big (over {MAX_TEMPLATE_CHARS} characters)", file=source
            )
        try:
            data, marks = load_yaml(text, source)
        except RuleSetError as exc:
            message = exc.message.replace("rule file", "template")
            raise TemplateError(message, file=source, line=exc.line, column=exc.column) from None
        problem = _schema_problem(data)
        if problem is not None:
            message, path = problem
            _raise_at(message, path, marks, source)
        return _build(cast(dict[str, Any], data), marks, source)

    def render_dfo(self, event: Any, key: str) -> dict[str, Any]:
        """A DFO 3.0 message; ``idOnExternalPlatform`` is the idempotency key."""
        thread_id = self.thread_id.render(event, key)
        if not thread_id:
            raise InputError(
                f"template thread.id {self.thread_id.source!r} is empty for this event"
            )
        author: dict[str, Any] = {"idOnExternalPlatform": self.author_id.render(event, key) or key}
        if self.author_first_name is not None:
            author["firstName"] = self.author_first_name.render(event, key)
        if self.author_last_name is not None:
            author["lastName"] = self.author_last_name.render(event, key)
        thread: dict[str, Any] = {"idOnExternalPlatform": thread_id}
        if self.thread_name is not None:
            thread["threadName"] = self.thread_name.render(event, key)
        return {
            "idOnExternalPlatform": key,
            "direction": self.direction,
            "thread": thread,
            "messageContent": {"type": "TEXT", "payload": {"text": self.text.render(event, key)}},
            "authorEndUserIdentity": author,
            "contact": {"customFields": self._custom_fields(event, key)},
        }

    def _custom_fields(self, event: Any, key: str) -> list[dict[str, str]]:
        if self.custom_fields is None:
            if not isinstance(event, dict):
                return []
            return [
                {
                    "ident": str(name),
                    "value": value if isinstance(value, str) else orjson.dumps(value).decode(),
                }
                for name, value in event.items()
                if value is not None and not isinstance(value, dict | list)
            ]
        return [
            {"ident": ident, "value": f.render(event, key)}
            for ident, f in self.custom_fields.items()
        ]

    def render_work_item(self, event: Any, key: str) -> dict[str, str]:
        """The work item's query parameters, without ``pointOfContact``."""
        params = {
            "workItemID": key,
            "workItemType": self.work_item_type.render(event, key),
            "workItemPayload": self.work_item_payload.render(event, key),
        }
        if self.work_item_from is not None:
            params["from"] = self.work_item_from.render(event, key)
        return params


@cache
def template_schema() -> dict[str, Any]:
    text = resources.files("evolvekit.cxone").joinpath("template.schema.json").read_text("utf-8")
    return cast(dict[str, Any], orjson.loads(text))


def _schema_problem(data: Any) -> tuple[str, tuple[str | int, ...]] | None:
    errors = list(Draft202012Validator(template_schema()).iter_errors(data))
    if not errors:
        return None
    error = min(errors, key=lambda e: (-len(e.absolute_path), [str(p) for p in e.absolute_path]))
    return _describe(error), tuple(error.absolute_path)


def _describe(error: ValidationError) -> str:
    path = tuple(error.absolute_path)
    name = ".".join(str(p) for p in path) or "the template"
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted(cast(dict[str, Any], error.schema).get("properties", {}))
        extra = [k for k in error.instance if k not in allowed]
        where = f" in {name}" if path else ""
        return f"unknown key {extra[0]!r}{where} (allowed: {', '.join(allowed)})"
    if error.validator == "type":
        return f"{name} must be {'a mapping' if error.validator_value == 'object' else 'a string'}"
    if error.validator == "enum":
        choices = ", ".join(map(str, cast(list[Any], error.validator_value)))
        return f"{name} must be one of {choices}, not {error.instance!r}"
    if error.validator == "minLength":
        return f"{name} must not be empty"
    return f"{name}: {error.message}"


def _raise_at(message: str, path: tuple[str | int, ...], marks: Marks, source: str | None) -> None:
    """Raise at the line of ``path`` (of the offending key, for an unknown key)."""
    mark = None
    if message.startswith("unknown key"):
        mark = marks.find((*path, message.split("'")[1]), key=True)
    mark = mark or marks.find(path)
    line, column = mark if mark else (None, None)
    raise TemplateError(message, file=source, line=line, column=column)


def _field(
    data: dict[str, Any], name: str, marks: Marks, where: tuple[str, ...], source: str | None
) -> Field | None:
    if name not in data:
        return None
    try:
        return Field.of(data[name])
    except TemplateError as exc:
        mark = marks.find((*where, name))
        line, column = mark if mark else (None, None)
        label = ".".join((*where, name))
        raise TemplateError(
            f"{label}: {exc.message}", file=source, line=line, column=column
        ) from None


def _build(data: dict[str, Any], marks: Marks, source: str | None) -> Template:
    base = Template()

    def part(section: str | None, name: str) -> Field | None:
        where = (section,) if section else ()
        holder = data.get(section, {}) if section else data
        return _field(holder, name, marks, where, source)

    custom: dict[str, Field] | None = None
    if "custom_fields" in data:
        custom = {}
        for ident in data["custom_fields"]:
            built = _field(data["custom_fields"], ident, marks, ("custom_fields",), source)
            assert built is not None
            custom[ident] = built
    return Template(
        thread_id=part("thread", "id") or base.thread_id,
        thread_name=part("thread", "name"),
        text=part(None, "text") or base.text,
        direction=data.get("direction", base.direction),
        author_id=part("author", "id") or base.author_id,
        author_first_name=part("author", "first_name"),
        author_last_name=part("author", "last_name"),
        custom_fields=custom,
        work_item_type=part("work_item", "type") or base.work_item_type,
        work_item_payload=part("work_item", "payload") or base.work_item_payload,
        work_item_from=part("work_item", "from"),
        subject=data.get("subject"),
        source=source,
    )
