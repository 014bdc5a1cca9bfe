"""uvicorn's h11 protocol with a deadline on request headers.

uvicorn times out idle keep-alive connections, and the ingest handler times out slow bodies
(``ingest.body_timeout``), but nothing bounds a client that connects and then sends its
request line and headers a byte at a time (or nothing at all): such a connection holds a
slot of ``ingest.max_connections`` for ever. ``HeaderDeadlineProtocol`` closes a connection
whose next request's headers are not complete within ``header_timeout`` seconds of the
connection being made (or of the previous response completing and the next byte arriving).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol


class HeaderDeadlineProtocol(H11Protocol):
    """``H11Protocol`` plus a per-request header deadline (see the module docstring)."""

    header_timeout = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._deadline_cycle: object = None

    @classmethod
    def with_timeout(cls, seconds: float) -> type[HeaderDeadlineProtocol]:
        """A subclass whose header deadline is ``seconds`` (uvicorn takes a class)."""
        return type(cls.__name__, (cls,), {"header_timeout": seconds})

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        idle = self.cycle is None or self.cycle.response_complete
        if idle and (self._deadline is None or self._deadline_cycle is not self.cycle):
            self._arm()  # the first byte of a further request on a kept-alive connection
        super().data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        waiting_for = self._deadline_cycle = self.cycle

        def expire() -> None:
            self._deadline = None
            if self.cycle is waiting_for and not self.transport.is_closing():
                self.transport.close()  # no new request was parsed in time

        self._deadline = self.loop.call_later(self.header_timeout, expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
