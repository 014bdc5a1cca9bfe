"""What a schema position *is*, for the diff: its shape after ``$ref`` resolution.

The diff compares schemas shape by shape, as Confluent's JSON Schema diff does on its parsed
schema model: a string schema is compared with a string schema, a ``oneOf`` with a ``oneOf``,
and shapes of different kinds are a type change. One schema object can hold several shapes
at once (``{"type": "string", "enum": [...]}`` is a string shape AND an enum shape); such an
object becomes a *synthetic* conjunction whose parts are keyed by role (``type``, ``enum``,
``anyOf``, ``not`` ...), so two versions of it are compared part by part, by role.

Nothing here walks deeper than one schema object: children are shaped on demand, so the diff
costs time in proportion to what it visits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

import referencing
import referencing._core

from evolvekit.errors import RefError, SchemaError
from evolvekit.schema.diff_values import canonical
from evolvekit.schema.refs import lookup

EMPTY: Final = "empty"
FALSE: Final = "false"
STRING: Final = "string"
NUMBER: Final = "number"
BOOLEAN: Final = "boolean"
NULL: Final = "null"
OBJECT: Final = "object"
ARRAY: Final = "array"
ENUM: Final = "enum"
COMBINED: Final = "combined"
NOT: Final = "not"
CONDITIONAL: Final = "conditional"

TYPE_NAMES: Final[dict[str, str]] = {
    "string": STRING,
    "number": NUMBER,
    "integer": NUMBER,
    "boolean": BOOLEAN,
    "null": NULL,
    "object": OBJECT,
    "array": ARRAY,
}

# Keywords that, without an explicit "type", make a schema constrain one instance type.
_IMPLIED: Final[tuple[tuple[str, frozenset[str]], ...]] = (
    (STRING, frozenset({"minLength", "maxLength", "pattern"})),
    (NUMBER, frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
                        "multipleOf"})),
    (OBJECT, frozenset({"properties", "required", "additionalProperties", "patternProperties",
                        "minProperties", "maxProperties", "dependencies", "dependentRequired",
                        "dependentSchemas", "propertyNames", "unevaluatedProperties"})),
    (ARRAY, frozenset({"items", "prefixItems", "additionalItems", "minItems", "maxItems",
                       "uniqueItems", "contains", "minContains", "maxContains",
                       "unevaluatedItems"})),
)  # fmt: skip
COMBINATORS: Final[tuple[str, ...]] = ("allOf", "anyOf", "oneOf")
_NO_ROLES: Final[Mapping[str, Any]] = MappingProxyType({})
# Keywords that do not validate: a $ref with only these beside it is just the ref.
_ANNOTATIONS: Final[frozenset[str]] = frozenset({
    "$schema", "$id", "id", "$anchor", "$dynamicAnchor", "$comment", "$defs", "definitions",
    "title", "description", "default", "examples", "deprecated", "readOnly", "writeOnly",
    "$vocabulary", "format",
})  # fmt: skip


@dataclass(slots=True)
class Ctx:
    """What is in force at a schema position: the resolver and the dialect's quirks."""

    resolver: referencing._core.Resolver[Any] | None
    spec: referencing.Specification[Any] | None
    draft4: bool = False
    legacy_ref: bool = False  # drafts 04-07: keywords beside "$ref" are ignored
    label: str | None = None  # file or "old"/"new", for error messages

    def child(self, raw: Any) -> Ctx:
        """The context inside ``raw``, which may set a new base URI with its own id."""
        if self.resolver is None or self.spec is None or not isinstance(raw, dict):
            return self
        key = "id" if self.draft4 else "$id"
        own = raw.get(key)
        if not isinstance(own, str) or not own or own.startswith("#"):
            return self
        resolver = self.resolver.in_subresource(self.spec.create_resource(raw))
        return Ctx(resolver, self.spec, self.draft4, self.legacy_ref, self.label)


