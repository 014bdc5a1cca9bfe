"""The ingest role's store: events go into the ingest stream through one Lua script per call.

The ``/ingest`` endpoint is the single-node one (``evolvekit.pipeline.sources``); only where
events are kept differs. A call's events are added together or not at all (one script), the
dedupe keys (Idempotency-Key or configured fields) are Redis keys shared by every ingest node,
and ids come from one counter, so a duplicate is answered with the original id whichever node
took it. The 202 is sent after the script returned, i.e. after Redis applied it (and, under
``appendfsync always``, wrote it to disk); ``wait_replicas`` adds a ``WAIT``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from evolvekit.cluster.connection import Scripts, unreachable_errors
from evolvekit.cluster.keys import Keys
from evolvekit.errors import StoreError
from evolvekit.store import encode_event, now_iso

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger("evolvekit.cluster.ingest")


class RedisIngestLog:
    """``accept_many`` for the ingest endpoint, on Redis."""

    def __init__(
        self,
        client: Redis,
        keys: Keys,
        *,
        dedupe_ttl: float | None = None,
        wait_replicas: int = 0,
        wait_timeout: float = 1.0,
    ) -> None:
        self.client = client
        self.keys = keys
        self.scripts = Scripts(client)
        self.dedupe_ttl = 0 if dedupe_ttl is None else max(1, int(dedupe_ttl))
        self.wait_replicas = wait_replicas
        self.wait_timeout = wait_timeout
        self._errors = unreachable_errors()

    async def accept_many(
        self, items: list[tuple[Any, str | None, str | None]]
    ) -> list[tuple[int, bool]]:
        """``[(id, duplicate), ...]``; StoreError while Redis is unreachable (nothing, or
        everything, of the call was stored: a retry with the same keys is safe)."""
        keys = self.keys
        args: list[Any] = [keys.dedupe_prefix, self.dedupe_ttl, now_iso()]
        for event, subject, dedupe in items:
            args += [encode_event(event), subject or "", dedupe or ""]
        try:
            flat = await self.scripts.accept(keys=[keys.ingest_ids, keys.ingest], args=args)
            if self.wait_replicas:
                await self._wait_replicas()
        except self._errors as exc:
            log.warning("ingest: Redis unreachable: %s", exc)
            raise StoreError(f"Redis is unreachable: {exc}") from None
        return [(int(flat[i]), bool(int(flat[i + 1]))) for i in range(0, len(flat), 2)]

    async def _wait_replicas(self) -> None:
        timeout_ms = max(1, int(self.wait_timeout * 1000))
        reached = int(await self.client.wait(self.wait_replicas, timeout_ms))
        if reached < self.wait_replicas:
            raise StoreError(
                f"only {reached} of {self.wait_replicas} replica(s) confirmed the event "
                f"within {self.wait_timeout} s"
            )
