"""A connection pool for many requests in flight: several small httpcore pools, not one big one.

httpcore 1.0's pool walks every connection it holds on each request it queues and each it
releases, polling every idle socket to see whether the server closed it. With 48 requests in
flight (what 500 requests/s needs against a server 50 ms away) one pool of 64 connections
cost 2.8 ms of client CPU per event against 0.73 ms through this transport, so the client, not
the rate limit, set the pace (``python benchmarks/bench_publish.py``, its "client CPU per
event" lines; upstream: encode/httpcore#1035). ``ShardedTransport`` spreads requests over
``shards`` pools of ``per_shard`` connections each, sending each request to the pool with the
fewest in flight, so that walk is over a few connections whatever the concurrency.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import httpx

PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY")


class ShardedTransport(httpx.AsyncBaseTransport):
    """``shards`` HTTP transports of ``per_shard`` connections; least in flight first."""

    def __init__(
        self,
        *,
        shards: int = 16,
        per_shard: int = 4,
        make_shard: Callable[[httpx.Limits], httpx.AsyncBaseTransport] | None = None,
    ) -> None:
        if shards < 1 or per_shard < 1:
            raise ValueError("shards and per_shard must be at least 1")
        limits = httpx.Limits(max_connections=per_shard, max_keepalive_connections=per_shard)
        make = make_shard or _http_shard()
        self._shards = [make(limits) for _ in range(shards)]
        self._in_flight = [0] * shards

    @property
    def in_flight(self) -> list[int]:
        """Requests in flight per shard (for tests and diagnostics)."""
        return list(self._in_flight)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        index = min(range(len(self._shards)), key=self._in_flight.__getitem__)
        self._in_flight[index] += 1
        try:
            return await self._shards[index].handle_async_request(request)
        finally:
            # The body is read straight after (the client reads every answer whole), so
            # counting up to the headers is close enough for choosing a shard; each shard's
            # own limit is what bounds its connections.
            self._in_flight[index] -= 1

    async def aclose(self) -> None:
        for shard in self._shards:
            await shard.aclose()


def _http_shard() -> Callable[[httpx.Limits], httpx.AsyncBaseTransport]:
    # One TLS context for all shards (loading the CA bundle costs ~20 ms each); it honours
    # SSL_CERT_FILE / SSL_CERT_DIR as httpx's own transport does.
    tls = httpx.create_ssl_context(trust_env=True)
    return lambda limits: httpx.AsyncHTTPTransport(limits=limits, verify=tls)


def default_transport() -> httpx.AsyncBaseTransport | None:
    """The sharded pool, or ``None`` (httpx's own) when a proxy is configured in the
    environment: httpx applies ``HTTPS_PROXY`` and friends only to its own transport."""
    if any(os.environ.get(name) or os.environ.get(name.lower()) for name in PROXY_VARIABLES):
        return None
    return ShardedTransport()
