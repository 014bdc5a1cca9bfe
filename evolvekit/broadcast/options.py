"""``BroadcasterOptions``: every setting of a broadcaster, declared once.

``Broadcaster`` and ``BackgroundBroadcaster`` both take ``options=BroadcasterOptions(...)``
and/or the same names as keywords (a keyword overrides the options object), so the settings,
their defaults and their checks live here and nowhere else.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from evolvekit.broadcast.hub import DEFAULT_REPLAY_BYTES
from evolvekit.errors import ConfigError


@dataclass(frozen=True)
class BroadcasterOptions:
    """How a broadcaster listens and serves.

    ``tokens``: bearer tokens accepted at the handshake (None: no check). ``origins``: allowed
    ``Origin`` headers for browser consumers: None (the default) allows no browser, ``["*"]``
    every one (clients that send no Origin are not browsers and are allowed).
    ``replay_size`` and ``replay_bytes`` bound the ring kept for resuming consumers, in events
    and in bytes. ``queue_size``: frames queued for a
    slow consumer before it is dropped. ``write_limit``: bytes buffered in a consumer's socket
    before frames go to its queue. ``ping_interval`` (None: no pings), ``close_timeout``
    in seconds; ``max_message_size`` bounds what a consumer may send.
    """

    host: str = "127.0.0.1"
    port: int = 0
    tokens: Iterable[str] | None = field(default=None, repr=False)  # secrets: never printed
    replay_size: int = 1000
    queue_size: int = 256
    origins: Iterable[str] | None = None
    max_message_size: int = 4096
    ping_interval: float | None = 20
    write_limit: int = 2**16
    close_timeout: float = 5.0
    replay_bytes: int = DEFAULT_REPLAY_BYTES

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"port must be 0..65535 (0: any free port), got {self.port}")
        if self.queue_size < 1:
            raise ConfigError(f"queue_size must be >= 1, got {self.queue_size}")
        if self.write_limit < 1:
            raise ConfigError(f"write_limit must be >= 1, got {self.write_limit}")
        # Kept as tuples: an iterator given here must not be used up by its first reader.
        if self.tokens is not None:
            object.__setattr__(self, "tokens", tuple(self.tokens))
        if self.origins is not None:
            object.__setattr__(self, "origins", tuple(self.origins))

    @classmethod
    def resolve(
        cls, options: BroadcasterOptions | None, settings: dict[str, Any]
    ) -> BroadcasterOptions:
        """``options`` (default: the defaults) with the keyword ``settings`` applied over it;
        an unknown keyword is a TypeError naming it, as for any function."""
        unknown = sorted(set(settings) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise TypeError(f"unknown broadcaster setting(s): {', '.join(unknown)}")
        return dataclasses.replace(options or cls(), **settings)
