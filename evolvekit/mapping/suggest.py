"""``suggest_rules``: a draft rule set from a schema diff (and, better, samples), for a person.

Each suggested rule carries a confidence (0..1) and the reason behind it, and the draft is
written as a commented YAML rule file. What is proposed:

- renames: a removed and an added field scored by name similarity (camelCase/snake_case
  tokens, unit words set aside), the diff's rename hints, type compatibility and, given
  samples, whether the old values have the shape the new field wants (e-mail, ISO time,
  digits, uuid, its ``pattern``);
- moves into or out of nested objects (``agentId`` -> ``agent.id``: same tokens, new parent);
- type casts (``"245"`` -> 245 via ``int``, ``"True"`` -> true via ``bool``);
- unit changes named in the field names (``...Seconds`` -> ``...Ms``: ``scale`` by 1000);
- defaults for newly required fields, from the new schema's ``default``;
- drops for removed fields with no counterpart.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import yaml

from evolvekit.mapping.paths import WILDCARD, format_path, get_path
from evolvekit.mapping.ruleset import RuleSet
from evolvekit.mapping.schema_fields import (
    JSON_TYPES,
    Field,
    Key,
    SchemaFields,
    pointer_to_key,
)
from evolvekit.mapping.suggest_evidence import (
    FORMAT_SHAPES,
    cast_fits,
    cast_for,
    main_type,
    name_similarity,
    shape,
    unit_factor,
)
from evolvekit.safe_regex import schema_pattern_matcher
from evolvekit.schema.changes import MISSING, SchemaDiff

if TYPE_CHECKING:
    from evolvekit.schema.registry import SchemaRegistry

MIN_CONFIDENCE = 0.45
MIN_NAME_SIMILARITY = 0.4
_SAMPLE_LIMIT = 200


@dataclass(frozen=True)
class SuggestionItem:
    """One suggested rule (as it would appear in a rule file) and why."""

    rule: dict[str, Any]
    confidence: float
    reason: str
    kind: str  # rename, move, cast, unit, default, drop

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "confidence": self.confidence,
            "reason": self.reason,
            "kind": self.kind,
        }


@dataclass
class Suggestion:
    """A drafted rule set: ``items`` with confidence and reason, ``ruleset`` to run it."""

    items: list[SuggestionItem]
    unresolved: list[str] = field(default_factory=list)
    subject: str | None = None
    from_version: str | None = None
    to_version: str | None = None
    title: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in ("subject", "from_version", "to_version"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        out["unmapped"] = "keep"
        out["rules"] = [dict(item.rule) for item in self.items]
        return out

    @property
    def ruleset(self) -> RuleSet:
        return RuleSet.from_dict(self.to_dict())

    def to_yaml(self) -> str:
        """A rule file a person can edit: every rule preceded by its confidence and reason."""
        lines = ["# Draft rules suggested by evolvekit: review each one before use."]
        if self.title:
            lines.append(f"# {self.title}")
        lines.append("# Each rule's comment gives a confidence (0..1) and the evidence for it.")
        header = {k: v for k, v in self.to_dict().items() if k != "rules"}
        lines.append(yaml.safe_dump(header, sort_keys=False).rstrip())
        if not self.items:
            lines.append("rules: []")
        else:
            lines.append("rules:")
        for item in self.items:
            lines.append(f"  # confidence {item.confidence:.2f} ({item.kind}): {item.reason}")
            dumped = yaml.safe_dump([item.rule], sort_keys=False, default_flow_style=False)
            lines.extend("  " + line for line in dumped.rstrip().splitlines())
        if self.unresolved:
            lines.append("# Not resolved (add rules by hand):")
            lines.extend(f"#   - {note}" for note in self.unresolved)
        return "\n".join(lines) + "\n"


# ---- the fields on each side ------------------------------------------------------------


@dataclass(frozen=True)
class _Side:
    key: Key
    types: frozenset[str] | None
    schema: Mapping[str, Any]
    required: bool


def _leaves(fields: SchemaFields) -> dict[Key, _Side]:
    return {
        f.key: _Side(f.key, f.types, f.schema, f.required)
        for f in fields
        if not fields.has_children(f.key)
    }


def _sides_from_change(key: Key, schema: Any, required: bool) -> dict[Key, _Side]:
    """The leaf fields of a property the diff added or removed (objects opened up)."""
    node = schema if isinstance(schema, Mapping) else {}
    probe = SchemaFields({"type": "object", "properties": {"x": node}})
    sides = {}
    for f in probe:
        if probe.has_children(f.key):
            continue
        full = key + f.key[1:]
        sides[full] = _Side(full, f.types, f.schema, required if len(f.key) == 1 else f.required)
    return sides


def _required_key(pointer: str) -> Key | None:
    """``#/required/agentId`` (or ``#/properties/a/required/b``) as the field's key."""
    head, sep, name = pointer.rpartition("/required/")
    if not sep:
        return None
    parent = pointer_to_key(head) if head not in ("", "#") else ()
    return None if parent is None else (*parent, name.replace("~1", "/").replace("~0", "~"))


