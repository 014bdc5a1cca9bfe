"""``ClusterNode``: one ``evolvekit serve --redis URL --role ...`` process.

Every node serves ``/healthz`` and ``/metrics`` on ``--port`` (with its role and whether
Redis is reachable); an ingest node also serves ``POST /ingest`` there; a broadcast node serves
WebSockets on ``--broadcast-port``; a worker node serves nothing but works the ingest stream.
Every node writes a heartbeat (role, host, pid, since) that ``evolvekit cluster status`` lists.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from evolvekit import logsafe
from evolvekit.cluster.connection import cluster_id, connect, redacted, unreachable_errors
from evolvekit.cluster.keys import Keys
from evolvekit.errors import ConfigError
from evolvekit.pipeline.metrics import Metrics
from evolvekit.pipeline.node_setup import (
    IngestServer,
    guard_ports,
    open_cxone_target,
    start_ingest_server,
)

if TYPE_CHECKING:
    from evolvekit.cluster.broadcast import ClusterBroadcaster, StreamTail
    from evolvekit.cluster.worker import Worker
    from evolvekit.cxone.client import CXoneClient
    from evolvekit.cxone.uvicorn_thread import SimulatorServer
    from evolvekit.pipeline.config import ServiceConfig
    from evolvekit.pipeline.sources import IngestEndpoint

log = logging.getLogger("evolvekit.cluster.node")

STARTUP_WAIT = 15.0  # seconds a starting node waits for Redis


class ClusterNode:
    """``await node.start()``, then ``await node.stop()``."""

    def __init__(
        self, config: ServiceConfig, *, announce: Callable[[str], None] | None = None
    ) -> None:
        url = config.cluster.redis_url
        if not url:
            raise ConfigError("cluster mode needs a Redis URL (--redis, [cluster] redis_url)")
        self.config = config
        self.roles = config.cluster.roles
        self.keys = Keys(config.cluster.name)
        self.redis_url = url
        self.node_id = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(2)}"
        self.metrics = Metrics()
        self.since = time.time()
        self.redis_up = False
        self._announce = announce or log.warning
        self.client: Any = None
        self.cluster_id = ""
        self.port: int | None = None
        self.endpoint: IngestEndpoint | None = None
        self.worker: Worker | None = None
        self.broadcaster: ClusterBroadcaster | None = None
        self.tail: StreamTail | None = None
        self.cxone: CXoneClient | None = None
        self.simulator: SimulatorServer | None = None
        self._server: IngestServer | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._stopping = False

    # --- lifecycle ----------------------------------------------------------------------------
    def _check_exposure(self) -> None:
        """As the single node: secrets (the Redis password too) out of every log line, no
        port off loopback without a token unless ``insecure`` (docs/security.md)."""
        from urllib.parse import urlsplit

        config = self.config
        with contextlib.suppress(ValueError):
            logsafe.register_secret(urlsplit(self.redis_url).password)
        guard_ports(
            config,
            ingest_label="ingest" if "ingest" in self.roles else "/healthz and /metrics",
            broadcast="broadcast" in self.roles,
            warn=self._announce,
        )

    async def start(self) -> None:
        self._check_exposure()
        self.client = connect(self.redis_url)
        try:
            self.cluster_id = await cluster_id(self.client, self.keys, wait=STARTUP_WAIT)
            self.redis_up = True
            await self._start_roles()
            await self._open_http()
        except BaseException:
            await self._close()
            raise
        self._register_gauges()
        self._tasks.append(asyncio.create_task(self._heartbeat_loop(), name="heartbeat"))
        if self.tail is not None:
            self._tasks.append(asyncio.create_task(self.tail.run(), name="broadcast-tail"))
        if self.worker is not None and self.config.retention.dead_letters is not None:
            self._tasks.append(asyncio.create_task(self._retention_loop(), name="retention"))

    async def _start_roles(self) -> None:
        config = self.config
        migrator: Any = None
        if "worker" in self.roles:
            from evolvekit.cluster.worker import Worker
            from evolvekit.pipeline.pipeline import Pipeline

            pipeline = Pipeline(
                config.schemas,
                config.rules,
                targets=config.pipeline.targets,
                event_types=config.pipeline.event_types,
                metrics=self.metrics,
            )
            migrator = pipeline.migrator
            await asyncio.to_thread(pipeline.warm_up)
            if "cxone" in config.pipeline.sinks:
                await self._open_cxone()
            self.worker = Worker(
                self.client,
                self.keys,
                self.cluster_id,
                pipeline,
                self.cxone,
                config.cluster,
                config.pipeline,
                self.metrics,
                self.node_id,
            )
            await self.worker.start()
        if "broadcast" in self.roles:
            await self._start_broadcaster(migrator)

    async def _start_broadcaster(self, migrator: Any) -> None:
        from evolvekit.cluster.broadcast import ClusterBroadcaster, StreamTail

        config = self.config
        self.broadcaster = ClusterBroadcaster(
            migrator if migrator is not None else config.schemas,
            None if migrator is not None else config.rules,
            config.broadcast.options(replay_size=config.cluster.broadcast_maxlen),
            epoch=self.cluster_id,
        )
        self.tail = StreamTail(self.client, self.keys, self.broadcaster)
        await self.tail.load(config.cluster.broadcast_maxlen)
        await self.broadcaster.start()

    async def _open_cxone(self) -> None:
        from evolvekit.cxone.client import CXoneClient

        cxone, self.simulator = await open_cxone_target(self.config, None)
        if self.simulator is not None:
            self._announce(
                "no CXone settings: this worker publishes to its own CXone simulator at "
                f"{self.simulator.base_url}"
            )
        self.cxone = CXoneClient(cxone)
        await self.cxone.__aenter__()

    async def _open_http(self) -> None:
        settings = self.config.ingest
        routes = [
            Route("/healthz", self._healthz, methods=["GET"]),
            Route("/metrics", self._metrics, methods=["GET"]),
        ]
        if "ingest" in self.roles:
            from evolvekit.cluster.ingest import RedisIngestLog
            from evolvekit.pipeline.sources import IngestEndpoint

            retention = self.config.retention.ingest_log
            store = RedisIngestLog(
                self.client,
                self.keys,
                dedupe_ttl=None if retention is None else retention.total_seconds(),
                wait_replicas=self.config.cluster.wait_replicas,
                wait_timeout=self.config.cluster.wait_timeout,
            )
            self.endpoint = IngestEndpoint(store, settings, self.metrics)
            routes.append(Route("/ingest", self.endpoint.ingest, methods=["POST"]))
        self._server, task, self.port = await start_ingest_server(
            Starlette(routes=routes), settings, label="HTTP server", task_name="http"
        )
        self._tasks.append(task)

    async def stop(self) -> None:
        """Graceful: refuse new events, finish those in flight (up to ``shutdown_grace``),
        leave the rest pending for other workers, close the consumers with 1001."""
        if self._stopping:
            return
        self._stopping = True
        if self.endpoint is not None:
            self.endpoint.accepting = False
        if self._server is not None:
            self._server.should_exit = True
        if self.worker is not None:
            await self.worker.stop(self.config.pipeline.shutdown_grace)
        with contextlib.suppress(*unreachable_errors()):
            await asyncio.wait_for(self.client.hdel(self.keys.nodes, self.node_id), timeout=2)
        await self._close()

    async def _close(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        for task in self._tasks:
            if task.get_name() != "http":
                task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.gather(*self._tasks, return_exceptions=True), 10)
        self._tasks.clear()
        if self.broadcaster is not None:
            await self.broadcaster.stop()
        if self.cxone is not None:
            await self.cxone.aclose()
        if self.simulator is not None:
            await asyncio.to_thread(self.simulator.stop)
        if self.client is not None:
            await self.client.aclose()

    # --- health, metrics, heartbeat -----------------------------------------------------------
    @property
    def role_text(self) -> str:
        return ",".join(r for r in ("ingest", "worker", "broadcast") if r in self.roles)

    @property
    def ingest_url(self) -> str:
        host = self.config.ingest.host
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}"

    def health(self) -> dict[str, Any]:
        status = "stopping" if self._stopping else ("ok" if self.redis_up else "redis_unreachable")
        body: dict[str, Any] = {
            "status": status,
            "role": self.role_text,
            "node": self.node_id,
            "redis": "up" if self.redis_up else "down",
            "redis_url": redacted(self.redis_url),
        }
        if self.worker is not None:
            body["in_flight"] = self.worker.in_flight
        if self.broadcaster is not None:
            body["last_seq"] = self.broadcaster.hub.last_seq
            body["consumers"] = self.broadcaster.hub.consumer_count()
        return body

    async def _healthz(self, request: Request) -> Response:
        body = self.health()
        return JSONResponse(body, status_code=200 if body["status"] == "ok" else 503)

    async def _metrics(self, request: Request) -> Response:
        return PlainTextResponse(
            self.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
        )

    def _register_gauges(self) -> None:
        gauge = self.metrics.gauge
        gauge("redis_up", "1 while this node reaches Redis.", lambda: float(self.redis_up))
        for role in ("ingest", "worker", "broadcast"):
            gauge(
                f"role_{role}",
                f"1 when this node has the {role} role.",
                lambda role=role: float(role in self.roles),  # type: ignore[misc]
            )
        if self.worker is not None:
            worker = self.worker
            gauge("in_flight", "Entries this worker is processing now.", lambda: worker.in_flight)
        if self.broadcaster is not None:
            hub = self.broadcaster.hub
            gauge("broadcast_last_seq", "Newest seq read from the stream.", lambda: hub.last_seq)
            gauge("consumers", "WebSocket consumers on this node.", hub.consumer_count)

    async def _retention_loop(self) -> None:
        """Dead letters older than ``retention.dead_letters`` go (any worker node does it;
        the ingest stream needs none: workers trim what they acknowledged)."""
        from evolvekit.cluster.deadletters import RedisDeadLetters

        settings = self.config.retention
        age = settings.dead_letters
        assert age is not None
        letters = RedisDeadLetters(self.client, self.keys)
        while True:
            with contextlib.suppress(Exception):
                removed = await letters.purge(age)
                if removed:
                    log.info("retention: purged %d dead letter(s)", removed)
            await asyncio.sleep(settings.interval)

    async def _heartbeat_loop(self) -> None:
        interval = self.config.cluster.heartbeat_interval
        errors = unreachable_errors()
        while True:
            try:
                await self._beat(interval)
                if not self.redis_up:
                    log.warning("Redis reachable again")
                self.redis_up = True
            except errors as exc:
                if self.redis_up:
                    log.warning("Redis unreachable: %s", exc)
                self.redis_up = False
            await asyncio.sleep(interval if self.redis_up else min(interval, 0.5))

    async def _beat(self, interval: float) -> None:
        now = time.time()
        beat = {
            "role": self.role_text,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "since": self.since,
            "seen": now,
            "interval": interval,
            "ingest": self.ingest_url if self.endpoint is not None else None,
            "broadcast": self.broadcaster.url if self.broadcaster is not None else None,
        }
        await self.client.hset(self.keys.nodes, self.node_id, orjson.dumps(beat).decode())
        # Forget nodes silent for long (killed without a goodbye); any node does this.
        nodes = await self.client.hgetall(self.keys.nodes)
        stale = [n for n, text in nodes.items() if now - orjson.loads(text)["seen"] > 60 * interval]
        if stale:
            await self.client.hdel(self.keys.nodes, *stale)
