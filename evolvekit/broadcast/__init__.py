"""evolvekit.broadcast: the versioned WebSocket broadcaster and its consumer.

``Broadcaster`` (asyncio), ``BackgroundBroadcaster`` (own thread + loop) and ``consume``
(an async iterator that reconnects and resumes). Imported lazily so that importing the
package does not pull in websockets until it is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from evolvekit._lazy import lazy_getattr

_EXPORTS = {
    "Broadcaster": "evolvekit.broadcast.broadcaster",
    "BackgroundBroadcaster": "evolvekit.broadcast.background",
    "BroadcasterOptions": "evolvekit.broadcast.options",
    "consume": "evolvekit.broadcast.client",
}

__all__ = ["BackgroundBroadcaster", "Broadcaster", "BroadcasterOptions", "consume"]

if TYPE_CHECKING:  # pragma: no cover
    from evolvekit.broadcast.background import BackgroundBroadcaster
    from evolvekit.broadcast.broadcaster import Broadcaster
    from evolvekit.broadcast.client import consume
    from evolvekit.broadcast.options import BroadcasterOptions


__getattr__ = lazy_getattr(__name__, _EXPORTS, globals())
