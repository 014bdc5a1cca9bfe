"""The Redis outbox: events CXone could not take when their worker tried, retried by any
worker with capped exponential backoff (full jitter).

``OUTBOX_CLAIM`` leases the due entries (moves their due time ``claim_idle`` seconds ahead),
so two workers never send the same entry at once and a worker that dies mid-send leaves it
to the next. A delivered entry is removed and broadcast by one script (``OUTBOX_DONE``); one
CXone refuses for good becomes a dead letter (``OUTBOX_DEAD``); any other failure moves its
due time (``OUTBOX_LATER``). The idempotency key is the one the worker first used.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

import orjson

from evolvekit.cluster.deadletters import letter_json
from evolvekit.pipeline.pipeline import Prepared

if TYPE_CHECKING:
    from evolvekit.cluster.worker import Worker

log = logging.getLogger("evolvekit.cluster.outbox")

CLAIM_LIMIT = 100


class OutboxSender:
    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.keys = worker.keys

    async def run_once(self) -> int:
        """Send what is due now; how many entries were tried."""
        worker, keys = self.worker, self.keys
        now = time.time()
        flat = await worker.scripts.outbox_claim(
            keys=[keys.outbox, keys.outbox_data],
            args=[now, now + worker.settings.claim_idle, CLAIM_LIMIT],
        )
        pairs = [(flat[i], flat[i + 1]) for i in range(0, len(flat), 2)]
        await asyncio.gather(*(self._send(entry_id, text) for entry_id, text in pairs if text))
        return len(pairs)

    async def _send(self, entry_id: str, text: str) -> None:
        from evolvekit.cluster.worker import broadcast_fields

        worker, keys = self.worker, self.keys
        data: dict[str, Any] = orjson.loads(text)
        prepared = Prepared(
            data["subject"], data["source_version"], data["target_version"], data["event"]
        )
        problem = await worker.publish(prepared.event, data["key"])
        if problem is None:
            seq = await worker.scripts.outbox_done(
                keys=[keys.outbox, keys.outbox_data, keys.seq, keys.broadcast],
                args=[
                    entry_id,
                    "",
                    worker.settings.broadcast_maxlen,
                    "1" if worker.broadcast else "0",
                    *broadcast_fields(prepared, str(data.get("ingest_id", ""))),
                ],
            )
            worker.count_processed(prepared, data, int(seq))
            return
        refused, reason = problem
        if refused:
            record, at = letter_json(
                "publish",
                reason,
                data["original"],
                prepared.subject,
                prepared.source_version,
                data["key"],
            )
            letter = await worker.scripts.outbox_dead(
                keys=[keys.outbox, keys.outbox_data, keys.dead_ids, keys.dead, keys.dead_index],
                args=[entry_id, record, at],
            )
            if int(letter) > 0:
                worker.metrics.dead_letter("publish")
            return
        data["attempts"] = int(data.get("attempts", 1)) + 1
        data["error"] = reason
        delay = worker.backoff(data["attempts"])
        await worker.scripts.outbox_later(
            keys=[keys.outbox, keys.outbox_data],
            args=[entry_id, time.time() + delay, orjson.dumps(data).decode()],
        )
        log.info("outbox entry %s: retry in %.1f s: %s", entry_id, delay, reason)
