"""Safe defaults for the service's two ports (docs/security.md).

- ``OriginGuard``: an ASGI wrapper that answers 403 to any request carrying a browser
  ``Origin`` not listed. A web page the operator happens to open can otherwise post a form
  to ``/ingest`` (a "simple" request: no CORS preflight) and have it published to CXone.
  Requests without an ``Origin`` (curl, CXone Studio, other servers) are not browsers and
  pass.
- ``check_exposure``: a port bound to a non-loopback address without a token is refused at
  start-up unless the operator says ``insecure``, and then still warned about.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

import orjson

from evolvekit.errors import ConfigError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

ANY_ORIGIN = "*"


def origin_allowed(origin: str | None, allowed: Iterable[str]) -> bool:
    """No Origin (not a browser), or one listed (``"*"`` lists every origin)."""
    if origin is None:
        return True
    listed = set(allowed)
    return ANY_ORIGIN in listed or origin in listed


class OriginGuard:
    """403 for requests whose ``Origin`` header is not in ``allowed``."""

    def __init__(self, app: ASGIApp, allowed: Iterable[str]) -> None:
        self.app = app
        self.allowed = frozenset(allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            origin = _header(scope, b"origin")
            if not origin_allowed(origin, self.allowed):
                await _forbidden(send, origin or "")
                return
        await self.app(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


async def _forbidden(send: Send, origin: str) -> None:
    body = orjson.dumps(
        {
            "error": "origin_not_allowed",
            "detail": f"requests from the browser origin {origin[:200]!r} are refused "
            "(list it in [ingest] origins to allow it)",
        }
    )
    await send(
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (or ``localhost``); a name is not."""
    if host.strip("[]").lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(
    name: str,
    host: str,
    has_token: bool,
    *,
    insecure: bool,
    warn: Callable[[str], None],
    how: str,
) -> None:
    """Refuse (ConfigError) or, with ``insecure``, warn about a port on a non-loopback
    address that anyone who can reach it may use without a token."""
    if has_token or is_loopback(host):
        return
    if not insecure:
        raise ConfigError(
            f"refusing to serve {name} on {host} without a token: anyone who can reach it "
            f"could use it; set {how}, bind 127.0.0.1, or pass --insecure"
        )
    warn(
        f"WARNING: {name} listens on {host} without a token (--insecure): anyone who can "
        "reach it can use it"
    )
