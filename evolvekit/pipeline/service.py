"""``Service``: ingest, processing workers, the outbox retrier and the broadcaster in one
process, on one asyncio loop (the one ``evolvekit serve`` runs).

Durability: the HTTP handler answers 202 only after the event is committed to the ingest log.
A dispatcher reads pending records (in id order) and runs each through the pipeline with at
most ``concurrency`` in flight; each record ends ``done``, ``outbox`` (parked for the
retrier) or ``dead_letter``, in the store. After ``kill -9`` a restart on the same data
directory finds the unfinished records still ``pending`` and processes them again; the
idempotency key is derived from the record id (and the data directory's instance id), so
CXone stores each event once however often it is re-sent.

Graceful stop (SIGTERM): stop accepting (new requests get 503, the listener closes), let the
in-flight events finish for up to ``shutdown_grace`` seconds (what does not finish stays
``pending`` and is resumed at the next start), then close the consumers with 1001.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evolvekit.pipeline.budget import BoundedPrepare
from evolvekit.pipeline.config import ServiceConfig
from evolvekit.pipeline.datadir import DataDirLock, instance_id
from evolvekit.pipeline.ingest_log import IngestLog
from evolvekit.pipeline.metrics import Metrics
from evolvekit.pipeline.node_setup import guard_ports, open_cxone_target, start_ingest_server
from evolvekit.pipeline.node_setup import resolve_cxone as resolve_cxone  # re-exported
from evolvekit.pipeline.pipeline import Pipeline, Sink
from evolvekit.pipeline.sinks import BroadcastSink, CXoneSink, JsonlSink, OutboxRetrier
from evolvekit.pipeline.sources import CXonePollSource, IngestEndpoint, ingest_jsonl

if TYPE_CHECKING:
    import httpx

    from evolvekit.broadcast.broadcaster import Broadcaster
    from evolvekit.cxone.client import CXoneClient
    from evolvekit.cxone.uvicorn_thread import SimulatorServer

log = logging.getLogger("evolvekit.service")

KEY_PREFIX = "evolvekit"


async def wait_until(
    condition: Callable[[], object], timeout: float, *, interval: float = 0.02
) -> bool:
    """Poll ``condition`` until it is true (True) or ``timeout`` seconds pass (False): a
    bounded wait on a state, for callers that cannot be told (tests, the demo, operators)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(interval)
    return True


