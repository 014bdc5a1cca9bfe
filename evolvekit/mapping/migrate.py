"""Migrations across schema versions: chains of rule sets found in ``rules/<subject>/``.

A rule file named ``<from>_to_<to>.yaml`` (or ``.yml``/``.json``) is one edge of a graph per
subject; upgrades and downgrades are just edges. ``Migrator.route`` finds the shortest chain
by breadth-first search and ``Migrator.migrate`` applies it. Reading the rules folder is the
only I/O, done once per subject on first use; compiled chains are cached.
"""

from __future__ import annotations

import functools
import re
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evolvekit.errors import EvolveKitError, MigrationError, VersionError
from evolvekit.sentinel import MISSING
from evolvekit.versions import Version, normalize_version, sort_versions
from evolvekit.workspace import rules_dir as workspace_rules_dir

if TYPE_CHECKING:
    from evolvekit.mapping.ruleset import RuleSet
    from evolvekit.schema.registry import SchemaRegistry
    from evolvekit.schema.validate import SchemaValidator

RULE_FILE_SUFFIXES = (".yaml", ".yml", ".json")
_RULE_FILE_NAME = re.compile(r"^(?P<from>[^_/]+)_to_(?P<to>[^_/]+)$")

Apply = Callable[[dict[str, Any]], dict[str, Any]]


@functools.lru_cache(maxsize=64)
def _version_path(field: str) -> tuple[Any, ...]:
    from evolvekit.mapping.paths import parse_path

    return parse_path(field)


def _read_version(event: Mapping[str, Any], field: str) -> Any:
    """A nested version field's value (MISSING when absent)."""
    from evolvekit.mapping.paths import read_plain

    return read_plain(event, _version_path(field))


@dataclass(frozen=True, slots=True)
class _SubjectInfo:
    """What detect and migrate need per event, read from the registry once per subject:
    asking the registry each time (it sorts versions, stats files) cost tens of us an event."""

    versions: tuple[str, ...]  # oldest first
    version_field: str | None
    # The usual spellings of each version ("2.0.0", "v2.0.0") -> the version, so a stated
    # version is found with one dict lookup; other spellings take the normalising path.
    spellings: dict[str, str]
    version_key: str | None  # the version field when it is one top-level key (the usual case)


@dataclass(frozen=True, slots=True)
class _Plan:
    apply: Apply
    version_key: str | None  # the top-level version field to restamp, if any
    stamp: str  # the target version, as written into that field
    stamp_v: str  # the same with a leading "v"


_MAX_PLANS = 1024


