"""A local CXone: one Starlette ASGI app, served by uvicorn or used in-process by httpx.

Profiles:

- ``tutorial``: ``POST /oauth/token`` (client credentials), ``POST/GET /api/v2/events``.
- ``cxone``: OpenID discovery (``/.well-known/openid-configuration``), ``POST /auth/token``
  (password grant, HTTP Basic client auth), tenant discovery
  (``/.well-known/cxone-configuration?tenantId=`` naming ``area`` and ``api_endpoint``), the
  same events API, and the platform's quirk of refusing requests whose ``Accept`` header does
  not ask for JSON with 406 "No known way to render data".

Faults follow DESIGN.md ("CXone"); see ``FAULT_SPEC_HELP``. Inspection endpoints live under
``/_simulator/``. The simulator never stores a secret it is given, only compares it.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import math
import secrets
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from email.utils import formatdate
from typing import Any, Literal
from urllib.parse import parse_qs

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from evolvekit.cxone.faults import FAULT_SPEC_HELP, Fault, parse_fault_spec
from evolvekit.cxone.server import SimulatorServer
from evolvekit.cxone.sim_state import IssuedToken, Profile, SimulatorState, TokenBucket
from evolvekit.errors import ConfigError

__all__ = [
    "FAULT_SPEC_HELP",
    "Fault",
    "SimulatorApp",
    "SimulatorServer",
    "SimulatorState",
    "create_app",
    "parse_fault_spec",
]

_RAW_SEND = "evolvekit.simulator.raw_send"


class _DropConnection(Response):
    """Ends the exchange with no HTTP answer at all, as a crashed or cut-off server would."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw_send = scope.get(_RAW_SEND)
        cycle = getattr(raw_send, "__self__", None)
        transport = getattr(cycle, "transport", None)
        if transport is not None and hasattr(transport, "close"):
            # Under uvicorn: close the socket, and let the server see the disconnect before
            # this handler returns, so it does not try to answer on a dead connection.
            transport.close()
            for _ in range(50):
                if getattr(cycle, "disconnected", True):
                    break
                await asyncio.sleep(0.001)
            return
        # In-process (httpx.ASGITransport): the app raising is what a dropped connection
        # looks like to the client; httpx re-raises it as a transport-level error.
        import httpx  # local: only this path needs it

        raise httpx.RemoteProtocolError("simulator dropped the connection (fault injection)")


