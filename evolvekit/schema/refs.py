"""Offline ``$ref`` resolution and dialect detection, on top of the ``referencing`` library.

Rules (DESIGN.md, "Schema evolution"):

* a remote ``$ref`` (http/https, or any scheme but ``file``) is never fetched: RefError;
* relative refs resolve against the referencing file's URI (its ``file://`` URI in the registry)
  and may reach other files of the registry; a ref that escapes the registry root is refused;
* a dangling ref (no such file, pointer to nowhere) is a RefError naming the file and pointer;
* a cycle of refs that never descends into the instance (``{"$ref": "#"}``, or a loop through
  ``allOf``/``anyOf``/... only) is a RefError, since no validator could terminate on it;
  recursion through ``properties``/``items`` is fine.

The walk over a schema is iterative (an explicit stack), so deep documents cannot exhaust
Python's recursion limit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urldefrag, urljoin, urlsplit

import referencing
import referencing.exceptions
import referencing.jsonschema
from referencing import Resource, Specification

from evolvekit.errors import RefError, SchemaError

if TYPE_CHECKING:  # pragma: no cover
    from referencing._core import Resolved, Resolver

    from evolvekit.schema.registry import SchemaRegistry

DRAFT4 = "http://json-schema.org/draft-04/schema"
DRAFT6 = "http://json-schema.org/draft-06/schema"
DRAFT7 = "http://json-schema.org/draft-07/schema"
DRAFT201909 = "https://json-schema.org/draft/2019-09/schema"
DRAFT202012 = "https://json-schema.org/draft/2020-12/schema"

_SPECS: dict[str, Specification[Any]] = {
    DRAFT4: referencing.jsonschema.DRAFT4,
    DRAFT6: referencing.jsonschema.DRAFT6,
    DRAFT7: referencing.jsonschema.DRAFT7,
    DRAFT201909: referencing.jsonschema.DRAFT201909,
    DRAFT202012: referencing.jsonschema.DRAFT202012,
}

# Keywords whose value is one subschema, an array of subschemas, or a map of name -> subschema.
# Legacy and modern keywords are both listed: a schema without $schema is read as 2020-12,
# but its `definitions`/`dependencies`/array-`items` are still walked (DESIGN.md).
_ONE = (
    "additionalProperties", "additionalItems", "contains", "not", "if", "then", "else",
    "propertyNames", "unevaluatedItems", "unevaluatedProperties", "contentSchema", "items",
)  # fmt: skip
_MANY = ("allOf", "anyOf", "oneOf", "prefixItems", "items")
_MAP = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas",
        "dependencies")  # fmt: skip
# Applicators that apply to the SAME instance: a ref cycle through only these never ends.
_IN_PLACE_ONE = ("not", "if", "then", "else")
_IN_PLACE_MANY = ("allOf", "anyOf", "oneOf")
_IN_PLACE_MAP = ("dependentSchemas",)


def normalize_dialect_uri(uri: str) -> str:
    """``http://json-schema.org/draft-07/schema#`` -> the key used in the dialect table."""
    text = uri.strip().rstrip("#")
    for known in _SPECS:
        if text == known or text.replace("https://", "http://") == known.replace(
            "https://", "http://"
        ):
            return known
    return text


def dialect_uri_of(schema: Any, *, file: str | None = None) -> str:
    """The normalised ``$schema`` URI (2020-12 when absent); unknown ones raise SchemaError."""
    if not isinstance(schema, dict) or "$schema" not in schema:
        return DRAFT202012
    declared = schema["$schema"]
    if not isinstance(declared, str):
        raise SchemaError("$schema must be a string URI", file=file, pointer="#/$schema")
    uri = normalize_dialect_uri(declared)
    if uri not in _SPECS:
        raise SchemaError(
            f"unknown $schema {declared!r} (known: drafts 04, 06, 07, 2019-09, 2020-12)",
            file=file,
            pointer="#/$schema",
        )
    return uri


def dialect_of(schema: Any, *, file: str | None = None) -> Specification[Any]:
    """The ``referencing`` specification of a schema's declared dialect (default 2020-12)."""
    return _SPECS[dialect_uri_of(schema, file=file)]


def pointer_join(pointer: str, *parts: str | int) -> str:
    """Append RFC 6901-escaped tokens to a ``#/...`` pointer."""
    out = pointer.rstrip("/") if pointer != "#/" else "#"
    for part in parts:
        out += "/" + str(part).replace("~", "~0").replace("/", "~1")
    return out


