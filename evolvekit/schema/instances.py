"""Small instances of JSON Schemas, for building counterexample events (``examples.py``).

``minimal`` builds a small instance a schema likely accepts (best effort: callers validate
it), following ``$ref`` through ``Docs`` (local pointers, registry files when a registry is
given); ``sample_pattern`` a short string meant to match a simple regex, by parsing the
pattern only (linear; never matching with it). Pure apart from reading registry files.
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urldefrag, urljoin

from evolvekit.schema.changes import MISSING

if TYPE_CHECKING:  # pragma: no cover
    from evolvekit.schema.registry import SchemaRegistry

__all__ = ["Docs", "minimal", "sample_pattern"]

_DEPTH: Final = 24
# Python's regex parser (parse only, never match): no stubs, hence Any.
_re_parser: Any = importlib.import_module("re._parser")


class Docs:
    """Follows ``$ref`` (local pointers, and registry files when a registry is given)."""

    def __init__(self, root: Any, base: str, registry: SchemaRegistry | None) -> None:
        self.root, self.base, self.registry = root, base, registry

    def deref(self, node: Any, doc: Any, base: str) -> tuple[Any, Any, str]:
        for _ in range(_DEPTH):
            if not (isinstance(node, dict) and isinstance(node.get("$ref"), str)):
                break
            uri, fragment = urldefrag(urljoin(base, node["$ref"]))
            if uri and uri != urldefrag(base)[0]:
                if self.registry is None:
                    break
                try:
                    doc, base = self.registry.retrieve_json(uri), uri
                except Exception:  # an unresolvable ref: no example, no error
                    break
            node = _pointer(doc, fragment)
            if node is MISSING:
                break
        return node, doc, base

    def at(self, tokens: list[str]) -> Any:
        """The subschema at ``tokens`` (schema pointer tokens), following refs on the way."""
        node, doc, base = self.root, self.root, self.base
        for token in tokens:
            node, doc, base = self.deref(node, doc, base)
            if isinstance(node, dict):
                node = node.get(token, MISSING)
            elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                node = node[int(token)]
            else:
                return MISSING
        return self.deref(node, doc, base)[0]


def _pointer(doc: Any, fragment: str) -> Any:
    node = doc
    for raw in fragment.lstrip("/").split("/") if fragment.strip("/") else []:
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return MISSING
    return node


# --- minimal instances ------------------------------------------------------------------


def minimal(schema: Any, docs: Docs | None = None, depth: int = 0) -> Any:
    """A small instance the schema likely accepts (best effort: callers validate it)."""
    if docs is not None:
        schema = docs.deref(schema, docs.root, docs.base)[0]
    if not isinstance(schema, dict) or depth > _DEPTH:
        return None
    if "const" in schema:
        return copy.deepcopy(schema["const"])
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return copy.deepcopy(schema["enum"][0])
    for key in ("allOf", "anyOf", "oneOf"):
        branches = schema.get(key)
        if isinstance(branches, list) and branches and "type" not in schema:
            merged = dict(schema)
            del merged[key]
            first = branches[0]
            if docs is not None:
                first = docs.deref(first, docs.root, docs.base)[0]
            if isinstance(first, dict):
                merged = {**first, **merged}
            return minimal(merged, docs, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), kind[0] if kind else None)
    if kind is None:
        kind = _implied_type(schema)
    build = _BUILDERS.get(str(kind))
    return build(schema, docs, depth) if build is not None else None


def _implied_type(schema: dict[str, Any]) -> str | None:
    if {"properties", "required", "additionalProperties"} & schema.keys():
        return "object"
    if {"items", "prefixItems", "contains", "minItems"} & schema.keys():
        return "array"
    if {"minLength", "maxLength", "pattern"} & schema.keys():
        return "string"
    if {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"} & schema.keys():
        return "number"
    return None


def _object(schema: dict[str, Any], docs: Docs | None, depth: int) -> Any:
    props: dict[str, Any] = schema["properties"] if isinstance(schema.get("properties"),
                                                                 dict) else {}  # fmt: skip
    required = [r for r in schema.get("required", []) if isinstance(r, str)] if isinstance(
        schema.get("required"), list) else []  # fmt: skip
    return {name: minimal(props.get(name, True), docs, depth + 1) for name in required}


def _array(schema: dict[str, Any], docs: Docs | None, depth: int) -> Any:
    prefix = schema.get("prefixItems")
    if not isinstance(prefix, list):
        prefix = schema["items"] if isinstance(schema.get("items"), list) else []
    out = [minimal(s, docs, depth + 1) for s in prefix]
    items = schema.get("items")
    items = items if isinstance(items, dict) else {}
    if "contains" in schema and not out:
        out.append(minimal(schema["contains"], docs, depth + 1))
    least = schema.get("minItems")
    while isinstance(least, int) and len(out) < min(least, 64):
        out.append(minimal(items, docs, depth + 1))
    return out


def _string(schema: dict[str, Any], _docs: Docs | None, _depth: int) -> Any:
    least = schema.get("minLength")
    text = "a" * min(least, 256) if isinstance(least, int) else ""
    if schema.get("format") == "date-time":
        return "2026-01-01T00:00:00Z"
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        sample = sample_pattern(pattern)
        if sample is not None and len(sample) < len(text):
            sample += "0" * (len(text) - len(sample))  # best effort; the validator decides
        return text if sample is None else sample
    return text


def sample_pattern(pattern: str) -> str | None:
    """A short string meant to match ``pattern`` (simple patterns; None when unsure).

    Only parses the pattern (linear, never matches with it); the result is validated later.
    """
    try:
        tree = _re_parser.parse(pattern)
    except Exception:  # not a pattern Python parses: no sample
        return None
    out: list[str] = []
    return "".join(out) if _sample(list(tree), out, 0) else None


def _sample(items: list[Any], out: list[str], depth: int) -> bool:
    if depth > _DEPTH:
        return False
    for op, arg in items:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(arg))
        elif name == "ANY":
            out.append("a")
        elif name == "IN":
            char = _class_char(arg)
            if char is None:
                return False
            out.append(char)
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, _high, sub = arg
            for _ in range(min(low, 64)):
                if not _sample(list(sub), out, depth + 1):
                    return False
        elif name == "SUBPATTERN":
            if not _sample(list(arg[-1]), out, depth + 1):
                return False
        elif name == "BRANCH":
            if not _sample(list(arg[1][0]), out, depth + 1):
                return False
        elif name != "AT":
            return False
    return True


def _class_char(items: list[Any]) -> str | None:
    for op, arg in items:
        name = str(op)
        if name == "NEGATE":
            return None
        if name == "LITERAL":
            return chr(arg)
        if name == "RANGE":
            return chr(arg[0])
        if name == "CATEGORY":
            return {"CATEGORY_DIGIT": "0", "CATEGORY_WORD": "a", "CATEGORY_SPACE": " "}.get(
                str(arg))  # fmt: skip
    return None


def _number(schema: dict[str, Any], _docs: Docs | None, _depth: int) -> Any:
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    value: Any = 0
    if isinstance(low, int | float) and not isinstance(low, bool) and value < low:
        value = int(low) + 1
    elif isinstance(high, int | float) and not isinstance(high, bool) and value > high:
        value = int(high) - 1
    step = schema.get("multipleOf")
    if isinstance(step, int) and step > 0 and value % step:
        value += step - value % step
    return value


_BUILDERS: Final[dict[str, Callable[[dict[str, Any], Docs | None, int], Any]]] = {
    "object": _object, "array": _array, "string": _string, "number": _number,
    "integer": _number, "boolean": lambda _s, _d, _n: False, "null": lambda _s, _d, _n: None,
}  # fmt: skip
