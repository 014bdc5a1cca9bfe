"""A consumer for the broadcaster: ``async for frame in consume(url): ...``.

It reconnects after a dropped connection (a slow-consumer 1013, a restart's 1001, a network
error) and resumes from the last seq it saw, passing that seq and epoch back as ``since`` and
``epoch`` so the broadcaster replays what was missed (or says, with ``recovered: false``,
that it cannot). A refusal at the handshake (HTTP 4xx: bad version, token, origin) is not
retried: it raises BroadcastError with the server's message.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from evolvekit.errors import BroadcastError


def resume_url(url: str, since: int | None, epoch: str | None) -> str:
    """``url`` with its ``since``/``epoch`` query parameters replaced."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    query = [(k, v) for k, v in query if k not in ("since", "epoch")]
    if since is not None:
        query.append(("since", str(since)))
        if epoch is not None:
            query.append(("epoch", epoch))
    return urlunsplit(parts._replace(query=urlencode(query)))


async def consume(
    url: str,
    *,
    since: int | None = None,
    epoch: str | None = None,
    reconnect: bool = True,
    token: str | None = None,
    control: bool = True,
    max_retries: int | None = None,
    backoff: float = 0.1,
    max_backoff: float = 5.0,
    max_size: int | None = 2**24,
    open_timeout: float = 10.0,
    on_connect: Callable[[str], object] | None = None,
) -> AsyncIterator[dict[str, Any]]:
    """Yield the frames a consumer of ``url`` receives, as dicts.

    ``since``/``epoch``: resume after that seq (as the URL parameters). ``control``: also
    yield control frames (``resume``, ``skipped``, ``subscribed``); skipped frames still
    advance the resume position. ``token``: sent as ``Authorization: Bearer``.
    ``max_retries``: consecutive failed reconnects before giving up (None: never).
    ``reconnect=False``: end when the connection ends; a connection that cannot be opened at
    all raises BroadcastError. ``on_connect(url)``: called each time a connection opens.
    """
    _check_ws_url(url)
    position = _Position(since, epoch)
    failures = 0
    headers = {"Authorization": f"Bearer {token}"} if token else None
    while True:
        target = position.url(url)
        opened = False
        try:
            async with connect(
                target,
                additional_headers=headers,
                compression=None,
                max_size=max_size,
                open_timeout=open_timeout,
            ) as ws:
                opened, failures = True, 0
                if on_connect is not None:
                    on_connect(target)
                async for message in ws:
                    frame = orjson.loads(message)
                    if not position.observe(frame) or control:
                        yield frame
        except InvalidStatus as exc:
            _raise_if_refused(url, exc)
        except (OSError, ConnectionClosed, InvalidHandshake, TimeoutError) as exc:
            if not reconnect and not opened:
                raise BroadcastError(f"{url}: cannot connect: {exc}") from None
        if not reconnect:
            return
        failures += 1
        if max_retries is not None and failures > max_retries:
            raise BroadcastError(f"{url}: gave up after {max_retries} reconnect attempts")
        delay = min(max_backoff, backoff * 2 ** (failures - 1))
        await asyncio.sleep(delay * random.uniform(0.5, 1.0))


def _check_ws_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise BroadcastError(f"{url!r} is not a ws:// or wss:// URL")


def _raise_if_refused(url: str, exc: InvalidStatus) -> None:
    """A 4xx at the handshake is a refusal: not worth retrying."""
    status = exc.response.status_code
    body = exc.response.body.decode(errors="replace").strip()
    if 400 <= status < 500:
        raise BroadcastError(f"{url}: refused with HTTP {status}: {body}") from None


class _Position:
    """The seq and epoch to resume from, advanced by each frame received."""

    def __init__(self, seq: int | None, epoch: str | None) -> None:
        self.seq, self.epoch = seq, epoch

    def url(self, base: str) -> str:
        return resume_url(base, self.seq, self.epoch) if self.seq is not None else base

    def observe(self, frame: Any) -> bool:
        """Advance past ``frame``; True when it is a control frame."""
        kind = frame.get("control") if isinstance(frame, dict) else None
        if kind is None:
            self.seq, self.epoch = frame["seq"], frame["epoch"]
            return False
        if kind == "skipped":
            self.seq = frame["seq"]
        elif kind == "resume":
            self.epoch = frame["epoch"]
            # Whatever we saw belongs to another epoch: the replay restarts
            # the numbering, so the position is the replay's start.
            if not frame["recovered"]:
                self.seq = max(0, int(frame["from_seq"]) - 1)
        return True
