"""Reading rule files: YAML with line/column marks, size limits, and the packaged schema.

YAML is read with a SafeLoader subclass whose scalars follow JSON (timestamps stay strings,
only true/false are booleans) and that keeps where each node starts, so errors and rules can
name their line. Schema errors are turned into one-line messages a person can act on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Final, cast

import orjson
import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from evolvekit.errors import RuleSetError
from evolvekit.jsonio import json_type

JsonPath = tuple[str | int, ...]
Mark = tuple[int, int]  # 1-based line, column


# --- YAML with marks ----------------------------------------------------------------------


class _MarkedLoader(yaml.SafeLoader):
    """SafeLoader with JSON's scalars: timestamps stay strings (JSON has no date type) and
    only true/false are booleans (YAML 1.1 would turn ``yes``, ``no``, ``on``, ``off`` into
    booleans, a trap in map tables and constants)."""


_BOOL_TAG: Final = "tag:yaml.org,2002:bool"
_MarkedLoader.yaml_implicit_resolvers = {
    first: [
        (tag, regex)
        for tag, regex in resolvers
        if tag not in ("tag:yaml.org,2002:timestamp", _BOOL_TAG)
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_MarkedLoader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


@dataclass
class Marks:
    """Where each value (and each mapping key) of a document starts."""

    values: dict[JsonPath, Mark] = field(default_factory=dict)
    keys: dict[JsonPath, Mark] = field(default_factory=dict)

    def find(self, path: JsonPath, *, key: bool = False) -> Mark | None:
        if key and path in self.keys:
            return self.keys[path]
        probe = path
        while True:
            if probe in self.values:
                return self.values[probe]
            if not probe:
                return None
            probe = probe[:-1]


def _mark(node: yaml.Node) -> Mark:
    return node.start_mark.line + 1, node.start_mark.column + 1


# Rule files are small; these bounds stop alias "bombs" and absurd nesting early, before
# the schema check walks the (alias-expanded) document.
MAX_NODES: Final = 100_000
MAX_DEPTH: Final = 100


def _record_marks(node: yaml.Node, marks: Marks, source: str | None) -> None:
    budget = [MAX_NODES]

    def visit(node: yaml.Node, path: JsonPath) -> None:
        budget[0] -= 1
        if budget[0] < 0 or len(path) > MAX_DEPTH:
            line, column = _mark(node)
            what = "too many nodes (aliases?)" if budget[0] < 0 else "nesting too deep"
            raise RuleSetError(
                f"the rule file is too big: {what}; limits are {MAX_NODES} nodes, "
                f"{MAX_DEPTH} levels",
                file=source,
                line=line,
                column=column,
            )
        marks.values[path] = _mark(node)
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, Mark] = {}
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
                if key in seen:
                    line, column = _mark(key_node)
                    raise RuleSetError(
                        f"duplicate key {key!r} (first at line {seen[key][0]})",
                        file=source,
                        line=line,
                        column=column,
                    )
                seen[key] = _mark(key_node)
                if key is not None:
                    marks.keys[(*path, key)] = _mark(key_node)
                    visit(value_node, (*path, key))
        elif isinstance(node, yaml.SequenceNode):
            for position, item in enumerate(node.value):
                visit(item, (*path, position))

    visit(node, ())


MAX_CHARS: Final = 1_000_000


def _precheck(text: str, source: str | None) -> None:
    """Refuse what would make the (pure-Python) YAML reader slow before it starts: huge
    files and deep flow nesting, which it scans in quadratic time."""
    if len(text) > MAX_CHARS:
        raise RuleSetError(
            f"the rule file is too big: {len(text)} characters (limit {MAX_CHARS})", file=source
        )
    depth = deepest = 0
    for char in text:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    if deepest > MAX_DEPTH:
        raise RuleSetError(
            f"the rule file is too big: nesting too deep (over {MAX_DEPTH} levels)", file=source
        )


def load_yaml(text: str, source: str | None) -> tuple[Any, Marks]:
    _precheck(text, source)
    try:
        loader = _MarkedLoader(text)
    except yaml.reader.ReaderError as exc:  # the reader refuses control characters up front
        raise RuleSetError(
            f"not valid YAML: unacceptable character #x{exc.character:04x}",
            file=source,
            line=text.count("\n", 0, exc.position) + 1,
            column=exc.position - text.rfind("\n", 0, exc.position),
        ) from None
    try:
        node = loader.get_single_node()
        if node is None:
            raise RuleSetError("the rule file is empty", file=source)
        marks = Marks()
        _record_marks(node, marks, source)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "not valid YAML"
        raise RuleSetError(
            f"not valid YAML: {problem}",
            file=source,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
        ) from None
    except yaml.YAMLError as exc:
        raise RuleSetError(f"not valid YAML: {exc}", file=source) from None
    except RecursionError:
        raise RuleSetError("the rule file is nested too deeply", file=source) from None
    finally:
        loader.dispose()
    return data, marks


# --- the schema -------------------------------------------------------------------------


@cache
def ruleset_schema() -> dict[str, Any]:
    """The packaged JSON Schema of rule files."""
    text = resources.files("evolvekit.mapping").joinpath("ruleset.schema.json").read_text("utf-8")
    return cast(dict[str, Any], orjson.loads(text))


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(ruleset_schema())


def _describe(error: ValidationError) -> tuple[str, JsonPath, bool]:
    """A person's message for a schema error, the document path to point at, key or value."""
    path: JsonPath = tuple(error.absolute_path)
    where = _where(path)
    instance = error.instance
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "additionalProperties" and isinstance(instance, dict):
        allowed = sorted(cast(dict[str, Any], schema.get("properties", {})))
        extra = [k for k in instance if k not in allowed]
        if extra:
            hint = f" (allowed: {', '.join(allowed)})" if allowed else ""
            return f"unknown key {extra[0]!r}{where}{hint}", (*path, extra[0]), True
    if error.validator == "type":
        expected = error.validator_value
        names = " or ".join(expected) if isinstance(expected, list) else str(expected)
        return (
            f"{_name(path)} must be {_article(names)}, not {describe_json_type(instance)}",
            path,
            False,
        )
    if error.validator == "enum":
        choices = ", ".join(map(str, cast(list[Any], error.validator_value)))
        return f"{_name(path)} must be one of {choices}, not {instance!r}", path, False
    if error.validator == "required":
        return f"{error.message}{where}", path, False
    if error.validator == "pattern" and path and path[-1] in ("from_version", "to_version"):
        return f"{path[-1]} {instance!r} is not a semantic version (e.g. 2.1.0)", path, False
    if error.validator in ("minLength", "minItems", "minProperties"):
        return f"{_name(path)} must not be empty", path, False
    if error.validator == "anyOf" and len(path) >= 2 and path[0] == "rules":
        return f"{_name(path)} must be a target path or a rule mapping", path, False
    return f"{error.message}{where}", path, False


