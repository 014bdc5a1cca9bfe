"""What the broadcaster decides at the HTTP handshake: query parameters, bearer tokens and
the ``/stats`` answer. Pure functions over the parsed request (no sockets)."""

from __future__ import annotations

import hmac
import http
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from websockets.datastructures import Headers
from websockets.http11 import Response

from evolvekit import logsafe
from evolvekit.errors import BroadcastError, ConfigError

QUERY_KEYS = frozenset({"subject", "version", "event_type", "since", "epoch", "token"})


@dataclass(frozen=True, slots=True)
class Params:
    """A consumer's connection parameters (DESIGN.md, "Broadcasting")."""

    subject: str | None
    version: str | None
    event_type: str | None
    since: int | None
    epoch: str | None


def parse_params(
    query: Mapping[str, list[str]], check_version: Callable[[str | None, str], str]
) -> Params:
    """Validate the query; ``check_version(subject, version)`` normalises the version or
    raises BroadcastError naming the versions on offer."""
    unknown = sorted(set(query) - QUERY_KEYS)
    if unknown:
        raise BroadcastError(
            f"unknown parameter(s) {', '.join(unknown)}; known: {', '.join(sorted(QUERY_KEYS))}"
        )
    for key, values in query.items():
        if len(values) > 1:
            raise BroadcastError(f"parameter {key} given more than once")
    single = {key: values[0] for key, values in query.items()}
    subject = single.get("subject") or None
    version = single.get("version") or None
    if version is not None:
        version = check_version(subject, version)
    since: int | None = None
    if single.get("since"):
        text = single["since"]
        if not text.isdigit():
            raise BroadcastError(f"since must be a seq (an integer >= 0), got {text!r}")
        since = int(text)
    return Params(
        subject=subject,
        version=version,
        event_type=single.get("event_type") or None,
        since=since,
        epoch=single.get("epoch") or None,
    )


class TokenCheck:
    """Bearer tokens accepted at the handshake: ``Authorization: Bearer T`` or ``?token=T``."""

    def __init__(self, tokens: Iterable[str] | None) -> None:
        self._tokens: tuple[bytes, ...] | None = None
        if tokens is not None:
            listed = [tokens] if isinstance(tokens, str) else list(tokens)
            self._tokens = tuple(t.encode() for t in listed)
            if not self._tokens or not all(self._tokens):
                raise ConfigError("tokens must be None or a non-empty list of non-empty strings")
            logsafe.register_secret(*listed)  # never in a log line, whoever logs it

    @property
    def enabled(self) -> bool:
        return self._tokens is not None

    def __repr__(self) -> str:  # never the tokens themselves
        count = "off" if self._tokens is None else f"{len(self._tokens)} token(s)"
        return f"TokenCheck({count})"

    def authorized(self, headers: Headers, query: Mapping[str, list[str]]) -> bool:
        if self._tokens is None:
            return True
        given = ""
        scheme, _, value = headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            given = value.strip()
        elif query.get("token"):
            given = query["token"][0]
        if not given:
            return False
        candidate = given.encode()
        # Compare against every token so the time taken says nothing about which matched.
        matched = False
        for token in self._tokens:
            matched |= hmac.compare_digest(candidate, token)
        return matched


def json_response(value: Any) -> Response:
    """A 200 answer with a JSON body (for ``GET /stats``)."""
    body = orjson.dumps(value)
    headers = Headers(
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
            ("Connection", "close"),
        ]
    )
    return Response(http.HTTPStatus.OK.value, "OK", headers, body)
