"""The broadcast role: each node tails the broadcast stream and serves its own WebSocket
consumers with the single-node broadcaster (frames, per-version migration, slow consumers).

The differences: ``seq`` is the broadcast stream's (``<seq>-0`` entry ids, numbered by the
workers' finish script), so it is the same on every node; the epoch is the cluster id, so a
consumer that drops from node A resumes on node B with ``since=N`` (and its epoch); and the
replay ring mirrors the stream (``cluster.broadcast_maxlen`` entries), so ``recovered`` is false
exactly when the stream was trimmed past N. A consumer asking for a ``since`` this node has not
read yet waits (briefly) until the node's tail catches up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import orjson

from evolvekit.broadcast import Broadcaster
from evolvekit.broadcast.hub import Entry
from evolvekit.cluster.connection import unreachable_errors
from evolvekit.cluster.keys import Keys, seq_of

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from websockets.asyncio.server import ServerConnection

log = logging.getLogger("evolvekit.cluster.broadcast")

CATCH_UP_TIMEOUT = 5.0  # how long a resuming consumer waits for this node to reach its since
READ_COUNT = 1000


class ClusterBroadcaster(Broadcaster):
    """A Broadcaster whose events (and their seq) come from the broadcast stream."""

    def __init__(self, *args: Any, epoch: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cluster_epoch = epoch
        self._advanced = asyncio.Event()
        self._preloaded: list[tuple[str, Mapping[str, str]]] = []

    async def start(self) -> int:
        port = await super().start()
        # No await from here on: no consumer can see the hub before it has the cluster's
        # epoch and the stream's tail.
        self.hub.epoch = self.cluster_epoch
        for entry_id, fields in self._preloaded:
            self.publish_entry(entry_id, fields)
        self._preloaded.clear()
        return port

    def preload(self, entries: list[tuple[str, Mapping[str, str]]]) -> None:
        """Entries to put in the ring at start (the tail of the stream, oldest first)."""
        self._preloaded = entries

    def publish_entry(self, entry_id: str, fields: Mapping[str, str]) -> bool:
        """Record one broadcast stream entry and send it to the consumers; False when this
        seq was seen already."""
        hub = self.hub
        seq = seq_of(entry_id)
        if seq <= hub.last_seq:
            return False
        entry = Entry(
            seq=seq,
            subject=fields["subject"],
            event_type=fields.get("event_type") or None,
            source_version=fields["version"],
            timestamp=orjson.loads(fields["timestamp"]),
            payload=fields["payload"].encode(),
        )
        hub.append(entry)
        for encoded, targets in hub.deliveries(entry):
            for consumer in targets:
                self._send(consumer, encoded)
        self._advanced.set()
        self._advanced = asyncio.Event()
        return True

    async def wait_for_seq(self, seq: int, timeout: float) -> bool:
        """Wait until this node has read ``seq`` (False on timeout)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.hub.last_seq < seq:
            left = deadline - loop.time()
            if left <= 0:
                return False
            try:
                await asyncio.wait_for(self._advanced.wait(), timeout=left)
            except TimeoutError:
                return False
        return True

    async def _handler(self, conn: ServerConnection) -> None:
        params = self._handshakes.get(conn)
        if params is not None and params.since is not None and params.since > self.hub.last_seq:
            await self.wait_for_seq(params.since, CATCH_UP_TIMEOUT)
        await super()._handler(conn)


class StreamTail:
    """Reads the broadcast stream into a ClusterBroadcaster, reconnecting on its own."""

    def __init__(self, client: Redis, keys: Keys, broadcaster: ClusterBroadcaster) -> None:
        self.client = client
        self.keys = keys
        self.broadcaster = broadcaster
        self.last_id = "0-0"
        self.connected = True
        self._errors = unreachable_errors()

    async def load(self, count: int) -> None:
        """Preload the newest ``count`` entries (the resume window) before the start."""
        newest: Any = await self.client.xrevrange(self.keys.broadcast, count=count)
        entries = list(reversed(newest))
        if entries:
            self.last_id = entries[-1][0]
        self.broadcaster.preload(entries)

    async def run(self) -> None:
        while True:
            try:
                reply: Any = await self.client.xread(
                    {self.keys.broadcast: self.last_id}, count=READ_COUNT, block=1000
                )
            except self._errors as exc:
                if self.connected:
                    log.warning("broadcast tail: Redis unreachable, retrying: %s", exc)
                self.connected = False
                await asyncio.sleep(0.5)
                continue
            self.connected = True
            for _stream, entries in reply or []:
                for entry_id, fields in entries:
                    try:
                        self.broadcaster.publish_entry(entry_id, fields)
                    except (KeyError, ValueError) as exc:  # not ours: never stop the tail
                        log.error("broadcast entry %s is malformed: %s", entry_id, exc)
                    self.last_id = entry_id
