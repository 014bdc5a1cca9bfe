"""Per-event work off the event loop, under a time budget.

``Pipeline.prepare`` (detect, migrate, validate) is CPU work on data anyone can post. The
service runs it in a small pool of worker threads, so however long one event takes, the
event loop keeps answering ``/healthz``, accepting ``/ingest`` and handling SIGTERM. An event
whose preparation runs past the budget becomes a dead letter at the stage it had reached
("migrate exceeded the per-event budget of 1000 ms"); the budget counts from the moment a
worker starts on the event, not while it waits for one.

A thread cannot be killed: an over-budget preparation keeps its worker until it returns, its
result unused. The engines that run user-written patterns are linear-time
(:mod:`evolvekit.safe_regex`), so such work always ends.
"""

from __future__ import annotations

import asyncio
import contextlib
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from evolvekit.pipeline.pipeline import Prepared, Rejected, Stage

if TYPE_CHECKING:
    from evolvekit.pipeline.pipeline import Pipeline

DEFAULT_WORKERS = 4  # prepare is CPU-bound under the GIL; more threads add no throughput


def budget_reason(stage: Stage, budget_ms: int) -> str:
    """The dead-letter reason for an event over budget."""
    return f"{stage} exceeded the per-event budget of {budget_ms} ms"


class BoundedPrepare:
    """``await prepare(event, subject)``: ``pipeline.prepare`` in a worker thread, bounded."""

    def __init__(
        self, pipeline: Pipeline, budget_ms: int, *, workers: int = DEFAULT_WORKERS
    ) -> None:
        if budget_ms < 1:
            raise ValueError("the per-event budget must be at least 1 ms")
        self.pipeline = pipeline
        self.budget_ms = budget_ms
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="evolvekit-prepare")

    async def prepare(self, event: Any, subject: str | None = None) -> Prepared | Rejected:
        loop = asyncio.get_running_loop()
        started: asyncio.Future[None] = loop.create_future()
        trace: list[Stage] = []

        def work() -> Prepared | Rejected:
            loop.call_soon_threadsafe(_resolve, started)
            return self.pipeline.prepare(event, subject, trace=trace)

        job: Future[Prepared | Rejected] = self._pool.submit(work)
        done = asyncio.wrap_future(job, loop=loop)
        either: list[asyncio.Future[Any]] = [started, done]
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        try:
            return await asyncio.wait_for(asyncio.shield(done), self.budget_ms / 1000)
        except TimeoutError:
            done.add_done_callback(_consume)  # finishes later; its result is not used
            stage = trace[-1] if trace else "subject"
            return Rejected(stage, budget_reason(stage, self.budget_ms), subject)

    def close(self) -> None:
        """Stop taking work; queued preparations are cancelled, running ones not waited for."""
        self._pool.shutdown(wait=False, cancel_futures=True)


def _resolve(started: asyncio.Future[None]) -> None:
    if not started.done():
        started.set_result(None)


def _consume(done: asyncio.Future[Any]) -> None:
    with contextlib.suppress(BaseException):
        done.result()
