"""The simulator's token endpoints and discovery documents.

- tutorial: ``POST /oauth/token`` (client credentials, in the form or HTTP Basic).
- cxone: ``/.well-known/openid-configuration``; ``/.well-known/cxone-configuration?tenantId=``
  (404 for an unknown tenant); ``POST /auth/token`` with the ``password`` and ``refresh_token``
  grants (client id/secret in HTTP Basic); ``POST /authentication/v1/token/access-key`` with
  JSON ``{accessKeyId, accessKeySecret}``. Access tokens are JWT-shaped (unsigned: the
  simulator is not an identity provider) with the claims ``tenantId``, ``icBUId`` and
  ``icClusterId``; lifetimes are ``token_ttl`` (3600 s by default).

Secrets handed in are compared, never stored; refresh tokens are random and single-use.
"""

from __future__ import annotations

import base64
import secrets
import time
import uuid
from typing import Any
from urllib.parse import parse_qs

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from evolvekit.cxone.sim_state import IssuedToken, SimulatorState

SIM_TENANT_ID = "11111111-2222-3333-4444-555555555555"
SIM_BUSINESS_UNIT = 4600123
SIM_CLUSTER = "SIM"
_DEFAULT_SCOPES = "events:ingest events:read"


class SimTokens:
    """Issues and checks tokens for a :class:`SimulatorState`."""

    def __init__(self, state: SimulatorState) -> None:
        self.state = state

    def cxone_routes(self) -> list[Route]:
        return [
            Route("/.well-known/openid-configuration", self.openid, methods=["GET"]),
            Route("/.well-known/cxone-configuration", self.cxone_config, methods=["GET"]),
            Route("/auth/token", self.token, methods=["POST"]),
            Route("/authentication/v1/token/access-key", self.access_key, methods=["POST"]),
        ]

    def _client_ok(self, client_id: str | None, secret: str | None) -> bool:
        state = self.state
        if state.client_id is not None and client_id != state.client_id:
            return False
        if state.client_secret is not None:
            return secret is not None and secrets.compare_digest(
                secret.encode(), state.client_secret.encode()
            )
        return True

    def issue(
        self, client_id: str, requested: str | None, grant: str, *, refresh: bool = False
    ) -> dict[str, Any]:
        """A new access token (and, with ``refresh``, a refresh token) as the token
        endpoint's JSON answer; counts the grant."""
        state = self.state
        wanted = frozenset((requested or _DEFAULT_SCOPES).split())
        granted = wanted & state.scopes if state.scopes is not None else wanted
        token = self._jwt(client_id) if state.profile == "cxone" else secrets.token_urlsafe(24)
        answer: dict[str, Any] = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": state.token_ttl,
            "scope": " ".join(sorted(granted)),
        }
        state.count_grant(grant)
        with state.lock:
            state.tokens[token] = IssuedToken(client_id, granted, state.clock() + state.token_ttl)
            if refresh:
                answer["refresh_token"] = secrets.token_urlsafe(24)
                state.refresh_tokens[answer["refresh_token"]] = client_id
        return answer

    def _jwt(self, client_id: str) -> str:
        now = int(time.time())
        claims = {
            "iss": "evolvekit-simulator",
            "sub": client_id,
            "tenantId": SIM_TENANT_ID,
            "icBUId": SIM_BUSINESS_UNIT,
            "icClusterId": SIM_CLUSTER,
            "iat": now,
            "exp": now + int(self.state.token_ttl),
            "jti": uuid.uuid4().hex,
        }
        body = base64.urlsafe_b64encode(orjson.dumps(claims)).rstrip(b"=").decode()
        return f"eyJhbGciOiJub25lIn0.{body}.sim"

    async def client_credentials(self, request: Request) -> Response:
        form = await _form(request)
        basic = basic_credentials(request)
        client_id = basic[0] if basic else _str(form.get("client_id"))
        secret = basic[1] if basic else _str(form.get("client_secret"))
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        if not client_id or not self._client_ok(client_id, secret):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        return JSONResponse(self.issue(client_id, _str(form.get("scope")), "client_credentials"))

    async def token(self, request: Request) -> Response:
        """``/auth/token``: the password and refresh_token grants, HTTP Basic client."""
        form = await _form(request)
        basic = basic_credentials(request)
        if basic is None or not self._client_ok(*basic):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        grant = form.get("grant_type")
        if grant == "password":
            if not form.get("username") or not form.get("password"):
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            answer = self.issue(basic[0], _str(form.get("scope")), "password", refresh=True)
            return JSONResponse(answer)
        if grant == "refresh_token":
            with self.state.lock:
                owner = self.state.refresh_tokens.pop(form.get("refresh_token") or "", None)
            if owner is None or owner != basic[0]:
                return JSONResponse(
                    {"error": "invalid_grant", "error_description": "unknown refresh token"},
                    status_code=400,
                )
            answer = self.issue(basic[0], _str(form.get("scope")), "refresh_token", refresh=True)
            return JSONResponse(answer)
        return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)

    async def access_key(self, request: Request) -> Response:
        """``POST /authentication/v1/token/access-key`` with ``{accessKeyId,
        accessKeySecret}``: a token for the access key, no client credentials needed."""
        try:
            data = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            data = None
        if not isinstance(data, dict):
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        key_id, key_secret = data.get("accessKeyId"), data.get("accessKeySecret")
        if not isinstance(key_id, str) or not key_id or not isinstance(key_secret, str):
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        if not key_secret:
            return JSONResponse({"error": "invalid_grant"}, status_code=401)
        return JSONResponse(self.issue(key_id, None, "access_key", refresh=True))

    async def openid(self, request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        return JSONResponse(
            {
                "issuer": base,
                "token_endpoint": f"{base}/auth/token",
                "grant_types_supported": ["password", "client_credentials", "refresh_token"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            }
        )

    async def cxone_config(self, request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        tenant = request.query_params.get("tenantId")
        if not tenant:
            return JSONResponse({"error": "tenantId is required"}, status_code=400)
        if tenant != SIM_TENANT_ID:
            return JSONResponse({"error": f"unknown tenant {tenant}"}, status_code=404)
        return JSONResponse(
            {
                "private": False,
                "area": "sim1",
                "cluster": SIM_CLUSTER,
                "domain": "localhost",
                "tenantId": tenant,
                "api_endpoint": base,
                "auth_endpoint": base,
                "ui_endpoint": base,
            }
        )


def basic_credentials(request: Request) -> tuple[str, str] | None:
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
