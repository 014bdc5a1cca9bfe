"""Objects and arrays for the diff walk: properties, content models, items, dependencies.

Content models (Confluent's vocabulary): an object is *open* when any extra property is
allowed (no ``patternProperties``, ``additionalProperties`` absent or true), *closed* when
none is, and *partially open* when extra properties must match a schema. Whether removing or
adding a property is compatible depends on the model of the schema that loses or gains it:
under the strict policy an open model may not gain a constrained property (an old producer
may already send that name with any value); the lenient policy allows it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from evolvekit.schema.changes import ANNOTATION_KINDS, MISSING
from evolvekit.schema.diff_records import Diff, HintGroup, child
from evolvekit.schema.diff_shapes import EMPTY, FALSE, Shape, instance_types, shape_of

if TYPE_CHECKING:  # pragma: no cover
    from evolvekit.schema.diff_walk import Walker

_OPEN: Final = object()  # "any value is allowed here"


def _dict(raw: Any) -> dict[str, Any]:
    return raw if isinstance(raw, dict) else {}


def _mapping(raw: dict[str, Any], key: str) -> dict[str, Any]:
    value = raw.get(key)
    return value if isinstance(value, dict) else {}


def _additional(raw: dict[str, Any], key: str) -> tuple[bool, Any]:
    """(extra members allowed at all, their schema or None for "anything")."""
    if key not in raw:
        return True, None
    value = raw[key]
    if value is False:
        return False, None
    if value is True or value == {}:
        return True, None
    return True, value


def _content_model(raw: dict[str, Any], key: str, fallback: str) -> tuple[bool, Any]:
    return _additional(raw, key if key in raw else fallback)


def _diff(kind: str, path: str, old: Any = MISSING, new: Any = MISSING,
          compat: bool | None = None) -> Diff:  # fmt: skip
    return Diff(kind, path, old, new, compat)


# --- objects ----------------------------------------------------------------------------


def _is_open(raw: dict[str, Any]) -> bool:
    permits, schema = _content_model(raw, "additionalProperties", "unevaluatedProperties")
    return not _mapping(raw, "patternProperties") and permits and schema is None


def _covering(walker: Walker, raw: dict[str, Any], name: str) -> Any:
    """The schema a property ``name`` would get from the content model (or _OPEN / None)."""
    for pattern, schema in _mapping(raw, "patternProperties").items():
        if walker.search(pattern, name):
            return schema
    permits, schema = _content_model(raw, "additionalProperties", "unevaluatedProperties")
    if not permits:
        return None
    return _OPEN if schema is None else schema


def _has_default(shape: Shape) -> bool:
    return isinstance(shape.raw, dict) and "default" in shape.raw


def _required_names(raw: dict[str, Any]) -> set[str]:
    names = raw.get("required")
    return {r for r in names if isinstance(r, str)} if isinstance(names, list) else set()


class _ObjectPair:
    """An old and a new object schema at one path, with what the property rules ask of them."""

    def __init__(self, walker: Walker, old: Shape, new: Shape, path: str) -> None:
        self.walker, self.old, self.new, self.path = walker, old, new, path
        self.o, self.n = _dict(old.raw), _dict(new.raw)
        self.oprops, self.nprops = _mapping(self.o, "properties"), _mapping(self.n, "properties")
        self.oreq, self.nreq = _required_names(self.o), _required_names(self.n)
        self.hints = HintGroup(path)
        self._open: dict[bool, bool] = {}  # side (True: new) -> open content model, computed once

    def cover(self, name: str, *, in_new: bool) -> Any:
        """What the content model of one side says about a property ``name`` it does not declare:
        ``_OPEN`` (anything goes), a schema the value must match, or None (not allowed)."""
        raw = self.n if in_new else self.o
        if in_new not in self._open:
            self._open[in_new] = _is_open(raw)
        return _OPEN if self._open[in_new] else _covering(self.walker, raw, name)


def compare_object(walker: Walker, old: Shape, new: Shape, path: str, out: list[Diff]) -> None:
    pair = _ObjectPair(walker, old, new, path)
    for name, osub in pair.oprops.items():
        if name in pair.nprops:
            _compare_kept_property(pair, name, osub, pair.nprops[name], out)
        else:
            _one_sided_property(pair, name, osub, out, added=False)
    for name, nsub in pair.nprops.items():
        if name not in pair.oprops:
            _one_sided_property(pair, name, nsub, out, added=True)
    _required_without_property(pair, out)
    if pair.hints.removed and pair.hints.added:
        walker.hint_groups.append(pair.hints)
    _compare_dependencies(walker, old, new, path, out)
    _compare_additional(walker, old, new, path, out, "additionalProperties",
                        "additional_properties")  # fmt: skip
    _compare_additional(walker, old, new, path, out, "unevaluatedProperties",
                        "unevaluated_properties")  # fmt: skip
    _compare_patterns(walker, old, new, path, out)
    _compare_optional_schema(walker, old, new, path, out, "propertyNames", "property_names")
    walker.bound(pair.o.get("maxProperties"), pair.n.get("maxProperties"), "max_properties",
                 child(path, "maxProperties"), out)  # fmt: skip
    walker.bound(pair.o.get("minProperties"), pair.n.get("minProperties"), "min_properties",
                 child(path, "minProperties"), out)  # fmt: skip


def _compare_kept_property(pair: _ObjectPair, name: str, osub: Any, nsub: Any,
                           out: list[Diff]) -> None:  # fmt: skip
    """A property both versions declare: its schema, then whether it became (not) required."""
    was, now = name in pair.oreq, name in pair.nreq
    walker = pair.walker
    if walker.same(osub, nsub) and was == now:
        return  # the common case, kept cheap: nothing changed here
    where = child(pair.path, "properties", name)
    walker.compare_raw(osub, pair.old.ctx, nsub, pair.new.ctx, where, out)
    req = child(pair.path, "required", name)
    if was and not now:
        out.append(_diff("required_attribute_removed", req, True, False))
    elif now and not was:
        kind = ("required_attribute_with_default_added"
                if _has_default(shape_of(nsub, pair.new.ctx, where))
                else "required_attribute_added")  # fmt: skip
        out.append(_diff(kind, req, False, True))


def _one_sided_property(pair: _ObjectPair, name: str, sub: Any, out: list[Diff], *,
                        added: bool) -> None:  # fmt: skip
    """A property only one version declares, judged by the other version's content model.

    A removed property's old values must now fit the new content model; an added property's
    values must have fitted the old one (an old producer may have sent that name already).
    """
    where = child(pair.path, "properties", name)
    ctx = pair.new.ctx if added else pair.old.ctx
    shape = shape_of(sub, ctx, where)
    if pair.walker.collecting_hints:
        (pair.hints.added if added else pair.hints.removed).append((name, instance_types(shape)))
    cover = pair.cover(name, in_new=not added)
    if cover is not _OPEN and cover is not None:
        _covered_property(pair, sub, shape, cover, where, out, added=added)
        if not added:
            return
    if added:
        kind = _added_kind(shape, open_model=cover is _OPEN, required=name in pair.nreq)
        out.append(_diff(kind, where, MISSING, sub))
    else:
        out.append(_diff(_removed_kind(shape, open_model=cover is _OPEN), where, sub))


def _covered_property(pair: _ObjectPair, value: Any, shape: Shape, cover: Any, where: str,
                      out: list[Diff], *, added: bool) -> None:  # fmt: skip
    """A partially open content model: the property's schema against the one covering it."""
    if added:
        cover_shape = shape_of(cover, pair.old.ctx, where)
        sub = pair.walker.trial(cover_shape, shape, where)
    else:
        sub = pair.walker.trial(shape, shape_of(cover, pair.new.ctx, where), where)
    out.extend(sub)
    verb = "added" if added else "removed"
    covered = "is" if pair.walker.compatible(sub) else "not"
    old, new = (MISSING, value) if added else (value, MISSING)
    out.append(_diff(f"property_{verb}_{covered}_covered_by_partially_open_content_model",
                     where, old, new))  # fmt: skip