class Migrator:
    """Detects an event's version and migrates it to any version a chain of rule sets reaches.

    ``schemas``: a folder or a ``SchemaRegistry`` (workspace lookup when None).
    ``rules``: a folder; when None, the ``rules/`` beside the schemas folder if there is one,
    else the workspace's. ``version_field``: a dot path in events naming their version
    (overrides the subject's ``subject.yaml`` setting).

    A subject's versions, validators and rule files are read on first use and kept (the
    pipeline and the broadcaster call ``detect``/``migrate`` per event); ``refresh()`` forgets
    them, e.g. after registering a version or editing a rule file in a running service.
    """

    def __init__(
        self,
        schemas: str | Path | SchemaRegistry | None = None,
        rules: str | Path | None = None,
        *,
        version_field: str | None = None,
    ) -> None:
        from evolvekit.schema.registry import SchemaRegistry

        if isinstance(schemas, SchemaRegistry):
            self.registry = schemas
        else:
            self.registry = SchemaRegistry(schemas)
        self.rules_root = _resolve_rules_root(rules, self.registry)
        self.version_field = version_field
        self._lock = threading.Lock()
        self._edges: dict[str, dict[str, dict[str, Path]]] = {}
        self._rulesets: dict[Path, RuleSet] = {}
        self._chains: dict[tuple[str, str, str], Apply] = {}
        self._subjects: dict[str, _SubjectInfo] = {}
        self._detectors: dict[str, tuple[tuple[str, SchemaValidator], ...]] = {}
        self._plans: dict[tuple[str, str, str], _Plan] = {}

    def refresh(self) -> None:
        """Forget what was read from the registry and the rules folder (read again on use)."""
        with self._lock:
            self._edges = {}
            self._rulesets = {}
            self._chains = {}
            self._subjects = {}
            self._detectors = {}
            self._plans = {}

    def _subject(self, subject: str) -> _SubjectInfo:
        info = self._subjects.get(subject)
        if info is None:
            versions = tuple(self.registry.versions(subject))
            spellings = {**{v: v for v in versions}, **{"v" + v: v for v in versions}}
            field = self._configured_field(subject)
            path = _version_path(field) if field else ()
            key = path[0] if len(path) == 1 and isinstance(path[0], str) else None
            info = _SubjectInfo(versions, field, spellings, key)
            self._subjects[subject] = info
        return info

    def _validators(self, subject: str) -> tuple[tuple[str, SchemaValidator], ...]:
        """``(version, validator)`` newest first, built on the first detection by validation."""
        found = self._detectors.get(subject)
        if found is None:
            versions = self._subject(subject).versions
            found = tuple((v, self.registry.validator(subject, v)) for v in reversed(versions))
            self._detectors[subject] = found
        return found

    # ---- the graph of rule files ----------------------------------------------------

    def _graph(self, subject: str) -> dict[str, dict[str, Path]]:
        graph = self._edges.get(subject)
        if graph is None:
            graph = _scan_subject(self.rules_root / subject) if self.rules_root else {}
            self._edges[subject] = graph
        return graph

    def edges(self, subject: str) -> list[tuple[str, str]]:
        """Every ``(from, to)`` pair a rule file of ``subject`` provides, in version order."""
        graph = self._graph(subject)
        return [
            (src, dst)
            for src in sort_versions(list(graph))
            for dst in sort_versions(list(graph[src]))
        ]

    def versions(self, subject: str) -> list[str]:
        """The subject's versions in the registry, oldest first."""
        return list(self._subject(subject).versions)

    def ruleset(self, subject: str, from_version: str, to_version: str) -> RuleSet:
        """The rule set of one edge (loaded once)."""
        src, dst = normalize_version(from_version), normalize_version(to_version)
        path = self._graph(subject).get(src, {}).get(dst)
        if path is None:
            raise MigrationError(f"{subject}: no rule file for {src} -> {dst}")
        return self._load(path)

    def _load(self, path: Path) -> RuleSet:
        loaded = self._rulesets.get(path)
        if loaded is None:
            from evolvekit.mapping.ruleset import RuleSet

            loaded = RuleSet.load(path)
            self._rulesets[path] = loaded
        return loaded

    def route(self, subject: str, from_version: str, to_version: str) -> list[RuleSet]:
        """The shortest chain of rule sets from one version to another ([] when equal)."""
        src, dst = _normalize(from_version), _normalize(to_version)
        if src == dst:
            return []
        graph = self._graph(subject)
        previous: dict[str, str] = {src: src}
        queue: deque[str] = deque([src])
        while queue:
            here = queue.popleft()
            # Version order makes the chosen chain deterministic among equally short ones.
            for nxt in sort_versions(list(graph.get(here, {}))):
                if nxt in previous:
                    continue
                previous[nxt] = here
                if nxt == dst:
                    return [self._load(graph[a][b]) for a, b in _walk_back(previous, src, dst)]
                queue.append(nxt)
        raise MigrationError(_no_route_message(subject, src, dst, graph, set(previous)))

    # ---- migrating ------------------------------------------------------------------

    def _chain(self, subject: str, src: str, dst: str) -> Apply:
        key = (subject, src, dst)
        apply = self._chains.get(key)
        if apply is None:
            with self._lock:  # the broadcaster migrates from several threads
                apply = self._chains.get(key)
                if apply is None:
                    apply = _compose([rs.compile().apply for rs in self.route(subject, src, dst)])
                    self._chains[key] = apply
        return apply

    def migrate(
        self,
        event: Mapping[str, Any],
        subject: str,
        to_version: str,
        from_version: str | None = None,
    ) -> dict[str, Any]:
        """``event`` migrated to ``to_version`` (detected source version when not given).

        Returns a new dict; the input is never mutated. When the event names its version in
        the version field, the result names the target version there.
        """
        if not isinstance(event, dict):
            if not isinstance(event, Mapping):
                raise MigrationError(f"an event must be a JSON object, not {type(event).__name__}")
            event = dict(event)
        src = from_version or self.detect(event, subject)
        plan = self._plans.get((subject, src, to_version)) or self._plan(subject, src, to_version)
        # Mappers never mutate their input and return a new dict (so does an empty chain).
        result = plan.apply(event)
        if plan.version_key is not None:
            stated = event.get(plan.version_key)
            if isinstance(stated, str) and plan.version_key in result:
                # Keep the version field truthful, in the event's style ("v2.0.0" or "2.0.0").
                result[plan.version_key] = (
                    plan.stamp_v if stated.lstrip().startswith("v") else plan.stamp
                )
        return result

    def _plan(self, subject: str, from_version: str, to_version: str) -> _Plan:
        """Everything ``migrate`` needs for one (subject, from, to) as the caller spells it."""
        src, dst = _normalize(from_version), _normalize(to_version)
        apply = self._chain(subject, src, dst)
        # Only a top-level version field is restamped; nested ones are the rule files' business.
        key = self._subject(subject).version_key if src != dst else None
        plan = _Plan(apply, key, dst, "v" + dst)
        if len(self._plans) >= _MAX_PLANS:  # spellings come from callers: keep it bounded
            self._plans.clear()
        self._plans[(subject, from_version, to_version)] = plan
        return plan

    # ---- detection ------------------------------------------------------------------

    def _configured_field(self, subject: str) -> str | None:
        if self.version_field:
            return self.version_field
        config = self.registry.config(subject)
        field = getattr(config, "version_field", None)
        if field is None and isinstance(config, Mapping):
            field = config.get("version_field")
        return str(field) if field else None

    def detect(self, event: Mapping[str, Any], subject: str) -> str:
        """The event's version: its version field when configured and present, else the
        newest registry version whose schema accepts it; no match raises MigrationError."""
        info = self._subjects.get(subject) or self._subject(subject)
        if not info.versions:
            raise MigrationError(f"{subject}: the registry has no versions")
        field = info.version_field
        if field:
            key = info.version_key
            stated = event.get(key, MISSING) if key is not None else _read_version(event, field)
            if stated is not MISSING:
                known = info.spellings.get(stated) if isinstance(stated, str) else None
                return known or _stated_version(stated, field, subject, info.versions)
        validators = self._validators(subject)
        for version, validator in validators:
            if validator.is_valid(event):
                return version
        raise MigrationError(_no_match_message(event, subject, info.versions, validators))


