"""Publishing to CXone (or the simulator): the client that ties the seams together.

The seams, as httpx draws them: the auth flow (``auth``: where tokens come from), pacing
(``retry``: backoff, Retry-After, the adaptive rate limiter), the request loop (``transport``:
the ONE place that sends, reads an answer and retries; what each answer means is described
there) and the outbox (``outbox``: the ONE retrier of parked events). This module only
decides what to send and what to do with a result.

- Every event carries an ``Idempotency-Key`` that is the same on all of its retries: the
  caller's key, else a fresh UUID4 (never a hash of the content, so two identical events
  stay two events).

``publish`` raises; ``publish_many`` never raises for one event: each result carries its
error, and events that still fail after their retries go to the outbox when a store is given.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import httpx

from evolvekit.cxone.auth import PlatformTokenProvider, TokenProvider, provider_for
from evolvekit.cxone.config import CXoneConfig
from evolvekit.cxone.retry import AdaptiveRateLimiter
from evolvekit.cxone.targets import Outgoing, Target, target_for
from evolvekit.cxone.transport import (
    PublishResult,
    RequestLoop,
    Status,
    is_refusal,
    open_http,
)
from evolvekit.cxone.wire import json_or_text, snippet
from evolvekit.errors import (
    CXoneError,
    CXonePublishError,
    CXoneScopeError,
    EvolveKitError,
    InputError,
)
from evolvekit.store import Store

__all__ = ["CXoneClient", "PublishResult", "is_refusal"]

log = logging.getLogger("evolvekit.cxone")

DRY_RUN_HEADER = "Dry-Run"

ProgressCallback = Callable[[int, int, "PublishResult"], None]


class CXoneClient:
    """``async with CXoneClient(config) as cx: await cx.publish(event)``."""

    def __init__(
        self,
        config: CXoneConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        store: Store | None = None,
        token_provider: TokenProvider | None = None,
        rng: random.Random | None = None,
        sleep: Callable[[float], Any] = asyncio.sleep,
        target: Target | None = None,
    ) -> None:
        self.config = config
        # Missing credentials fail here, with the variables to set, not as a 401 loop later.
        self.tokens = token_provider if token_provider is not None else provider_for(config)
        self.store = store
        self._transport = transport
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._http: httpx.AsyncClient | None = None
        self._api_base: str | None = None
        self.target = target if target is not None else target_for(config)
        self.last_cursor: str | None = None
        self.limiter = AdaptiveRateLimiter(
            config.rate_limit_initial,
            min_rate=config.rate_limit_min,
            max_rate=config.rate_limit_max,
        )
        self.requests = RequestLoop(
            config, self.tokens, lambda: self.http, rng=self._rng, sleep=sleep
        )

    def __repr__(self) -> str:
        return f"CXoneClient({self.config!r})"

    @property
    def config(self) -> CXoneConfig:
        return self._config

    @config.setter
    def config(self, config: CXoneConfig) -> None:
        """Settings may be replaced on an open client; the request loop follows."""
        self._config = config
        if "requests" in self.__dict__:
            self.requests.config = config

    async def __aenter__(self) -> CXoneClient:
        self._http = open_http(self.config, self._transport)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            raise CXoneError("CXoneClient is not open: use 'async with CXoneClient(...)'")
        return self._http

    async def api_base(self) -> str:
        """The API base URL, discovering the tenant's API host when configured to."""
        if self._api_base is None:
            if self.config.needs_api_discovery and isinstance(self.tokens, PlatformTokenProvider):
                self._api_base = await self.tokens.api_endpoint(self.http)
            else:
                self._api_base = self.config.api_base_url
        return self._api_base

    async def events_url(self) -> str:
        """The events endpoint (the ``events`` target's, and ``read_events``')."""
        return await self.api_base() + self.config.events_path

    async def target_url(self) -> str:
        """Where the configured target publishes."""
        return await self.api_base() + self.target.path

    # --- publishing -----------------------------------------------------------------------
    async def publish(
        self,
        event: Any,
        idempotency_key: str | None = None,
        *,
        paced: bool = False,
        dry_run: bool = False,
    ) -> PublishResult:
        """Publish one event to the configured target; raises CXoneError subclasses
        (InputError if not JSON). ``paced`` shares the client's rate limiter with
        ``publish_many``; ``dry_run`` sends the simulator's ``Dry-Run: true`` header (the
        request is checked, nothing stored; a real tenant ignores the header and stores)."""
        result = PublishResult(idempotency_key or str(uuid.uuid4()))
        outgoing = self.target.outgoing(event, result.idempotency_key)
        limiter = self.limiter if paced else None
        await self._publish_into(result, outgoing, limiter, dry_run=dry_run)
        return result

    async def publish_many(
        self,
        events: Sequence[Any],
        *,
        concurrency: int = 8,
        on_progress: ProgressCallback | None = None,
        keys: Sequence[str | None] | None = None,
    ) -> list[PublishResult]:
        """Publish every event with up to ``concurrency`` in flight, paced adaptively.

        Never raises for one event: results (in input order) carry errors. With a store,
        events that still fail after their retries are put in the outbox (``status="outbox"``).
        Once CXone answers 403 (a scope the token lacks), the events not yet sent are not
        sent: they share that error (and go to the outbox), as every one would get the 403.
        """
        if concurrency < 1:
            raise InputError("concurrency must be at least 1")
        if keys is not None and len(keys) != len(events):
            raise InputError(f"{len(keys)} keys given for {len(events)} events")
        results = [
            PublishResult((keys[i] if keys else None) or str(uuid.uuid4()))
            for i in range(len(events))
        ]
        next_index = iter(range(len(events)))
        done = 0
        halted: list[CXoneScopeError] = []

        async def worker() -> None:
            nonlocal done
            for index in next_index:
                await self._publish_guarded(
                    events[index], results[index], self.limiter, halted=halted
                )
                done += 1
                if on_progress is not None:
                    on_progress(done, len(events), results[index])

        await asyncio.gather(*(worker() for _ in range(min(concurrency, len(events)))))
        return results

    async def _publish_guarded(
        self,
        event: Any,
        result: PublishResult,
        limiter: AdaptiveRateLimiter | None,
        *,
        halted: list[CXoneScopeError],
    ) -> None:
        try:
            outgoing = self.target.outgoing(event, result.idempotency_key)
        except InputError as exc:
            _fail(result, "failed", exc)
            log.error("event %s not published: %s", result.idempotency_key, exc)
            return
        try:
            if halted:
                raise halted[0]
            await self._publish_into(result, outgoing, limiter)
        except CXoneError as exc:
            if isinstance(exc, CXoneScopeError) and not halted:
                halted.append(exc)
            if self.store is not None and not is_refusal(exc):
                self.store.outbox_put(event, result.idempotency_key, str(exc))
                _fail(result, "outbox", exc)
                log.warning("event %s sent to the outbox: %s", result.idempotency_key, exc)
            else:
                _fail(result, "failed", exc)
                log.error("event %s not published: %s", result.idempotency_key, exc)

    async def _publish_into(
        self,
        result: PublishResult,
        outgoing: Outgoing,
        limiter: AdaptiveRateLimiter | None,
        *,
        dry_run: bool = False,
    ) -> None:
        """Send one event through the request loop; fills ``result`` or raises."""
        headers = {**outgoing.headers, **({DRY_RUN_HEADER: "true"} if dry_run else {})}
        response = await self.requests.send(
            "POST",
            await self.api_base() + outgoing.path,
            result,
            content=outgoing.content,
            params=outgoing.params,
            headers=headers,
            limiter=limiter,
            error_reason=self.target.error_reason,
        )
        result.status = "published"
        result.error = None  # a token endpoint hiccup on the way is history now
        result.response = json_or_text(response)

    # --- outbox ---------------------------------------------------------------------------
    async def retry_outbox(self, *, limit: int = 1000, concurrency: int = 8) -> dict[str, int]:
        """Send due outbox entries again (same idempotency keys) with the shared
        :class:`~evolvekit.cxone.outbox.OutboxRetrier`. Returns ``{"attempted", "published",
        "dead_lettered", "remaining"}``. Failures that retrying may fix are rescheduled at
        least 30 s later, with backoff; an event CXone refuses outright (a 4xx other than
        408/429) becomes a dead letter (stage ``publish``)."""
        if self.store is None:
            raise InputError("retry_outbox needs a store (CXoneClient(..., store=Store(dir)))")
        from evolvekit.cxone.outbox import OutboxRetrier

        retrier = OutboxRetrier(self, self.store, concurrency=concurrency, rng=self._rng)
        counts = await retrier.run_once(limit=limit)
        return {
            "attempted": counts.attempted,
            "published": counts.published,
            "dead_lettered": counts.dead_lettered,
            "remaining": counts.remaining,
        }

    # --- reading --------------------------------------------------------------------------
    async def read_events(self, since: str | None = None, limit: int = 100) -> AsyncIterator[Any]:
        """Events from the events API, page by page (``{"events": [...], "next": cursor}``).
        ``last_cursor`` holds where to resume after the iteration ends."""
        url = await self.events_url()
        cursor = since
        while True:
            params: dict[str, str | int] = {"limit": limit}
            if cursor is not None:
                params["since"] = cursor
            try:
                response = await self.requests.send("GET", url, PublishResult(""), params=params)
            except CXonePublishError as exc:
                raise CXoneError(f"cannot read events from {url}: {exc}") from None
            page = json_or_text(response)
            if not isinstance(page, dict) or not isinstance(page.get("events"), list):
                raise CXoneError(
                    f"{url} answered a page without an 'events' list: {snippet(response)}"
                )
            events: list[Any] = page["events"]
            next_cursor = page.get("next")
            for event in events:
                yield event
            if next_cursor is not None:
                cursor = str(next_cursor)
                self.last_cursor = cursor
            if not events or len(events) < limit or next_cursor is None:
                return


def _fail(result: PublishResult, status: Status, exc: EvolveKitError) -> None:
    result.status = status
    result.error = str(exc)
    result.exception = exc
