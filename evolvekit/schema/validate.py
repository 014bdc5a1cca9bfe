"""Event validation with jsonschema-rs: one engine decides validity and lists the problems.

A schema is compiled once with jsonschema-rs (``is_valid`` costs microseconds); only when an
instance fails are its errors listed (``iter_errors``), each as ``(instance pointer, keyword,
message)`` worded as Python ``jsonschema`` words them (:mod:`evolvekit.schema.messages`).
Nothing user-written is ever matched by a backtracking engine:

* ``format`` is an annotation only (never asserted), in every draft;
* regular expressions (``pattern``, ``patternProperties``) follow ECMA-262 as jsonschema-rs
  implements it: ``\\d``/``\\w`` (and ``\\D``/``\\W``) are ASCII, ``\\s`` is ECMA's white-space
  set, ``$`` matches only at the very end. Matching uses the Rust ``regex`` crate (linear
  time); the ECMA features it lacks (lookaround, backreferences) run in a backtracking VM
  with a step limit, so a hostile pattern/value pair ends in a bounded time either way;
* remote ``$ref`` is never fetched: the retriever only reads registry files.

The pure-Python ``jsonschema`` with patterns translated for Python's ``re``
(:func:`ecma_to_python`) is kept as a *reference* engine (:meth:`SchemaValidator.
reference_validator`) for the differential tests and the benchmark; it never sees events.

Instance pointers are fragment-style JSON pointers: ``#`` is the event, ``#/agent/id`` a field.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

import jsonschema.exceptions
import jsonschema.validators
import jsonschema_rs
import referencing
from referencing import Resource

from evolvekit.errors import EventValidationError, RefError, SchemaError
from evolvekit.schema.messages import keyword_of, message_of
from evolvekit.schema.refs import DRAFT4, check_refs, dialect_of, dialect_uri_of, offline_registry
from evolvekit.schema.registry import check_metaschema

if TYPE_CHECKING:  # pragma: no cover
    from evolvekit.schema.registry import SchemaRegistry

# ECMA-262 character classes as (first, last) code point ranges.
_DIGIT = ((0x30, 0x39),)
_WORD = ((0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A))
_SPACE = (
    (0x09, 0x0D), (0x20, 0x20), (0xA0, 0xA0), (0x1680, 0x1680), (0x2000, 0x200A),
    (0x2028, 0x2029), (0x202F, 0x202F), (0x205F, 0x205F), (0x3000, 0x3000), (0xFEFF, 0xFEFF),
)  # fmt: skip


def _char(code: int) -> str:
    if code < 0x80 and (chr(code).isalnum() or chr(code) == "_"):
        return chr(code)  # readable, and never special inside a class
    return f"\\x{code:02x}" if code < 0x100 else (
        f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
    )  # fmt: skip


def _ranges(ranges: tuple[tuple[int, int], ...]) -> str:
    return "".join(_char(lo) if lo == hi else f"{_char(lo)}-{_char(hi)}" for lo, hi in ranges)


def _complement(ranges: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
    out: list[tuple[int, int]] = []
    start = 0
    for lo, hi in ranges:
        if lo > start:
            out.append((start, lo - 1))
        start = hi + 1
    if start <= 0x10FFFF:
        out.append((start, 0x10FFFF))
    return tuple(out)


# Inside a class each escape becomes the ranges themselves; outside, a bracketed class.
_INSIDE = {
    "d": _ranges(_DIGIT), "D": _ranges(_complement(_DIGIT)),
    "w": _ranges(_WORD), "W": _ranges(_complement(_WORD)),
    "s": _ranges(_SPACE), "S": _ranges(_complement(_SPACE)),
}  # fmt: skip
_OUTSIDE = {key: f"[{value}]" for key, value in _INSIDE.items()}


def ecma_to_python(pattern: str) -> str:
    """Rewrite an ECMA-262 pattern so Python's ``re.search`` matches the same strings.

    Handles the differences that matter in schemas: ``\\d``/``\\w`` (and their negations) are
    ASCII, ``\\s`` is ECMA's white-space set (with U+FEFF, without U+0085), and ``$`` (Python's
    also matches before a final newline; ECMA's does not). Word boundaries ``\\b`` are Unicode
    in both engines but may differ on combining marks and superscript digits.
    """
    out: list[str] = []
    in_class = False
    multiline = pattern.startswith("(?m")
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            nxt = pattern[index + 1]
            if in_class and nxt in _INSIDE:
                out.append(_INSIDE[nxt])
            elif not in_class and nxt in _OUTSIDE:
                out.append(_OUTSIDE[nxt])
            else:
                out.append(char + nxt)
            index += 2
            continue
        if in_class:
            if char == "]":
                in_class = False
        elif char == "[":
            in_class = True
            # A leading "]" or "^]" is a literal in both dialects: copy it through.
            if pattern.startswith("^]", index + 1):
                out.append("[^]")
                index += 3
                continue
            if pattern.startswith("]", index + 1):
                out.append("[]")
                index += 2
                continue
        elif char == "$" and not multiline:
            out.append(r"\Z")
            index += 1
            continue
        out.append(char)
        index += 1
    return "".join(out)


def translate_patterns(schema: Any, originals: dict[str, str] | None = None) -> Any:
    """A copy of ``schema`` with every ``pattern``/``patternProperties`` key translated.

    Walks without recursion; data keywords (enum, const, default, examples) are left alone.
    """
    if not isinstance(schema, dict):
        return schema
    root: dict[str, Any] = {}
    stack: list[tuple[dict[str, Any], dict[str, Any]]] = [(schema, root)]
    data_keys = ("enum", "const", "default", "examples")
    while stack:
        source, target = stack.pop()
        for key, value in source.items():
            if key == "pattern" and isinstance(value, str):
                target[key] = ecma_to_python(value)
                if originals is not None:
                    originals[target[key]] = value
            elif key in data_keys:
                target[key] = value
            elif key == "patternProperties" and isinstance(value, dict):
                mapped: dict[str, Any] = {}
                for pat, sub in value.items():
                    mapped[ecma_to_python(pat)] = _copy_into(sub, stack)
                target[key] = mapped
            else:
                target[key] = _copy_into(value, stack)
    return root


def _copy_into(value: Any, stack: list[tuple[dict[str, Any], dict[str, Any]]]) -> Any:
    if isinstance(value, dict):
        fresh: dict[str, Any] = {}
        stack.append((value, fresh))
        return fresh
    if isinstance(value, list):
        return [_copy_into(item, stack) for item in value]
    return value


def _pointer(path: Any) -> str:
    tokens = [str(p).replace("~", "~0").replace("/", "~1") for p in path]
    return "#/" + "/".join(tokens) if tokens else "#"


class Problem(NamedTuple):
    """One reason an instance is invalid: where (instance pointer), which keyword, why."""

    pointer: str
    keyword: str
    message: str


class SchemaValidator:
    """Validate events against one schema, compiled once.

    ``registry`` (a SchemaRegistry) lets relative refs reach its other files; ``base_uri``
    is the schema's own URI (``registry.uri(subject, version)``) that relative refs resolve
    against. Without a registry only refs inside the schema resolve.
    """

    def __init__(
        self,
        schema: Any,
        *,
        registry: SchemaRegistry | None = None,
        base_uri: str | None = None,
        file: str | None = None,
    ) -> None:
        self.schema = schema
        self.registry = registry
        self.base_uri = base_uri or ""
        self._file = file
        check_metaschema(schema, file=file)  # also: every pattern compiles in both dialects
        check_refs(schema, base_uri=self.base_uri, registry=registry, file=file)
        retrieve = self._rs_retriever()
        try:
            self._fast = jsonschema_rs.validator_for(
                schema,
                validate_formats=False,
                retriever=retrieve,
                base_uri=base_uri or None,
            )
        except (jsonschema_rs.ValidationError, jsonschema_rs.ReferencingError, ValueError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise SchemaError(f"schema does not compile: {first}", file=file) from None
        self._reference: jsonschema.protocols.Validator | None = None

    def _rs_retriever(self) -> Callable[[str], Any]:
        registry = self.registry

        def retrieve(uri: str) -> Any:
            if registry is None:
                raise RefError(f"$ref to {uri} cannot be resolved: no schema registry was given")
            return registry.retrieve_json(uri)

        return retrieve

    def reference_validator(self) -> jsonschema.protocols.Validator:
        """The pure-Python reference engine for this schema (differential tests, benchmarks).

        Its patterns run on Python's backtracking ``re``: never give it untrusted input."""
        if self._reference is not None:
            return self._reference
        schema = translate_patterns(self.schema)
        uri_key = "id" if dialect_uri_of(self.schema) == DRAFT4 else "$id"
        if isinstance(schema, dict) and self.base_uri and uri_key not in schema:
            # jsonschema roots relative refs at the schema's own id: give it the file's URI.
            schema[uri_key] = self.base_uri
        registry = self.registry
        cache: dict[str, Resource[Any]] = {}

        def retrieve(uri: str) -> Resource[Any]:
            if uri not in cache:
                if registry is None:
                    raise RefError(f"$ref to {uri} cannot be resolved: no registry was given")
                raw = registry.retrieve_json(uri)
                translated = translate_patterns(raw)
                cache[uri] = dialect_of(raw).create_resource(translated)
            return cache[uri]

        ref_registry: referencing.Registry[Any] = offline_registry(retrieve)
        cls = jsonschema.validators.validator_for(
            self.schema, default=jsonschema.validators.Draft202012Validator
        )
        self._reference = cls(schema, registry=ref_registry, format_checker=None)
        return self._reference

    def is_valid(self, instance: Any) -> bool:
        """Fast verdict (jsonschema-rs)."""
        return bool(self._fast.is_valid(instance))

    def problems(self, instance: Any) -> list[Problem]:
        """Every problem as ``Problem(pointer, keyword, message)``, sorted; empty when valid."""
        if self._fast.is_valid(instance):
            return []
        found = sorted(
            (
                Problem(_pointer(e.instance_path), keyword_of(e), _shorten(message_of(e)))
                for e in self._fast.iter_errors(instance)
            ),
            key=lambda p: (p.pointer, p.message),
        )
        if not found:  # is_valid and iter_errors are one engine; never claim "valid" after a fail
            found = [Problem("#", "invalid", "invalid (no detail available)")]
        return found

    def errors(self, instance: Any) -> list[tuple[str, str]]:
        """``(instance pointer, message)`` for each problem; empty when the instance is valid."""
        return [(p.pointer, p.message) for p in self.problems(instance)]

    def validate(self, instance: Any) -> None:
        """Raise EventValidationError listing every problem, or return None."""
        problems = self.errors(instance)
        if problems:
            pointer, message = problems[0]
            more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
            # The location is in the event, not in the schema file: only the pointer is given.
            raise EventValidationError(f"{message}{more}", errors=problems, pointer=pointer)


def _shorten(message: str, limit: int = 300) -> str:
    message = re.sub(r"\s+", " ", message)
    return message if len(message) <= limit else message[: limit - 3] + "..."
