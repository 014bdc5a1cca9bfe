"""Compatibility checks over a subject's history, by the subject's mode.

Modes (``schemas/<subject>/subject.yaml``, Confluent's meaning): ``backward`` (the newest
version reads data written with the previous one), ``forward`` (the previous version reads
data written with the newest), ``full`` (both); with ``_transitive`` the newest version is
checked against every earlier version, not only the previous one; ``none`` checks nothing
(the diff against the previous version is still computed, for the report).

Policies (Confluent's content-model policy): ``strict`` (default) treats a property added to
an open content model as a break, since an old producer may already send that name with any
value; ``lenient`` allows it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from evolvekit.errors import InputError
from evolvekit.schema.changes import MODES, POLICIES, SchemaDiff
from evolvekit.schema.diff import diff_schemas

if TYPE_CHECKING:  # pragma: no cover
    from evolvekit.schema.registry import SchemaRegistry

MODE_NAMES: Final[tuple[str, ...]] = (
    "none", *MODES, *(f"{mode}_transitive" for mode in MODES)
)  # fmt: skip
DEFAULT_MODE: Final = "backward"
CANDIDATE: Final = "candidate"


def check_mode_name(mode: str) -> str:
    """Validate a configured mode name (``backward_transitive``, ``none`` ...)."""
    if mode not in MODE_NAMES:
        raise InputError(f"unknown compatibility mode {mode!r}; expected one of "
                         f"{', '.join(MODE_NAMES)}")  # fmt: skip
    return mode


def check_policy(policy: str) -> str:
    if policy not in POLICIES:
        raise InputError(f"unknown policy {policy!r}; expected one of {', '.join(POLICIES)}")
    return policy


def base_mode(mode: str) -> str:
    """``full_transitive`` -> ``full``; ``none`` stays ``none``."""
    return check_mode_name(mode).removesuffix("_transitive")


def pair_ok(diff: SchemaDiff, mode: str) -> bool:
    """Whether one old -> new diff satisfies ``mode``."""
    base = base_mode(mode)
    return True if base == "none" else diff.compatible(base)


@dataclass(frozen=True)
class PairCheck:
    """One comparison: ``old_version`` -> ``new_version`` and whether the mode allows it."""

    old_version: str
    new_version: str
    diff: SchemaDiff
    ok: bool


@dataclass
class HistoryCheck:
    """A subject's newest (or candidate) version checked against its history."""

    subject: str
    mode: str
    policy: str
    version: str  # the version checked (CANDIDATE for a schema not yet registered)
    pairs: list[PairCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(p.ok for p in self.pairs)

    @property
    def transitive(self) -> bool:
        return self.mode.endswith("_transitive")

    @property
    def diff_mode(self) -> str:
        """The direction(s) each diff is judged in (``backward`` for mode ``none``)."""
        base = base_mode(self.mode)
        return "backward" if base == "none" else base

    @property
    def breaking(self) -> int:
        """Changes that break the mode, over every failing pair."""
        return sum(len(p.diff.breaking(self.diff_mode)) for p in self.pairs if not p.ok)

    @property
    def compared(self) -> str:
        """e.g. ``3.0.0 vs 2.1.0, 2.0.0``."""
        olds = ", ".join(p.old_version for p in self.pairs)
        return f"{self.version} vs {olds}" if olds else f"{self.version} (no earlier version)"

    def to_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "mode": self.mode,
            "policy": self.policy,
            "version": self.version,
            "ok": self.ok,
            "pairs": [
                {"old": p.old_version, "new": p.new_version, "ok": p.ok,
                 **p.diff.to_dict(self.diff_mode)}
                for p in self.pairs
            ],
        }  # fmt: skip


def _mode_of(registry: SchemaRegistry, subject: str) -> str:
    if subject not in registry.subjects():
        return DEFAULT_MODE
    return check_mode_name(registry.mode(subject))


def _predecessors(versions: list[str], mode: str) -> list[str]:
    """The versions to compare with, newest first."""
    if not versions:
        return []
    return list(reversed(versions)) if mode.endswith("_transitive") else [versions[-1]]


def check_history(
    registry: SchemaRegistry, subject: str, *, policy: str = "strict"
) -> HistoryCheck:
    """The subject's newest version against its predecessor (all of them when transitive)."""
    check_policy(policy)
    mode = _mode_of(registry, subject)
    versions = registry.versions(subject)
    if not versions:
        return HistoryCheck(subject, mode, policy, "-")
    newest = versions[-1]
    check = HistoryCheck(subject, mode, policy, newest)
    for old in _predecessors(versions[:-1], mode):
        diff = diff_schemas(f"{subject}@{old}", f"{subject}@{newest}", policy=policy,
                            registry=registry)  # fmt: skip
        check.pairs.append(PairCheck(old, newest, diff, pair_ok(diff, mode)))
    return check


def check_candidate(
    registry: SchemaRegistry,
    subject: str,
    schema: Any,
    *,
    policy: str = "strict",
    version: str | None = None,
) -> HistoryCheck:
    """A schema not yet registered against the subject's history (for ``register``).

    Its relative ``$ref`` resolve as if it were already stored in the subject's folder.
    """
    check_policy(policy)
    mode = _mode_of(registry, subject)
    known = subject in registry.subjects()
    versions = registry.versions(subject) if known else []
    label = version or CANDIDATE
    base = (Path(registry.root) / subject / f"{label}.json").resolve().as_uri()
    check = HistoryCheck(subject, mode, policy, label)
    for old in _predecessors(versions, mode):
        diff = diff_schemas(f"{subject}@{old}", schema, policy=policy, registry=registry,
                            new_uri=base)  # fmt: skip
        check.pairs.append(PairCheck(old, label, diff, pair_ok(diff, mode)))
    return check


def check_all(registry: SchemaRegistry, *, policy: str = "strict") -> list[HistoryCheck]:
    """``check_history`` for every subject of the registry, in name order."""
    return [check_history(registry, subject, policy=policy) for subject in registry.subjects()]
