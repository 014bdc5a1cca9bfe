"""The broadcaster on its own thread with its own event loop, for notebooks and scripts.

The caller's thread may block (``time.sleep``, a long cell) while consumers keep being served:
all socket work happens on the broadcaster's loop. ``publish`` hands the event to that loop
and waits for its seq, so it is safe from any thread.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from evolvekit.broadcast.hub import DEFAULT_REPLAY_BYTES, MigratorLike
from evolvekit.broadcast.server import Broadcaster
from evolvekit.errors import BroadcastError

if TYPE_CHECKING:
    from evolvekit.schema.registry import SchemaRegistry


class BackgroundBroadcaster:
    """``Broadcaster`` running in a daemon thread: ``start() -> port``, ``publish() -> seq``,
    ``stop()`` (idempotent), ``stats()``, ``url``; also a context manager."""

    def __init__(
        self,
        schemas: str | Path | SchemaRegistry | MigratorLike | None = None,
        rules: str | Path | MigratorLike | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        tokens: Iterable[str] | None = None,
        replay_size: int = 1000,
        queue_size: int = 256,
        origins: Iterable[str] | None = None,
        max_message_size: int = 4096,
        ping_interval: float | None = 20,
        write_limit: int = 2**16,
        close_timeout: float = 5.0,
        replay_bytes: int = DEFAULT_REPLAY_BYTES,
    ) -> None:
        # Built here so bad settings fail in the caller's thread, not in the loop's.
        self.broadcaster = Broadcaster(
            schemas=schemas,
            rules=rules,
            host=host,
            port=port,
            tokens=tokens,
            replay_size=replay_size,
            queue_size=queue_size,
            origins=origins,
            max_message_size=max_message_size,
            ping_interval=ping_interval,
            write_limit=write_limit,
            close_timeout=close_timeout,
            replay_bytes=replay_bytes,
        )
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def start(self, timeout: float = 30.0) -> int:
        """Start serving; returns the bound port (a free one when ``port`` was 0)."""
        with self._lock:
            if self._thread is not None:
                return self.port
            self._ready.clear()
            loop = asyncio.new_event_loop()
            thread = threading.Thread(
                target=self._run, args=(loop,), name="evolvekit-broadcaster", daemon=True
            )
            self._loop, self._thread = loop, thread
            thread.start()
            if not self._ready.wait(timeout):
                raise BroadcastError(f"broadcaster did not start within {timeout} s")
            if self._error is not None:
                thread.join()
                self._loop = self._thread = None
                raise self._error
            return self.port

    def _run(self, loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        self._error = None
        try:
            try:
                loop.run_until_complete(self.broadcaster.start())
            except BaseException as exc:  # handed to start() in the caller's thread
                self._error = exc
                return
            finally:
                self._ready.set()
            loop.run_forever()
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()

    def stop(self, timeout: float | None = 30.0) -> None:
        """Close every consumer with 1001 and end the thread. Idempotent."""
        with self._lock:
            loop, thread = self._loop, self._thread
            if loop is None or thread is None:
                return
            self._loop = self._thread = None
            try:
                asyncio.run_coroutine_threadsafe(self.broadcaster.stop(), loop).result(timeout)
            finally:
                loop.call_soon_threadsafe(loop.stop)
                thread.join(timeout)

    def publish(
        self,
        event: Any,
        *,
        subject: str,
        version: str | None = None,
        event_type: str | None = None,
        timeout: float | None = 30.0,
    ) -> int:
        """Broadcast one event from any thread; returns its seq."""
        loop = self._running_loop()
        kwargs: dict[str, Any] = {"subject": subject, "version": version, "event_type": event_type}
        if threading.current_thread() is self._thread:  # called back on the loop itself
            return self.broadcaster.publish_nowait(event, **kwargs)
        future = asyncio.run_coroutine_threadsafe(self.broadcaster.publish(event, **kwargs), loop)
        return future.result(timeout)

    def stats(self) -> dict[str, Any]:
        """The broadcaster's counters (read on its loop, so they are consistent)."""
        loop = self._running_loop()
        if threading.current_thread() is self._thread:
            return self.broadcaster.stats()

        async def read() -> dict[str, Any]:
            return self.broadcaster.stats()

        return asyncio.run_coroutine_threadsafe(read(), loop).result(30.0)

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        loop = self._loop
        if loop is None:
            raise BroadcastError("background broadcaster not started: call start()")
        return loop

    @property
    def port(self) -> int:
        if self.broadcaster.port is None:
            raise BroadcastError("background broadcaster not started: call start()")
        return self.broadcaster.port

    @property
    def url(self) -> str:
        return self.broadcaster.url

    @property
    def epoch(self) -> str:
        return self.broadcaster.epoch

    def __enter__(self) -> BackgroundBroadcaster:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
