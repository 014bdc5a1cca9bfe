"""Records the diff walk produces: one Diff per difference, HintGroups for rename hints."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from evolvekit.schema.changes import MISSING
from evolvekit.schema.diff_values import escape


@dataclass(slots=True)
class Diff:
    """One difference found by a directional walk; ``compat`` overrides the kind's class."""

    kind: str
    path: str
    old: Any = MISSING
    new: Any = MISSING
    compat: bool | None = None


@dataclass(slots=True)
class HintGroup:
    """Properties removed and added in one object: raw material for rename hints."""

    path: str
    # (name, the instance types its schema accepts, None: any); see diff_shapes.instance_types
    removed: list[tuple[str, tuple[str, ...] | None]] = field(default_factory=list)
    added: list[tuple[str, tuple[str, ...] | None]] = field(default_factory=list)


def child(path: str, *tokens: str | int) -> str:
    """``path`` extended by JSON-pointer tokens (escaped)."""
    for token in tokens:
        path = f"{path}/{escape(token) if isinstance(token, str) else token}"
    return path
