"""Per-subject policy and ignores (``subject.yaml``), applied to a diff. Pure.

An ignore names a rule (a change kind) and a path written as reports print it
(``"#/properties/amount"``; ``*`` matches exactly one segment), with a required reason and an
optional ``until`` date. A matching change still shows, marked ``ignored: REASON``, and no
longer counts as breaking. An ignore past its ``until`` date applies to nothing and fails
the check naming it; one that matches no change is reported as a warning.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Final

from evolvekit.errors import ConfigError
from evolvekit.schema.changes import KINDS, SchemaDiff

__all__ = ["Ignore", "IgnoreOutcome", "apply_ignores", "parse_ignores", "path_matches"]

IGNORE_KEYS: Final = frozenset({"rule", "path", "reason", "until"})


@dataclass(frozen=True)
class Ignore:
    rule: str
    path: str
    reason: str
    until: dt.date | None = None

    def expired(self, today: dt.date) -> bool:
        return self.until is not None and today > self.until

    def __str__(self) -> str:
        until = f" until {self.until.isoformat()}" if self.until else ""
        return f"ignore {self.rule} at {self.path}{until} ({self.reason})"


@dataclass
class IgnoreOutcome:
    """What applying ignores found: expired entries fail, unused ones warn."""

    expired: list[Ignore] = field(default_factory=list)
    unused: list[Ignore] = field(default_factory=list)

    def messages(self) -> list[str]:
        return [f"expired: {i}" for i in self.expired]

    def warnings(self) -> list[str]:
        return [f"unused: {i} matches no change" for i in self.unused]


def path_matches(pattern: str, path: str) -> bool:
    """``pattern`` (``*`` = one segment) against a report path, segment by segment."""
    want, have = pattern.split("/"), path.split("/")
    if pattern.endswith("/") and pattern != "#/":
        want = want[:-1]
    return len(want) == len(have) and all(w in ("*", h) for w, h in zip(want, have, strict=True))


def apply_ignores(diff: SchemaDiff, ignores: Iterable[Ignore], today: dt.date) -> IgnoreOutcome:
    """Mark the changes of ``diff`` that a live ignore matches (in place)."""
    outcome = IgnoreOutcome()
    live: list[Ignore] = []
    for entry in ignores:
        (outcome.expired if entry.expired(today) else live).append(entry)
    used: set[int] = set()
    changes = []
    for change in diff.changes:
        for index, entry in enumerate(live):
            if entry.rule == change.kind and path_matches(entry.path, change.path):
                used.add(index)
                change = replace(change, ignored=entry.reason)
                break
        changes.append(change)
    diff.changes = changes
    outcome.unused = [entry for index, entry in enumerate(live) if index not in used]
    return outcome


def parse_ignores(raw: Any, *, file: str) -> tuple[Ignore, ...]:
    """The ``ignore:`` list of a subject.yaml, each entry checked (one-line errors)."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ConfigError("ignore must be a list of {rule, path, reason, until}", file=file)
    return tuple(_parse_one(entry, f"ignore[{index}]", file) for index, entry in enumerate(raw))


def _parse_one(entry: Any, where: str, file: str) -> Ignore:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where} must be a mapping with rule, path and reason", file=file)
    unknown = sorted(set(map(str, entry)) - IGNORE_KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (allowed: "
                          f"{', '.join(sorted(IGNORE_KEYS))})", file=file)  # fmt: skip
    rule, path, reason = entry.get("rule"), entry.get("path"), entry.get("reason")
    if not isinstance(rule, str) or rule not in KINDS:
        raise ConfigError(f"{where}: rule {rule!r} is not a change kind (evolvekit explain "
                          "--list)", file=file)  # fmt: skip
    if not isinstance(path, str) or not path.startswith("#"):
        raise ConfigError(f"{where}: path must be a string like \"#/properties/amount\" (quote it "
                          "in YAML)", file=file)  # fmt: skip
    if not isinstance(reason, str) or not reason.strip():
        raise ConfigError(f"{where}: reason is required (why this change is accepted)", file=file)
    return Ignore(rule, path, reason.strip(), _date(entry.get("until"), where, file))


def _date(value: Any, where: str, file: str) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ConfigError(f"{where}: until {value!r} is not a date (YYYY-MM-DD)", file=file)
