from __future__ import annotations

import asyncio
import base64
import logging
from urllib.parse import parse_qs

import httpx
import pytest

from evolvekit.cxone.auth import (
    ClientCredentialsProvider,
    CXonePasswordProvider,
    StaticTokenProvider,
    TokenEndpointUnavailable,
    TokenProvider,
    provider_for,
)
from evolvekit.cxone.config import CXoneConfig, Secret
from evolvekit.cxone.simulator import create_app
from evolvekit.errors import ConfigError, CXoneAuthError

TOKEN_URL = "http://auth.test/oauth/token"


def token_server(
    body: bytes,
    status: int = 200,
    content_type: str = "application/json",
    seen: list[httpx.Request] | None = None,
) -> httpx.AsyncClient:
    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(request)
        return httpx.Response(status, content=body, headers={"content-type": content_type})

    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


def provider(**cache: object) -> ClientCredentialsProvider:
    return ClientCredentialsProvider(
        TOKEN_URL, "app", Secret("the-secret"), scope="events:ingest", **cache
    )  # type: ignore[arg-type]


async def test_client_credentials_form_and_cache() -> None:
    seen: list[httpx.Request] = []
    async with token_server(b'{"access_token": "T1", "expires_in": 3600}', seen=seen) as http:
        p = provider()
        assert isinstance(p, TokenProvider)
        assert await p.token(http) == "T1"
        assert await p.token(http) == "T1"
    assert p.requests == 1 and len(seen) == 1
    form = parse_qs(seen[0].content.decode())
    assert form == {
        "grant_type": ["client_credentials"],
        "client_id": ["app"],
        "client_secret": ["the-secret"],
        "scope": ["events:ingest"],
    }
    assert seen[0].headers["accept"] == "application/json"


async def test_refreshes_ahead_of_expiry_and_after_invalidate() -> None:
    now = [0.0]
    async with token_server(b'{"access_token": "T", "expires_in": 100}') as http:
        p = provider(skew=10.0, clock=lambda: now[0])
        await p.token(http)
        now[0] = 89.0
        await p.token(http)
        assert p.requests == 1
        now[0] = 91.0  # inside the skew window: refreshed before the server would refuse it
        await p.token(http)
        assert p.requests == 2
        p.invalidate("some-other-token")  # a stale rejection does not discard the new token
        await p.token(http)
        assert p.requests == 2
        p.invalidate("T")
        await p.token(http)
        assert p.requests == 3


async def test_concurrent_callers_share_one_refresh() -> None:
    app = create_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        p = ClientCredentialsProvider("http://sim/oauth/token", "app", Secret("s"))
        tokens = await asyncio.gather(*(p.token(http) for _ in range(50)))
    assert len(set(tokens)) == 1
    assert p.requests == 1 and app.state.snapshot()["token_requests"] == 1


async def test_missing_expires_in_assumes_default_and_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [0.0]
    caplog.set_level(logging.WARNING, logger="evolvekit.cxone")
    async with token_server(b'{"access_token": "T"}') as http:
        p = provider(default_ttl=3600.0, skew=60.0, clock=lambda: now[0])
        await p.token(http)
        now[0] = 3500.0
        await p.token(http)
        assert p.requests == 1
    assert "no expires_in; assuming 3600 s" in caplog.text


@pytest.mark.parametrize("expires", [b'"soon"', b"-5", b"true", b"null", b"[1]"])
async def test_unusable_expires_in_is_a_clear_error(expires: bytes) -> None:
    body = b'{"access_token": "T", "expires_in": ' + expires + b"}"
    async with token_server(body) as http:
        if expires == b"null":  # null is "absent": the documented default applies
            assert await provider().token(http) == "T"
            return
        with pytest.raises(CXoneAuthError, match="expires_in"):
            await provider().token(http)


async def test_numeric_string_expires_in_is_accepted() -> None:
    async with token_server(b'{"access_token": "T", "expires_in": "120"}') as http:
        assert await provider().token(http) == "T"


@pytest.mark.parametrize(
    ("body", "ctype", "status", "expected"),
    [
        (b"<html><body>Service Unavailable</body></html>", "text/html", 200, "text/html"),
        (b"", "application/json", 200, "empty body"),
        (b'{"token": "x"}', "application/json", 200, "without an access_token"),
        (b'{"error": "invalid_client"}', "application/json", 401, "invalid_client"),
        (b"<html>Bad gateway</html>", "text/html", 502, "HTTP 502"),
    ],
)
async def test_token_endpoint_nonsense(body: bytes, ctype: str, status: int, expected: str) -> None:
    async with token_server(body, status, ctype) as http:
        with pytest.raises(CXoneAuthError, match=expected) as err:
            await provider().token(http)
    assert "the-secret" not in str(err.value)


