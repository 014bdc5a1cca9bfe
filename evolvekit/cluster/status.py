"""``evolvekit cluster status``: what a cluster's Redis holds, read in one pass.

Streams' lengths, the workers' group (lag: entries not yet delivered to any worker; pending:
delivered, not acknowledged, per consumer), the outbox (and how much of it is due), dead
letters, the last broadcast seq and the nodes whose heartbeat is fresh.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson

from evolvekit.cluster.keys import GROUP, Keys

if TYPE_CHECKING:
    from redis.asyncio import Redis

LIVE_BEATS = 3  # a node is live while its last heartbeat is under 3 intervals old


async def cluster_status(client: Redis, keys: Keys) -> dict[str, Any]:
    now = time.time()
    async with client.pipeline(transaction=False) as pipe:
        pipe.get(keys.cluster_id)
        pipe.xlen(keys.ingest)
        pipe.xlen(keys.broadcast)
        pipe.get(keys.seq)
        pipe.zcard(keys.outbox)
        pipe.zcount(keys.outbox, "-inf", now)
        pipe.zcard(keys.dead_index)
        pipe.hgetall(keys.nodes)
        cid, ingest_len, broadcast_len, seq, outbox, due, dead, beats = await pipe.execute()
    return {
        "cluster": keys.name,
        "cluster_id": cid,
        "streams": {"ingest": ingest_len, "broadcast": broadcast_len},
        "last_seq": int(seq or 0),
        "groups": await _groups(client, keys),
        "outbox": {"size": outbox, "due": due},
        "dead_letters": dead,
        "nodes": _nodes(beats, now),
    }


async def _groups(client: Redis, keys: Keys) -> list[dict[str, Any]]:
    if not await client.exists(keys.ingest):
        return []
    groups = []
    for info in await client.xinfo_groups(keys.ingest):
        consumers = await client.xinfo_consumers(keys.ingest, info["name"])
        groups.append(
            {
                "name": info["name"],
                "lag": info.get("lag"),
                "pending": info["pending"],
                "last_delivered": info["last-delivered-id"],
                "consumers": [
                    {"name": c["name"], "pending": c["pending"], "idle_ms": c["idle"]}
                    for c in consumers
                ],
            }
        )
    return groups


def _nodes(beats: dict[str, str], now: float) -> list[dict[str, Any]]:
    nodes = []
    for node_id, text in sorted(beats.items()):
        beat = orjson.loads(text)
        age = now - float(beat["seen"])
        if age > LIVE_BEATS * float(beat.get("interval", 2.0)):
            continue
        nodes.append(
            {
                "node": node_id,
                "role": beat["role"],
                "host": beat["host"],
                "pid": beat["pid"],
                "since": _iso(float(beat["since"])),
                "seen_seconds_ago": round(age, 1),
                "ingest": beat.get("ingest"),
                "broadcast": beat.get("broadcast"),
            }
        )
    return nodes


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def render_status(status: dict[str, Any]) -> str:
    """The text form of ``cluster_status``."""
    streams = status["streams"]
    lines = [
        f"cluster {status['cluster']} (id {status['cluster_id'] or '-'})",
        f"streams   ingest {streams['ingest']}   broadcast {streams['broadcast']}"
        f"   last seq {status['last_seq']}",
    ]
    if not status["groups"]:
        lines.append(f"group     {GROUP}: not created yet (no worker has started)")
    for group in status["groups"]:
        lag = "?" if group["lag"] is None else group["lag"]
        lines.append(f"group     {group['name']}: lag {lag}, pending {group['pending']}")
        for consumer in group["consumers"]:
            idle = consumer["idle_ms"] / 1000
            lines.append(
                f"            {consumer['name']}: pending {consumer['pending']}, idle {idle:.1f} s"
            )
    outbox = status["outbox"]
    lines.append(f"outbox    {outbox['size']} ({outbox['due']} due)")
    lines.append(f"dead      {status['dead_letters']} dead letter(s)")
    lines.append(f"nodes     {len(status['nodes'])} live")
    for node in status["nodes"]:
        lines.append(
            f"            {node['node']}: {node['role']} on {node['host']} pid {node['pid']}"
            f" since {node['since']}"
        )
    return "\n".join(lines)