def _from_diff(
    diff: SchemaDiff,
) -> tuple[dict[Key, _Side], dict[Key, _Side], dict[Key, tuple[Any, Any]]]:
    """Removed and added fields and type changes, read off the diff's changes alone."""
    removed: dict[Key, _Side] = {}
    added: dict[Key, _Side] = {}
    retyped: dict[Key, tuple[Any, Any]] = {}
    required: set[Key] = set()
    for change in diff.changes:
        if change.kind.startswith("required_") and change.new is True:
            key = _required_key(change.path)
            if key:
                required.add(key)
            continue
        key = pointer_to_key(change.path)
        if not key:
            continue
        if change.kind.startswith("type_"):
            retyped[key] = (change.old, change.new)
        elif change.new is MISSING and isinstance(change.old, Mapping):
            removed.update(_sides_from_change(key, change.old, False))
        elif change.old is MISSING and isinstance(change.new, Mapping):
            added.update(_sides_from_change(key, change.new, "required_" in change.kind))
    for key in required & added.keys():
        side = added[key]
        added[key] = _Side(side.key, side.types, side.schema, True)
    return removed, added, retyped


def _types_of(value: Any) -> frozenset[str] | None:
    if isinstance(value, str):
        return frozenset({value}) & JSON_TYPES
    if isinstance(value, list):
        return frozenset(v for v in value if isinstance(v, str)) & JSON_TYPES
    return None


# ---- scoring ------------------------------------------------------------------------------


def _sample_values(samples: list[Mapping[str, Any]], key: Key) -> list[Any]:
    values: list[Any] = []
    for sample in samples:
        found = get_path(sample, key)
        if found is MISSING:
            continue
        if WILDCARD in key and isinstance(found, list):
            values.extend(found)
        else:
            values.append(found)
    return values


def _shape_evidence(values: list[Any], new: _Side) -> tuple[float, str]:
    """(adjustment, words): do the old values fit what the new field asks for?"""
    if not values:
        return 0.0, ""
    shapes = {shape(v) for v in values}
    shape_text = "/".join(sorted(shapes))
    wanted = new.schema.get("format")
    if isinstance(wanted, str) and wanted in FORMAT_SHAPES:
        if shapes == {FORMAT_SHAPES[wanted]}:
            return 0.15, f"sample values are {shape_text}, as its format {wanted} wants"
        return -0.25, f"sample values are {shape_text}, not the {wanted} its format wants"
    pattern = new.schema.get("pattern")
    if isinstance(pattern, str):
        matches = schema_pattern_matcher(pattern)
        if matches is not None:
            texts = [v for v in values if isinstance(v, str)]
            if texts and all(matches(t) for t in texts):
                return 0.1, f"sample values match its pattern {pattern}"
            if texts:
                return -0.25, f"sample values do not match its pattern {pattern}"
    target = main_type(new.types)
    if target in ("integer", "number") and shapes <= {"digits", "decimal", "integer", "number"}:
        return 0.05, f"sample values are {shape_text}"
    if target == "boolean" and shapes <= {"boolean-text", "digits", "boolean"}:
        return 0.05, f"sample values are {shape_text}"
    return 0.0, f"sample values are {shape_text}"


