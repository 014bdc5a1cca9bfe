"""Connecting to Redis: the client settings, the errors that mean "Redis is unreachable", the
registered scripts and the cluster id."""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from evolvekit.cluster import scripts
from evolvekit.cluster.keys import Keys
from evolvekit.errors import ConfigError, StoreError

if TYPE_CHECKING:
    from redis.asyncio import Redis


def _redis_module() -> Any:
    try:
        import redis.asyncio
    except ImportError:
        raise ConfigError(
            "cluster mode needs the redis package: pip install 'evolvekit[cluster]'"
        ) from None
    return redis


def unreachable_errors() -> tuple[type[BaseException], ...]:
    """What the client raises while Redis is down, restarting or still loading its AOF."""
    exceptions = _redis_module().exceptions
    return (exceptions.ConnectionError, exceptions.TimeoutError, OSError)


def connect(url: str, *, socket_timeout: float = 10.0) -> Redis:
    """An asyncio client for ``url`` (decoded strings). It reconnects by itself: a command
    sent while Redis is down fails quickly (a few short retries), the next one after Redis is
    back succeeds."""
    module = _redis_module()
    from redis.asyncio.retry import Retry
    from redis.backoff import ExponentialBackoff

    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"Redis URL {redacted(url)!r}: expected redis://, rediss:// or unix://")
    client: Redis = module.asyncio.Redis.from_url(
        url,
        decode_responses=True,
        socket_timeout=socket_timeout,
        socket_connect_timeout=2.0,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 2),
        health_check_interval=10,
    )
    return client


def redacted(url: str) -> str:
    """``url`` without its password (for messages and logs)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<malformed URL>"
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}{port}"))


class Scripts:
    """The cluster's Lua scripts, registered once per client (``EVALSHA``, reloaded by the
    client after a Redis restart)."""

    def __init__(self, client: Redis) -> None:
        self.accept = client.register_script(scripts.ACCEPT)
        self.finish = client.register_script(scripts.FINISH)
        self.dead = client.register_script(scripts.DEAD)
        self.to_outbox = client.register_script(scripts.TO_OUTBOX)
        self.outbox_claim = client.register_script(scripts.OUTBOX_CLAIM)
        self.outbox_done = client.register_script(scripts.OUTBOX_DONE)
        self.outbox_dead = client.register_script(scripts.OUTBOX_DEAD)
        self.outbox_later = client.register_script(scripts.OUTBOX_LATER)
        self.requeue = client.register_script(scripts.REQUEUE)


async def cluster_id(client: Redis, keys: Keys, *, wait: float = 0.0) -> str:
    """The cluster's id, created by the first node (``SET NX``). ``wait``: seconds to keep
    trying while Redis is unreachable; StoreError after that."""
    errors = unreachable_errors()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        try:
            await client.set(keys.cluster_id, uuid.uuid4().hex[:12], nx=True)
            value = await client.get(keys.cluster_id)
            return str(value)
        except errors as exc:
            if loop.time() >= deadline:
                raise StoreError(f"Redis is unreachable: {exc}") from None
            await asyncio.sleep(0.5)