def _no_match_message(
    event: Mapping[str, Any],
    subject: str,
    versions: tuple[str, ...],
    newest_first: tuple[tuple[str, SchemaValidator], ...],
) -> str:
    """Name the closest version and why it failed (only now the slow detailed errors).

    Closest is the fewest errors; among equals, the version whose top-level required fields
    the event lacks least (a legacy event with one bad value is closer to its own version than
    to a newer one that lacks a required field), then the newest.
    """
    failures: list[tuple[int, int, str, tuple[str, str] | None]] = []
    for version, validator in newest_first:
        errors = validator.errors(event)
        schema = validator.schema
        required = schema.get("required") if isinstance(schema, dict) else None
        lacking = sum(1 for name in required or () if name not in event)
        failures.append((len(errors), lacking, version, errors[0] if errors else None))
    # min() keeps the first of equals, and the list is newest first.
    count, _, closest, first = min(failures, key=lambda f: (f[0], f[1]))
    why = f"{first[0] or '#'}: {first[1]}" if first else "it does not validate"
    return (
        f"{subject}: the event matches no registered version "
        f"({', '.join(versions)}); closest is {closest} ({count} error"
        f"{'s' if count != 1 else ''}; first: {why})"
    )


@functools.lru_cache(maxsize=256)
def _normalize(version: str) -> str:
    try:
        return normalize_version(str(version))
    except VersionError as exc:
        raise MigrationError(exc.message) from None


