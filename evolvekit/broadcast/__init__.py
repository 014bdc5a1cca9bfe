"""evolvekit.broadcast: the versioned WebSocket broadcaster and its consumer.

``Broadcaster`` (asyncio), ``BackgroundBroadcaster`` (own thread + loop) and ``consume``
(an async iterator that reconnects and resumes). Imported lazily so that importing the
package does not pull in websockets until it is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "Broadcaster": "evolvekit.broadcast.server",
    "BackgroundBroadcaster": "evolvekit.broadcast.background",
    "consume": "evolvekit.broadcast.client",
}

__all__ = ["BackgroundBroadcaster", "Broadcaster", "consume"]

if TYPE_CHECKING:  # pragma: no cover
    from evolvekit.broadcast.background import BackgroundBroadcaster
    from evolvekit.broadcast.client import consume
    from evolvekit.broadcast.server import Broadcaster


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'evolvekit.broadcast' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
