"""The vocabulary of a schema diff: Change, RenameHint, SchemaDiff, and the kind catalogue.

Directions (``../shared/oracles/README.md``): *backward* compatible means every instance valid
under the OLD schema is valid under the NEW one; *forward* the reverse; *full* both.
A change is named from the backward direction (old -> new) and records which directions
it breaks; ``severity(mode)`` is derived from that.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, Literal

Direction = Literal["backward", "forward"]
Mode = Literal["backward", "forward", "full"]
Severity = Literal["breaking", "caution", "info"]
Policy = Literal["strict", "lenient"]

MODES: Final[tuple[str, ...]] = ("backward", "forward", "full")
POLICIES: Final[tuple[str, ...]] = ("strict", "lenient")
MODE_DIRECTIONS: Final[dict[str, frozenset[str]]] = {
    "backward": frozenset({"backward"}),
    "forward": frozenset({"forward"}),
    "full": frozenset({"backward", "forward"}),
}
SEVERITY_ORDER: Final[dict[str, int]] = {"breaking": 0, "caution": 1, "info": 2}


class _Missing:
    """Marks a value that is absent (as opposed to JSON null)."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()


def check_mode(mode: str) -> str:
    base = mode.removesuffix("_transitive")
    if base not in MODES:
        raise ValueError(f"unknown compatibility mode {mode!r}; expected one of {', '.join(MODES)}")
    return base


@dataclass(frozen=True, slots=True)
class Change:
    """One difference between two schemas, at a JSON pointer of the old/new schema."""

    kind: str
    path: str
    old: Any = MISSING
    new: Any = MISSING
    breaks: frozenset[str] = frozenset()

    def severity(self, mode: str = "backward") -> Severity:
        """breaking: breaks ``mode``; caution: breaks only the other direction; info: nothing."""
        if self.breaks & MODE_DIRECTIONS[check_mode(mode)]:
            return "breaking"
        if self.breaks:
            return "caution"
        return "info"

    def to_dict(self, mode: str = "backward") -> dict[str, Any]:
        """JSON form (DESIGN.md): an absent old/new is left out."""
        out: dict[str, Any] = {"kind": self.kind, "path": self.path}
        if self.old is not MISSING:
            out["old"] = self.old
        if self.new is not MISSING:
            out["new"] = self.new
        out["breaks"] = sorted(self.breaks)
        out["severity"] = self.severity(mode)
        return out

    def __str__(self) -> str:
        return f"{self.kind} {self.path}"


@dataclass(frozen=True, slots=True)
class RenameHint:
    """A removed and an added property that look like one renamed: a hint, never a verdict."""

    removed: str
    added: str
    similarity: float

    def to_dict(self) -> dict[str, Any]:
        return {"removed": self.removed, "added": self.added, "similarity": self.similarity}


@dataclass
class SchemaDiff:
    """Every change between an old and a new schema, and the verdicts derived from them."""

    changes: list[Change]
    hints: list[RenameHint] = field(default_factory=list)
    policy: str = "strict"
    old_label: str = "old"
    new_label: str = "new"

    def breaking(self, mode: str = "backward") -> list[Change]:
        directions = MODE_DIRECTIONS[check_mode(mode)]
        return [c for c in self.changes if c.breaks & directions]

    def compatible(self, mode: str = "backward") -> bool:
        return not self.breaking(mode)

    @property
    def backward(self) -> bool:
        return self.compatible("backward")

    @property
    def forward(self) -> bool:
        return self.compatible("forward")

    def __bool__(self) -> bool:
        return bool(self.changes)

    def to_dict(self, mode: str = "backward") -> dict[str, Any]:
        """DESIGN.md's JSON report."""
        return {
            "compatible": self.compatible(mode),
            "mode": check_mode(mode),
            "policy": self.policy,
            "backward": self.backward,
            "forward": self.forward,
            "changes": [c.to_dict(mode) for c in self.changes],
            "hints": [h.to_dict() for h in self.hints],
        }