@dataclass(slots=True, eq=False)
class Shape:
    """One shape of one schema position (see the module docstring)."""

    kind: str
    raw: Any  # the schema object (dict or bool) this shape reads its keywords from
    ctx: Ctx
    requires: bool = True  # the instance type is required (explicit "type")
    integer: bool = False  # a NUMBER shape for "integer"
    part: bool = False  # a role of a synthetic conjunction (metadata compared by the parent)
    criterion: str = ""  # COMBINED: allOf / anyOf / oneOf
    synthetic: bool = False  # COMBINED: several shapes of ONE schema object, keyed by role
    typelist: bool = False  # COMBINED: an anyOf made from a "type" array
    # Read-only, and shared empty defaults: a large diff makes hundreds of thousands of
    # shapes, and three fresh containers each would only feed the garbage collector.
    subs: Sequence[Shape] = ()  # COMBINED branches (explicit / typelist)
    roles: Mapping[str, Shape] = field(default_factory=lambda: _NO_ROLES)  # synthetic parts
    enum_key: str = "enum"
    values: Sequence[Any] = ()  # ENUM

    @property
    def role(self) -> str:
        """The role this shape plays inside a schema object (for pairing parts)."""
        if self.kind in TYPE_KINDS or (self.kind == COMBINED and self.typelist):
            return "type"
        if self.kind == COMBINED and self.synthetic:
            return "type"
        if self.kind == COMBINED:
            return self.criterion
        if self.kind == ENUM:
            return "enum"
        if self.kind == NOT:
            return "not"
        if self.kind == CONDITIONAL:
            return "if"
        return self.kind

    def type_label(self) -> Any:
        """What to show as this shape's type in a change's old/new."""
        if isinstance(self.raw, dict) and "type" in self.raw:
            return self.raw["type"]
        if self.kind == NUMBER and self.integer:
            return "integer"
        if self.kind == COMBINED:
            return self.criterion
        return self.kind


TYPE_KINDS: Final[frozenset[str]] = frozenset({STRING, NUMBER, BOOLEAN, NULL, OBJECT, ARRAY})


def _typed(kind_name: str, raw: Any, ctx: Ctx, *, requires: bool) -> Shape:
    return Shape(TYPE_NAMES[kind_name], raw, ctx, requires=requires,
                 integer=kind_name == "integer", part=True)  # fmt: skip


def resolve(raw: Any, ctx: Ctx, pointer: str) -> tuple[Any, Ctx, dict[str, Any] | None]:
    """Follow ``$ref`` chains: (target, its context, sibling keywords that still apply).

    In drafts 2019-09/2020-12 keywords beside ``$ref`` apply too: they come back as the third
    item (only when some of them validate). A chain that returns to itself is a RefError.
    """
    seen: set[int] = set()
    siblings: dict[str, Any] | None = None
    while isinstance(raw, dict) and isinstance(raw.get("$ref"), str):
        if ctx.resolver is None:
            raise RefError(f"$ref {raw['$ref']!r} cannot be resolved", file=ctx.label,
                           pointer=pointer)  # fmt: skip
        if id(raw) in seen:
            raise RefError(
                f"$ref {raw['$ref']!r} is a cycle with no structure",
                file=ctx.label,
                pointer=pointer,
            )
        seen.add(id(raw))
        if not ctx.legacy_ref and siblings is None:
            rest = {k: v for k, v in raw.items() if k != "$ref"}
            if any(k not in _ANNOTATIONS for k in rest):
                siblings = rest
        ctx = ctx.child(raw)
        assert ctx.resolver is not None
        try:
            resolved = lookup(ctx.resolver, raw["$ref"], file=ctx.label, pointer=pointer)
        except (AttributeError, TypeError, KeyError) as exc:
            # referencing crawls the document: a malformed schema (a list where a schema
            # belongs) surfaces here, and is bad input, not a crash.
            raise RefError(f"$ref {raw['$ref']!r} cannot be resolved in a malformed schema: "
                           f"{exc}", file=ctx.label, pointer=pointer) from None  # fmt: skip
        raw = resolved.contents
        ctx = Ctx(resolved.resolver, ctx.spec, ctx.draft4, ctx.legacy_ref, ctx.label)
    return raw, ctx, siblings