def _name(path: JsonPath) -> str:
    if not path:
        return "the rule file"
    if len(path) >= 2 and path[0] == "rules":
        inner = ".".join(str(p) for p in path[2:])
        return f"{inner or 'the rule'} of rule {path[1]!r}" if inner else f"rule {path[1]!r}"
    return ".".join(str(p) for p in path)


def _where(path: JsonPath) -> str:
    if len(path) >= 2 and path[0] == "rules":
        return f" in rule {path[1]!r}"
    return ""


def _article(type_names: str) -> str:
    return ("an " if type_names[:1] in "aeiou" else "a ") + type_names


_TYPE_WORDS: Final = {
    "null": "null",
    "boolean": "a boolean",
    "integer": "a number",
    "number": "a number",
    "string": "a string",
    "array": "a list",
    "object": "a mapping",
}


def describe_json_type(value: Any) -> str:
    """A value's type in the words of a rule file's author (YAML: list, mapping)."""
    name = json_type(value)
    return _TYPE_WORDS.get(name, name)


def schema_problem(data: Any) -> tuple[str, JsonPath, bool] | None:
    """The most telling schema error in ``data`` as (message, document path, at the key?),
    or None when ``data`` is valid under ruleset.schema.json."""
    try:
        errors = list(_validator().iter_errors(data))
    except RecursionError:
        return "the rule set is nested too deeply", (), False
    if not errors:
        return None
    # The deepest error is the most specific; at one depth an unknown key (often a typo,
    # e.g. "rule:") explains more than the "required" error it causes.
    first = min(
        errors,
        key=lambda e: (
            -len(e.absolute_path),
            e.validator != "additionalProperties",
            [str(p) for p in e.absolute_path],
        ),
    )
    return _describe(first)
