"""Where prepared events go: CXone (with the outbox), the WebSocket broadcaster, a JSONL file.

Each sink has a ``name`` and ``async deliver(Delivery) -> "done" | "outbox"`` and raises
``SinkFailure`` when an event can never be delivered as is (it becomes a dead letter at
stage ``publish``). ``OutboxRetrier`` sends what the CXone sink parked, with backoff, until
it is delivered; the idempotency key (derived from the ingest id) is the same on every
attempt, so CXone stores each event once however often it is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from evolvekit.cxone.client import is_refusal
from evolvekit.cxone.retry import backoff_delay
from evolvekit.errors import CXoneError, InputError, StoreError
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


class OutboxRetrier:
    """Publishes due outbox entries again; failures are rescheduled with capped exponential
    backoff (full jitter). An entry CXone refuses for good becomes a dead letter.

    ``on_done(key)`` is told about each delivered or dead-lettered key (the service marks
    the ingest record).
    """

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
        self.client = client
        self.store = store
        self.metrics = metrics
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.concurrency = concurrency
        self.record_of = record_of
        self._rng = rng or random.Random()

    async def run_once(self, limit: int = 500) -> dict[str, int]:
        """One pass over what is due: ``{"attempted", "published", "dead_lettered",
        "retried"}``."""
        due = self.store.outbox_due(limit=limit)
        counts = {"attempted": len(due), "published": 0, "dead_lettered": 0, "retried": 0}
        entries = iter(due)

        async def worker() -> None:
            for entry in entries:
                counts[await self._send(entry)] += 1

        await asyncio.gather(*(worker() for _ in range(max(1, min(self.concurrency, len(due))))))
        return counts

    async def _send(self, entry: dict[str, Any]) -> str:
        key = entry["key"]
        record_id = self.record_of(key)
        try:
            await self.client.publish(entry["event"], idempotency_key=key)
        except (CXoneError, InputError) as exc:
            if not is_refusal(exc):
                self._later(entry, exc)
                return "retried"
            self.store.outbox_refused(entry["id"], record_id, f"CXone refused the event: {exc}")
            if self.metrics is not None:
                self.metrics.dead_letter("publish")
            return "dead_lettered"
        self.store.outbox_done(entry["id"])
        if record_id is not None:
            # Retention may have purged an old record while its event waited here.
            with contextlib.suppress(StoreError):
                self.store.mark(record_id, "done")
        if self.metrics is not None:
            self.metrics.inc("published")
        return "published"

    def _later(self, entry: dict[str, Any], exc: Exception) -> None:
        delay = backoff_delay(entry["attempts"] + 1, self.backoff_base, self.backoff_cap, self._rng)
        self.store.outbox_retry_later(entry["id"], str(exc), time.time() + delay)
        log.info("outbox entry %s: retry in %.1f s: %s", entry["key"], delay, exc)

    async def run(self, interval: float, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.run_once()
            except Exception:  # the retrier must outlive one bad pass
                log.exception("outbox pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)
