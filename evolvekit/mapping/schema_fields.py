"""The fields a JSON Schema describes, as mapping paths: what check and suggest reason about.

A field is addressed by path segments as ``evolvekit.mapping.paths`` spells them (array
items are ``WILDCARD``), so a rule's ``items[*].sku`` and the schema's
``properties/items/items/properties/sku`` meet on the same key. Local ``$ref`` s
(``#/$defs/...``) are followed; anything else counts as an unknown type, never fetched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urljoin

from evolvekit import jsonio
from evolvekit.errors import EvolveKitError
from evolvekit.mapping.paths import WILDCARD, Segment, format_path, parse_path

JSON_TYPES = jsonio.JSON_TYPES
_MAX_DEPTH = 32

Key = tuple[Segment, ...]


@dataclass(frozen=True)
class Field:
    """One property (or array element) a schema describes."""

    key: Key
    types: frozenset[str] | None  # JSON types allowed; None = unknown / any
    required: bool  # required by its parent object (array elements count as required)
    always: bool  # present in every valid event: required all the way from the root
    schema: Mapping[str, Any]
    closed: bool  # an object that admits no properties besides those it lists

    @property
    def path(self) -> str:
        return format_path(self.key)

    @property
    def leaf(self) -> str:
        for segment in reversed(self.key):
            if isinstance(segment, str):
                return segment
        return ""


def json_type(value: Any) -> str:
    """The JSON type of a decoded JSON value, as JSON Schema sees it: ``2.0`` is an integer."""
    if isinstance(value, float) and value.is_integer():
        return "integer"
    return jsonio.json_type(value)


def accepts(accepted: frozenset[str] | None, produced: frozenset[str] | None) -> str:
    """``"all"``, ``"some"`` or ``"none"``: how many ``produced`` types ``accepted`` takes.

    Unknown on either side is ``"all"`` (no evidence of a conflict); integer is a number.
    """
    if accepted is None or produced is None or not produced:
        return "all"
    taken = {t for t in produced if t in accepted or (t == "integer" and "number" in accepted)}
    if len(taken) == len(produced):
        return "all"
    # A JSON number may be integral, so number -> integer is a maybe, not a certain conflict.
    maybe = "number" in produced and "integer" in accepted
    return "some" if taken or maybe else "none"


def rule_key(path: str) -> Key:
    """A rule path as a schema lookup key: concrete indexes stand for any element."""
    return tuple(WILDCARD if isinstance(s, int) else s for s in parse_path(path))


class SchemaFields:
    """Every field of one schema, by key, plus which objects are closed.

    ``retrieve(uri) -> document`` (e.g. ``SchemaRegistry.retrieve_json``) lets ``$ref`` s to
    other files be followed, relative to ``base_uri`` (the schema's own URI); without it
    only refs inside the schema are followed and others count as unknown types.
    """

    def __init__(
        self,
        schema: Mapping[str, Any] | bool,
        *,
        retrieve: Callable[[str], Any] | None = None,
        base_uri: str | None = None,
    ) -> None:
        self.root: Mapping[str, Any] = schema if isinstance(schema, Mapping) else {}
        self._retrieve = retrieve
        self._base = (base_uri or "").partition("#")[0]
        self._documents: dict[str, Any] = {self._base: self.root}
        self.fields: dict[Key, Field] = {}
        top, base = self._resolve(self.root, self._base)
        self.root_closed = _closed(top)
        self._walk(top, base, (), always=True, depth=0)

    def __contains__(self, key: object) -> bool:
        return key in self.fields

    def __iter__(self) -> Iterator[Field]:
        return iter(list(self.fields.values()))

    def get(self, key: Key) -> Field | None:
        return self.fields.get(key)

    def children(self, key: Key) -> list[Field]:
        return [f for k, f in self.fields.items() if len(k) == len(key) + 1 and k[:-1] == key]

    def has_children(self, key: Key) -> bool:
        return any(len(k) > len(key) and k[: len(key)] == key for k in self.fields)

    def parent_closed(self, key: Key) -> bool:
        """Whether the object that would hold ``key`` admits only the properties it lists."""
        if len(key) <= 1:
            return self.root_closed
        parent = self.fields.get(key[:-1])
        return parent is not None and parent.closed

    def types_of(self, key: Key) -> frozenset[str] | None:
        field = self.fields.get(key)
        return field.types if field else None

    # ---- walking --------------------------------------------------------------------

    def _document(self, uri: str) -> Any:
        if uri not in self._documents:
            if self._retrieve is None:
                return None
            try:
                self._documents[uri] = self._retrieve(uri)
            except EvolveKitError:
                self._documents[uri] = None  # the registry reports bad refs; here: unknown
        return self._documents[uri]

    def _resolve(
        self, node: Any, base: str, seen: frozenset[str] = frozenset()
    ) -> tuple[Mapping[str, Any], str]:
        """The node with its ``$ref`` (chain) merged in, and the base URI it now lives at."""
        if not isinstance(node, Mapping):
            return {}, base
        ref = node.get("$ref")
        if not isinstance(ref, str):
            return node, base
        if ref.startswith("#"):
            doc_uri, fragment = base, ref[1:]
        else:
            doc_uri, _, fragment = (urljoin(base, ref) if base else ref).partition("#")
        where = f"{doc_uri}#{fragment}"
        if where in seen:
            return node, base  # a recursive schema: stop here
        document = self.root if doc_uri == self._base else self._document(doc_uri)
        target = _pointer(document, unquote(fragment)) if document is not None else None
        if not isinstance(target, Mapping):
            return node, base
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return self._resolve(merged, doc_uri, seen | {where})

    def _branches(self, node: Mapping[str, Any], base: str) -> list[tuple[Mapping[str, Any], str]]:
        """The node and its allOf parts, whose properties all apply."""
        parts = [(node, base)]
        all_of = node.get("allOf")
        for sub in all_of if isinstance(all_of, list) else []:
            parts.append(self._resolve(sub, base))
        return parts

    def _walk(
        self, node: Mapping[str, Any], base: str, key: Key, *, always: bool, depth: int
    ) -> None:
        if depth > _MAX_DEPTH:
            return
        parts = self._branches(node, base)
        required: set[str] = set()
        for part, _ in parts:
            req = part.get("required")
            if isinstance(req, list):
                required.update(r for r in req if isinstance(r, str))
        for part, part_base in parts:
            props = part.get("properties")
            if isinstance(props, Mapping):
                for name, sub in props.items():
                    child, child_base = self._resolve(sub, part_base)
                    is_required = name in required
                    self._add((*key, name), child, child_base, is_required,
                              always and is_required, depth)  # fmt: skip
            items = part.get("items")
            if isinstance(items, Mapping):
                child, child_base = self._resolve(items, part_base)
                self._add((*key, WILDCARD), child, child_base, True, False, depth)

    def _add(
        self,
        key: Key,
        node: Mapping[str, Any],
        base: str,
        required: bool,
        always: bool,
        depth: int,
    ) -> None:
        if key not in self.fields:
            types = _types(self, node, base)
            self.fields[key] = Field(key, types, required, always, node, _closed(node))
        self._walk(node, base, key, always=always, depth=depth + 1)


def _closed(node: Mapping[str, Any]) -> bool:
    return node.get("additionalProperties") is False or node.get("unevaluatedProperties") is False


def _types(fields: SchemaFields, node: Mapping[str, Any], base: str) -> frozenset[str] | None:
    declared = node.get("type")
    if isinstance(declared, str):
        return frozenset({declared}) & JSON_TYPES
    if isinstance(declared, list):
        return frozenset(t for t in declared if isinstance(t, str)) & JSON_TYPES
    if "const" in node:
        return frozenset({json_type(node["const"])})
    enum = node.get("enum")
    if isinstance(enum, list) and enum:
        return frozenset(json_type(v) for v in enum)
    union: set[str] = set()
    for keyword in ("anyOf", "oneOf"):
        branches = node.get(keyword)
        if isinstance(branches, list) and branches:
            for branch in branches:
                types = _types(fields, *fields._resolve(branch, base))
                if types is None:
                    return None
                union |= types
            return frozenset(union)
    if isinstance(node.get("properties"), Mapping):
        return frozenset({"object"})
    return None


def _pointer(doc: Any, pointer: str) -> Any:
    if pointer in ("", "/"):
        return doc
    current = doc
    for raw in pointer.lstrip("/").split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return None
    return current


def pointer_to_key(pointer: str) -> Key | None:
    """A schema JSON pointer (``#/properties/agent/properties/id``) as a field key."""
    text = pointer.lstrip("#")
    parts = [p.replace("~1", "/").replace("~0", "~") for p in text.split("/") if p != ""]
    key: list[Segment] = []
    i = 0
    while i < len(parts):
        if parts[i] == "properties" and i + 1 < len(parts):
            key.append(parts[i + 1])
            i += 2
        elif parts[i] == "items":
            key.append(WILDCARD)
            i += 1
        else:
            return None
    return tuple(key)