@dataclass
class _Candidate:
    old: _Side
    new: _Side
    confidence: float
    kind: str
    reason: str
    transforms: list[Any]


def _score(
    old: _Side,
    new: _Side,
    hint: float | None,
    samples: list[Mapping[str, Any]] | None,
) -> _Candidate | None:
    if sum(s is WILDCARD for s in old.key) != sum(s is WILDCARD for s in new.key):
        return None
    name = name_similarity(old.key, new.key)
    reasons: list[str] = []
    kind = "rename"
    old_leaf = next((s for s in reversed(old.key) if isinstance(s, str)), "")
    new_leaf = next((s for s in reversed(new.key) if isinstance(s, str)), "")
    if name == 1.0 and len(old.key) != len(new.key):
        kind = "move"
        reasons.append("same name words under a new parent")
    elif old_leaf == new_leaf and old.key[:-1] != new.key[:-1]:
        kind, name = "move", max(name, 0.9)
        reasons.append(f"same field name {old_leaf!r} under a new parent")
    elif hint is not None:
        # One figure per renamed pair: the diff's hint states it, suggest repeats it.
        name = hint
        reasons.append(f"name similarity {name:.2f} (the diff's rename hint)")
    else:
        reasons.append(f"name similarity {name:.2f}")
    if name < MIN_NAME_SIMILARITY:
        return None  # a matching type alone is no evidence of a rename
    cast, compatible = cast_for(old.types, new.types)
    cast = _refine_cast(cast, old.types, new.schema)
    transforms: list[Any] = []
    if not compatible:
        type_score = 0.25
        reasons.append(f"types differ ({_types_text(old.types)} -> {_types_text(new.types)})")
    elif cast:
        type_score = 0.8
        transforms.append(cast)
        reasons.append(
            f"{_types_text(old.types)} -> {_types_text(new.types)} via {_transform_name(cast)}"
        )
    else:
        type_score = 1.0
        if old.types:
            reasons.append(f"same type {_types_text(old.types)}")
    factor = unit_factor(old.key, new.key)
    if factor is not None and compatible and main_type(new.types) in ("integer", "number", None):
        transforms.append({"name": "scale", "factor": factor})
        reasons.append(f"unit change in the names: scale by {factor}")
        if main_type(new.types) == "integer" and factor < 1:
            # 431500 ms is 431.5 s: the integer field keeps the whole units, as a stopwatch
            # would, rather than failing every event with a fraction.
            transforms.append({"name": "int", "rounding": "down"})
            reasons.append("int rounding down to whole units (the fraction is lost)")
    confidence = 0.6 * name + 0.4 * type_score
    if samples:
        adjust, words = _shape_evidence(_sample_values(samples, old.key), new)
        confidence += adjust
        if words:
            reasons.append(words)
    confidence = max(0.0, min(1.0, confidence))
    return _Candidate(old, new, round(confidence, 2), kind, "; ".join(reasons), transforms)


def _refine_cast(
    cast: str | None, old: frozenset[str] | None, new_schema: Mapping[str, Any]
) -> Any:
    """A boolean written into an enumeration of spellings (CXone's "True"/"False") needs
    those exact strings, which ``str`` (giving "true") would not produce."""
    if cast != "str" or main_type(old) != "boolean":
        return cast
    enum = new_schema.get("enum")
    if not isinstance(enum, list):
        return cast
    spelled = {v.lower(): v for v in enum if isinstance(v, str)}
    if "true" in spelled and "false" in spelled:
        return {"name": "map", "table": {"true": spelled["true"], "false": spelled["false"]}}
    return cast


