"""The real platform's back-end app flows (developer.niceincontact.com, "Authentication"):

- ``CXonePasswordProvider``: the token endpoint from ``{issuer}/.well-known/openid-
  configuration``; grant ``password`` with the user's access key id/secret as username and
  password, the app's client id/secret in HTTP Basic; renewal with the ``refresh_token``
  grant (same Basic client), falling back to a new password grant.
- ``CXoneAccessKeyProvider``: ``POST {issuer}/authentication/v1/token/access-key`` with JSON
  ``{accessKeyId, accessKeySecret}``; no client credentials needed.

Both read the access token's JWT claims (``tenantId``, ``icBUId``, ``icClusterId``; read,
never trusted for anything) and discover the tenant's API host from
``{issuer}/.well-known/cxone-configuration?tenantId=...`` (``api_endpoint``, ``area``).
"""

from __future__ import annotations

import base64
from typing import Any

import httpx
import orjson

from evolvekit.cxone.auth import (
    _TRANSIENT_STATUSES,
    CachingTokenProvider,
    TokenEndpointUnavailable,
    parse_json_object,
)
from evolvekit.cxone.config import Secret
from evolvekit.errors import CXoneAuthError

ACCESS_KEY_PATH = "/authentication/v1/token/access-key"


def jwt_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT access token (decoded, not verified), or {} if it is not one."""
    parts = token.split(".")
    if len(parts) < 2:
        return {}
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = orjson.loads(base64.urlsafe_b64decode(payload))
    except (ValueError, orjson.JSONDecodeError):
        return {}
    return claims if isinstance(claims, dict) else {}


class PlatformTokenProvider(CachingTokenProvider):
    """Shared by the platform's flows: discovery documents, claims, the API host."""

    def __init__(self, issuer: str, **cache: Any) -> None:
        super().__init__(**cache)
        self.issuer = issuer.rstrip("/")
        self.claims: dict[str, Any] = {}
        self.tenant_id: str | None = None
        self.area: str | None = None
        self._api_endpoint: str | None = None

    async def get_json(self, client: httpx.AsyncClient, url: str, what: str) -> dict[str, Any]:
        try:
            response = await client.get(url, headers={"Accept": "application/json"})
        except httpx.TimeoutException:
            raise TokenEndpointUnavailable(f"{what} {url} timed out") from None
        except httpx.TransportError as exc:
            raise TokenEndpointUnavailable(f"cannot reach {what} {url}: {exc}") from None
        if response.status_code in _TRANSIENT_STATUSES:
            raise TokenEndpointUnavailable(f"{what} {url} answered HTTP {response.status_code}")
        if response.status_code != 200:
            raise CXoneAuthError(f"{what} {url} answered HTTP {response.status_code}")
        return parse_json_object(response, what)

    def _note_claims(self, token: str) -> None:
        self.claims = jwt_claims(token)
        tenant = self.claims.get("tenantId") or self.claims.get("tenant_id")
        if isinstance(tenant, str) and tenant:
            self.tenant_id = tenant

    async def api_endpoint(self, client: httpx.AsyncClient) -> str:
        """The tenant's API base URL, discovered as the platform does (``api_endpoint``)."""
        if self._api_endpoint is None:
            await self.token(client)
            if not self.tenant_id:
                raise CXoneAuthError(
                    "cannot discover the API endpoint: the token names no tenant; "
                    "set CXONE_BASE_URL"
                )
            url = f"{self.issuer}/.well-known/cxone-configuration?tenantId={self.tenant_id}"
            doc = await self.get_json(client, url, "CXone discovery")
            endpoint = doc.get("api_endpoint")
            if not isinstance(endpoint, str) or not endpoint:
                raise CXoneAuthError(f"CXone discovery {url} names no api_endpoint")
            self.area = doc.get("area") if isinstance(doc.get("area"), str) else None
            self._api_endpoint = endpoint.rstrip("/")
        return self._api_endpoint


class CXonePasswordProvider(PlatformTokenProvider):
    """Discovery, password grant with an access key, Basic client, refresh_token grant."""

    def __init__(
        self,
        issuer: str,
        client_id: str,
        client_secret: Secret,
        access_key_id: str,
        access_key_secret: Secret,
        scope: str | None = None,
        **cache: Any,
    ) -> None:
        super().__init__(issuer, **cache)
        self.client_id = client_id
        self._client_secret = client_secret
        self.access_key_id = access_key_id
        self._access_key_secret = access_key_secret
        self.scope = scope
        self.token_endpoint: str | None = None

    def __repr__(self) -> str:
        return f"CXonePasswordProvider({self.issuer!r}, client_id={self.client_id!r})"

    async def discover(self, client: httpx.AsyncClient) -> str:
        """The token endpoint from ``{issuer}/.well-known/openid-configuration``."""
        if self.token_endpoint is None:
            url = f"{self.issuer}/.well-known/openid-configuration"
            doc = await self.get_json(client, url, "OpenID discovery")
            endpoint = doc.get("token_endpoint")
            if not isinstance(endpoint, str) or not endpoint:
                raise CXoneAuthError(f"OpenID discovery {url} names no token_endpoint")
            self.token_endpoint = endpoint
        return self.token_endpoint

    def _basic(self) -> dict[str, str]:
        pair = f"{self.client_id}:{self._client_secret.reveal()}".encode()
        return {"Authorization": f"Basic {base64.b64encode(pair).decode()}"}

    async def _fetch(self, client: httpx.AsyncClient) -> tuple[str, float]:
        endpoint = await self.discover(client)
        fields = {"username": self.access_key_id, "password": self._access_key_secret.reveal()}
        token, ttl = await self._grant(
            client, endpoint, "password", fields, scope=self.scope, headers=self._basic()
        )
        self._note_claims(token)
        return token, ttl

    async def _refresh(self, client: httpx.AsyncClient, refresh_token: str) -> tuple[str, float]:
        endpoint = await self.discover(client)
        fields = {"refresh_token": refresh_token}
        token, ttl = await self._grant(
            client, endpoint, "refresh_token", fields, headers=self._basic()
        )
        self._note_claims(token)
        return token, ttl


class CXoneAccessKeyProvider(PlatformTokenProvider):
    """``POST {issuer}/authentication/v1/token/access-key`` with the access key as JSON."""

    def __init__(
        self, issuer: str, access_key_id: str, access_key_secret: Secret, **cache: Any
    ) -> None:
        super().__init__(issuer, **cache)
        self.access_key_id = access_key_id
        self._access_key_secret = access_key_secret

    def __repr__(self) -> str:
        return f"CXoneAccessKeyProvider({self.issuer!r}, access_key_id={self.access_key_id!r})"

    async def _fetch(self, client: httpx.AsyncClient) -> tuple[str, float]:
        url = self.issuer + ACCESS_KEY_PATH
        body = {
            "accessKeyId": self.access_key_id,
            "accessKeySecret": self._access_key_secret.reveal(),
        }
        self._count("access_key")
        response = await self._post(client, url, json=body, headers={"Accept": "application/json"})
        if response.status_code in _TRANSIENT_STATUSES:
            raise TokenEndpointUnavailable(
                f"token endpoint {url} is unavailable (HTTP {response.status_code})"
            )
        if response.status_code != 200:
            raise CXoneAuthError(
                f"token endpoint {url} refused the access key (HTTP {response.status_code})"
            )
        token, ttl = self._accept(response, url)
        self._refresh_token = None  # this flow renews with the access key itself
        self._note_claims(token)
        return token, ttl