class SimulatorApp:
    """The ASGI application; ``state`` is the live :class:`SimulatorState`."""

    def __init__(self, state: SimulatorState) -> None:
        self.state = state
        self.sleep: Callable[[float], Awaitable[None]] = asyncio.sleep  # replaceable in tests
        self._ids = itertools.count(1)
        routes = [
            Route("/api/v2/events", self._post_event, methods=["POST"]),
            Route("/api/v2/events", self._get_events, methods=["GET"]),
            Route("/_simulator/events", self._inspect_events, methods=["GET"]),
            Route("/_simulator/stats", self._inspect_stats, methods=["GET"]),
            Route("/_simulator/reset", self._reset, methods=["POST"]),
            Route("/_simulator/faults", self._faults, methods=["POST"]),
        ]
        if state.profile == "tutorial":
            routes.append(Route("/oauth/token", self._token_client_credentials, methods=["POST"]))
        else:
            routes += [
                Route("/.well-known/openid-configuration", self._openid, methods=["GET"]),
                Route("/.well-known/cxone-configuration", self._cxone_config, methods=["GET"]),
                Route("/auth/token", self._token_password, methods=["POST"]),
            ]
        self._app = Starlette(routes=routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope[_RAW_SEND] = send
            latency = self.state.latency_ms
            if latency > 0 and not str(scope.get("path", "")).startswith("/_simulator/"):
                # Simulated network + server time on every API request (not on inspection).
                await self.sleep(latency / 1000)
        await self._app(scope, receive, send)

    # --- tokens ---------------------------------------------------------------------------
    def _client_ok(self, client_id: str | None, secret: str | None) -> bool:
        state = self.state
        if state.client_id is not None and client_id != state.client_id:
            return False
        if state.client_secret is not None:
            return secret is not None and secrets.compare_digest(
                secret.encode(), state.client_secret.encode()
            )
        return True

    def _issue(self, client_id: str, requested: str | None) -> dict[str, Any]:
        state = self.state
        wanted = frozenset((requested or "events:ingest events:read").split())
        granted = wanted & state.scopes if state.scopes is not None else wanted
        if state.profile == "cxone":
            claims = {
                "tenantId": "11111111-2222-3333-4444-555555555555",
                "sub": client_id,
                "jti": uuid.uuid4().hex,
            }
            body = base64.urlsafe_b64encode(orjson.dumps(claims)).rstrip(b"=").decode()
            token = f"eyJhbGciOiJub25lIn0.{body}.sim"
        else:
            token = secrets.token_urlsafe(24)
        with state.lock:
            state.stats["token_requests"] += 1
            state.tokens[token] = IssuedToken(client_id, granted, state.clock() + state.token_ttl)
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": state.token_ttl,
            "scope": " ".join(sorted(granted)),
        }

    async def _token_client_credentials(self, request: Request) -> Response:
        form = await _form(request)
        basic = _basic_credentials(request)
        client_id = basic[0] if basic else _str(form.get("client_id"))
        secret = basic[1] if basic else _str(form.get("client_secret"))
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        if not client_id or not self._client_ok(client_id, secret):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        return JSONResponse(self._issue(client_id, _str(form.get("scope"))))

    async def _token_password(self, request: Request) -> Response:
        form = await _form(request)
        basic = _basic_credentials(request)
        if basic is None or not self._client_ok(*basic):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        if form.get("grant_type") != "password":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        if not form.get("username") or not form.get("password"):
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        return JSONResponse(self._issue(basic[0], _str(form.get("scope"))))

    async def _openid(self, request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        return JSONResponse(
            {
                "issuer": base,
                "token_endpoint": f"{base}/auth/token",
                "grant_types_supported": ["password", "client_credentials", "refresh_token"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            }
        )

    async def _cxone_config(self, request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        tenant = request.query_params.get("tenantId")
        if not tenant:
            return JSONResponse({"error": "tenantId is required"}, status_code=400)
        return JSONResponse(
            {
                "private": False,
                "area": "sim1",
                "cluster": "SIM",
                "domain": "localhost",
                "tenantId": tenant,
                "api_endpoint": base,
                "auth_endpoint": base,
                "ui_endpoint": base,
            }
        )

    # --- events ---------------------------------------------------------------------------
    def _authenticate(self, request: Request) -> tuple[str, IssuedToken] | Response:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return JSONResponse(
                {"error": "invalid_token", "error_description": "no bearer token"}, status_code=401
            )
        with self.state.lock:
            info = self.state.tokens.get(token)
        if info is None or self.state.clock() >= info.expires_at:
            return JSONResponse(
                {
                    "error": "invalid_token",
                    "error_description": "unknown, expired or revoked token",
                },
                status_code=401,
            )
        return token, info

    async def _gate(
        self, request: Request, scope_needed: str
    ) -> tuple[Fault | None, IssuedToken] | Response:
        """Checks shared by the events endpoints; a Response means "answer this"."""
        state = self.state
        with state.lock:
            state.stats["requests"] += 1
        if state.profile == "cxone" and not _accepts_json(request.headers.get("accept")):
            return PlainTextResponse("No known way to render data", status_code=406)
        with state.lock:
            fault = state.faults.popleft() if state.faults else None
            if fault is not None:
                state.stats["faults_injected"] += 1
        if fault is not None and fault.kind == "latency":
            await asyncio.sleep(fault.latency_ms / 1000)
            fault = None
        auth = self._authenticate(request)
        if isinstance(auth, Response):
            return auth
        token, info = auth
        if fault is not None:
            if fault.kind == "status":
                return _fault_response(fault.status)
            if fault.kind == "expire-token":
                with state.lock:
                    state.tokens.pop(token, None)
                return JSONResponse(
                    {"error": "invalid_token", "error_description": "token revoked"},
                    status_code=401,
                )
            if fault.kind == "drop-before":
                return _DropConnection()
        if state.rate_limit:
            now = state.clock()
            with state.lock:
                bucket = state.buckets.setdefault(
                    info.client_id, TokenBucket(state.rate_limit, now)
                )
                wait = bucket.take(now)
                remaining = int(bucket.tokens)
                if wait:
                    state.stats["throttled"] += 1
            if wait:
                return JSONResponse(
                    {"error": "rate_limited", "retry_after_seconds": wait},
                    status_code=429,
                    headers={"Retry-After": self._retry_after(wait), **self._limit_headers(0)},
                )
            request.state.limit_headers = self._limit_headers(remaining)
        if scope_needed not in info.scopes:
            return JSONResponse(
                {
                    "error": "insufficient_scope",
                    "scope": scope_needed,
                    "error_description": f"token lacks scope {scope_needed}",
                },
                status_code=403,
            )
        return fault, info

    def _limit_headers(self, remaining: int) -> dict[str, str]:
        if not self.state.rate_limit or not self.state.limit_headers:
            return {}
        return {
            "X-RateLimit-Limit": f"{self.state.rate_limit:g}",
            "X-RateLimit-Remaining": str(remaining),
        }

    def _retry_after(self, wait: float) -> str:
        seconds = max(1, math.ceil(wait))  # HTTP allows whole seconds only
        if self.state.retry_after == "date":
            # Dates have whole seconds: round up, so a client that honours it is never early.
            return formatdate(math.ceil(time.time()) + seconds, usegmt=True)
        return str(seconds)

    async def _post_event(self, request: Request) -> Response:
        gate = await self._gate(request, "events:ingest")
        if isinstance(gate, Response):
            return gate
        fault, _info = gate
        body = await request.body()
        try:
            orjson.loads(body)
        except orjson.JSONDecodeError:
            return JSONResponse(
                {"error": "invalid_json", "error_description": "the body is not JSON"},
                status_code=400,
            )
        key = request.headers.get("idempotency-key")
        state = self.state
        with state.lock:
            receipt = state.receipts.get(key) if key else None
            if receipt is not None:
                state.stats["duplicates_ignored"] += 1
                status = 200
            else:
                receipt = {"id": f"evt-{next(self._ids)}", "status": "accepted"}
                state.bodies.append(body)
                state.stats["stored"] += 1
                if key:
                    state.receipts[key] = receipt
                status = 202
        if fault is not None and fault.kind == "drop-after":
            return _DropConnection()
        headers = getattr(request.state, "limit_headers", {})
        return JSONResponse(receipt, status_code=status, headers=headers)

    async def _get_events(self, request: Request) -> Response:
        gate = await self._gate(request, "events:read")
        if isinstance(gate, Response):
            return gate
        fault, _info = gate
        if fault is not None:  # drops apply to reads as well
            return _DropConnection()
        try:
            start = int(request.query_params.get("since") or 0)
            limit = int(request.query_params.get("limit") or 100)
        except ValueError:
            return JSONResponse({"error": "since and limit must be integers"}, status_code=400)
        if start < 0 or not 1 <= limit <= 1000:
            return JSONResponse({"error": "since >= 0 and 1 <= limit <= 1000"}, status_code=400)
        with self.state.lock:
            page = self.state.bodies[start : start + limit]
        events = b",".join(page)
        payload = (
            b'{"events":[' + events + b'],"next":' + orjson.dumps(str(start + len(page))) + b"}"
        )
        headers = getattr(request.state, "limit_headers", {})
        return Response(payload, media_type="application/json", headers=headers)

    # --- inspection -----------------------------------------------------------------------
    async def _inspect_events(self, request: Request) -> Response:
        with self.state.lock:
            bodies = list(self.state.bodies)
        # The bodies exactly as received, joined into one JSON list.
        return Response(b"[" + b",".join(bodies) + b"]", media_type="application/json")

    async def _inspect_stats(self, request: Request) -> Response:
        return JSONResponse(self.state.snapshot())

    async def _reset(self, request: Request) -> Response:
        self.state.reset()
        return JSONResponse({"reset": True})

    async def _faults(self, request: Request) -> Response:
        """``{"spec": "..."}`` replaces the fault sequence; ``rate_limit``, ``token_ttl``,
        ``scopes`` and ``retry_after`` change those settings (any combination, all or none
        applied)."""
        usage = (
            'expected a JSON object such as {"spec": "429x3,503"} or '
            '{"rate_limit": 50, "token_ttl": 2, "scopes": "events:read"}'
        )
        try:
            data = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return JSONResponse({"error": usage}, status_code=400)
        if not isinstance(data, dict) or not data:
            return JSONResponse({"error": usage}, status_code=400)
        settings = dict(data)
        spec = settings.pop("spec", None)
        try:
            if spec is not None and not isinstance(spec, str):
                raise ConfigError("spec must be a string")
            parsed = parse_fault_spec(spec) if spec is not None else None
            self.state.configure(**settings)
        except ConfigError as exc:
            return JSONResponse({"error": str(exc).splitlines()[0]}, status_code=400)
        if parsed is not None:
            with self.state.lock:
                self.state.faults = deque(parsed)
        return JSONResponse({"faults": len(self.state.faults), **self._settings()})

    def _settings(self) -> dict[str, Any]:
        state = self.state
        return {
            "rate_limit": state.rate_limit,
            "token_ttl": state.token_ttl,
            "scopes": " ".join(sorted(state.scopes)) if state.scopes is not None else None,
            "retry_after": state.retry_after,
            "latency_ms": state.latency_ms,
        }


def _fault_response(status: int) -> Response:
    if status == 401:
        return JSONResponse({"error": "invalid_token"}, status_code=401)
    if status == 403:
        return JSONResponse(
            {"error": "insufficient_scope", "scope": "events:ingest"}, status_code=403
        )
    return JSONResponse({"error": "injected_fault", "status": status}, status_code=status)


def _accepts_json(accept: str | None) -> bool:
    if not accept:
        return False
    types = {part.split(";")[0].strip().lower() for part in accept.split(",")}
    return bool(types & {"application/json", "application/*"})


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value, validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep else None


async def _form(request: Request) -> dict[str, str]:
    """An application/x-www-form-urlencoded body (no multipart parser needed for OAuth)."""
    body = (await request.body()).decode("utf-8", errors="replace")
    return {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def create_app(
    profile: Profile | str = "tutorial",
    *,
    rate_limit: float | None = None,
    token_ttl: float = 3600,
    faults: str = "",
    client_id: str | None = None,
    client_secret: str | None = None,
    scopes: str | None = None,
    retry_after: Literal["seconds", "date"] = "seconds",
    clock: Callable[[], float] = time.monotonic,
    limit_headers: bool = True,
    latency_ms: float = 0.0,
) -> SimulatorApp:
    """A fresh simulator. ``scopes`` limits what tokens may hold (default: what is asked);
    ``clock`` (seconds, monotonic) drives token expiry and the rate limit, for tests;
    ``limit_headers=False`` hides the rate limit (no ``X-RateLimit-*`` headers), as a server
    that does not state its limit would; ``latency_ms`` delays every API request (not the
    ``/_simulator/`` inspection endpoints) by that many milliseconds, as a distant server would."""
    if profile not in ("tutorial", "cxone"):
        raise ConfigError(f"unknown simulator profile {profile!r} (tutorial or cxone)")
    if rate_limit is not None and rate_limit <= 0:
        raise ConfigError("rate limit must be positive")
    if token_ttl <= 0:
        raise ConfigError("token lifetime must be positive")
    if retry_after not in ("seconds", "date"):
        raise ConfigError("retry_after must be 'seconds' or 'date'")
    if latency_ms < 0:
        raise ConfigError("latency must be >= 0 milliseconds")
    state = SimulatorState(
        profile="cxone" if profile == "cxone" else "tutorial",
        token_ttl=token_ttl,
        rate_limit=rate_limit,
        client_id=client_id,
        client_secret=client_secret,
        scopes=frozenset(scopes.split()) if scopes is not None else None,
        retry_after=retry_after,
        clock=clock,
        limit_headers=limit_headers,
        latency_ms=float(latency_ms),
    )
    state.set_faults(faults)
    return SimulatorApp(state)