def _added_kind(shape: Shape, *, open_model: bool, required: bool) -> str:
    if open_model and shape.kind == EMPTY:
        return "property_with_empty_schema_added_to_open_content_model"
    model = "open" if open_model else "unopen"
    if not required:
        return f"optional_property_added_to_{model}_content_model"
    if _has_default(shape):
        return f"required_property_with_default_added_to_{model}_content_model"
    return f"required_property_added_to_{model}_content_model"


def _removed_kind(shape: Shape, *, open_model: bool) -> str:
    if open_model:
        return "property_removed_from_open_content_model"
    if shape.kind == FALSE:
        return "property_with_false_removed_from_closed_content_model"
    return "property_removed_from_closed_content_model"


def _required_without_property(pair: _ObjectPair, out: list[Diff]) -> None:
    """``required`` naming a property neither version declares still constrains instances."""
    for name, was in [*((n, False) for n in sorted(pair.nreq - pair.oreq)),
                      *((n, True) for n in sorted(pair.oreq - pair.nreq))]:  # fmt: skip
        if name in pair.oprops or name in pair.nprops:
            continue
        kind = "required_attribute_removed" if was else "required_attribute_added"
        out.append(_diff(kind, child(pair.path, "required", name), was, not was))


def _compare_dependencies(
    walker: Walker, old: Shape, new: Shape, path: str, out: list[Diff]
) -> None:
    o, n = _dict(old.raw), _dict(new.raw)
    for keyword in ("dependencies", "dependentRequired", "dependentSchemas"):
        omap, nmap = _mapping(o, keyword), _mapping(n, keyword)
        if not omap and not nmap:
            continue
        for name in [*omap, *(k for k in nmap if k not in omap)]:
            where = child(path, keyword, name)
            ov, nv = omap.get(name, MISSING), nmap.get(name, MISSING)
            oarr: Any = ov if isinstance(ov, list) else MISSING
            narr: Any = nv if isinstance(nv, list) else MISSING
            osch = ov if isinstance(ov, dict | bool) else MISSING
            nsch = nv if isinstance(nv, dict | bool) else MISSING
            if oarr is not MISSING or narr is not MISSING:
                if narr is MISSING:
                    out.append(_diff("dependency_array_removed", where, oarr))
                elif oarr is MISSING:
                    out.append(_diff("dependency_array_added", where, MISSING, narr))
                else:
                    oset, nset = set(map(str, oarr)), set(map(str, narr))
                    if oset != nset:
                        kind = ("dependency_array_extended" if nset >= oset
                                else "dependency_array_narrowed" if oset >= nset
                                else "dependency_array_changed")  # fmt: skip
                        out.append(_diff(kind, where, oarr, narr))
            if osch is not MISSING or nsch is not MISSING:
                if nsch is MISSING:
                    out.append(_diff("dependency_schema_removed", where, osch))
                elif osch is MISSING:
                    out.append(_diff("dependency_schema_added", where, MISSING, nsch))
                else:
                    walker.compare_raw(osch, old.ctx, nsch, new.ctx, where, out)


