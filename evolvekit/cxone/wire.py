"""What goes over the wire to CXone: event bodies (checked JSON) and reading answers."""

from __future__ import annotations

import math
from typing import Any

import httpx
import orjson

from evolvekit.errors import InputError

BODY_SNIPPET = 500


def encode_event(event: Any) -> bytes:
    """The event as a JSON body; InputError (naming the JSON pointer) if JSON cannot hold it."""
    try:
        body = orjson.dumps(event)
    except TypeError as exc:
        raise InputError(f"event is not JSON-serialisable: {exc}") from None
    # orjson writes NaN and infinities as null, which would change the event silently.
    pointer = _non_finite_at(event, "")
    if pointer is not None:
        raise InputError(
            f"event is not JSON-serialisable: {pointer or '/'} is NaN or infinite, "
            "which JSON cannot represent"
        )
    return body


def _non_finite_at(value: Any, pointer: str) -> str | None:
    """The JSON pointer of the first NaN or infinite float in ``value``, if any."""
    if isinstance(value, float):
        return None if math.isfinite(value) else pointer
    if isinstance(value, dict):
        for key, item in value.items():
            escaped = str(key).replace("~", "~0").replace("/", "~1")
            found = _non_finite_at(item, f"{pointer}/{escaped}")
            if found is not None:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = _non_finite_at(item, f"{pointer}/{index}")
            if found is not None:
                return found
    return None


def missing_scope(response: httpx.Response) -> str | None:
    body = json_or_text(response)
    if isinstance(body, dict):
        for key in ("scope", "required_scope", "missing_scope"):
            if isinstance(body.get(key), str) and body[key]:
                return str(body[key])
    challenge = response.headers.get("www-authenticate", "")
    if 'scope="' in challenge:
        return challenge.split('scope="', 1)[1].split('"', 1)[0] or None
    return None


def json_or_text(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return response.text[:BODY_SNIPPET]


def snippet(response: httpx.Response) -> str:
    if not response.content:
        return "(empty body)"
    return response.text[:BODY_SNIPPET].strip()
