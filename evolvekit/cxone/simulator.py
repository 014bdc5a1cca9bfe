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
import itertools
import math
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from email.utils import formatdate
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from evolvekit.cxone.faults import FAULT_SPEC_HELP, Fault, parse_fault_spec
from evolvekit.cxone.sim_platform import PlatformAPI
from evolvekit.cxone.sim_state import (
    RETRY_AFTER_FORMS,
    IssuedToken,
    Profile,
    RetryAfterForm,
    SimulatorState,
    TokenBucket,
)
from evolvekit.cxone.sim_tokens import SimTokens
from evolvekit.cxone.uvicorn_thread import SimulatorServer
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
        self.tokens = SimTokens(state)
        self.platform = PlatformAPI(self)
        routes = [
            Route("/api/v2/events", self._post_event, methods=["POST"]),
            Route("/api/v2/events", self._get_events, methods=["GET"]),
            Route("/_simulator/events", self._inspect_events, methods=["GET"]),
            Route("/_simulator/stats", self._inspect_stats, methods=["GET"]),
            Route("/_simulator/reset", self._reset, methods=["POST"]),
            Route("/_simulator/faults", self._faults, methods=["POST"]),
            *self.platform.routes(),
        ]
        if state.profile == "tutorial":
            routes.append(Route("/oauth/token", self.tokens.client_credentials, methods=["POST"]))
        else:
            routes += self.tokens.cxone_routes()
        self._app = Starlette(routes=routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        scope[_RAW_SEND] = send
        path = str(scope.get("path", ""))
        latency = self.state.latency_ms
        if latency > 0 and not path.startswith("/_simulator/"):
            # Simulated network + server time on every API request (not on inspection).
            await self.sleep(latency / 1000)
        if path.startswith("/_simulator/"):
            await self._app(scope, receive, send)
            return
        correlation = uuid.uuid4().hex if self.state.profile == "cxone" else None

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                # The rate limit's X-RateLimit-* headers, set by the gate for an accepted
                # request, on every route's answer (a 429 states them itself).
                limit_headers = scope.get("state", {}).get("limit_headers") or {}
                headers += [(k.lower().encode(), v.encode()) for k, v in limit_headers.items()]
                if correlation is not None:
                    # The platform names each request with a CorrelationId response header.
                    headers.append((b"correlationid", correlation.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self._app(scope, receive, send_with_headers)

    @staticmethod
    def drop_connection() -> Response:
        """A response that closes the connection without answering (fault injection)."""
        return _DropConnection()

    @staticmethod
    def is_dry_run(request: Request) -> bool:
        return _dry_run(request)

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

    async def gate(
        self, request: Request, scope_needed: str | None
    ) -> tuple[Fault | None, IssuedToken] | Response:
        """Checks shared by the data endpoints (events, DFO, work items); a Response means
        "answer this". ``scope_needed`` None: the endpoint checks no scope (the platform's
        DFO and work-item scopes are not imitated)."""
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
                if fault.status == 429:
                    with state.lock:
                        state.count_throttled("throttled_by_fault")
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
        throttled = self._throttle(request, info)
        if throttled is not None:
            return throttled
        if scope_needed is not None and scope_needed not in info.scopes:
            return JSONResponse(
                {
                    "error": "insufficient_scope",
                    "scope": scope_needed,
                    "error_description": f"token lacks scope {scope_needed}",
                },
                status_code=403,
            )
        return fault, info

    def _throttle(self, request: Request, info: IssuedToken) -> Response | None:
        """The per-client token bucket: a 429 when it is empty, else None."""
        state = self.state
        if not state.rate_limit:
            return None
        now = state.clock()
        with state.lock:
            bucket = state.buckets.setdefault(info.client_id, TokenBucket(state.rate_limit, now))
            wait = bucket.take(now)
            remaining = int(bucket.tokens)
            if wait:
                state.count_throttled("throttled_by_rate_limit")
        if wait:
            headers = self._limit_headers(0)
            if state.retry_after != "none":
                headers["Retry-After"] = self._retry_after(wait)
            return JSONResponse(
                {"error": "rate_limited", "retry_after_seconds": wait},
                status_code=429,
                headers=headers,
            )
        request.state.limit_headers = self._limit_headers(remaining)
        return None

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
        gate = await self.gate(request, "events:ingest")
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
        if _dry_run(request):
            return JSONResponse({"dryRun": True, "status": "valid"}, status_code=200)
        if fault is not None and fault.kind == "lose":
            return JSONResponse({"id": f"evt-{next(self._ids)}", "status": "accepted"}, 202)
        receipt, stored = self.state.store_once(
            "events",
            request.url.path,
            key,
            body,
            lambda: {"id": f"evt-{next(self._ids)}", "status": "accepted"},
        )
        status = 202 if stored else 200
        if fault is not None and fault.kind == "drop-after":
            return _DropConnection()
        return JSONResponse(receipt, status_code=status)

    async def _get_events(self, request: Request) -> Response:
        gate = await self.gate(request, "events:read")
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
        page = [e.body for e in self.state.entries[start : start + limit]]
        events = b",".join(page)
        payload = (
            b'{"events":[' + events + b'],"next":' + orjson.dumps(str(start + len(page))) + b"}"
        )
        return Response(payload, media_type="application/json")

    # --- inspection -----------------------------------------------------------------------
    async def _inspect_events(self, request: Request) -> Response:
        """Every stored entry, in storage order, as one JSON list of objects
        ``{"path", "key", "target", "body"}``: the request path, the idempotency key it was
        stored under (``Idempotency-Key``, ``idOnExternalPlatform`` or ``workItemID``; ``null``
        when the request carried none), the target (``events``, ``dfo`` or ``workitem``) and
        the body exactly as stored. ``?bodies=true`` answers with the bare list of bodies
        instead; an unknown parameter or value is a 400 naming it."""
        bodies_only = _bodies_only(request)
        if isinstance(bodies_only, Response):
            return bodies_only
        with self.state.lock:
            entries = list(self.state.entries)
        if bodies_only:
            items = [e.body for e in entries]
        else:
            items = [
                b'{"path":%s,"key":%s,"target":%s,"body":%s}'
                % (orjson.dumps(e.path), orjson.dumps(e.key or None), orjson.dumps(e.kind), e.body)
                for e in entries
            ]
        return Response(b"[" + b",".join(items) + b"]", media_type="application/json")

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
        settings = {
            "rate_limit": state.rate_limit,
            "token_ttl": state.token_ttl,
            "scopes": " ".join(sorted(state.scopes)) if state.scopes is not None else None,
            "retry_after": state.retry_after,
            "latency_ms": state.latency_ms,
        }
        if state.profile == "cxone":
            settings["extraction_spacing"] = state.extraction_spacing
            settings["extraction_url_ttl"] = state.extraction_url_ttl
        return settings


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


def _bodies_only(request: Request) -> bool | Response:
    """``GET /_simulator/events``'s one parameter, ``bodies=true|false``; anything else is
    a 400 naming it (never silently ignored)."""
    unknown = sorted(set(request.query_params) - {"bodies"})
    if unknown:
        return JSONResponse(
            {"error": f"unknown query parameter {unknown[0]!r} (accepted: bodies=true|false)"},
            status_code=400,
        )
    values = request.query_params.getlist("bodies")
    if len(values) > 1 or (values and values[0] not in ("true", "false")):
        return JSONResponse(
            {"error": f"bodies must be true or false, not {'&'.join(values)!r}"},
            status_code=400,
        )
    return values == ["true"]


def _dry_run(request: Request) -> bool:
    """The simulator's ``Dry-Run: true`` header: check everything, store nothing."""
    return request.headers.get("dry-run", "").strip().lower() in ("1", "true", "yes")


def create_app(
    profile: Profile | str = "tutorial",
    *,
    rate_limit: float | None = None,
    token_ttl: float = 3600,
    faults: str = "",
    client_id: str | None = None,
    client_secret: str | None = None,
    scopes: str | None = None,
    retry_after: RetryAfterForm = "seconds",
    clock: Callable[[], float] = time.monotonic,
    limit_headers: bool = True,
    latency_ms: float = 0.0,
    extraction_spacing: float = 30.0,
    extraction_url_ttl: float = 30.0,
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
    if retry_after not in RETRY_AFTER_FORMS:
        raise ConfigError("retry_after must be 'seconds', 'date' or 'none'")
    if latency_ms < 0:
        raise ConfigError("latency must be >= 0 milliseconds")
    if extraction_spacing < 0 or extraction_url_ttl < 0:
        raise ConfigError("extraction spacing and URL lifetime must be >= 0 seconds")
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
        extraction_spacing=float(extraction_spacing),
        extraction_url_ttl=float(extraction_url_ttl),
    )
    state.set_faults(faults)
    return SimulatorApp(state)
