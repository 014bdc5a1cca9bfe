"""Per-event work off the event loop, under a time budget.

``Pipeline.prepare`` (detect, migrate, validate) is CPU work on data anyone can post. The
service runs it in a worker thread, so however long one event takes, the event loop keeps
answering ``/healthz``, accepting ``/ingest`` and handling SIGTERM. An event whose
preparation runs past the budget becomes a dead letter at the stage it had reached
("migrate exceeded the per-event budget of 1000 ms"); the budget counts from the moment the
worker starts on the event.

Events are prepared one at a time, in the order they were handed over (as they were on the
event loop, so sinks still see ingest order; under the GIL more threads would add no
throughput). A thread cannot be killed: when an event runs over budget its worker is left to
finish alone, its result unused, and a fresh worker takes the next event, so nothing queues
behind it. The engines that run user-written patterns are linear-time
(:mod:`evolvekit.safe_regex`), so abandoned work always ends.
"""

from __future__ import annotations

import asyncio
import contextlib
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from evolvekit.pipeline.pipeline import Prepared, Rejected, Stage

if TYPE_CHECKING:
    from evolvekit.pipeline.pipeline import Pipeline


def budget_reason(stage: Stage, budget_ms: int) -> str:
    """The dead-letter reason for an event over budget."""
    return f"{stage} exceeded the per-event budget of {budget_ms} ms"


class BoundedPrepare:
    """``await prepare(event, subject)``: ``pipeline.prepare`` in a worker thread, bounded."""

    def __init__(self, pipeline: Pipeline, budget_ms: int) -> None:
        if budget_ms < 1:
            raise ValueError("the per-event budget must be at least 1 ms")
        self.pipeline = pipeline
        self.budget_ms = budget_ms
        self.abandoned = 0  # workers left to finish an over-budget event
        self._pool = _worker()
        self._turn = asyncio.Lock()  # FIFO: one event at a time, in hand-over order

    async def prepare(self, event: Any, subject: str | None = None) -> Prepared | Rejected:
        async with self._turn:
            loop = asyncio.get_running_loop()
            started: asyncio.Future[None] = loop.create_future()
            trace: list[Stage] = []

            def work() -> Prepared | Rejected:
                loop.call_soon_threadsafe(_resolve, started)
                return self.pipeline.prepare(event, subject, trace=trace)

            done = asyncio.wrap_future(self._pool.submit(work), loop=loop)
            either: list[asyncio.Future[Any]] = [started, done]
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
            try:
                return await asyncio.wait_for(asyncio.shield(done), self.budget_ms / 1000)
            except TimeoutError:
                done.add_done_callback(_consume)  # finishes later; its result is not used
                self._pool.shutdown(wait=False)  # its one thread ends with the event
                self._pool = _worker()
                self.abandoned += 1
                stage = trace[-1] if trace else "subject"
                return Rejected(stage, budget_reason(stage, self.budget_ms), subject)

    def close(self) -> None:
        """Stop taking work; a running preparation is not waited for."""
        self._pool.shutdown(wait=False, cancel_futures=True)


def _worker() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(1, thread_name_prefix="evolvekit-prepare")


def _resolve(started: asyncio.Future[None]) -> None:
    if not started.done():
        started.set_result(None)


def _consume(done: asyncio.Future[Any]) -> None:
    with contextlib.suppress(BaseException):
        done.result()