def _transform_name(transform: Any) -> str:
    return str(transform["name"]) if isinstance(transform, Mapping) else str(transform)


def _types_text(types: frozenset[str] | None) -> str:
    return " or ".join(sorted(types)) if types else "any"


def _rule(source: Key, target: Key, transforms: list[Any]) -> dict[str, Any]:
    rule: dict[str, Any] = {"from": format_path(source), "to": format_path(target)}
    if len(transforms) == 1:
        rule["transform"] = transforms[0]
    elif transforms:
        rule["transform"] = transforms
    return rule


# ---- the suggestion ------------------------------------------------------------------------


def suggest_rules(
    diff: SchemaDiff,
    samples: Iterable[Mapping[str, Any]] | None = None,
    *,
    old_schema: Mapping[str, Any] | None = None,
    new_schema: Mapping[str, Any] | None = None,
    registry: SchemaRegistry | None = None,
    old_uri: str | None = None,
    new_uri: str | None = None,
    subject: str | None = None,
    from_version: str | None = None,
    to_version: str | None = None,
) -> Suggestion:
    """Draft rules turning events of the diff's old schema into events of its new one.

    ``old_schema``/``new_schema`` give the full picture (types of unchanged fields,
    ``default``, closed objects); without them the diff's changes are used alone.
    ``samples`` are events of the OLD schema. ``registry`` with the schemas' URIs lets
    ``$ref`` s to the registry's other files be followed. ``subject`` and the versions go
    into the drafted file's header.
    """
    sample_list = list(samples)[:_SAMPLE_LIMIT] if samples is not None else None
    retrieve = registry.retrieve_json if registry is not None else None
    old_fields = (
        SchemaFields(old_schema, retrieve=retrieve, base_uri=old_uri)
        if old_schema is not None
        else None
    )
    new_fields = (
        SchemaFields(new_schema, retrieve=retrieve, base_uri=new_uri)
        if new_schema is not None
        else None
    )
    if old_fields is not None and new_fields is not None:
        old_leaves, new_leaves = _leaves(old_fields), _leaves(new_fields)
        removed = {k: v for k, v in old_leaves.items() if k not in new_fields}
        added = {k: v for k, v in new_leaves.items() if k not in old_fields}
        retyped = {
            k: (v.types, new_leaves[k].types)
            for k, v in old_leaves.items()
            if k in new_leaves
            and v.types
            and new_leaves[k].types
            and v.types != new_leaves[k].types
        }
    else:
        removed, added, retyped = _from_diff(diff)
    hints = {(pointer_to_key(h.removed), pointer_to_key(h.added)): h.similarity for h in diff.hints}

    items: list[SuggestionItem] = []
    unresolved: list[str] = []
    # Renames and moves: best pairs first, each field used once.
    candidates = [
        c
        for old in removed.values()
        for new in added.values()
        if (c := _score(old, new, hints.get((old.key, new.key)), sample_list)) is not None
        and c.confidence >= MIN_CONFIDENCE
    ]
    candidates.sort(key=lambda c: (-c.confidence, format_path(c.new.key)))
    paired_old: set[Key] = set()
    paired_new: set[Key] = set()
    for c in candidates:
        if c.old.key in paired_old or c.new.key in paired_new:
            continue
        paired_old.add(c.old.key)
        paired_new.add(c.new.key)
        kind = (
            "unit"
            if any(isinstance(t, dict) and t.get("name") == "scale" for t in c.transforms)
            else c.kind
        )
        items.append(
            SuggestionItem(_rule(c.old.key, c.new.key, c.transforms), c.confidence, c.reason, kind)
        )

    for key, (old_t, new_t) in sorted(retyped.items(), key=lambda kv: format_path(kv[0])):
        old_types, new_types = (
            _types_of(old_t) if not isinstance(old_t, frozenset) else old_t,
            (_types_of(new_t) if not isinstance(new_t, frozenset) else new_t),
        )
        cast, compatible = cast_for(old_types, new_types)
        new_field = new_fields.get(key) if new_fields is not None else None
        cast = _refine_cast(cast, old_types, new_field.schema if new_field else {})
        if cast is None:
            if not compatible:
                unresolved.append(
                    f"{format_path(key)}: type {_types_text(old_types)} -> "
                    f"{_types_text(new_types)} has no built-in conversion"
                )
            continue
        confidence = 0.85
        reason = f"type changed {_types_text(old_types)} -> {_types_text(new_types)}"
        if sample_list:
            values = _sample_values(sample_list, key)
            shapes = {shape(v) for v in values}
            if values:
                fits = cast_fits(_transform_name(cast), shapes)
                confidence = 0.95 if fits else 0.4
                reason += f"; sample values are {'/'.join(sorted(shapes))}"
        items.append(SuggestionItem(_rule(key, key, [cast]), confidence, reason, "cast"))

    defaults = (
        _defaults(old_fields, new_fields, paired_new)
        if new_fields is not None
        else [_default_item(k, v.schema["default"], None) for k, v in added.items()
              if v.required and k not in paired_new and "default" in v.schema]
    )  # fmt: skip
    for default in defaults:
        target = default.rule["to"]
        same = next((i for i, item in enumerate(items) if item.rule.get("to") == target), None)
        if same is None:
            items.append(default)
            continue
        # One rule per target: the cast (or rename) of that field takes the default too.
        item = items[same]
        items[same] = SuggestionItem(
            {**item.rule, "default": default.rule["default"]},
            item.confidence,
            f"{item.reason}; {default.reason}",
            item.kind,
        )
    items += _drops(removed, paired_old, new_fields)
    for key, side in sorted(added.items(), key=lambda kv: format_path(kv[0])):
        if (
            side.required
            and key not in paired_new
            and not any(i.rule.get("to") == format_path(key) for i in items)
        ):
            unresolved.append(
                f"{format_path(key)} is required by the new schema and nothing maps to it"
            )
    title = f"{diff.old_label} -> {diff.new_label}"
    if (diff.old_label, diff.new_label) == ("old", "new") and subject:
        title = f"{subject} {from_version or '?'} -> {to_version or '?'}"
    return Suggestion(items, unresolved, subject, from_version, to_version, title)


