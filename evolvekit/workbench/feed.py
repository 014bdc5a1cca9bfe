"""``ConsumerFeed``: a WebSocket consumer on its own thread, collecting the frames it receives.

No ipywidgets here: the broadcaster panel and the synchronous ``workbench.broadcast`` both
use it. ``stop()`` ends it; a feed still running at interpreter exit is stopped by a finalizer.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import weakref
from typing import Any

from evolvekit.broadcast import consume
from evolvekit.frames import DEFAULT_KEY_FIELD, business_key, dataframe
from evolvekit.workbench._common import describe

FRAME_COLUMNS = ("seq", "schema_version", "subject", "key", "timestamp", "payload")


def frame_records(
    frames: list[dict[str, Any]], key_field: str = DEFAULT_KEY_FIELD
) -> list[dict[str, Any]]:
    """One record per data frame: seq, version, subject, business key, payload."""
    return [
        {
            "seq": f.get("seq"),
            "schema_version": f.get("schema_version"),
            "subject": f.get("subject"),
            "key": business_key(f.get("payload"), key_field),
            "timestamp": f.get("timestamp"),
            "payload": f.get("payload"),
        }
        for f in frames
        if "control" not in f
    ]


class ConsumerFeed:
    """A consumer of ``url`` on its own thread; ``frames`` collects what it receives."""

    def __init__(self, url: str, *, since: int | None = None, epoch: str | None = None) -> None:
        self.url = url
        self.since = since
        self.epoch = epoch
        self.frames: list[dict[str, Any]] = []
        self.error: str | None = None
        self.listeners: list[Any] = []
        self._changed = threading.Condition()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        loop = asyncio.new_event_loop()
        started = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            self._task = loop.create_task(self._consume())
            started.set()
            with contextlib.suppress(asyncio.CancelledError):
                loop.run_until_complete(self._task)
            loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=run, name="evolvekit-feed", daemon=True)
        self._thread.start()
        started.wait(5)
        # At kernel shutdown (or when the feed is dropped) the consumer task is cancelled.
        weakref.finalize(self, _cancel, loop, self._task)

    async def _consume(self) -> None:
        try:
            async for frame in consume(self.url, since=self.since, epoch=self.epoch):
                with self._changed:
                    self.frames.append(frame)
                    self._changed.notify_all()
                for listener in list(self.listeners):
                    listener(frame)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # refused at the handshake (a BroadcastError, e.g. an unknown
            # version) or anything else: shown in the feed, never a traceback on this thread
            with self._changed:
                self.error = describe(exc)
                self._changed.notify_all()

    @property
    def events(self) -> list[dict[str, Any]]:
        """Data frames only (envelopes), without control frames."""
        with self._changed:
            return [f for f in self.frames if "control" not in f]

    def wait_for(self, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Block until ``count`` data frames arrived (or an error, or the timeout)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                events = [f for f in self.frames if "control" not in f]
                remaining = deadline - time.monotonic()
                if len(events) >= count or self.error or remaining <= 0:
                    return events
                self._changed.wait(remaining)

    def stop(self) -> None:
        loop, task, thread = self._loop, self._task, self._thread
        if loop is not None and task is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(task.cancel)
        if thread is not None:
            thread.join(10)
        self._loop = self._task = self._thread = None


    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def to_dataframe(self, key_field: str = DEFAULT_KEY_FIELD) -> Any:
        """The received data frames as a DataFrame (seq, version, subject, key, payload)."""
        return dataframe(frame_records(self.events, key_field), FRAME_COLUMNS)


def _cancel(loop: asyncio.AbstractEventLoop, task: asyncio.Task[None] | None) -> None:
    if task is not None and not loop.is_closed():
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(task.cancel)