async def test_refused_credentials_are_remembered_briefly() -> None:
    seen: list[httpx.Request] = []
    async with token_server(b'{"error": "invalid_client"}', 401, seen=seen) as http:
        p = provider()
        results = await asyncio.gather(*(p.token(http) for _ in range(20)), return_exceptions=True)
    assert all(isinstance(r, CXoneAuthError) for r in results)
    assert len(seen) == 1


async def test_unreachable_token_endpoint() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as http:
        with pytest.raises(CXoneAuthError, match="cannot reach token endpoint"):
            await provider().token(http)


async def test_password_grant_discovery_basic_auth_and_url_encoding() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/.well-known/openid-configuration":
            return httpx.Response(200, json={"token_endpoint": "http://idp.test/auth/token"})
        return httpx.Response(200, json={"access_token": "AT", "expires_in": 3600})

    p = CXonePasswordProvider(
        "http://idp.test/", "client id", Secret("c&secret"), "AKID", Secret("p@ss=word&x")
    )
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        assert await p.token(http) == "AT"
    discovery, token_request = seen
    assert str(discovery.url) == "http://idp.test/.well-known/openid-configuration"
    assert str(token_request.url) == "http://idp.test/auth/token"
    assert token_request.headers["content-type"] == "application/x-www-form-urlencoded"
    raw = token_request.content.decode()
    assert "password=p%40ss%3Dword%26x" in raw  # form values URL-encoded
    assert parse_qs(raw)["grant_type"] == ["password"] and parse_qs(raw)["username"] == ["AKID"]
    scheme, _, value = token_request.headers["authorization"].partition(" ")
    assert scheme == "Basic" and base64.b64decode(value).decode() == "client id:c&secret"


async def test_password_grant_against_the_cxone_simulator_discovers_the_api() -> None:
    app = create_app("cxone", client_id="app", client_secret="s")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sim"
    ) as http:
        good = CXonePasswordProvider("http://sim", "app", Secret("s"), "AK", Secret("AS"))
        assert await good.api_endpoint(http) == "http://sim"
        assert good.tenant_id
        bad = CXonePasswordProvider("http://sim", "app", Secret("wrong"), "AK", Secret("AS"))
        with pytest.raises(CXoneAuthError, match="invalid_client"):
            await bad.token(http)


async def test_static_provider() -> None:
    p = StaticTokenProvider(Secret("bearer-123"))
    async with httpx.AsyncClient() as http:
        assert await p.token(http) == "bearer-123"
        p.invalidate("bearer-123")
        with pytest.raises(CXoneAuthError, match="CXONE_TOKEN"):
            await p.token(http)
    assert "bearer-123" not in repr(p)


def test_provider_for_each_mode() -> None:
    assert isinstance(
        provider_for(CXoneConfig.for_simulator("http://s")), ClientCredentialsProvider
    )
    assert isinstance(
        provider_for(CXoneConfig.for_simulator("http://s", profile="cxone")), CXonePasswordProvider
    )
    assert isinstance(provider_for(CXoneConfig(auth_mode="bearer", token="t")), StaticTokenProvider)
    with pytest.raises(ConfigError, match="CXONE_CLIENT_ID"):
        provider_for(CXoneConfig())


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
async def test_an_unavailable_token_endpoint_is_transient_and_not_remembered(
    status: int,
) -> None:
    seen: list[httpx.Request] = []
    async with token_server(b"<html>down</html>", status, "text/html", seen=seen) as http:
        p = provider()
        for _ in range(2):
            with pytest.raises(TokenEndpointUnavailable, match=f"unavailable \\(HTTP {status}\\)"):
                await p.token(http)
    # An outage is not a verdict on the credentials: every caller asks again.
    assert len(seen) == 2


async def test_refused_credentials_are_not_transient() -> None:
    async with token_server(b'{"error": "invalid_client"}', 401) as http:
        with pytest.raises(CXoneAuthError) as err:
            await provider().token(http)
    assert not isinstance(err.value, TokenEndpointUnavailable)
