"""Where prepared events go: CXone (with the outbox), the WebSocket broadcaster, a JSONL file.

Each sink has a ``name`` and ``async deliver(Delivery) -> "done" | "outbox"`` and raises
``SinkFailure`` when an event can never be delivered as is (it becomes a dead letter at
stage ``publish``). ``OutboxRetrier`` (the client's shared retrier, wired to the ingest log)
sends what the CXone sink parked, with backoff, until it is delivered; the idempotency key
(derived from the ingest id) is the same on every attempt, so CXone stores each event once
however often it is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from evolvekit.cxone.outbox import OutboxRetrier as CXoneOutboxRetrier
from evolvekit.errors import InputError, StoreError
from evolvekit.pipeline.pipeline import Delivery, SinkFailure, SinkOutcome

if TYPE_CHECKING:
    from evolvekit.broadcast.broadcaster import Broadcaster
    from evolvekit.cxone.client import CXoneClient
    from evolvekit.pipeline.ingest_log import IngestLog
    from evolvekit.pipeline.metrics import Metrics

log = logging.getLogger("evolvekit.pipeline.sinks")


class CXoneSink:
    """Publish with the client's retries and pacing; after the retries, the outbox."""

    name = "cxone"

    def __init__(
        self, client: CXoneClient, metrics: Metrics | None = None, *, concurrency: int = 16
    ) -> None:
        if client.store is None:
            raise InputError("the CXone sink needs a client with a store (for the outbox)")
        self.client = client
        self.metrics = metrics
        # Fewer requests in flight than events in flight: httpx's pool gets slow with many
        # connections, and the client's pacing decides the rate anyway.
        self._slots = asyncio.Semaphore(concurrency)

    async def deliver(self, delivery: Delivery) -> SinkOutcome:
        async with self._slots:
            return await self._deliver(delivery)

    async def _deliver(self, delivery: Delivery) -> SinkOutcome:
        [result] = await self.client.publish_many(
            [delivery.prepared.event], keys=[delivery.key], concurrency=1
        )
        if result.ok:
            self._count("published")
            return "done"
        if result.status == "outbox":
            self._count("outboxed")
            return "outbox"
        raise SinkFailure(f"CXone refused the event: {result.error}")

    def _count(self, name: str) -> None:
        if self.metrics is not None:
            self.metrics.inc(name)


class BroadcastSink:
    """Hand the migrated event, with its target version, to the broadcaster, which encodes
    it once per version its consumers asked for."""

    name = "broadcast"

    def __init__(self, broadcaster: Broadcaster, metrics: Metrics | None = None) -> None:
        self.broadcaster = broadcaster
        self.metrics = metrics

    async def deliver(self, delivery: Delivery) -> SinkOutcome:
        prepared = delivery.prepared
        await self.broadcaster.publish(
            prepared.event, subject=prepared.subject, version=prepared.target_version
        )
        if self.metrics is not None:
            self.metrics.inc("broadcast")
        return "done"


class JsonlSink:
    """Append each migrated event as one JSON line (written whole, in one write call)."""

    name = "jsonl"

    def __init__(self, path: str | Path, metrics: Metrics | None = None) -> None:
        self.path = Path(path)
        self.metrics = metrics
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("ab")
        except OSError as exc:
            raise InputError(
                f"cannot open the JSONL sink: {exc.strerror}", file=str(self.path)
            ) from None

    async def deliver(self, delivery: Delivery) -> SinkOutcome:
        line = orjson.dumps(delivery.prepared.event) + b"\n"
        with self._lock:
            self._file.write(line)
            self._file.flush()  # in the OS's hands: survives the process being killed
        if self.metrics is not None:
            self.metrics.inc("written")
        return "done"

    def close(self) -> None:
        with self._lock:
            self._file.close()


class OutboxRetrier(CXoneOutboxRetrier):
    """The shared outbox retrier (:mod:`evolvekit.cxone.outbox`), wired to the service:
    a refused entry's dead letter holds the ORIGINAL ingested event and marks its ingest
    record (``record_of(key)`` names it), a delivered one marks it done, and every outcome
    is counted in ``metrics``. ``run_once`` answers ``{"attempted", "published",
    "dead_lettered", "retried"}``."""

    def __init__(
        self,
        client: CXoneClient,
        store: IngestLog,
        *,
        metrics: Metrics | None = None,
        backoff_base: float = 2.0,
        backoff_cap: float = 300.0,
        concurrency: int = 16,
        record_of: Callable[[str], int | None] = lambda key: None,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(
            client,
            store,
            backoff_base=backoff_base,
            backoff_cap=backoff_cap,
            min_delay=0.0,
            concurrency=concurrency,
            on_refused=self._refused,
            on_outcome=self._outcome,
            rng=rng,
        )
        self.ingest_log = store
        self.metrics = metrics
        self.record_of = record_of

    def _refused(self, entry: dict[str, Any], reason: str) -> None:
        self.ingest_log.outbox_refused(entry["id"], self.record_of(entry["key"]), reason)

    def _outcome(self, entry: dict[str, Any], outcome: str) -> None:
        if outcome == "published":
            record_id = self.record_of(entry["key"])
            if record_id is not None:
                # Retention may have purged an old record while its event waited here.
                with contextlib.suppress(StoreError):
                    self.ingest_log.mark(record_id, "done")
            if self.metrics is not None:
                self.metrics.inc("published")
        elif outcome == "dead_lettered" and self.metrics is not None:
            self.metrics.dead_letter("publish")

    async def run_once(self, limit: int = 500) -> dict[str, int]:  # type: ignore[override]
        counts = await super().run_once(limit)
        return {
            "attempted": counts.attempted,
            "published": counts.published,
            "dead_lettered": counts.dead_lettered,
            "retried": counts.retried,
        }