def _stated_version(stated: Any, field: str, subject: str, versions: tuple[str, ...]) -> str:
    if not isinstance(stated, str):
        raise MigrationError(
            f"{subject}: version field {field!r} holds {stated!r}, not a version string"
        )
    try:
        version = _normalize(stated)
    except MigrationError:
        raise MigrationError(
            f"{subject}: version field {field!r} holds {stated!r}, not a semantic version"
        ) from None
    if version not in versions:
        raise MigrationError(
            f"{subject}: the event states version {version} in {field!r}, which the registry "
            f"does not have (it has {', '.join(versions)})"
        )
    return version


def _compose(steps: list[Apply]) -> Apply:
    if not steps:
        return dict  # same version: a copy, as every chain returns a new dict
    if len(steps) == 1:
        return steps[0]

    def chained(event: dict[str, Any]) -> dict[str, Any]:
        for step in steps:
            event = step(event)
        return event

    return chained


def _walk_back(previous: dict[str, str], src: str, dst: str) -> list[tuple[str, str]]:
    hops: list[tuple[str, str]] = []
    here = dst
    while here != src:
        hops.append((previous[here], here))
        here = previous[here]
    hops.reverse()
    return hops


def _no_route_message(
    subject: str, src: str, dst: str, graph: dict[str, dict[str, Path]], reached: set[str]
) -> str:
    if not graph:
        return f"{subject}: no route from {src} to {dst}: there are no rule files for {subject}"
    reached.discard(src)
    where = (
        f"from {src} the rule files reach only {', '.join(sort_versions(list(reached)))}"
        if reached
        else f"no rule file starts at {src}"
    )
    return f"{subject}: no route from {src} to {dst} ({where})"


def _scan_subject(folder: Path) -> dict[str, dict[str, Path]]:
    """``{from: {to: file}}`` for the rule files in one subject's folder."""
    graph: dict[str, dict[str, Path]] = {}
    if not folder.is_dir():
        return graph
    for path in sorted(folder.iterdir()):
        if path.suffix not in RULE_FILE_SUFFIXES or not path.is_file():
            continue
        match = _RULE_FILE_NAME.match(path.stem)
        if not match:
            continue
        try:
            src, dst = normalize_version(match["from"]), normalize_version(match["to"])
        except VersionError:
            continue  # not a rule file of the versioned kind; RuleSet.load reports its own
        if Version(src) == Version(dst):
            continue
        existing = graph.setdefault(src, {}).get(dst)
        if existing is not None:
            raise MigrationError(
                f"two rule files for {src} -> {dst}: {existing.name} and {path.name}",
                file=str(folder),
            )
        graph[src][dst] = path
    return graph


def _resolve_rules_root(rules: str | Path | None, registry: SchemaRegistry) -> Path | None:
    if rules is not None:
        return workspace_rules_dir(rules)
    root = getattr(registry, "root", None)
    if root is not None:
        beside = Path(root).parent / "rules"
        if beside.is_dir():
            return beside.resolve()
    try:
        found = workspace_rules_dir(None)
    except EvolveKitError:
        return None
    return found if found.is_dir() else None
