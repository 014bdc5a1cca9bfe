"""The pipeline core: subject -> detect -> migrate -> validate -> sinks, or a dead letter.

``Pipeline.prepare`` is pure (no I/O once the registry and rule files are read): it finds an
event's subject (the ingest call's ``subject``, else its ``eventType`` through
``event_types``, whose default is "the subject of the same name"), detects its version,
migrates it to the subject's target version (``targets``; default the newest in the
registry) and validates the result, returning a ``Prepared`` event or a ``Rejected`` verdict
naming the stage that failed. ``Pipeline.handle`` runs one ingest record through
``prepare`` and the sinks and records the outcome in the store: a rejected event becomes a
dead letter (stage, reason, the ORIGINAL event) in the same transaction that marks the
record, so a crash never leaves a record both dead-lettered and pending.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from evolvekit.errors import ConfigError, EventValidationError, EvolveKitError, RegistryError

if TYPE_CHECKING:
    from evolvekit.mapping.migrate import Migrator
    from evolvekit.pipeline.budget import BoundedPrepare
    from evolvekit.pipeline.ingest_log import IngestLog
    from evolvekit.pipeline.metrics import Metrics
    from evolvekit.schema.registry import SchemaRegistry

log = logging.getLogger("evolvekit.pipeline")

Stage = Literal["subject", "detect", "migrate", "validate", "publish"]
EVENT_TYPE_FIELD = "eventType"


@dataclass(frozen=True)
class Prepared:
    """An event ready for the sinks: migrated to ``target_version`` and valid there."""

    subject: str
    source_version: str
    target_version: str
    event: dict[str, Any]


@dataclass(frozen=True)
class Rejected:
    """Why an event cannot go on: the failing ``stage`` and a one-line ``reason``."""

    stage: Stage
    reason: str
    subject: str | None = None
    version: str | None = None


@dataclass(frozen=True)
class Delivery:
    """What a sink receives: the prepared event and its identity."""

    prepared: Prepared
    key: str  # the idempotency key: stable across retries and restarts
    record_id: int | None = None


SinkOutcome = Literal["done", "outbox"]


class SinkFailure(EvolveKitError):
    """A sink refused an event for good (retrying as is will not help): a dead letter."""


class Sink(Protocol):
    """Where prepared events go. ``deliver`` returns ``"done"``, or ``"outbox"`` when the
    event was parked durably for a later retry; raises SinkFailure to dead-letter it."""

    name: str

    async def deliver(self, delivery: Delivery) -> SinkOutcome: ...


@dataclass
class Outcome:
    """What ``handle`` did with one record: ``done``, ``outbox`` or ``dead_letter``."""

    status: Literal["done", "outbox", "dead_letter"]
    prepared: Prepared | None = None
    rejected: Rejected | None = None
    dead_letter: dict[str, Any] | None = None
    sinks: dict[str, str] = field(default_factory=dict)


class Pipeline:
    """Detect, migrate, validate and hand to sinks.

    ``schemas``/``rules``: folders, a SchemaRegistry or a built Migrator (workspace lookup
    when None). ``targets``: subject -> target version. ``event_types``: eventType ->
    subject. ``sinks``: objects with ``name`` and ``async deliver(Delivery)``.
    ``store``/``metrics``: where ``handle`` records outcomes and counts them.
    """

    def __init__(
        self,
        schemas: str | Path | SchemaRegistry | Migrator | None = None,
        rules: str | Path | None = None,
        *,
        targets: Mapping[str, str] | None = None,
        event_types: Mapping[str, str] | None = None,
        sinks: Sequence[Sink] = (),
        store: IngestLog | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        from evolvekit.mapping.migrate import Migrator

        self.migrator = schemas if isinstance(schemas, Migrator) else Migrator(schemas, rules)
        self.registry = self.migrator.registry
        self.event_types = dict(event_types or {})
        self.sinks = list(sinks)
        self.store = store
        self.metrics = metrics
        self.targets = self._checked_targets(targets or {})
        self._known_subjects: set[str] = set()
        # Set by the service: prepare in a worker thread under a per-event time budget.
        self.bounded: BoundedPrepare | None = None

    def _checked_targets(self, targets: Mapping[str, str]) -> dict[str, str]:
        """Configured targets exist in the registry (normalised), checked at start-up."""
        checked: dict[str, str] = {}
        for subject, version in targets.items():
            try:
                checked[subject] = _registry_version(self.registry, subject, version)
            except EvolveKitError as exc:
                raise ConfigError(f"target version for {subject}: {exc}") from None
        return checked

    # --- the pure part ----------------------------------------------------------------------

    def target_version(self, subject: str) -> str:
        """The version events of ``subject`` are migrated to."""
        target = self.targets.get(subject)
        if target is None:
            # The registry reads a subject's version list once, so its newest is fixed too.
            target = self.targets[subject] = self.registry.latest(subject)
        return target

    def resolve_subject(self, event: Any, subject: str | None = None) -> str | Rejected:
        """The event's subject, or why it has none."""
        if subject is None:
            event_type = event.get(EVENT_TYPE_FIELD) if isinstance(event, Mapping) else None
            if not isinstance(event_type, str) or not event_type:
                return Rejected(
                    "subject",
                    "no subject: the ingest call named none and the "
                    f"event has no string {EVENT_TYPE_FIELD!r}",
                )
            subject = self.event_types.get(event_type, event_type)
            origin = f"eventType {event_type!r}"
        else:
            origin = "the ingest call"
        # A subject found through eventType is not recorded: a replay resolves it afresh.
        given = subject if origin == "the ingest call" else None
        if subject in self._known_subjects:
            return subject
        try:
            if not self.registry.versions(subject):
                return Rejected("subject", f"subject {subject!r} has no versions", given)
        except EvolveKitError as exc:
            return Rejected("subject", f"{origin} names an unknown subject: {exc}", given)
        self._known_subjects.add(subject)
        return subject

    def prepare(
        self, event: Any, subject: str | None = None, *, trace: list[Stage] | None = None
    ) -> Prepared | Rejected:
        """Subject, version, migration and validation of one event (never raises for a bad
        event: a Rejected names the stage). ``trace`` gets each stage as it is entered."""
        stages: list[Stage] = [] if trace is None else trace
        stages.append("subject")
        resolved = self.resolve_subject(event, subject)
        if isinstance(resolved, Rejected):
            return resolved
        subject = resolved
        if not isinstance(event, Mapping):
            return Rejected(
                "detect", f"an event must be a JSON object, not {type(event).__name__}", subject
            )
        stages.append("detect")
        try:
            source = self.migrator.detect(event, subject)
        except EvolveKitError as exc:
            return Rejected("detect", _one_line(exc), subject)
        stages.append("migrate")
        try:
            target = self.target_version(subject)
            migrated = self.migrator.migrate(event, subject, target, from_version=source)
        except EvolveKitError as exc:
            return Rejected("migrate", _one_line(exc), subject, source)
        stages.append("validate")
        try:
            self.registry.validator(subject, target).validate(migrated)
        except EventValidationError as exc:  # str: "pointer: message (+N more)"
            return Rejected("validate", f"invalid at {target}: {_one_line(exc)}", subject, source)
        return Prepared(subject, source, target, migrated)

    def warm_up(self) -> None:
        """Build once what the first event of each subject would: every version's validator,
        the rule files to its target, the target's validator. The per-event budget then
        measures event work, not one-off compilation. A broken file is left for the events
        that meet it (their dead letters name it)."""
        for subject in self.registry.subjects():
            try:
                target = self.target_version(subject)
                versions = self.migrator.versions(subject)
            except EvolveKitError as exc:
                log.debug("warm-up of %s: %s", subject, _one_line(exc))
                continue
            for version in versions:
                try:
                    self.registry.validator(subject, version)
                    if version != target:
                        self.migrator.route(subject, version, target)
                except EvolveKitError as exc:
                    log.debug("warm-up of %s %s: %s", subject, version, _one_line(exc))

    # --- with the store and the sinks ------------------------------------------------------

    async def deliver(
        self, prepared: Prepared, key: str, record_id: int | None = None
    ) -> tuple[str, dict[str, str]]:
        """Hand ``prepared`` to every sink: ``("done" | "outbox", per-sink outcome)``;
        SinkFailure propagates (the caller dead-letters)."""
        delivery = Delivery(prepared, key, record_id)
        results: dict[str, str] = {}
        for sink in self.sinks:
            results[sink.name] = await sink.deliver(delivery)
        status = "outbox" if "outbox" in results.values() else "done"
        return status, results

    async def handle(self, record: Mapping[str, Any], key: str) -> Outcome:
        """Process one ingest record (``{"id", "event", "subject", "received_at"}``) and
        record the outcome in the store: marked ``done``/``outbox``, or dead-lettered."""
        store = self._store()
        record_id = int(record["id"])
        event = record["event"]
        subject = record.get("subject")
        if self.bounded is not None:
            result = await self.bounded.prepare(event, subject)
        else:
            result = self.prepare(event, subject)
        if isinstance(result, Rejected):
            return self._reject(store, record_id, event, result, key)
        try:
            status, sinks = await self.deliver(result, key, record_id)
        except SinkFailure as exc:
            rejected = Rejected("publish", _one_line(exc), result.subject, result.source_version)
            return self._reject(store, record_id, event, rejected, key, result)
        store.mark(record_id, status)
        if self.metrics is not None:
            self.metrics.processed(
                result.subject,
                result.source_version,
                result.target_version,
                _age(record.get("received_at")),
            )
        return Outcome("done" if status == "done" else "outbox", prepared=result, sinks=sinks)

    def _reject(
        self,
        store: IngestLog,
        record_id: int,
        event: Any,
        rejected: Rejected,
        key: str,
        prepared: Prepared | None = None,
    ) -> Outcome:
        # The key goes with the letter: a replay re-sends under it (CXone may hold the event).
        letter = store.dead_letter(
            rejected.stage,
            rejected.reason,
            event,
            rejected.subject,
            rejected.version,
            ingest_id=record_id,
            idempotency_key=key,
        )
        if self.metrics is not None:
            self.metrics.dead_letter(rejected.stage)
        log.info(
            "ingest record %s dead-lettered at %s: %s", record_id, rejected.stage, rejected.reason
        )
        return Outcome("dead_letter", prepared=prepared, rejected=rejected, dead_letter=letter)

    def _store(self) -> IngestLog:
        if self.store is None:
            raise ConfigError("Pipeline.handle needs a store (Pipeline(..., store=IngestLog(dir)))")
        return self.store


def _registry_version(registry: SchemaRegistry, subject: str, version: str) -> str:
    from evolvekit.versions import normalize_version

    wanted = normalize_version(version)
    versions = registry.versions(subject)
    if wanted not in versions:
        raise RegistryError(
            f"subject {subject!r} has no version {wanted} (versions: {', '.join(versions)})"
        )
    return wanted


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return " ".join(text.split())[:1000]


def _age(received_at: Any) -> float | None:
    if not isinstance(received_at, str):
        return None
    try:
        then = datetime.fromisoformat(received_at)
    except ValueError:
        return None
    return max(0.0, time.time() - then.replace(tzinfo=then.tzinfo or UTC).timestamp())