def _compare_additional(
    walker: Walker, old: Shape, new: Shape, path: str, out: list[Diff], keyword: str, stem: str
) -> None:
    """additionalProperties / unevaluatedProperties / additionalItems / unevaluatedItems."""
    o, n = _dict(old.raw), _dict(new.raw)
    if keyword not in o and keyword not in n:
        return
    where = child(path, keyword)
    operm, oschema = _additional(o, keyword)
    nperm, nschema = _additional(n, keyword)
    ov, nv = o.get(keyword, MISSING), n.get(keyword, MISSING)
    if operm != nperm:
        out.append(_diff(f"{stem}_added" if nperm else f"{stem}_removed", where, ov, nv))
    elif oschema is None and nschema is not None:
        out.append(_diff(f"{stem}_narrowed", where, ov, nv))
    elif nschema is None and oschema is not None:
        out.append(_diff(f"{stem}_extended", where, ov, nv))
    elif oschema is not None and nschema is not None:
        walker.compare_raw(oschema, old.ctx, nschema, new.ctx, where, out)


def _compare_patterns(walker: Walker, old: Shape, new: Shape, path: str, out: list[Diff]) -> None:
    """patternProperties themselves (Confluent does not diff them)."""
    o, n = _dict(old.raw), _dict(new.raw)
    opats, npats = _mapping(o, "patternProperties"), _mapping(n, "patternProperties")
    if not opats and not npats:
        return
    for pattern in [*opats, *(p for p in npats if p not in opats)]:
        where = child(path, "patternProperties", pattern)
        if pattern in opats and pattern in npats:
            walker.compare_raw(opats[pattern], old.ctx, npats[pattern], new.ctx, where, out)
            continue
        if pattern in npats:
            # Names matching it used to fall to the old content model.
            operm, oschema = _content_model(o, "additionalProperties", "unevaluatedProperties")
            others = [sch for pat, sch in opats.items() if pat not in npats or pat != pattern]
            if not operm and others:
                # A name may match an old pattern too: it must fit the new pattern's schema.
                ok = all(walker.compatible(walker.trial(
                    shape_of(sch, old.ctx, where), shape_of(npats[pattern], new.ctx, where),
                    where)) for sch in others)  # fmt: skip
            elif not operm:
                ok = True
            else:
                sub = walker.trial(shape_of(True if oschema is None else oschema, old.ctx, where),
                                   shape_of(npats[pattern], new.ctx, where), where)  # fmt: skip
                ok = walker.compatible(sub)
            out.append(_diff("pattern_property_added", where, MISSING, npats[pattern], ok))
        else:
            nperm, nschema = _content_model(n, "additionalProperties", "unevaluatedProperties")
            if not nperm:
                ok = False
            elif nschema is None:
                ok = True
            else:
                sub = walker.trial(shape_of(opats[pattern], old.ctx, where),
                                   shape_of(nschema, new.ctx, where), where)  # fmt: skip
                ok = walker.compatible(sub)
            out.append(_diff("pattern_property_removed", where, opats[pattern], MISSING, ok))


