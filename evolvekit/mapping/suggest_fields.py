"""What changed between two versions, field by field, for ``suggest_rules``.

``field_changes`` gives the removed and added leaf fields and the retyped ones, read off the
two schemas when both are given (the full picture) or off the diff's changes alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from evolvekit.mapping.schema_fields import JSON_TYPES, Key, SchemaFields, pointer_to_key
from evolvekit.schema.changes import SchemaDiff
from evolvekit.sentinel import MISSING

Types = frozenset[str] | None


@dataclass(frozen=True)
class Side:
    """One leaf field on one side of the change."""

    key: Key
    types: Types
    schema: Mapping[str, Any]
    required: bool


@dataclass(frozen=True)
class FieldChanges:
    removed: dict[Key, Side]
    added: dict[Key, Side]
    retyped: dict[Key, tuple[Types, Types]]  # (old types, new types)


def field_changes(
    diff: SchemaDiff, old_fields: SchemaFields | None, new_fields: SchemaFields | None
) -> FieldChanges:
    """From both schemas when both are given, else from the diff's changes."""
    if old_fields is None or new_fields is None:
        return _from_diff(diff)
    old_leaves, new_leaves = _leaves(old_fields), _leaves(new_fields)
    retyped: dict[Key, tuple[Types, Types]] = {}
    for key, old in old_leaves.items():
        new = new_leaves.get(key)
        if new is not None and old.types and new.types and old.types != new.types:
            retyped[key] = (old.types, new.types)
    return FieldChanges(
        removed={k: v for k, v in old_leaves.items() if k not in new_fields},
        added={k: v for k, v in new_leaves.items() if k not in old_fields},
        retyped=retyped,
    )


def _leaves(fields: SchemaFields) -> dict[Key, Side]:
    return {
        f.key: Side(f.key, f.types, f.schema, f.required)
        for f in fields
        if not fields.has_children(f.key)
    }


def _sides_from_change(key: Key, schema: Any, required: bool) -> dict[Key, Side]:
    """The leaf fields of a property the diff added or removed (objects opened up)."""
    node = schema if isinstance(schema, Mapping) else {}
    probe = SchemaFields({"type": "object", "properties": {"x": node}})
    sides = {}
    for f in probe:
        if probe.has_children(f.key):
            continue
        full = key + f.key[1:]
        sides[full] = Side(full, f.types, f.schema, required if len(f.key) == 1 else f.required)
    return sides


def _required_key(pointer: str) -> Key | None:
    """``#/required/agentId`` (or ``#/properties/a/required/b``) as the field's key."""
    head, sep, name = pointer.rpartition("/required/")
    if not sep:
        return None
    parent = pointer_to_key(head) if head not in ("", "#") else ()
    return None if parent is None else (*parent, name.replace("~1", "/").replace("~0", "~"))


def _from_diff(diff: SchemaDiff) -> FieldChanges:
    """Removed and added fields and type changes, read off the diff's changes alone."""
    removed: dict[Key, Side] = {}
    added: dict[Key, Side] = {}
    retyped: dict[Key, tuple[Types, Types]] = {}
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
            retyped[key] = (_types_of(change.old), _types_of(change.new))
        elif change.new is MISSING and isinstance(change.old, Mapping):
            removed.update(_sides_from_change(key, change.old, False))
        elif change.old is MISSING and isinstance(change.new, Mapping):
            added.update(_sides_from_change(key, change.new, "required_" in change.kind))
    for key in required & added.keys():
        side = added[key]
        added[key] = Side(side.key, side.types, side.schema, True)
    return FieldChanges(removed, added, retyped)


def _types_of(value: Any) -> Types:
    if isinstance(value, str):
        return frozenset({value}) & JSON_TYPES
    if isinstance(value, list):
        return frozenset(v for v in value if isinstance(v, str)) & JSON_TYPES
    return None