def _defaults(
    old_fields: SchemaFields | None,
    new_fields: SchemaFields | None,
    paired_new: set[Key],
) -> list[SuggestionItem]:
    if new_fields is None:
        return []
    items = []
    for f in new_fields:
        if not f.required or f.key in paired_new or WILDCARD in f.key:
            continue
        was: Field | None = old_fields.get(f.key) if old_fields is not None else None
        newly = was is None or not was.required
        if not newly or "default" not in f.schema:
            continue
        items.append(_default_item(f.key, f.schema["default"], was))
    return items


def _default_item(key: Key, default: Any, was: Field | None) -> SuggestionItem:
    path = format_path(key)
    reason = (
        f"required in the new schema, {'absent from' if was is None else 'optional in'} "
        f"the old one; its default is {default!r}"
    )
    return SuggestionItem({"from": path, "to": path, "default": default}, 0.9, reason, "default")


def _drops(
    removed: Mapping[Key, _Side], paired_old: set[Key], new_fields: SchemaFields | None
) -> list[SuggestionItem]:
    items = []
    for key in sorted(removed, key=format_path):
        if key in paired_old:
            continue
        closed = new_fields is not None and (
            new_fields.parent_closed(key) if len(key) > 0 else False
        )
        if closed:
            reason, confidence = "removed, and the new schema admits no unlisted fields there", 0.9
        else:
            reason, confidence = (
                "removed from the new schema and nothing looks like its successor",
                0.5,
            )
        items.append(
            SuggestionItem({"from": format_path(key), "drop": True}, confidence, reason, "drop")
        )
    return items