def _compare_optional_schema(
    walker: Walker, old: Shape, new: Shape, path: str, out: list[Diff], keyword: str, stem: str
) -> None:
    """A keyword holding one subschema that constrains when present (propertyNames, contains)."""
    o, n = _dict(old.raw), _dict(new.raw)
    ov, nv = o.get(keyword, MISSING), n.get(keyword, MISSING)
    if ov is MISSING and nv is MISSING:
        return
    where = child(path, keyword)
    if nv is MISSING:
        out.append(_diff(f"{stem}_removed", where, ov))
    elif ov is MISSING:
        out.append(_diff(f"{stem}_added", where, MISSING, nv))
    else:
        walker.compare_raw(ov, old.ctx, nv, new.ctx, where, out)


# --- arrays -----------------------------------------------------------------------------


def _array_model(raw: dict[str, Any]) -> tuple[Any, list[Any] | None, str | None]:
    """(schema for all items or None, tuple schemas or None, keyword holding extra items)."""
    prefix, items = raw.get("prefixItems"), raw.get("items", MISSING)
    if isinstance(prefix, list):
        return None, prefix, "items"
    if isinstance(items, list):
        return None, items, "additionalItems"
    if isinstance(items, bool):
        return None, None, "items"
    return (None if items is MISSING else items), None, "additionalItems"


def _extra_model(raw: dict[str, Any], key: str | None) -> tuple[bool, Any]:
    if key is not None and key in raw:
        return _additional(raw, key)
    return _additional(raw, "unevaluatedItems")


def compare_array(walker: Walker, old: Shape, new: Shape, path: str, out: list[Diff]) -> None:
    o, n = _dict(old.raw), _dict(new.raw)
    oall, otuple, okey = _array_model(o)
    nall, ntuple, nkey = _array_model(n)
    where = child(path, "items")
    if oall is not None and nall is not None:
        walker.compare_raw(oall, old.ctx, nall, new.ctx, where, out)
    elif nall is not None:
        out.append(_diff("schema_added", where, MISSING, nall))
    elif oall is not None:
        out.append(_diff("schema_removed", where, oall))
    _compare_tuple(walker, old, new, path, out, otuple or [], ntuple or [],
                   _extra_model(o, okey), _extra_model(n, nkey))  # fmt: skip
    _compare_extra_items(walker, old, new, path, out, okey, nkey)
    _compare_additional(walker, old, new, path, out, "unevaluatedItems", "unevaluated_items")
    walker.bound(o.get("maxItems"), n.get("maxItems"), "max_items", child(path, "maxItems"), out)
    walker.bound(o.get("minItems"), n.get("minItems"), "min_items", child(path, "minItems"), out)
    ou, nu = o.get("uniqueItems") is True, n.get("uniqueItems") is True
    if ou != nu:
        out.append(_diff("unique_items_added" if nu else "unique_items_removed",
                         child(path, "uniqueItems"), ou, nu))  # fmt: skip
    _compare_contains(walker, old, new, path, out)


