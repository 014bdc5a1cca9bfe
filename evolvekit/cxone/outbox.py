"""The one outbox retrier, shared by ``evolvekit publish --retry-outbox`` and the service.

An outbox entry is an event that still failed after the client's retries. ``OutboxRetrier``
sends due entries again through the client (same idempotency key, paced like any publish).
A failure that retrying may fix is rescheduled ``min_delay`` + capped exponential backoff
(full jitter) later; an event CXone refuses for good (a 4xx other than 408/429) becomes a
dead letter, so it neither loops in the outbox forever nor is lost. What "becomes a dead
letter" means is the caller's: the CLI's store moves the entry; the service also marks the
ingest record (``on_refused``), and counts it (``on_outcome``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from evolvekit.cxone.retry import backoff_delay
from evolvekit.cxone.transport import gather_workers, is_refusal
from evolvekit.errors import CXoneError, InputError

if TYPE_CHECKING:
    from evolvekit.cxone.client import CXoneClient

log = logging.getLogger("evolvekit.cxone")


class OutboxStore(Protocol):
    def outbox_due(self, limit: int = ..., now: float | None = ...) -> list[dict[str, Any]]: ...

    def outbox_done(self, entry_id: int) -> None: ...

    def outbox_retry_later(self, entry_id: int, reason: str, next_attempt_at: float) -> None: ...

    def outbox_to_dead_letter(self, entry_id: int, stage: str, reason: str) -> int | None: ...

    def outbox_size(self) -> int: ...


@dataclass
class OutboxPass:
    """The counts of one pass: due entries ``attempted``, and what became of them."""

    attempted: int = 0
    published: int = 0
    dead_lettered: int = 0
    retried: int = 0
    remaining: int = 0


class OutboxRetrier:
    """``await OutboxRetrier(client, store).run_once()`` sends what is due, once."""

    def __init__(
        self,
        client: CXoneClient,
        store: OutboxStore,
        *,
        backoff_base: float = 30.0,
        backoff_cap: float = 3600.0,
        min_delay: float = 30.0,
        concurrency: int = 8,
        on_refused: Callable[[dict[str, Any], str], object] | None = None,
        on_outcome: Callable[[dict[str, Any], str], object] | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.store = store
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.min_delay = min_delay
        self.concurrency = concurrency
        self.on_refused = on_refused or self._dead_letter
        self.on_outcome = on_outcome
        self._rng = rng or random.Random()
        self._clock = clock

    def _dead_letter(self, entry: dict[str, Any], reason: str) -> None:
        self.store.outbox_to_dead_letter(entry["id"], "publish", reason)

    async def run_once(self, limit: int = 1000) -> OutboxPass:
        due = self.store.outbox_due(limit=limit)
        counts = OutboxPass(attempted=len(due))
        entries = iter(due)

        async def worker() -> None:
            for entry in entries:
                outcome = await self._send(entry)
                setattr(counts, outcome, getattr(counts, outcome) + 1)
                if self.on_outcome is not None:
                    self.on_outcome(entry, outcome)

        await gather_workers(min(self.concurrency, len(due)), worker)
        counts.remaining = self.store.outbox_size()
        return counts

    async def _send(self, entry: dict[str, Any]) -> str:
        try:
            await self.client.publish(entry["event"], idempotency_key=entry["key"], paced=True)
        except (CXoneError, InputError) as exc:
            if is_refusal(exc):
                self.on_refused(entry, f"CXone refused the event: {exc}")
                log.error("outbox event %s refused: %s", entry["key"], exc)
                return "dead_lettered"
            self.retry_later(entry, exc)
            return "retried"
        self.store.outbox_done(entry["id"])
        return "published"

    def retry_later(self, entry: dict[str, Any], exc: Exception) -> None:
        backoff = backoff_delay(
            entry["attempts"] + 1, self.backoff_base, self.backoff_cap, self._rng
        )
        delay = self.min_delay + backoff
        self.store.outbox_retry_later(entry["id"], str(exc), self._clock() + delay)
        log.info("outbox entry %s: retry in %.1f s: %s", entry["key"], delay, exc)

    async def run(self, interval: float, stop: asyncio.Event) -> None:
        """Passes every ``interval`` seconds until ``stop`` is set."""
        while not stop.is_set():
            try:
                await self.run_once()
            except Exception:  # the retrier must outlive one bad pass
                log.exception("outbox pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)