class Service:
    """The pipeline service. ``await start()``, then ``await stop()``; or ``await run()``
    until ``request_stop()`` (what SIGTERM calls)."""

    def __init__(
        self,
        config: ServiceConfig | None = None,
        *,
        cxone_transport: httpx.AsyncBaseTransport | None = None,
        announce: Callable[[str], None] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.config = config or ServiceConfig()
        self._transport = cxone_transport
        self._announce = announce or log.warning
        self._environ = environ
        self.metrics = Metrics()
        self.store: IngestLog | None = None
        self.pipeline: Pipeline | None = None
        self.broadcaster: Broadcaster | None = None
        self.client: CXoneClient | None = None
        self.simulator: SimulatorServer | None = None
        self.endpoint: IngestEndpoint | None = None
        self.instance = ""
        self.ingest_port: int | None = None
        self._server: Any = None
        self._server_task: asyncio.Task[None] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._inflight: dict[int, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._stop_requested = asyncio.Event()
        self._rescan = False
        self._jsonl: JsonlSink | None = None
        self._started = False
        self._lock: DataDirLock | None = None

    # --- identity -----------------------------------------------------------------------------
    def key_for(self, record_id: int) -> str:
        return f"{KEY_PREFIX}-{self.instance}-{record_id}"

    def record_of(self, key: str) -> int | None:
        """The ingest record published under ``key``: a replayed record carries its
        original key explicitly; any other key is derived from its record's id."""
        if self.store is not None:
            replayed = self.store.record_with_key(key)
            if replayed is not None:
                return replayed
        prefix = f"{KEY_PREFIX}-{self.instance}-"
        if key.startswith(prefix) and key[len(prefix) :].isdigit():
            return int(key[len(prefix) :])
        return None

    @property
    def ingest_url(self) -> str:
        host = self.config.ingest.host
        return f"http://{f'[{host}]' if ':' in host else host}:{self.ingest_port}"

    @property
    def broadcast_url(self) -> str | None:
        return self.broadcaster.url if self.broadcaster is not None else None

    @property
    def cxone_url(self) -> str | None:
        return self.client.config.api_base_url if self.client is not None else None

    # --- lifecycle ----------------------------------------------------------------------------
    async def start(self) -> None:
        config = self.config
        data_dir = Path(config.data_dir)
        guard_ports(config, ingest_label="ingest", broadcast="broadcast" in config.pipeline.sinks,
                    warn=self._announce)  # fmt: skip
        store = self._open_store(data_dir)
        try:
            await self._open_pipeline(store)
        except BaseException:
            await self._close_resources()
            raise
        self._register_gauges()
        self._started = True
        self._read_jsonl_sources(store)
        self._start_tasks(store, data_dir)

    def _open_store(self, data_dir: Path) -> IngestLog:
        """Lock the data directory and open its ingest log."""
        # One service per data directory: a second one would process every record twice.
        self._lock = DataDirLock(data_dir, "evolvekit serve").acquire()
        try:
            self.store = store = IngestLog(data_dir)
            self.instance = instance_id(data_dir)
        except BaseException:
            self._lock.release()
            raise
        return store

    async def _open_pipeline(self, store: IngestLog) -> None:
        """Build and warm the pipeline, then open its sinks and the ingest endpoint."""
        config = self.config
        self.pipeline = Pipeline(
            config.schemas,
            config.rules,
            targets=config.pipeline.targets,
            event_types=config.pipeline.event_types,
            store=store,
            metrics=self.metrics,
        )
        budget = config.pipeline.event_budget_ms  # prepare off the loop, bounded (issue 11)
        self.pipeline.bounded = BoundedPrepare(self.pipeline, budget)
        await asyncio.to_thread(self.pipeline.warm_up)
        self.pipeline.sinks = await self._open_sinks()
        await self._open_ingest()

    def _read_jsonl_sources(self, store: IngestLog) -> None:
        """Accept the records of the configured JSONL files into the ingest log."""
        config = self.config
        for path in config.sources.jsonl:
            counts = ingest_jsonl(
                store,
                path,
                subject=config.sources.jsonl_subject,
                max_event_bytes=config.ingest.max_event_bytes,
            )
            self.metrics.inc("accepted", counts["accepted"])
            log.info("read %s: %s", path, counts)

    def _start_tasks(self, store: IngestLog, data_dir: Path) -> None:
        """The dispatcher, outbox retrier, retention sweep and CXone poller, as tasks."""
        config = self.config
        self._tasks.append(asyncio.create_task(self._dispatch(), name="dispatcher"))
        if self.client is not None:
            retrier = OutboxRetrier(
                self.client,
                store,
                metrics=self.metrics,
                backoff_base=config.pipeline.outbox_backoff_base,
                backoff_cap=config.pipeline.outbox_backoff_cap,
                record_of=self.record_of,
            )
            self._tasks.append(
                asyncio.create_task(
                    retrier.run(config.pipeline.outbox_interval, self._stopping), name="outbox"
                )
            )
        self._tasks.append(asyncio.create_task(self._retention(), name="retention"))
        if config.sources.poll and self.client is not None:
            poller = CXonePollSource(
                self.client,
                store,
                subject=config.sources.poll_subject,
                cursor_file=data_dir / "poll-cursor",
                dedupe_fields=config.ingest.dedupe_fields,
            )
            self._tasks.append(
                asyncio.create_task(
                    poller.run(
                        config.sources.poll_interval, self._stopping, on_accept=self._on_polled
                    ),
                    name="poll",
                )
            )

    async def _open_sinks(self) -> list[Sink]:
        config = self.config
        assert self.store is not None and self.pipeline is not None
        sinks: list[Sink] = []
        wanted = config.pipeline.sinks
        if "cxone" in wanted or config.sources.poll:
            await self._open_cxone()
        if "broadcast" in wanted:
            from evolvekit.broadcast.broadcaster import Broadcaster

            self.broadcaster = Broadcaster(
                schemas=self.pipeline.migrator, options=config.broadcast.options()
            )
            await self.broadcaster.start()
            sinks.append(BroadcastSink(self.broadcaster, self.metrics))
        if "jsonl" in wanted and config.pipeline.jsonl_path:
            self._jsonl = JsonlSink(config.pipeline.jsonl_path, self.metrics)
            sinks.append(self._jsonl)
        if "cxone" in wanted and self.client is not None:
            # Last: local sinks get the event at once, CXone's retries do not delay them.
            sinks.append(
                CXoneSink(
                    self.client, self.metrics, concurrency=config.pipeline.publish_concurrency
                )
            )
        return sinks

    async def _open_cxone(self) -> None:
        from evolvekit.cxone.client import CXoneClient

        cxone, self.simulator = await open_cxone_target(self.config, self._environ)
        if self.simulator is not None:
            self._announce(
                f"no CXone settings: publishing to a built-in CXone simulator at "
                f"{self.simulator.base_url} (set [cxone] base_url or CXONE_* variables for a "
                "real tenant)"
            )
        self.client = CXoneClient(cxone, transport=self._transport, store=self.store)
        await self.client.__aenter__()

    async def _open_ingest(self) -> None:
        settings = self.config.ingest
        assert self.store is not None
        self.endpoint = IngestEndpoint(
            self.store, settings, self.metrics, notify=self._wake.set, health=self._health
        )
        self._server, self._server_task, self.ingest_port = await start_ingest_server(
            self.endpoint.app(), settings, label="ingest server", task_name="ingest"
        )

    def _register_gauges(self) -> None:
        store = self.store
        assert store is not None
        self.metrics.gauge("outbox_size", "Events waiting in the outbox.", store.outbox_size)
        self.metrics.gauge("pending", "Accepted events not processed yet.", store.pending_count)
        self.metrics.gauge("in_flight", "Events being processed now.", lambda: len(self._inflight))
        self.metrics.gauge("dead_letters", "Dead letters stored.", store.dead_letter_count)

    def _health(self) -> dict[str, Any]:
        store = self.store
        if store is None:
            return {}
        return {
            "pending": store.pending_count(),
            "outbox": store.outbox_size(),
            "dead_letters": store.dead_letter_count(),
            "in_flight": len(self._inflight),
        }

    def _on_polled(self, count: int) -> None:
        self.metrics.inc("accepted", count)
        self._wake.set()

    def request_stop(self) -> None:
        self._stop_requested.set()

    async def stop_requested(self) -> None:
        """Return once ``request_stop()`` has been called."""
        await self._stop_requested.wait()

    async def run(self) -> None:
        """Start, serve until ``request_stop()``, stop gracefully."""
        await self.start()
        try:
            await self._stop_requested.wait()
        finally:
            await self.stop()

    async def stop(self) -> None:
        """Graceful stop (idempotent)."""
        if not self._started:
            await self._close_resources()
            return
        self._started = False
        grace = self.config.pipeline.shutdown_grace
        if self.endpoint is not None:
            self.endpoint.accepting = False
        if self._server is not None:
            self._server.should_exit = True
        if self._server_task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._server_task), timeout=grace + 5)
        self._stopping.set()
        self._wake.set()
        inflight = list(self._inflight.values())
        if inflight:
            _, late = await asyncio.wait(inflight, timeout=grace)
            for task in late:  # left pending in the store: resumed at the next start
                task.cancel()
            if late:
                log.warning("%d event(s) still in flight at shutdown stay pending", len(late))
                await asyncio.wait(late, timeout=5)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        await self._close_resources()

    async def _close_resources(self) -> None:
        if self.pipeline is not None and self.pipeline.bounded is not None:
            self.pipeline.bounded.close()
        if self._server_task is not None and not self._server_task.done():
            self._server.should_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server_task, timeout=10)
        if self.broadcaster is not None:
            await self.broadcaster.stop()  # 1001 to every consumer
        if self.client is not None:
            await self.client.aclose()
        if self.simulator is not None:
            await asyncio.to_thread(self.simulator.stop)
        if self._jsonl is not None:
            self._jsonl.close()
        if self.store is not None:
            self.store.close()
        if self._lock is not None:
            self._lock.release()

    # --- workers ------------------------------------------------------------------------------
    async def _dispatch(self) -> None:
        store, pipeline = self.store, self.pipeline
        assert store is not None and pipeline is not None
        limit = self.config.pipeline.concurrency
        slots = asyncio.Semaphore(limit)
        cursor = 0
        while not self._stopping.is_set():
            if self._rescan:
                self._rescan, cursor = False, 0
            self._wake.clear()
            rows = store.pending_after(cursor, limit=self.config.pipeline.fetch_batch)
            if not rows:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=1.0)
                continue
            for record in rows:
                cursor = max(cursor, int(record["id"]))
                if record["id"] in self._inflight:
                    continue
                await slots.acquire()
                if self._stopping.is_set():
                    slots.release()
                    return
                task = asyncio.create_task(self._process(record, slots))
                self._inflight[int(record["id"])] = task

    async def _process(self, record: dict[str, Any], slots: asyncio.Semaphore) -> None:
        assert self.pipeline is not None
        record_id = int(record["id"])
        try:
            key = record.get("idempotency_key") or self.key_for(record_id)
            await self.pipeline.handle(record, key)
        except asyncio.CancelledError:
            raise
        except Exception:
            # Not the event's fault (e.g. the store is busy): it stays pending, retried later.
            log.exception("processing ingest record %s failed; it will be retried", record_id)
            await asyncio.sleep(1.0)
            self._rescan = True
            self._wake.set()
        finally:
            self._inflight.pop(record_id, None)
            slots.release()

    async def _retention(self) -> None:
        settings = self.config.retention
        store = self.store
        assert store is not None
        while not self._stopping.is_set():
            for kind, age in (
                ("ingest_log", settings.ingest_log),
                ("dead_letters", settings.dead_letters),
            ):
                if age is not None:
                    removed = store.purge(age, kinds=[kind])
                    if removed.get(kind):
                        log.info("retention: purged %s %s record(s)", removed[kind], kind)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=settings.interval)

    # --- for tests, the demo and operators -------------------------------------------------------
    async def wait_idle(self, timeout: float = 30.0, *, outbox: bool = True) -> bool:
        """Wait until nothing is pending or in flight (and, with ``outbox``, the outbox is
        empty); False on timeout."""
        store = self.store
        assert store is not None

        def idle() -> bool:
            busy = store.pending_count() or self._inflight
            return not busy and (not outbox or store.outbox_size() == 0)

        return await wait_until(idle, timeout, interval=0.05)

    def counts(self) -> dict[str, int]:
        """Ingest records by status plus ``outbox`` and ``dead_letters``."""
        assert self.store is not None
        result = self.store.status_counts()
        result["outbox"] = self.store.outbox_size()
        result["dead_letters"] = self.store.dead_letter_count()
        return result

    def __repr__(self) -> str:
        return f"Service(data_dir={str(self.config.data_dir)!r}, ingest={self.ingest_port})"