def _compare_contains(walker: Walker, old: Shape, new: Shape, path: str, out: list[Diff]) -> None:
    """``contains`` counts the items matching its subschema, and the count is bounded.

    Narrowing the subschema lowers the count (an old array may fall below ``minContains``);
    widening it raises the count, which breaks as soon as the receiving side caps it with
    ``maxContains``: ``["0", "a"]`` has one digit string but two strings. So under a
    ``maxContains`` any change of what matches breaks the walked direction.
    """
    o, n = _dict(old.raw), _dict(new.raw)
    found: list[Diff] = []
    _compare_optional_schema(walker, old, new, path, found, "contains", "contains")
    if "contains" in o and "contains" in n and n.get("maxContains") is not None:
        for d in found:
            if d.kind not in ANNOTATION_KINDS:
                d.compat = False
    out.extend(found)
    if "contains" in o and "contains" in n:
        # minContains defaults to 1 whenever contains is present.
        walker.bound(o.get("minContains", 1), n.get("minContains", 1), "min_contains",
                     child(path, "minContains"), out)  # fmt: skip
        walker.bound(o.get("maxContains"), n.get("maxContains"), "max_contains",
                     child(path, "maxContains"), out)  # fmt: skip


def _compare_extra_items(
    walker: Walker, old: Shape, new: Shape, path: str, out: list[Diff],
    okey: str | None, nkey: str | None,
) -> None:  # fmt: skip
    """Items beyond the tuple: ``additionalItems`` (or 2020-12 ``items`` after prefixItems).

    Reported at ``additionalItems`` whichever keyword holds them, as Confluent does.
    """
    o, n = _dict(old.raw), _dict(new.raw)
    ov = o.get(okey, MISSING) if okey else MISSING
    nv = n.get(nkey, MISSING) if nkey else MISSING
    if ov is MISSING and nv is MISSING:
        return
    operm, oschema = _additional({"k": ov} if ov is not MISSING else {}, "k")
    nperm, nschema = _additional({"k": nv} if nv is not MISSING else {}, "k")
    where = child(path, "additionalItems")
    if operm != nperm:
        out.append(_diff("additional_items_removed" if operm else "additional_items_added",
                         where, ov, nv))  # fmt: skip
    elif oschema is None and nschema is not None:
        out.append(_diff("additional_items_narrowed", where, ov, nv))
    elif nschema is None and oschema is not None:
        out.append(_diff("additional_items_extended", where, ov, nv))
    elif oschema is not None and nschema is not None:
        walker.compare_raw(oschema, old.ctx, nschema, new.ctx, where, out)


def _compare_tuple(
    walker: Walker, old: Shape, new: Shape, path: str, out: list[Diff],
    otuple: list[Any], ntuple: list[Any], omodel: tuple[bool, Any], nmodel: tuple[bool, Any],
) -> None:  # fmt: skip
    common = min(len(otuple), len(ntuple))
    for index in range(common):
        walker.compare_raw(otuple[index], old.ctx, ntuple[index], new.ctx,
                           child(path, "items", index), out)  # fmt: skip
    for index in range(common, len(otuple)):
        where = child(path, "items", index)
        nperm, nschema = nmodel
        if nperm and nschema is None:
            out.append(_diff("item_removed_from_open_content_model", where, otuple[index]))
        elif nschema is not None:
            sub = walker.trial_raw(otuple[index], old.ctx, nschema, new.ctx, where)
            out.extend(sub)
            kind = ("item_removed_is_covered_by_partially_open_content_model"
                    if walker.compatible(sub)
                    else "item_removed_not_covered_by_partially_open_content_model")  # fmt: skip
            out.append(_diff(kind, where, otuple[index]))
        elif shape_of(otuple[index], old.ctx, where).kind == FALSE:
            out.append(_diff("item_with_false_removed_from_closed_content_model", where,
                             otuple[index]))  # fmt: skip
        else:
            out.append(_diff("item_removed_from_closed_content_model", where, otuple[index]))
    for index in range(common, len(ntuple)):
        where = child(path, "items", index)
        operm, oschema = omodel
        if operm and oschema is None:
            empty = shape_of(ntuple[index], new.ctx, where).kind == EMPTY
            kind = ("item_with_empty_schema_added_to_open_content_model" if empty
                    else "item_added_to_open_content_model")  # fmt: skip
            out.append(_diff(kind, where, MISSING, ntuple[index]))
        elif oschema is not None:
            sub = walker.trial_raw(oschema, old.ctx, ntuple[index], new.ctx, where)
            out.extend(sub)
            kind = ("item_added_is_covered_by_partially_open_content_model"
                    if walker.compatible(sub)
                    else "item_added_not_covered_by_partially_open_content_model")  # fmt: skip
            out.append(_diff(kind, where, MISSING, ntuple[index]))
        else:
            out.append(_diff("item_added_to_closed_content_model", where, MISSING, ntuple[index]))
