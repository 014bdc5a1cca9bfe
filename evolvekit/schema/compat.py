"""Compatibility checks over a subject's history, by the subject's mode.

Modes (``schemas/<subject>/subject.yaml``, Confluent's meaning): ``backward`` (the newest
version reads data written with the previous one), ``forward`` (the previous version reads
data written with the newest), ``full`` (both); with ``_transitive`` the newest version is
checked against every earlier version, not only the previous one; ``none`` checks nothing
(the diff against the previous version is still computed, for the report).

Policies (Confluent's content-model policy): ``strict`` (default) treats a property added to
an open content model as a break, since an old producer may already send that name with any
value; ``lenient`` allows it. A subject's ``policy:`` and ``ignore:`` entries (subject.yaml)
apply unless the caller passes a policy; every diff records where its mode and policy came
from (``flag``, ``subject.yaml``, ``default``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from evolvekit.errors import InputError
from evolvekit.schema.changes import MODES, POLICIES, SchemaDiff
from evolvekit.schema.diff import diff_schemas
from evolvekit.schema.policy import Ignore, IgnoreOutcome, apply_ignores

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
    expired: list[str] = field(default_factory=list)  # expired ignores: they fail the check
    warnings: list[str] = field(default_factory=list)  # ignores that matched nothing

    @property
    def ok(self) -> bool:
        return all(p.ok for p in self.pairs) and not self.expired

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
            "expired_ignores": self.expired,
            "warnings": self.warnings,
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


@dataclass(frozen=True)
class Settings:
    """A subject's effective mode and policy, where each came from, and its ignores."""

    mode: str
    mode_source: str
    policy: str
    policy_source: str
    ignores: tuple[Ignore, ...] = ()


def subject_settings(
    registry: SchemaRegistry, subject: str, *, mode: str | None = None,
    policy: str | None = None,
) -> Settings:  # fmt: skip
    """Flag over subject.yaml over default, for the mode and for the policy."""
    known = subject in registry.subjects()
    config = registry.config(subject) if known else None
    if mode is not None:
        mode_pair = (check_mode_name(mode), "flag")
    elif config is not None and config.mode_set:
        mode_pair = (check_mode_name(config.mode), "subject.yaml")
    else:
        mode_pair = (_mode_of(registry, subject), "default")
    if policy is not None:
        policy_pair = (check_policy(policy), "flag")
    elif config is not None and config.policy is not None:
        policy_pair = (config.policy, "subject.yaml")
    else:
        policy_pair = ("strict", "default")
    return Settings(*mode_pair, *policy_pair, config.ignores if config else ())


def settle(diff: SchemaDiff, settings: Settings, today: dt.date | None = None) -> IgnoreOutcome:
    """Stamp ``diff`` with where its mode/policy came from and apply the subject's ignores."""
    diff.mode_source, diff.policy_source = settings.mode_source, settings.policy_source
    diff.configured_mode = settings.mode
    return apply_ignores(diff, settings.ignores, today or dt.date.today())


def _predecessors(versions: list[str], mode: str) -> list[str]:
    """The versions to compare with, newest first."""
    if not versions:
        return []
    return list(reversed(versions)) if mode.endswith("_transitive") else [versions[-1]]


def check_history(
    registry: SchemaRegistry, subject: str, *, mode: str | None = None,
    policy: str | None = None, today: dt.date | None = None,
) -> HistoryCheck:  # fmt: skip
    """The subject's newest version against its predecessor (all of them when transitive).

    ``mode``/``policy`` None: the subject's (subject.yaml), else backward/strict."""
    settings = subject_settings(registry, subject, mode=mode, policy=policy)
    versions = registry.versions(subject)
    if not versions:
        return HistoryCheck(subject, settings.mode, settings.policy, "-")
    newest = versions[-1]
    check = HistoryCheck(subject, settings.mode, settings.policy, newest)
    outcomes = []
    for old in _predecessors(versions[:-1], settings.mode):
        diff = diff_schemas(f"{subject}@{old}", f"{subject}@{newest}", policy=settings.policy,
                            registry=registry)  # fmt: skip
        outcomes.append(_add_pair(check, PairCheck(old, newest, diff, False), settings, today))
    _close(check, settings, outcomes)
    return check


def _add_pair(check: HistoryCheck, pair: PairCheck, settings: Settings,
              today: dt.date | None) -> IgnoreOutcome:  # fmt: skip
    outcome = settle(pair.diff, settings, today)
    check.pairs.append(PairCheck(pair.old_version, pair.new_version, pair.diff,
                                 pair_ok(pair.diff, settings.mode)))  # fmt: skip
    return outcome


def _close(check: HistoryCheck, settings: Settings, outcomes: list[IgnoreOutcome]) -> None:
    """Expired ignores fail the check; an ignore is unused when no pair used it."""
    expired = {str(i) for o in outcomes for i in o.expired}
    used = {i for o in outcomes for i in settings.ignores if i not in o.unused}
    check.expired = [f"expired: {i}" for i in settings.ignores if str(i) in expired]
    check.warnings = [f"unused: {i} matches no change" for i in settings.ignores
                      if i not in used and str(i) not in expired]  # fmt: skip


def check_candidate(
    registry: SchemaRegistry,
    subject: str,
    schema: Any,
    *,
    policy: str | None = None,
    version: str | None = None,
    today: dt.date | None = None,
) -> HistoryCheck:
    """A schema not yet registered against the subject's history (for ``register``).

    Its relative ``$ref`` resolve as if it were already stored in the subject's folder.
    """
    settings = subject_settings(registry, subject, policy=policy)
    known = subject in registry.subjects()
    versions = registry.versions(subject) if known else []
    label = version or CANDIDATE
    base = (Path(registry.root) / subject / f"{label}.json").resolve().as_uri()
    check = HistoryCheck(subject, settings.mode, settings.policy, label)
    outcomes = []
    for old in _predecessors(versions, settings.mode):
        diff = diff_schemas(f"{subject}@{old}", schema, policy=settings.policy,
                            registry=registry, new_uri=base)  # fmt: skip
        outcomes.append(_add_pair(check, PairCheck(old, label, diff, False), settings, today))
    _close(check, settings, outcomes)
    return check


def check_all(
    registry: SchemaRegistry, *, policy: str | None = None, today: dt.date | None = None
) -> list[HistoryCheck]:
    """``check_history`` for every subject of the registry, in name order."""
    return [check_history(registry, subject, policy=policy, today=today)
            for subject in registry.subjects()]  # fmt: skip
