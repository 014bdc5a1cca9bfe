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
from evolvekit.mapping.suggest_fields import FieldChanges, Side, Types, field_changes
from evolvekit.safe_regex import schema_pattern_matcher
from evolvekit.schema.changes import SchemaDiff
from evolvekit.sentinel import MISSING

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


def _shape_evidence(values: list[Any], new: Side) -> tuple[float, str]:
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
    old: Side
    new: Side
    confidence: float
    kind: str
    reason: str
    transforms: list[Any]


def _score(
    old: Side,
    new: Side,
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
    old_fields = _fields(old_schema, registry, old_uri)
    new_fields = _fields(new_schema, registry, new_uri)
    changes = field_changes(diff, old_fields, new_fields)
    hints = {(pointer_to_key(h.removed), pointer_to_key(h.added)): h.similarity for h in diff.hints}
    items, paired_old, paired_new = _pair_renames(changes, hints, sample_list)
    casts, unresolved = _casts(changes.retyped, new_fields, sample_list)
    defaults = _default_items(old_fields, new_fields, changes, paired_new)
    items = _with_defaults(items + casts, defaults)
    items += _drops(changes.removed, paired_old, new_fields)
    unresolved += _unfilled_required(changes.added, paired_new, items)
    title = f"{diff.old_label} -> {diff.new_label}"
    if (diff.old_label, diff.new_label) == ("old", "new") and subject:
        title = f"{subject} {from_version or '?'} -> {to_version or '?'}"
    return Suggestion(items, unresolved, subject, from_version, to_version, title)


def _fields(
    schema: Mapping[str, Any] | None, registry: SchemaRegistry | None, uri: str | None
) -> SchemaFields | None:
    if schema is None:
        return None
    retrieve = registry.retrieve_json if registry is not None else None
    return SchemaFields(schema, retrieve=retrieve, base_uri=uri)


def _pair_renames(
    changes: FieldChanges,
    hints: Mapping[tuple[Key | None, Key | None], float],
    samples: list[Mapping[str, Any]] | None,
) -> tuple[list[SuggestionItem], set[Key], set[Key]]:
    """Renames and moves: the best-scored (removed, added) pairs first, each field used once.
    Returns the rules and the old and new keys they pair."""
    candidates = [
        c
        for old in changes.removed.values()
        for new in changes.added.values()
        if (c := _score(old, new, hints.get((old.key, new.key)), samples)) is not None
        and c.confidence >= MIN_CONFIDENCE
    ]
    candidates.sort(key=lambda c: (-c.confidence, format_path(c.new.key)))
    items: list[SuggestionItem] = []
    paired_old: set[Key] = set()
    paired_new: set[Key] = set()
    for c in candidates:
        if c.old.key in paired_old or c.new.key in paired_new:
            continue
        paired_old.add(c.old.key)
        paired_new.add(c.new.key)
        scales = any(isinstance(t, dict) and t.get("name") == "scale" for t in c.transforms)
        rule = _rule(c.old.key, c.new.key, c.transforms)
        items.append(SuggestionItem(rule, c.confidence, c.reason, "unit" if scales else c.kind))
    return items, paired_old, paired_new


def _casts(
    retyped: Mapping[Key, tuple[Types, Types]],
    new_fields: SchemaFields | None,
    samples: list[Mapping[str, Any]] | None,
) -> tuple[list[SuggestionItem], list[str]]:
    """A cast rule for each retyped field a built-in converts; the others are unresolved."""
    items: list[SuggestionItem] = []
    unresolved: list[str] = []
    for key, (old_types, new_types) in sorted(retyped.items(), key=lambda kv: format_path(kv[0])):
        cast, compatible = cast_for(old_types, new_types)
        new_field = new_fields.get(key) if new_fields is not None else None
        cast = _refine_cast(cast, old_types, new_field.schema if new_field else {})
        change = f"{_types_text(old_types)} -> {_types_text(new_types)}"
        if cast is None:
            if not compatible:
                unresolved.append(f"{format_path(key)}: type {change} has no built-in conversion")
            continue
        confidence, reason = 0.85, f"type changed {change}"
        values = _sample_values(samples, key) if samples else []
        if values:
            shapes = {shape(v) for v in values}
            confidence = 0.95 if cast_fits(_transform_name(cast), shapes) else 0.4
            reason += f"; sample values are {'/'.join(sorted(shapes))}"
        items.append(SuggestionItem(_rule(key, key, [cast]), confidence, reason, "cast"))
    return items, unresolved


def _with_defaults(
    items: list[SuggestionItem], defaults: list[SuggestionItem]
) -> list[SuggestionItem]:
    """``items`` plus the default rules; one rule per target, so a field that is already cast
    (or renamed into) takes its default on that rule."""
    out = list(items)
    for default in defaults:
        target = default.rule["to"]
        same = next((i for i, item in enumerate(out) if item.rule.get("to") == target), None)
        if same is None:
            out.append(default)
            continue
        item = out[same]
        out[same] = SuggestionItem(
            {**item.rule, "default": default.rule["default"]},
            item.confidence,
            f"{item.reason}; {default.reason}",
            item.kind,
        )
    return out


def _unfilled_required(
    added: Mapping[Key, Side], paired_new: set[Key], items: list[SuggestionItem]
) -> list[str]:
    """The newly required fields that no rule writes."""
    targets = {item.rule.get("to") for item in items}
    return [
        f"{format_path(key)} is required by the new schema and nothing maps to it"
        for key, side in sorted(added.items(), key=lambda kv: format_path(kv[0]))
        if side.required and key not in paired_new and format_path(key) not in targets
    ]


def _default_items(
    old_fields: SchemaFields | None,
    new_fields: SchemaFields | None,
    changes: FieldChanges,
    paired_new: set[Key],
) -> list[SuggestionItem]:
    """A default rule for each field the new schema newly requires and gives a default;
    without the new schema, for each such field the diff added."""
    if new_fields is None:
        return [
            _default_item(k, v.schema["default"], None)
            for k, v in changes.added.items()
            if v.required and k not in paired_new and "default" in v.schema
        ]
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
    removed: Mapping[Key, Side], paired_old: set[Key], new_fields: SchemaFields | None
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
