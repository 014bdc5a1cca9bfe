"""The one request loop: send, read the answer, retry what may succeed later.

This is the seam between the CXone client and httpx (as httpx separates transport, auth and
client): ``RequestLoop.send`` takes a method, a URL and a body, and returns a 2xx answer or
raises a ``CXoneError`` subclass. Publishing, reading back and the outbox all go through it,
so there is exactly one place that decides what an answer means (DESIGN.md, "CXone"):

- 2xx: done. 401: the token is invalidated and the request sent again with a *new* token
  (not counted against the retry budget), up to ``max_token_refreshes`` in a row, then
  ``CXoneAuthError``. 403: ``CXoneScopeError``. 408, 429, 5xx, timeouts and connection
  errors: retried; a 429 waits ``Retry-After`` (capped by ``retry_after_cap``) and, without
  one, backs off exponentially with full jitter. Any other 4xx: ``CXonePublishError``.
- Every failed answer is logged with the platform's ``CorrelationId`` (the id NICE support
  asks for), never with a header or body that could hold a secret.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from evolvekit.cxone.auth import TokenEndpointUnavailable, TokenProvider
from evolvekit.cxone.config import CXoneConfig
from evolvekit.cxone.pool import default_transport
from evolvekit.cxone.retry import AdaptiveRateLimiter, backoff_delay, cap_delay, parse_retry_after
from evolvekit.cxone.wire import BODY_SNIPPET, missing_scope, snippet
from evolvekit.errors import (
    CXoneAuthError,
    CXonePublishError,
    CXoneScopeError,
    EvolveKitError,
)

log = logging.getLogger("evolvekit.cxone")

Status = Literal["published", "outbox", "failed"]
ErrorParser = Callable[[httpx.Response], str]


@dataclass
class PublishResult:
    """What happened to one event (or one request, when reading).

    ``status``: ``published``, ``outbox`` (kept for a later retry) or ``failed`` (will not
    succeed by retrying as is: invalid event, refused by the server). ``attempts`` counts
    HTTP requests made; ``waited_seconds`` the time spent waiting before retries;
    ``throttled`` the 429 answers seen; ``retry_after_capped`` whether a server-requested
    wait was cut to the configured cap; ``correlation_id`` the ``CorrelationId`` header of
    the last answer (the platform's id for the request, for support cases).
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
    correlation_id: str | None = None
    exception: EvolveKitError | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.status == "published"

    @property
    def retried(self) -> bool:
        return self.attempts > 1


class Retryable(Exception):
    """An answer worth retrying, with the wait the server asked for (if any)."""

    def __init__(self, reason: str, status: int | None = None, wait: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.wait = wait


def correlation_id(response: httpx.Response) -> str | None:
    value = response.headers.get("correlationid") or response.headers.get("x-correlation-id")
    return str(value) if value else None


def default_error_reason(response: httpx.Response) -> str:
    return snippet(response)


def is_refusal(exc: Exception) -> bool:
    """Whether CXone refused an event for good (a 4xx other than 408/429): sending the same
    event again cannot help, so it must not be parked in the outbox."""
    return (
        isinstance(exc, CXonePublishError)
        and exc.status is not None
        and 400 <= exc.status < 500
        and exc.status not in (408, 429)
    )


def open_http(config: CXoneConfig, transport: httpx.AsyncBaseTransport | None) -> httpx.AsyncClient:
    """The pooled HTTP client every request goes through (``Accept: application/json``: the
    platform answers 406 without it)."""
    return httpx.AsyncClient(
        transport=transport if transport is not None else default_transport(),
        timeout=httpx.Timeout(config.timeout, connect=config.connect_timeout),
        # Used only by httpx's own pool (a proxy in the environment); the sharded pool and a
        # given transport set their own limits.
        limits=httpx.Limits(max_connections=64, max_keepalive_connections=64),
        headers={"Accept": "application/json", "User-Agent": "evolvekit"},
    )


class RequestLoop:
    """Sends one logical request until it succeeds, fails for good or runs out of tries."""

    def __init__(
        self,
        config: CXoneConfig,
        tokens: TokenProvider,
        http: Callable[[], httpx.AsyncClient],
        *,
        rng: random.Random,
        sleep: Callable[[float], Any],
    ) -> None:
        self.config = config
        self.tokens = tokens
        self._http = http
        self._rng = rng
        self._sleep = sleep

    async def send(
        self,
        method: str,
        url: str,
        result: PublishResult,
        *,
        content: bytes | None = None,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
        limiter: AdaptiveRateLimiter | None = None,
        error_reason: ErrorParser = default_error_reason,
    ) -> httpx.Response:
        """The 2xx answer; raises CXoneError subclasses. ``result`` collects the tally."""
        failures = 0  # retryable failures so far; 401 refreshes are not counted
        refreshes = 0  # consecutive 401s, each answered by one retry with a new token
        while True:
            if limiter is not None:
                await limiter.acquire()
            try:
                token, response = await self._attempt(
                    method, url, result, content=content, params=params, headers=headers
                )
                self._record(result, response, limiter)
                if response.status_code == 401:
                    refreshes = self._after_401(token, refreshes, url, response)
                    continue
                refreshes = 0
                self._check(response, method, url, error_reason)
            except Retryable as retry:
                failures += 1
                self._count_throttle(result, retry, limiter)
                self._give_up_if_spent(result, failures, retry)
                await self._wait(result, retry, failures)
                continue
            if limiter is not None:
                limiter.on_success()
            return response

    async def _attempt(
        self,
        method: str,
        url: str,
        result: PublishResult,
        *,
        content: bytes | None,
        params: Mapping[str, str | int] | None,
        headers: Mapping[str, str] | None,
    ) -> tuple[str, httpx.Response]:
        """One HTTP request with a fresh-enough token; Retryable for a transport failure."""
        token = await self._token_or_none(result)
        result.attempts += 1  # a try, even when the token endpoint failed it
        if token is None:
            raise Retryable(result.error or "token endpoint unreachable")
        try:
            return token, await self._http().request(
                method,
                url,
                content=content,
                params=params,
                headers={"Authorization": f"Bearer {token}", **(headers or {})},
            )
        except httpx.TimeoutException:
            raise Retryable(f"{url} timed out") from None
        except httpx.TransportError as exc:
            raise Retryable(f"cannot reach {url}: {type(exc).__name__}: {exc}") from None

    async def _token_or_none(self, result: PublishResult) -> str | None:
        """A token; ``None`` when the token endpoint is down (retried like a 5xx)."""
        try:
            return await self.tokens.token(self._http())
        except TokenEndpointUnavailable as exc:
            result.error = exc.message
            log.info("%s", exc.message)
            return None

    @staticmethod
    def _record(
        result: PublishResult, response: httpx.Response, limiter: AdaptiveRateLimiter | None
    ) -> None:
        result.http_status = response.status_code
        result.correlation_id = correlation_id(response)
        if limiter is not None:
            limit = response.headers.get("x-ratelimit-limit")
            if limit:
                with contextlib.suppress(ValueError):
                    limiter.advertise(float(limit))

    def _after_401(self, token: str, refreshes: int, url: str, response: httpx.Response) -> int:
        self.tokens.invalidate(token)
        _log_failure(response, "will retry with a new token", logging.INFO)
        # Under concurrency a new token can be revoked or expire while in flight, so a 401
        # is retried once per new token, but never in an endless loop.
        if refreshes >= self.config.max_token_refreshes:
            raise CXoneAuthError(
                f"{url} rejected {refreshes + 1} tokens in a row (HTTP 401): {snippet(response)}"
            )
        return refreshes + 1

    def _check(
        self, response: httpx.Response, method: str, url: str, error_reason: ErrorParser
    ) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        cid = correlation_id(response)
        tag = f" [CorrelationId {cid}]" if cid else ""
        if status == 403:
            _log_failure(response, "missing scope", logging.WARNING)
            scope = missing_scope(response) or self.config.scope.split()[0]
            raise CXoneScopeError(
                f"{url} refused the request (HTTP 403): the token lacks scope {scope!r}; "
                f"grant it to the API application and request it in the token{tag}",
                scope=scope,
            )
        if status == 429:
            wait = parse_retry_after(response.headers.get("retry-after"))
            _log_failure(response, "rate limited", logging.INFO)
            raise Retryable(f"rate limited (HTTP 429){tag}", status, wait)
        if status >= 500 or status == 408:
            _log_failure(response, "will retry", logging.INFO)
            raise Retryable(f"HTTP {status} from {url}{tag}", status)
        _log_failure(response, "refused", logging.WARNING)
        raise CXonePublishError(
            f"{url} refused the {'event' if method == 'POST' else 'request'} "
            f"(HTTP {status}): {error_reason(response)}{tag}",
            status=status,
            body=response.text[:BODY_SNIPPET],
        )

    @staticmethod
    def _count_throttle(
        result: PublishResult, retry: Retryable, limiter: AdaptiveRateLimiter | None
    ) -> None:
        if retry.status == 429:
            result.throttled += 1
            if limiter is not None:
                limiter.on_throttle()

    def _give_up_if_spent(self, result: PublishResult, failures: int, retry: Retryable) -> None:
        if failures >= self.config.max_attempts:
            raise CXonePublishError(
                f"gave up after {result.attempts} attempts: {retry.reason}", status=retry.status
            ) from None

    async def _wait(self, result: PublishResult, retry: Retryable, failures: int) -> None:
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
            # No Retry-After (the platform often sends none): exponential, full jitter.
            delay = backoff_delay(failures, config.backoff_base, config.backoff_cap, self._rng)
        log.info("retrying %s in %.2f s: %s", result.idempotency_key, delay, retry.reason)
        result.waited_seconds += delay
        if delay > 0:
            await self._sleep(delay)


def _log_failure(response: httpx.Response, outcome: str, level: int) -> None:
    """One line per failed answer: method, URL without query, status, CorrelationId (INFO
    when it will be retried, WARNING when not). The query is left out because some platform
    endpoints carry data in it; headers and bodies are never logged (they hold tokens)."""
    request = response.request
    url = request.url.copy_with(query=None)
    log.log(
        level,
        "%s %s answered HTTP %d (CorrelationId %s): %s",
        request.method,
        url,
        response.status_code,
        correlation_id(response) or "none",
        outcome,
    )


async def gather_workers(count: int, worker: Callable[[], Any]) -> None:
    """Run ``count`` copies of ``worker`` (at least one) concurrently."""
    await asyncio.gather(*(worker() for _ in range(max(1, count))))
