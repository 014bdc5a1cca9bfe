"""What the rule editor computes: the preview of the rules over samples, and a batch run.

Plain data (no widgets): ``Preview`` (per-sample input, output, validation, coverage
report) and ``BatchResult`` (counts and dead letters, DESIGN.md's record shape, with
``to_dataframe()``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from evolvekit.frames import DEFAULT_KEY_FIELD, business_key, dataframe
from evolvekit.mapping.check import RulesReport
from evolvekit.mapping.ruleset import RuleSet

DEAD_LETTER_COLUMNS: Final = ("line", "key", "stage", "reason", "subject", "version", "event")


@dataclass
class PreviewItem:
    """One sample: what went in, what came out (or the mapping error), and its validity."""

    index: int
    input: dict[str, Any]
    output: dict[str, Any] | None
    error: str | None = None
    errors: list[tuple[str, str]] = field(default_factory=list)  # (pointer, message)

    @property
    def valid(self) -> bool:
        return self.output is not None and not self.error and not self.errors


@dataclass
class Preview:
    """The outcome of the current rules over the current samples."""

    ruleset: RuleSet | None = None
    items: list[PreviewItem] = field(default_factory=list)
    report: RulesReport | None = None
    error: str | None = None  # the rules do not load (with file:line)
    seconds: float = 0.0

    @property
    def valid_count(self) -> int:
        return sum(item.valid for item in self.items)

    @property
    def all_valid(self) -> bool:
        """Rules load, there are samples, and every mapped sample validates."""
        return self.error is None and bool(self.items) and self.valid_count == len(self.items)

    @property
    def outputs(self) -> list[dict[str, Any]]:
        """The mapped events that validate against the target schema."""
        return [item.output for item in self.items if item.valid and item.output is not None]


@dataclass
class BatchResult:
    """A batch run over a file: counts and the dead letters (DESIGN.md's record shape)."""

    total: int = 0
    passed: int = 0
    dead_letters: list[dict[str, Any]] = field(default_factory=list)
    outputs: list[dict[str, Any]] = field(default_factory=list)

    key_field: str = DEFAULT_KEY_FIELD

    @property
    def failed(self) -> int:
        return len(self.dead_letters)

    def records(self) -> list[dict[str, Any]]:
        """The dead letters, each with the business key of its event (when it parsed)."""
        return [{**d, "key": business_key(d["event"], self.key_field)}
                for d in self.dead_letters]  # fmt: skip

    def to_dataframe(self) -> Any:
        """The dead letters as a DataFrame: line, business key, stage, full reason, event."""
        return dataframe(self.records(), DEAD_LETTER_COLUMNS)
