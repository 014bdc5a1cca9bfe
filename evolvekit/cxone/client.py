"""Publishing to CXone (or the simulator): retries, token refresh, pacing, durable outbox.

What each answer means (DESIGN.md, "CXone"):

- 2xx: published. 401: the token is invalidated and the request retried once with a *new*
  token (this does not use up the retry budget; a new token that is rejected in turn, e.g.
  revoked while in flight, gets the same treatment, up to ``max_token_refreshes`` in a row,
  so a broken credential setup ends in ``CXoneAuthError``, never a loop). 403:
  ``CXoneScopeError`` naming the missing scope, no retry. 429: wait ``Retry-After``
  (seconds or HTTP date, capped by ``retry_after_cap`` and reported when capped), else
  full-jitter backoff. 5xx, timeouts and connection errors: retry the same way. Any other
  4xx: ``CXonePublishError`` with the body.
- Every event carries an ``Idempotency-Key`` that is the same on all of its retries: the
  caller's key, else a fresh UUID4 (never a hash of the content, so two identical events
  stay two events).

``publish`` raises; ``publish_many`` never raises for one event: each result carries its
error, and events that still fail after their retries go to the outbox when a store is given.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from evolvekit.cxone.auth import (
    CXonePasswordProvider,
    TokenEndpointUnavailable,
    TokenProvider,
    provider_for,
)
from evolvekit.cxone.config import CXoneConfig
from evolvekit.cxone.retry import AdaptiveRateLimiter, backoff_delay, cap_delay, parse_retry_after
from evolvekit.cxone.wire import BODY_SNIPPET, encode_event, json_or_text, missing_scope, snippet
from evolvekit.errors import (
    CXoneAuthError,
    CXoneError,
    CXonePublishError,
    CXoneScopeError,
    EvolveKitError,
    InputError,
)
from evolvekit.store import Store

log = logging.getLogger("evolvekit.cxone")

Status = Literal["published", "outbox", "failed"]
ProgressCallback = Callable[[int, int, "PublishResult"], None]


@dataclass
class PublishResult:
    """What happened to one event.

    ``status``: ``published``, ``outbox`` (kept for a later retry) or ``failed`` (will not
    succeed by retrying as is: invalid event, refused by the server). ``attempts`` counts
    HTTP requests made; ``waited_seconds`` the time spent waiting before retries;
    ``throttled`` the 429 answers seen; ``retry_after_capped`` whether a server-requested
    wait was cut to the configured cap.
    """

    idempotency_key: str
    status: Status = "failed"
    http_status: int | None = None
    attempts: int = 0
    waited_seconds: float = 0.0
    throttled: int = 0
    retry_after_capped: bool = False
    response: Any = None
    error: str | None = None
    exception: EvolveKitError | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.status == "published"

    @property
    def retried(self) -> bool:
        return self.attempts > 1


class _Retryable(Exception):
    """Internal: an answer worth retrying, with the wait the server asked for (if any)."""

    def __init__(self, reason: str, status: int | None, wait: float | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.wait = wait


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
    ) -> None:
        self.config = config
        # Missing credentials fail here, with the variables to set, not as a 401 loop later.
        self.tokens = token_provider if token_provider is not None else provider_for(config)
        self.store = store
        self._transport = transport
        self._rng = rng or random.Random()
        self._sleep = sleep
        self._http: httpx.AsyncClient | None = None
        self._events_url: str | None = None
        self.last_cursor: str | None = None
        self.limiter = AdaptiveRateLimiter(
            config.rate_limit_initial,
            min_rate=config.rate_limit_min,
            max_rate=config.rate_limit_max,
        )

    def __repr__(self) -> str:
        return f"CXoneClient({self.config!r})"

    async def __aenter__(self) -> CXoneClient:
        timeout = httpx.Timeout(self.config.timeout, connect=self.config.connect_timeout)
        self._http = httpx.AsyncClient(
            transport=self._transport,
            timeout=timeout,
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=64),
            headers={"Accept": "application/json", "User-Agent": "evolvekit"},
        )
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

    async def events_url(self) -> str:
        """The events endpoint, discovering the tenant's API host when configured to."""
        if self._events_url is None:
            if self.config.needs_api_discovery and isinstance(self.tokens, CXonePasswordProvider):
                base = await self.tokens.api_endpoint(self.http)
                self._events_url = base + self.config.events_path
            else:
                self._events_url = self.config.events_url
        return self._events_url

    # --- publishing -----------------------------------------------------------------------
    async def publish(self, event: Any, idempotency_key: str | None = None) -> PublishResult:
        """Publish one event; raises CXoneError subclasses (InputError if not JSON)."""
        result = PublishResult(idempotency_key or str(uuid.uuid4()))
        await self._publish_into(result, encode_event(event), limiter=None)
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
            body = encode_event(event)
        except InputError as exc:
            _fail(result, "failed", exc)
            log.error("event %s not published: %s", result.idempotency_key, exc)
            return
        try:
            if halted:
                raise halted[0]
            await self._publish_into(result, body, limiter)
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
        self, result: PublishResult, body: bytes, limiter: AdaptiveRateLimiter | None
    ) -> None:
        """The retry loop for one event; fills ``result`` or raises a CXoneError."""
        config = self.config
        failures = 0  # retryable failures so far; 401 refreshes are not counted
        refreshes = 0  # consecutive 401s, each answered by one retry with a new token
        url = await self.events_url()
        while True:
            if limiter is not None:
                await limiter.acquire()
            token = await self._token_or_retryable(result)
            result.attempts += 1  # a try, even when the token endpoint failed it
            try:
                if token is None:
                    raise _Retryable(result.error or "token endpoint unreachable", None, None)
                response = await self.http.post(
                    url,
                    content=body,
                    headers={
                        "Authorization": f"Bearer {token}",
                        "Content-Type": "application/json",
                        "Idempotency-Key": result.idempotency_key,
                    },
                )
                result.http_status = response.status_code
                if limiter is not None:
                    _advertise(limiter, response)
                if response.status_code == 401:
                    self.tokens.invalidate(token)
                    # Under concurrency a new token can be revoked or expire while in flight,
                    # so a 401 is retried once per new token, but never in an endless loop.
                    if refreshes >= config.max_token_refreshes:
                        raise CXoneAuthError(
                            f"{url} rejected {refreshes + 1} tokens in a row (HTTP 401): "
                            f"{snippet(response)}"
                        )
                    refreshes += 1
                    log.info("401 from %s: retrying with a new token", url)
                    continue
                refreshes = 0
                self._check_answer(response, url, result)
                if limiter is not None:
                    limiter.on_success()
                result.status = "published"
                result.error = None  # a token endpoint hiccup on the way is history now
                result.response = json_or_text(response)
                return
            except _Retryable as retry:
                if retry.status == 429:
                    result.throttled += 1
                    if limiter is not None:
                        limiter.on_throttle()
                failures += 1
                if failures >= config.max_attempts:
                    raise CXonePublishError(
                        f"gave up after {result.attempts} attempts: {retry.reason}",
                        status=retry.status,
                    ) from None
                await self._wait(result, retry, failures)
            except httpx.TimeoutException:
                failures += 1
                if failures >= config.max_attempts:
                    raise CXonePublishError(
                        f"gave up after {result.attempts} attempts: {url} timed out"
                    ) from None
                await self._wait(result, _Retryable("timeout", None, None), failures)
            except httpx.TransportError as exc:
                failures += 1
                reason = f"cannot reach {url}: {type(exc).__name__}: {exc}"
                if failures >= config.max_attempts:
                    raise CXonePublishError(
                        f"gave up after {result.attempts} attempts: {reason}"
                    ) from None
                await self._wait(result, _Retryable(reason, None, None), failures)

    async def _token_or_retryable(self, result: PublishResult) -> str | None:
        """A token; ``None`` when the token endpoint is down (retried like a 5xx)."""
        try:
            return await self.tokens.token(self.http)
        except TokenEndpointUnavailable as exc:
            result.error = exc.message
            log.info("%s", exc.message)
            return None

    def _check_answer(self, response: httpx.Response, url: str, result: PublishResult) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        if status == 403:
            scope = missing_scope(response) or self.config.scope.split()[0]
            raise CXoneScopeError(
                f"{url} refused the request (HTTP 403): the token lacks scope {scope!r}; "
                "grant it to the API application and request it in the token",
                scope=scope,
            )
        if status == 429:
            wait = parse_retry_after(response.headers.get("retry-after"))
            raise _Retryable("rate limited (HTTP 429)", status, wait)
        if status >= 500 or status == 408:
            raise _Retryable(f"HTTP {status} from {url}", status, None)
        raise CXonePublishError(
            f"{url} refused the event (HTTP {status}): {snippet(response)}",
            status=status,
            body=response.text[:BODY_SNIPPET],
        )

    async def _wait(self, result: PublishResult, retry: _Retryable, failures: int) -> None:
        config = self.config
        if retry.wait is not None:
            capped = cap_delay(retry.wait, config.retry_after_cap)
            if capped.capped:
                result.retry_after_capped = True
                log.warning(
                    "Retry-After of %.0f s capped to %.0f s (retry_after_cap)",
                    capped.requested,
                    capped.seconds,
                )
            delay = capped.seconds
        else:
            delay = backoff_delay(failures, config.backoff_base, config.backoff_cap, self._rng)
        log.info("retrying event %s in %.2f s: %s", result.idempotency_key, delay, retry.reason)
        result.waited_seconds += delay
        if delay > 0:
            await self._sleep(delay)

    # --- outbox ---------------------------------------------------------------------------
    async def retry_outbox(self, *, limit: int = 1000, concurrency: int = 8) -> dict[str, int]:
        """Send due outbox entries again (same idempotency keys). Returns
        ``{"attempted", "published", "dead_lettered", "remaining"}``. Failures that retrying
        may fix are rescheduled with backoff; an event CXone refuses outright (a 4xx other
        than 408/429) becomes a dead letter (stage ``publish``), so it neither loops in the
        outbox forever nor is lost."""
        if self.store is None:
            raise InputError("retry_outbox needs a store (CXoneClient(..., store=Store(dir)))")
        store = self.store
        due = store.outbox_due(limit=limit)
        results = [PublishResult(entry["key"]) for entry in due]
        queue = iter(range(len(due)))

        async def worker() -> None:
            for i in queue:
                entry, result = due[i], results[i]
                try:
                    await self._publish_into(result, encode_event(entry["event"]), self.limiter)
                except (CXoneError, InputError) as exc:
                    if is_refusal(exc):
                        _fail(result, "failed", exc)
                        store.outbox_to_dead_letter(
                            entry["id"], "publish", f"CXone refused the event: {exc}"
                        )
                        log.error("outbox event %s refused: %s", entry["key"], exc)
                        continue
                    _fail(result, "outbox", exc)
                    delay = backoff_delay(entry["attempts"] + 1, 30.0, 3600.0, self._rng)
                    store.outbox_retry_later(entry["id"], str(exc), time.time() + 30.0 + delay)
                else:
                    store.outbox_done(entry["id"])

        await asyncio.gather(*(worker() for _ in range(min(concurrency, len(due)) or 1)))
        return {
            "attempted": len(due),
            "published": sum(r.ok for r in results),
            "dead_lettered": sum(r.status == "failed" for r in results),
            "remaining": store.outbox_size(),
        }

    # --- reading --------------------------------------------------------------------------
    async def read_events(self, since: str | None = None, limit: int = 100) -> AsyncIterator[Any]:
        """Events from the events API, page by page (``{"events": [...], "next": cursor}``).
        ``last_cursor`` holds where to resume after the iteration ends."""
        url = await self.events_url()
        cursor = since
        refreshed = False
        failures = 0
        while True:
            params: dict[str, str | int] = {"limit": limit}
            if cursor is not None:
                params["since"] = cursor
            try:
                token = await self.tokens.token(self.http)
                response = await self.http.get(
                    url, params=params, headers={"Authorization": f"Bearer {token}"}
                )
            except (httpx.TransportError, TokenEndpointUnavailable) as exc:
                failures += 1
                if failures >= self.config.max_attempts:
                    raise CXoneError(f"cannot read events from {url}: {exc}") from None
                await self._sleep(
                    backoff_delay(
                        failures, self.config.backoff_base, self.config.backoff_cap, self._rng
                    )
                )
                continue
            if response.status_code == 401 and not refreshed:
                self.tokens.invalidate(token)
                refreshed = True
                continue
            refreshed = False
            try:
                self._check_answer(response, url, PublishResult(""))
            except _Retryable as retry:
                failures += 1
                if failures >= self.config.max_attempts:
                    raise CXoneError(f"cannot read events from {url}: {retry.reason}") from None
                wait = (
                    retry.wait
                    if retry.wait is not None
                    else backoff_delay(
                        failures, self.config.backoff_base, self.config.backoff_cap, self._rng
                    )
                )
                await self._sleep(cap_delay(wait, self.config.retry_after_cap).seconds)
                continue
            failures = 0
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


def is_refusal(exc: Exception) -> bool:
    """Whether CXone refused an event for good (a 4xx other than 408/429): sending the same
    event again cannot help, so it must not be parked in the outbox."""
    return (
        isinstance(exc, CXonePublishError)
        and exc.status is not None
        and 400 <= exc.status < 500
        and exc.status not in (408, 429)
    )


def _fail(result: PublishResult, status: Status, exc: EvolveKitError) -> None:
    result.status = status
    result.error = str(exc)
    result.exception = exc


def _advertise(limiter: AdaptiveRateLimiter, response: httpx.Response) -> None:
    limit = response.headers.get("x-ratelimit-limit")
    if limit:
        with contextlib.suppress(ValueError):
            limiter.advertise(float(limit))
