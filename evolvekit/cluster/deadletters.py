"""Dead letters of a cluster, in Redis: the same records as the single node's store
(``{"id", "at", "stage", "reason", "subject", "version", "event"}``), oldest first.

A hash holds each record as JSON under its id (from a counter), a sorted set indexes the ids
by time. Workers add them through the ``DEAD``/``OUTBOX_DEAD`` scripts (atomically with the
``XACK`` or outbox removal); ``evolvekit deadletters ... --redis URL`` reads, replays and
purges them.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import orjson

from evolvekit.cluster.connection import Scripts, unreachable_errors
from evolvekit.cluster.keys import Keys
from evolvekit.errors import StoreError
from evolvekit.store import encode_event, now_iso

if TYPE_CHECKING:
    from redis.asyncio import Redis


def letter_json(
    stage: str,
    reason: str,
    event: Any,
    subject: str | None,
    version: str | None,
    key: str | None = None,
) -> tuple[str, float]:
    """A dead-letter record (without its id, which Redis assigns) as JSON, and its time.
    ``key``: the idempotency key the event was (or would have been) published with; a
    replay reuses it, so a CXone that stored the event already ignores the re-send."""
    record = {
        "key": key,
        "at": now_iso(),
        "stage": stage,
        "reason": reason,
        "subject": subject,
        "version": version,
        "event": event,
    }
    return orjson.dumps(record).decode(), time.time()


def _record(letter_id: str | int, text: str) -> dict[str, Any]:
    data = orjson.loads(text)
    return {
        "id": int(letter_id),
        "at": data["at"],
        "stage": data["stage"],
        "reason": data["reason"],
        "subject": data["subject"],
        "version": data["version"],
        "event": data["event"],
    }


class RedisDeadLetters:
    """List, show, count, requeue and purge the dead letters of one cluster."""

    def __init__(self, client: Redis, keys: Keys) -> None:
        self.client = client
        self.keys = keys
        self.scripts = Scripts(client)
        self._errors = unreachable_errors()

    async def _guard(self, call: Any) -> Any:
        try:
            return await call
        except self._errors as exc:
            raise StoreError(f"Redis is unreachable: {exc}") from None

    async def count(self) -> int:
        return int(await self._guard(self.client.zcard(self.keys.dead_index)))

    async def dead_letters(
        self, limit: int | None = None, stage: str | None = None
    ) -> list[dict[str, Any]]:
        """Oldest first, optionally of one ``stage`` only."""
        ids = await self._guard(self.client.zrange(self.keys.dead_index, 0, -1))
        ids.sort(key=int)
        letters: list[dict[str, Any]] = []
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            texts = await self._guard(self.client.hmget(self.keys.dead, chunk))
            for letter_id, text in zip(chunk, texts, strict=True):
                if text is None:
                    continue
                record = _record(letter_id, text)
                if stage is None or record["stage"] == stage:
                    letters.append(record)
                    if limit is not None and len(letters) >= limit:
                        return letters
        return letters

    async def get_dead_letter(self, letter_id: int) -> dict[str, Any] | None:
        text = await self._guard(self.client.hget(self.keys.dead, str(letter_id)))
        return None if text is None else _record(letter_id, text)

    async def requeue_dead_letter(
        self, letter_id: int, event: Any, subject: str | None
    ) -> int | None:
        """Move a dead letter back into the ingest stream (one script), with the idempotency
        key it had; its new ingest id, or None when it is gone (replayed or purged)."""
        keys = self.keys
        text = await self._guard(self.client.hget(keys.dead, str(letter_id)))
        key = (orjson.loads(text).get("key") if text else None) or ""
        new_id = await self._guard(
            self.scripts.requeue(
                keys=[keys.dead, keys.dead_index, keys.ingest_ids, keys.ingest],
                args=[letter_id, encode_event(event), subject or "", now_iso(), key],
            )
        )
        return None if int(new_id) < 0 else int(new_id)

    async def purge(self, older_than: timedelta) -> int:
        """Delete dead letters older than ``older_than``; how many went."""
        cutoff = time.time() - older_than.total_seconds()
        keys = self.keys
        ids = await self._guard(self.client.zrangebyscore(keys.dead_index, "-inf", cutoff))
        removed = 0
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.hdel(keys.dead, *chunk)
                pipe.zrem(keys.dead_index, *chunk)
                deleted, _ = await self._guard(pipe.execute())
            removed += int(deleted)
        return removed
