"""Token providers: where bearer tokens come from, cached and refreshed ahead of expiry.

One protocol, four flows:

- ``ClientCredentialsProvider``: OAuth 2.0 client credentials (the tutorial's flow).
- ``CXonePasswordProvider`` and ``CXoneAccessKeyProvider`` (in ``platform_auth``): the real
  platform's back-end app flows, with discovery, JWT claims and the refresh_token grant.
- ``StaticTokenProvider``: a bearer token handed in from outside.

When a token answer carries a ``refresh_token``, the next renewal (ahead of expiry, or after
a 401) uses the ``refresh_token`` grant first and falls back to a new grant if it is refused.

Concurrent callers share one refresh: a lock plus a re-check after acquiring it, so fifty
publishes that all find the token expired cause exactly one token request.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import httpx
import orjson

from evolvekit.cxone.config import CXoneConfig, Secret
from evolvekit.errors import CXoneAuthError

log = logging.getLogger("evolvekit.cxone")

# Token endpoint answers that say "not now" rather than "not you": retried like a 5xx.
_TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class TokenEndpointUnavailable(CXoneAuthError):
    """The token (or discovery) endpoint is unreachable, timed out or answered 408/429/5xx:
    a CXone outage, not a credentials problem, so callers retry it like a 5xx."""


@runtime_checkable
class TokenProvider(Protocol):
    async def token(self, client: httpx.AsyncClient) -> str:
        """A bearer token that is valid now (fetching one if needed)."""
        ...

    def invalidate(self, token: str) -> None:
        """The server rejected ``token``: forget it (if it is still the cached one)."""
        ...


def _describe_body(response: httpx.Response) -> str:
    kind = response.headers.get("content-type", "no content type").split(";")[0]
    if not response.content:
        return "an empty body"
    return f"{kind} ({len(response.content)} bytes), not JSON"


def parse_json_object(response: httpx.Response, what: str) -> dict[str, Any]:
    """The response body as a JSON object, else CXoneAuthError saying what came instead."""
    try:
        data = orjson.loads(response.content) if response.content else None
    except orjson.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        raise CXoneAuthError(
            f"{what} {response.request.url} answered HTTP {response.status_code} with "
            f"{_describe_body(response)}"
        )
    return data


class CachingTokenProvider:
    """Shared caching and single-flight refresh; subclasses implement ``_fetch``."""

    def __init__(
        self,
        *,
        skew: float = 60.0,
        default_ttl: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.skew = skew
        self.default_ttl = default_ttl
        self._clock = clock
        self._token: str | None = None
        self._refresh_at = 0.0
        self._lock: asyncio.Lock | None = None
        self.requests = 0  # token requests made, for tests and stats
        # A refused refresh is remembered briefly so many concurrent publishes with bad
        # credentials make one token request, not one each.
        self.failure_memory = 2.0
        self._failure: CXoneAuthError | None = None
        self._failed_at = -math.inf
        self._refresh_token: str | None = None
        self.grants: dict[str, int] = {}  # token requests by grant type, for tests and doctor

    def _valid(self) -> bool:
        return self._token is not None and self._clock() < self._refresh_at

    async def token(self, client: httpx.AsyncClient) -> str:
        if self._valid():
            assert self._token is not None
            return self._token
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._valid():  # another caller refreshed while we waited
                assert self._token is not None
                return self._token
            if self._failure is not None and self._clock() - self._failed_at < self.failure_memory:
                raise self._failure
            self.requests += 1
            try:
                token, ttl = await self._renew(client)
            except TokenEndpointUnavailable:
                raise  # an outage: the next caller should try again, not be told "no"
            except CXoneAuthError as exc:
                self._failure, self._failed_at = exc, self._clock()
                raise
            self._failure = None
            # A skew as long as the lifetime would refresh on every call: use at most half.
            skew = min(self.skew, ttl / 2)
            self._token = token
            self._refresh_at = self._clock() + ttl - skew
            log.debug("new access token, valid %.0f s (refresh %.0f s early)", ttl, skew)
            return token

    def invalidate(self, token: str) -> None:
        if token == self._token:
            self._token = None
            self._refresh_at = 0.0

    async def _renew(self, client: httpx.AsyncClient) -> tuple[str, float]:
        """The refresh_token grant when there is a refresh token, else (or when it is
        refused) a new grant."""
        refresh, self._refresh_token = self._refresh_token, None
        if refresh is not None:
            try:
                return await self._refresh(client, refresh)
            except TokenEndpointUnavailable:
                self._refresh_token = refresh  # an outage: keep it for the next try
                raise
            except CXoneAuthError as exc:
                log.info("refresh token refused, asking for a new grant: %s", exc.message)
        return await self._fetch(client)

    async def _fetch(self, client: httpx.AsyncClient) -> tuple[str, float]:
        raise NotImplementedError

    async def _refresh(self, client: httpx.AsyncClient, refresh_token: str) -> tuple[str, float]:
        """The refresh_token grant; flows without one ask for a new grant."""
        return await self._fetch(client)

    def _count(self, grant: str) -> None:
        self.grants[grant] = self.grants.get(grant, 0) + 1

    async def _grant(
        self,
        client: httpx.AsyncClient,
        url: str,
        grant: str,
        fields: dict[str, str],
        *,
        scope: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[str, float]:
        """One OAuth2 token request at ``url``: ``grant_type=grant`` with ``fields`` (and
        ``scope`` when set), counted in ``grants``; the token and its lifetime."""
        form = {"grant_type": grant, **fields}
        if scope:
            form["scope"] = scope
        self._count(grant)
        return await self._request_token(client, url, form, headers)

    async def _post(self, client: httpx.AsyncClient, url: str, **request: Any) -> httpx.Response:
        """POST to the token endpoint ``url``; no answer at all (timeout, connection refused
        or dropped) is TokenEndpointUnavailable."""
        try:
            return await client.post(url, **request)
        except httpx.TimeoutException:
            raise TokenEndpointUnavailable(f"token endpoint {url} timed out") from None
        except httpx.TransportError as exc:
            raise TokenEndpointUnavailable(f"cannot reach token endpoint {url}: {exc}") from None

    async def _request_token(
        self,
        client: httpx.AsyncClient,
        url: str,
        form: dict[str, str],
        headers: dict[str, str] | None = None,
    ) -> tuple[str, float]:
        # httpx URL-encodes ``data`` as application/x-www-form-urlencoded.
        response = await self._post(
            client, url, data=form, headers={"Accept": "application/json", **(headers or {})}
        )
        if response.status_code in _TRANSIENT_STATUSES:
            raise TokenEndpointUnavailable(
                f"token endpoint {url} is unavailable (HTTP {response.status_code}): "
                f"{_describe_body(response) if response.content else 'an empty body'}"
            )
        if response.status_code != 200:
            detail = ""
            try:
                body = orjson.loads(response.content)
                if isinstance(body, dict):
                    detail = ": " + " ".join(
                        str(body[k]) for k in ("error", "error_description") if k in body
                    )
            except orjson.JSONDecodeError:
                detail = f": {_describe_body(response)}"
            raise CXoneAuthError(
                f"token endpoint {url} refused the credentials (HTTP {response.status_code})"
                + detail
            )
        return self._accept(response, url)

    def _accept(self, response: httpx.Response, url: str) -> tuple[str, float]:
        """The access token and lifetime of a 200 answer; keeps its refresh token."""
        data = parse_json_object(response, "token endpoint")
        access = data.get("access_token")
        if not isinstance(access, str) or not access:
            raise CXoneAuthError(f"token endpoint {url} answered without an access_token")
        refresh = data.get("refresh_token")
        self._refresh_token = refresh if isinstance(refresh, str) and refresh else None
        return access, self._ttl(data, url)

    def _ttl(self, data: dict[str, Any], url: str) -> float:
        raw = data.get("expires_in")
        if raw is None:
            log.warning(
                "token endpoint %s gave no expires_in; assuming %.0f s", url, self.default_ttl
            )
            return self.default_ttl
        if isinstance(raw, bool):
            raw = "bool"
        try:
            ttl = float(raw)
        except (TypeError, ValueError):
            raise CXoneAuthError(
                f"token endpoint {url} gave a non-numeric expires_in: {str(raw)[:40]!r}"
            ) from None
        if math.isnan(ttl) or math.isinf(ttl) or ttl <= 0:
            raise CXoneAuthError(f"token endpoint {url} gave an unusable expires_in: {raw!r}")
        return ttl


class ClientCredentialsProvider(CachingTokenProvider):
    """OAuth 2.0 client credentials: ``client_id``/``client_secret`` in the form body."""

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: Secret,
        scope: str | None = None,
        **cache: Any,
    ) -> None:
        super().__init__(**cache)
        self.token_url = token_url
        self.client_id = client_id
        self._secret = client_secret
        self.scope = scope

    def __repr__(self) -> str:
        return f"ClientCredentialsProvider({self.token_url!r}, client_id={self.client_id!r})"

    async def _fetch(self, client: httpx.AsyncClient) -> tuple[str, float]:
        fields = {"client_id": self.client_id, "client_secret": self._secret.reveal()}
        return await self._grant(
            client, self.token_url, "client_credentials", fields, scope=self.scope
        )


class StaticTokenProvider:
    """A bearer token given from outside; a rejection cannot be fixed by refreshing."""

    def __init__(self, token: Secret) -> None:
        self._token = token
        self.requests = 0
        self.rejected = False

    def __repr__(self) -> str:
        return "StaticTokenProvider(Secret('****'))"

    async def token(self, client: httpx.AsyncClient) -> str:
        if self.rejected:
            raise CXoneAuthError("the configured bearer token (CXONE_TOKEN) was rejected")
        return self._token.reveal()

    def invalidate(self, token: str) -> None:
        self.rejected = True


def provider_for(config: CXoneConfig) -> TokenProvider:
    """The token provider the configuration's ``auth_mode`` asks for."""
    config.require_credentials()
    cache = {"skew": config.token_skew_seconds, "default_ttl": config.default_token_ttl}
    if config.auth_mode == "bearer":
        assert config.token is not None
        return StaticTokenProvider(config.token)
    from evolvekit.cxone import platform_auth

    if config.auth_mode == "cxone_access_key":
        assert config.access_key_id is not None and config.access_key_secret is not None
        return platform_auth.CXoneAccessKeyProvider(
            config.issuer, config.access_key_id, config.access_key_secret, **cache
        )
    assert config.client_id is not None and config.client_secret is not None
    if config.auth_mode == "cxone_password":
        assert config.access_key_id is not None and config.access_key_secret is not None
        return platform_auth.CXonePasswordProvider(
            config.issuer,
            config.client_id,
            config.client_secret,
            config.access_key_id,
            config.access_key_secret,
            scope=config.scope or None,
            **cache,
        )
    return ClientCredentialsProvider(
        config.resolved_token_url,
        config.client_id,
        config.client_secret,
        scope=config.scope or None,
        **cache,
    )


_PLATFORM_NAMES = ("CXonePasswordProvider", "CXoneAccessKeyProvider", "PlatformTokenProvider")


def __getattr__(name: str) -> Any:
    # The platform's providers live in platform_auth (which builds on this module); they
    # are importable from here as well, as they were before the split.
    if name in _PLATFORM_NAMES:
        from evolvekit.cxone import platform_auth

        return getattr(platform_auth, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