def is_remote(uri: str) -> bool:
    """True for anything that would need the network (every scheme but file and none)."""
    scheme = urlsplit(uri).scheme.lower()
    return scheme not in ("", "file", "urn")


def _refuse_all(uri: str) -> Resource[Any]:
    if is_remote(uri):
        raise RefError(f"remote $ref {uri} is never fetched (refs are resolved offline)")
    raise RefError(f"$ref to {uri} cannot be resolved: no schema registry was given")


def offline_registry(
    retrieve: Callable[[str], Resource[Any]] | None = None,
) -> referencing.Registry[Any]:
    """An empty ``referencing.Registry`` whose retriever never touches the network."""
    return referencing.Registry(retrieve=retrieve or _refuse_all)  # type: ignore[call-arg]


def make_resolver(
    schema: Any,
    *,
    base_uri: str = "",
    registry: SchemaRegistry | None = None,
    file: str | None = None,
) -> Resolver[Any]:
    """A resolver rooted at ``schema`` (found under ``base_uri``), offline.

    With a SchemaRegistry, relative refs reach the registry's other files; without one, only
    refs inside ``schema`` resolve. ``schema``'s own ``$id`` (if any) is honoured as well.
    """
    resolver, _ = _rooted(schema, base_uri=base_uri, registry=registry, file=file)
    return resolver


def _rooted(
    schema: Any, *, base_uri: str, registry: SchemaRegistry | None, file: str | None
) -> tuple[Resolver[Any], str]:
    """The resolver and the base URI it is rooted at (the schema's own $id wins)."""
    spec = dialect_of(schema, file=file)
    resource = spec.create_resource(schema)
    reg = registry.referencing_registry() if registry is not None else offline_registry()
    own_id = resource.id()
    pairs = [(base_uri, resource)]
    root = base_uri
    if own_id:
        root = urljoin(base_uri, urldefrag(own_id)[0]) if base_uri else urldefrag(own_id)[0]
        pairs.append((root, resource))
    reg = reg.with_resources(pairs)
    return reg.resolver(base_uri=root), root


def lookup(
    resolver: Resolver[Any],
    ref: str,
    *,
    file: str | None = None,
    pointer: str = "#",
    shown: str | None = None,
) -> Resolved[Any]:
    """``resolver.lookup(ref)`` with every failure turned into a located RefError.

    ``shown`` is the ref as written in the file, when ``ref`` is its absolute form.
    """
    name = repr(shown if shown is not None else ref)
    try:
        return resolver.lookup(ref)
    except referencing.exceptions.PointerToNowhere as exc:
        raise RefError(
            f"dangling $ref {name}: {exc.ref!r} points to nothing", file=file, pointer=pointer
        ) from None
    except referencing.exceptions.Unresolvable as exc:
        # referencing wraps a retriever's failure twice: Unresolvable <- Unretrievable <- ours.
        # Ours is a RefError (remote, outside the root, no such file) or the SchemaError of a
        # referenced file that does not load; the latter keeps its own file and location.
        cause: BaseException | None = exc
        while cause is not None and not isinstance(cause, SchemaError):
            cause = cause.__cause__
        if isinstance(cause, SchemaError):
            detail = str(cause) if cause.file and cause.file != file else cause.message
            raise RefError(f"$ref {name}: {detail}", file=file, pointer=pointer) from None
        raise RefError(f"dangling $ref {name}: {exc}", file=file, pointer=pointer) from None
    except (TypeError, LookupError, ValueError) as exc:  # pointer through a scalar, bad escape
        raise RefError(f"dangling $ref {name}: {exc}", file=file, pointer=pointer) from None


def _children(node: dict[str, Any], pointer: str) -> Iterator[tuple[Any, str]]:
    """Subschemas of ``node`` with their pointers (each keyword visited once)."""
    seen: set[str] = set()
    for key in (*_ONE, *_MANY, *_MAP):
        if key in seen or key not in node:
            continue
        seen.add(key)
        value = node[key]
        if isinstance(value, dict) and key in _MAP:
            for name, sub in value.items():
                if isinstance(sub, dict | bool):
                    yield sub, pointer_join(pointer, key, name)
        elif isinstance(value, dict | bool) and key in _ONE:
            yield value, pointer_join(pointer, key)
        elif isinstance(value, list) and key in _MANY:
            for index, sub in enumerate(value):
                if isinstance(sub, dict | bool):
                    yield sub, pointer_join(pointer, key, index)


