"""The worker role: a consumer of the ingest stream's group.

Each entry goes through the pipeline's own stages (``Pipeline.prepare``: subject, detect,
migrate, validate; off the event loop within ``event_budget_ms``, as on one node), is
published to CXone with an idempotency key derived from the cluster id
and the entry id, and is then finished by ONE script that ``XACK``s it and appends the prepared
event to the broadcast stream. A rejected event is acknowledged together with its dead letter;
an event CXone cannot take now goes to the Redis outbox (a due-time sorted set) together with
its ``XACK``, and any worker's outbox loop retries it.

Crash recovery: an entry stays in the group's pending-entries list until acknowledged. Entries
idle for ``claim_idle`` seconds (their worker died) are taken over with ``XAUTOCLAIM``; entries
this worker is still busy with are kept fresh with ``XCLAIM ... JUSTID``. An entry delivered more
than ``max_deliveries`` times becomes a dead letter (stage ``worker``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

import orjson

from evolvekit.broadcast.envelope import event_type_of, timestamp_of, utc_now_iso
from evolvekit.cluster.connection import Scripts, unreachable_errors
from evolvekit.cluster.deadletters import letter_json
from evolvekit.cluster.keys import GROUP, Keys, idempotency_key
from evolvekit.cxone.client import is_refusal
from evolvekit.cxone.retry import backoff_delay
from evolvekit.errors import InputError
from evolvekit.pipeline.budget import BoundedPrepare
from evolvekit.pipeline.pipeline import Prepared, Rejected

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from evolvekit.cxone.client import CXoneClient
    from evolvekit.pipeline.config import ClusterSettings, PipelineSettings
    from evolvekit.pipeline.metrics import Metrics
    from evolvekit.pipeline.pipeline import Pipeline

log = logging.getLogger("evolvekit.cluster.worker")

READ_BLOCK_MS = 1000
TRIM_INTERVAL = 10.0


def broadcast_fields(prepared: Prepared, ingest_id: str) -> list[str]:
    """The broadcast stream entry of a prepared event (what every broadcaster node needs to
    encode it per version)."""
    event = prepared.event
    return [
        "subject",
        prepared.subject,
        "version",
        prepared.target_version,
        "event_type",
        event_type_of(event, None) or "",
        "timestamp",
        orjson.dumps(timestamp_of(event, utc_now_iso())).decode(),
        "payload",
        orjson.dumps(event).decode(),
        "ingest_id",
        ingest_id,
    ]


class Worker:
    """``await worker.start()``; ``await worker.stop(grace)``."""

    def __init__(
        self,
        client: Redis,
        keys: Keys,
        cluster_id: str,
        pipeline: Pipeline,
        cxone: CXoneClient | None,
        settings: ClusterSettings,
        pipeline_settings: PipelineSettings,
        metrics: Metrics,
        consumer: str,
    ) -> None:
        self.client = client
        self.keys = keys
        self.cluster_id = cluster_id
        self.pipeline = pipeline
        self.cxone = cxone
        self.settings = settings
        self.options = pipeline_settings
        self.metrics = metrics
        self.consumer = consumer
        self.broadcast = "broadcast" in pipeline_settings.sinks
        self.scripts = Scripts(client)
        # The pipeline's stages off the event loop, each event within [pipeline]
        # event_budget_ms (over it: a dead letter at the stage it was in), as on one node.
        self.bounded = BoundedPrepare(pipeline, pipeline_settings.event_budget_ms)
        self._errors = unreachable_errors()
        self._inflight: dict[str, asyncio.Task[None]] = {}
        self._slot_freed = asyncio.Event()
        self._publish_slots = asyncio.Semaphore(pipeline_settings.publish_concurrency)
        self._loops: list[asyncio.Task[None]] = []
        self._stopping = False
        self._rng = random.Random()

    # --- lifecycle ----------------------------------------------------------------------------
    async def start(self) -> None:
        await self._ensure_group()
        loops: list[tuple[str, Callable[[], Coroutine[Any, Any, None]]]] = [
            ("read", self._read_loop),
            ("claim", self._claim_loop),
            ("keepalive", self._keepalive_loop),
            ("trim", self._trim_loop),
        ]
        if self.cxone is not None:
            loops.append(("outbox", self._outbox_loop))
        self._loops = [
            asyncio.create_task(self._forever(name, loop), name=f"worker-{name}")
            for name, loop in loops
        ]

    @staticmethod
    async def _forever(name: str, loop: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run a loop; one that fails unexpectedly is logged and started again."""
        while True:
            try:
                await loop()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("worker %s loop failed; restarting it", name)
                await asyncio.sleep(1.0)

    async def stop(self, grace: float) -> None:
        """Stop reading, let the entries in flight finish for ``grace`` seconds; what does not
        finish stays pending in Redis and another worker claims it."""
        self._stopping = True
        for task in self._loops:
            task.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)
        inflight = list(self._inflight.values())
        if inflight:
            _, late = await asyncio.wait(inflight, timeout=grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        self.bounded.close()

    @property
    def in_flight(self) -> int:
        return len(self._inflight)

    async def _ensure_group(self) -> None:
        from redis.exceptions import ResponseError

        try:
            await self.client.xgroup_create(self.keys.ingest, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def _free(self) -> int:
        return self.options.concurrency - len(self._inflight)

    def _spawn(self, entry_id: str, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(self._guarded(entry_id, work), name=f"entry-{entry_id}")
        self._inflight[entry_id] = task

    async def _guarded(self, entry_id: str, work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("entry %s failed; it stays pending and will be claimed again", entry_id)
        finally:
            self._inflight.pop(entry_id, None)
            self._slot_freed.set()

    # --- reading and claiming -----------------------------------------------------------------
    async def _read_loop(self) -> None:
        from redis.exceptions import ResponseError

        while True:
            free = self._free()
            if free <= 0:
                self._slot_freed.clear()
                await self._slot_freed.wait()
                continue
            try:
                reply: Any = await self.client.xreadgroup(
                    GROUP,
                    self.consumer,
                    {self.keys.ingest: ">"},
                    count=min(free, self.options.fetch_batch),
                    block=READ_BLOCK_MS,
                )
            except ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise
                await self._ensure_group()
                continue
            except self._errors as exc:
                log.warning("worker: Redis unreachable, retrying: %s", exc)
                await asyncio.sleep(0.5)
                continue
            for _stream, entries in reply or []:
                for entry_id, fields in entries:
                    self._spawn(entry_id, self._handle(entry_id, fields))

    async def _claim_loop(self) -> None:
        interval = max(0.2, min(self.settings.claim_idle / 2, 5.0))
        while True:
            await asyncio.sleep(interval)
            try:
                await self._claim_once()
            except self._errors as exc:
                log.warning("worker: claiming failed, Redis unreachable: %s", exc)

    async def _claim_once(self, rounds: int = 10) -> None:
        """Claim idle entries (up to the free slots), walking the pending-entries list with
        XAUTOCLAIM's cursor: entries a live worker keeps fresh may come first."""
        claimed: list[tuple[str, dict[str, str]]] = []
        cursor = "0-0"
        for _ in range(rounds):
            free = self._free() - len(claimed)
            if free <= 0:
                break
            reply: Any = await self.client.xautoclaim(
                self.keys.ingest,
                GROUP,
                self.consumer,
                min_idle_time=int(self.settings.claim_idle * 1000),
                start_id=cursor,
                count=free,
            )
            cursor = reply[0]
            claimed += [(i, f) for i, f in reply[1] if f is not None and i not in self._inflight]
            if cursor == "0-0":
                break
        if claimed:
            await self._take_over(claimed)

    async def _take_over(self, claimed: list[tuple[str, dict[str, str]]]) -> None:
        async with self.client.pipeline(transaction=False) as pipe:
            for entry_id, _ in claimed:
                pipe.xpending_range(self.keys.ingest, GROUP, entry_id, entry_id, 1)
            pending = await pipe.execute()
        for (entry_id, fields), info in zip(claimed, pending, strict=True):
            times = int(info[0]["times_delivered"]) if info else 1
            log.info("claimed entry %s (delivery %d) from a silent worker", entry_id, times)
            if times > self.settings.max_deliveries:
                reason = (
                    f"delivered {times} times without being finished (over max_deliveries "
                    f"{self.settings.max_deliveries}): workers crashed or stalled on it"
                )
                event, subject = _event_of(fields)
                key = fields.get("key") or idempotency_key(self.cluster_id, entry_id)
                self._spawn(
                    entry_id, self._dead(entry_id, "worker", reason, event, subject, None, key)
                )
            else:
                self._spawn(entry_id, self._handle(entry_id, fields))

    async def _keepalive_loop(self) -> None:
        """Reset the idle time of the entries in flight, so a slow publish (CXone retries)
        is not taken over by another worker while this one is alive."""
        while True:
            await asyncio.sleep(max(0.1, self.settings.claim_idle / 3))
            ids: list[Any] = list(self._inflight)
            if not ids:
                continue
            with contextlib.suppress(*self._errors):
                await self.client.xclaim(
                    self.keys.ingest, GROUP, self.consumer, 0, ids, justid=True
                )

    async def _trim_loop(self) -> None:
        """Trim acknowledged entries off the ingest stream's head (never a pending one)."""
        while True:
            await asyncio.sleep(TRIM_INTERVAL)
            with contextlib.suppress(*self._errors):
                await self._trim_once()

    async def _trim_once(self) -> None:
        summary = await self.client.xpending(self.keys.ingest, GROUP)
        if summary["pending"]:
            floor = summary["min"]
        else:
            groups = await self.client.xinfo_groups(self.keys.ingest)
            floor = next((g["last-delivered-id"] for g in groups if g["name"] == GROUP), None)
        if floor and floor != "0-0":
            await self.client.xtrim(self.keys.ingest, minid=floor, approximate=False)

    # --- one entry ----------------------------------------------------------------------------
    async def _handle(self, entry_id: str, fields: dict[str, str]) -> None:
        event, subject = _event_of(fields)
        # A replayed dead letter carries the key it first had; else the entry's own.
        key = fields.get("key") or idempotency_key(self.cluster_id, entry_id)
        verdict = await self.bounded.prepare(event, subject)
        if isinstance(verdict, Rejected):
            await self._dead(
                entry_id,
                verdict.stage,
                verdict.reason,
                event,
                verdict.subject,
                verdict.version,
                key,
            )
            return
        if self.cxone is not None:
            problem = await self.publish(verdict.event, key)
            if problem is not None:
                refused, reason = problem
                if refused:
                    await self._dead(
                        entry_id,
                        "publish",
                        reason,
                        event,
                        verdict.subject,
                        verdict.source_version,
                        key,
                    )
                else:
                    await self._to_outbox(entry_id, fields, event, verdict, key, reason)
                return
        seq = await self._retrying(
            lambda: self.scripts.finish(
                keys=[self.keys.ingest, self.keys.ingest, self.keys.seq, self.keys.broadcast],
                args=[
                    GROUP,
                    entry_id,
                    self.settings.broadcast_maxlen,
                    "1" if self.broadcast else "0",
                    *broadcast_fields(verdict, fields.get("id", "")),
                ],
            )
        )
        self.count_processed(verdict, fields, int(seq))

    def count_processed(self, prepared: Prepared, fields: dict[str, str], seq: int) -> None:
        if seq < 0:  # another worker finished it first
            return
        self.metrics.processed(
            prepared.subject, prepared.source_version, prepared.target_version, _age(fields)
        )
        if seq > 0:
            self.metrics.inc("broadcast")

    async def publish(self, event: Any, key: str) -> tuple[bool, str] | None:
        """None when CXone stored the event; else (refused for good?, reason)."""
        assert self.cxone is not None
        async with self._publish_slots:
            [result] = await self.cxone.publish_many([event], keys=[key], concurrency=1)
        if result.ok:
            self.metrics.inc("published")
            return None
        exc = result.exception
        refused = isinstance(exc, InputError) or (exc is not None and is_refusal(exc))
        return refused, f"CXone refused the event: {result.error}" if refused else str(result.error)

    async def _dead(
        self,
        entry_id: str,
        stage: str,
        reason: str,
        event: Any,
        subject: str | None,
        version: str | None,
        key: str | None = None,
    ) -> None:
        record, at = letter_json(stage, reason, event, subject, version, key)
        keys = self.keys
        letter = await self._retrying(
            lambda: self.scripts.dead(
                keys=[keys.ingest, keys.dead_ids, keys.dead, keys.dead_index],
                args=[GROUP, entry_id, record, at],
            )
        )
        if int(letter) > 0:
            self.metrics.dead_letter(stage)
            log.info("entry %s dead-lettered at %s: %s", entry_id, stage, reason)

    async def _to_outbox(
        self,
        entry_id: str,
        fields: dict[str, str],
        event: Any,
        prepared: Prepared,
        key: str,
        reason: str,
    ) -> None:
        data = {
            "key": key,
            "original": event,
            "subject": prepared.subject,
            "source_version": prepared.source_version,
            "target_version": prepared.target_version,
            "event": prepared.event,
            "ingest_id": fields.get("id", ""),
            "received_at": fields.get("received_at"),
            "attempts": 1,
            "error": reason,
        }
        due = time.time() + self.backoff(1)
        keys = self.keys
        moved = await self._retrying(
            lambda: self.scripts.to_outbox(
                keys=[keys.ingest, keys.outbox, keys.outbox_data],
                args=[GROUP, entry_id, due, orjson.dumps(data).decode()],
            )
        )
        if int(moved):
            self.metrics.inc("outboxed")
            log.warning("entry %s sent to the outbox: %s", entry_id, reason)

    def backoff(self, attempts: int) -> float:
        options = self.options
        return backoff_delay(
            attempts, options.outbox_backoff_base, options.outbox_backoff_cap, self._rng
        )

    async def _retrying(self, call: Callable[[], Awaitable[Any]]) -> Any:
        """Run a finishing script, retrying while Redis is unreachable (the work is done:
        losing the result now would only mean doing it again). Gives up after
        ``claim_idle`` seconds (the entry stays pending and is claimed again later)."""
        deadline = time.monotonic() + self.settings.claim_idle
        while True:
            try:
                return await call()
            except self._errors:
                if time.monotonic() >= deadline:
                    raise
                await asyncio.sleep(0.25)

    # --- the outbox ---------------------------------------------------------------------------
    async def _outbox_loop(self) -> None:
        from evolvekit.cluster.outbox import OutboxSender

        sender = OutboxSender(self)
        while True:
            try:
                await sender.run_once()
            except self._errors as exc:
                log.warning("outbox: Redis unreachable: %s", exc)
            await asyncio.sleep(self.options.outbox_interval)


def _event_of(fields: dict[str, str]) -> tuple[Any, str | None]:
    """The event and subject of an ingest stream entry (a broken entry gives its raw text:
    the pipeline dead-letters it at stage ``subject``/``detect``)."""
    raw = fields.get("event", "")
    try:
        event = orjson.loads(raw)
    except orjson.JSONDecodeError:
        event = raw
    return event, fields.get("subject") or None


def _age(fields: dict[str, Any]) -> float | None:
    from datetime import UTC, datetime

    received = fields.get("received_at")
    if not isinstance(received, str):
        return None
    try:
        then = datetime.fromisoformat(received)
    except ValueError:
        return None
    return max(0.0, time.time() - then.replace(tzinfo=then.tzinfo or UTC).timestamp())
