"""The Redis keys of one cluster (pure: names only, no I/O).

Every key of cluster ``NAME`` starts with ``evolvekit:{NAME}:``; the braces are a Redis Cluster
hash tag, so all keys of one cluster live in one slot and the Lua scripts may touch them all.
"""

from __future__ import annotations

from dataclasses import dataclass

GROUP = "workers"  # the consumer group of the ingest stream
KEY_PREFIX = "evolvekit"  # idempotency keys: evolvekit-<cluster id>-<ingest stream entry id>


@dataclass(frozen=True)
class Keys:
    name: str = "evolvekit"

    @property
    def prefix(self) -> str:
        return f"evolvekit:{{{self.name}}}:"

    def _key(self, suffix: str) -> str:
        return self.prefix + suffix

    @property
    def cluster_id(self) -> str:
        """A random id set once (``SET NX``): idempotency keys and the broadcast epoch."""
        return self._key("id")

    @property
    def ingest(self) -> str:
        return self._key("ingest")

    @property
    def ingest_ids(self) -> str:
        return self._key("ingest:id")

    @property
    def dedupe_prefix(self) -> str:
        return self._key("dedupe:")

    @property
    def broadcast(self) -> str:
        return self._key("broadcast")

    @property
    def seq(self) -> str:
        return self._key("broadcast:seq")

    @property
    def outbox(self) -> str:
        """Sorted set: ingest entry id -> due time (epoch seconds)."""
        return self._key("outbox")

    @property
    def outbox_data(self) -> str:
        return self._key("outbox:data")

    @property
    def dead(self) -> str:
        """Hash: dead-letter id -> the record as JSON."""
        return self._key("dead")

    @property
    def dead_index(self) -> str:
        """Sorted set: dead-letter id -> when (epoch seconds)."""
        return self._key("dead:index")

    @property
    def dead_ids(self) -> str:
        return self._key("dead:id")

    @property
    def nodes(self) -> str:
        """Hash: node id -> its heartbeat as JSON."""
        return self._key("nodes")


def idempotency_key(cluster_id: str, entry_id: str) -> str:
    """The CXone idempotency key of one ingest stream entry: the same on every retry, every
    worker and every restart."""
    return f"{KEY_PREFIX}-{cluster_id}-{entry_id}"


def seq_of(stream_id: str) -> int:
    """The broadcast ``seq`` of a broadcast stream entry (its id is ``<seq>-0``)."""
    return int(stream_id.partition("-")[0])