def _id_of(node: dict[str, Any], draft4: bool) -> str | None:
    raw = node.get("id" if draft4 else "$id")
    if isinstance(raw, str) and raw and not raw.startswith("#"):
        return urldefrag(raw)[0]
    return None


def iter_refs(
    schema: Any, *, base_uri: str = "", draft4: bool = False
) -> Iterator[tuple[str, str, str]]:
    """Every ``$ref`` in a schema as ``(ref, base URI in force there, pointer of its schema)``.

    Walks only schema positions (so a property *named* ``$ref`` or a ``$ref`` inside ``enum``
    or ``default`` is data, not a reference) and honours nested ``$id``.
    """
    stack: list[tuple[Any, str, str]] = [(schema, base_uri, "#")]
    while stack:
        node, base, pointer = stack.pop()
        if not isinstance(node, dict):
            continue
        nested = _id_of(node, draft4)
        if nested is not None:
            base = urljoin(base, nested) if base else nested
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield ref, base, pointer
        children = list(_children(node, pointer))
        for sub, sub_pointer in reversed(children):
            stack.append((sub, base, sub_pointer))


def _in_place_refs(node: Any) -> Iterator[str]:
    """Refs reachable from ``node`` without descending into the instance."""
    stack = [node]
    while stack:
        current = stack.pop()
        if not isinstance(current, dict):
            continue
        ref = current.get("$ref")
        if isinstance(ref, str):
            yield ref
        for key in _IN_PLACE_ONE:
            if isinstance(current.get(key), dict):
                stack.append(current[key])
        for key in _IN_PLACE_MANY:
            if isinstance(current.get(key), list):
                stack.extend(current[key])
        for key in _IN_PLACE_MAP:
            if isinstance(current.get(key), dict):
                stack.extend(current[key].values())


def check_refs(
    schema: Any,
    *,
    base_uri: str = "",
    registry: SchemaRegistry | None = None,
    file: str | None = None,
) -> None:
    """Resolve every ``$ref`` of ``schema`` offline; raise a located RefError for the first bad one.

    Also refuses ref cycles that never descend into the instance (structureless cycles).
    """
    resolver, root_base = _rooted(schema, base_uri=base_uri, registry=registry, file=file)
    draft4 = dialect_uri_of(schema, file=file) == DRAFT4
    for ref, base, pointer in iter_refs(schema, base_uri=root_base, draft4=draft4):
        # Under a nested $id the ref is relative to that id: resolve its absolute form.
        target = ref if base == root_base else _join(base, ref)
        resolved = lookup(resolver, target, file=file, pointer=pointer, shown=ref)
        _check_cycle(resolved, ref, file=file, pointer=pointer)


def _join(base: str, ref: str) -> str:
    # urljoin drops the base for non-hierarchical schemes (urn:): a bare fragment is appended.
    return base + ref if ref.startswith("#") else urljoin(base, ref)


def _check_cycle(start: Resolved[Any], ref: str, *, file: str | None, pointer: str) -> None:
    """Follow in-place refs from a resolved target; returning to a visited node is a cycle."""
    on_path: set[int] = set()
    # Iterative DFS: (resolved, iterator over its in-place refs)
    stack: list[tuple[Resolved[Any], Iterator[str]]] = []
    on_path.add(id(start.contents))
    stack.append((start, _in_place_refs(start.contents)))
    visited: set[int] = set()
    while stack:
        current, refs = stack[-1]
        nxt = next(refs, None)
        if nxt is None:
            stack.pop()
            on_path.discard(id(current.contents))
            visited.add(id(current.contents))
            continue
        target = lookup(current.resolver, nxt, file=file, pointer=pointer)
        key = id(target.contents)
        if key in on_path:
            raise RefError(
                f"$ref {ref!r} starts a cycle with no structure (it never reaches a keyword "
                "that descends into the instance, so validation could not terminate)",
                file=file,
                pointer=pointer,
            )
        if key in visited or not isinstance(target.contents, dict):
            continue
        on_path.add(key)
        stack.append((target, _in_place_refs(target.contents)))