def shape_of(raw: Any, ctx: Ctx, pointer: str = "#") -> Shape:
    """The shape of one schema position (``$ref`` followed)."""
    if isinstance(raw, dict) and "$ref" in raw:
        target, tctx, siblings = resolve(raw, ctx, pointer)
        if siblings is None:
            return shape_of(target, tctx, pointer)
        ref_part = shape_of(target, tctx, pointer)
        own = _shape_of_object(siblings, ctx.child(raw))
        roles = dict(own.roles) if own.synthetic else ({own.role: own} if own.kind != EMPTY
                                                        else {})  # fmt: skip
        ref_part.part = True
        roles["$ref"] = ref_part
        return Shape(COMBINED, raw, ctx, criterion="allOf", synthetic=True, roles=roles)
    if raw is True:
        return Shape(EMPTY, raw, ctx)
    if raw is False:
        return Shape(FALSE, raw, ctx)
    if not isinstance(raw, dict):
        # The registry's metaschema check stops this earlier for files; dicts passed to
        # diff_schemas directly get the same one-line error here.
        raise SchemaError(f"not a schema: expected an object or boolean, found "
                          f"{type(raw).__name__}", file=ctx.label, pointer=pointer)  # fmt: skip
    return _shape_of_object(raw, ctx.child(raw))


def _shape_of_object(raw: dict[str, Any], ctx: Ctx) -> Shape:
    parts: list[Shape] = []
    declared = raw.get("type")
    if isinstance(declared, str) and declared in TYPE_NAMES:
        parts.append(_typed(declared, raw, ctx, requires=True))
    elif isinstance(declared, list):
        names = [t for t in dict.fromkeys(declared) if isinstance(t, str) and t in TYPE_NAMES]
        subs = [_typed(t, raw, ctx, requires=True) for t in names]
        parts.append(Shape(COMBINED, raw, ctx, criterion="anyOf", typelist=True, subs=subs,
                           part=True))  # fmt: skip
    else:
        implied = [
            _typed(kind, raw, ctx, requires=False)
            for kind, keywords in _IMPLIED
            if not keywords.isdisjoint(raw)
        ]
        if len(implied) == 1:
            parts.extend(implied)
        elif implied:
            roles = {f"type:{p.kind}": p for p in implied}
            parts.append(Shape(COMBINED, raw, ctx, criterion="allOf", synthetic=True,
                               roles=roles, part=True))  # fmt: skip
    if "enum" in raw and isinstance(raw["enum"], list):
        parts.append(Shape(ENUM, raw, ctx, values=raw["enum"], part=True))
    elif "const" in raw:
        parts.append(Shape(ENUM, raw, ctx, enum_key="const", values=[raw["const"]], part=True))
    for criterion in COMBINATORS:
        branches = raw.get(criterion)
        if isinstance(branches, list) and branches:
            parts.append(Shape(COMBINED, raw, ctx, criterion=criterion, part=True))
    if "not" in raw:
        parts.append(Shape(NOT, raw, ctx, part=True))
    if "if" in raw:
        parts.append(Shape(CONDITIONAL, raw, ctx, part=True))
    if not parts:
        return Shape(EMPTY, raw, ctx)
    if len(parts) == 1:
        parts[0].part = False
        return parts[0]
    return Shape(COMBINED, raw, ctx, criterion="allOf", synthetic=True,
                 roles={p.role: p for p in parts})  # fmt: skip


def instance_types(shape: Shape) -> tuple[str, ...] | None:
    """The instance types a shape accepts (sorted), or None when unknown (anything goes).

    A tuple of strings, not a set: rename hints keep one per removed/added property, and
    the garbage collector stops tracking tuples of strings.
    """
    if shape.kind in TYPE_KINDS:
        return (shape.kind,)
    if shape.kind == COMBINED and shape.typelist:
        return tuple(sorted({s.kind for s in shape.subs}))
    if shape.kind == ENUM:
        return tuple(sorted({_json_type(value) for value in shape.values}))
    if shape.kind == COMBINED and shape.synthetic and "type" in shape.roles:
        return instance_types(shape.roles["type"])
    return None


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int | float):
        return NUMBER
    if isinstance(value, str):
        return STRING
    if value is None:
        return NULL
    return ARRAY if isinstance(value, list) else OBJECT


def combined_branches(shape: Shape, pointer: str) -> list[tuple[int, Shape]]:
    """An explicit/typelist combinator's branches as ``(index, shape)``, duplicates dropped."""
    if shape.typelist:
        return list(enumerate(shape.subs))
    out: list[tuple[int, Shape]] = []
    seen: set[bytes] = set()
    for index, branch in enumerate(shape.raw[shape.criterion]):
        key = canonical(branch)
        if key in seen:
            continue
        seen.add(key)
        branch_pointer = f"{pointer}/{shape.criterion}/{index}"
        out.append((index, shape_of(branch, shape.ctx, branch_pointer)))
    return out
