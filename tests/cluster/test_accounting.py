"""Done-when 1: accounting across processes.

2 ingest nodes, 3 workers, 2 broadcaster nodes and a CXone simulator with faults
(``429x20,503x10,drop-after``). Events are posted round-robin to both ingest nodes, 10% posted
again with the same Idempotency-Key (to the OTHER ingest node), 2% invalid; one worker is
``kill -9``ed halfway. Afterwards: accepted = unique events stored by the simulator + dead
letters (exactly the invalid ones), no event stored twice, and consumers on both broadcaster
nodes received every processed event exactly once, in seq order, each in its own version.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import threading
import time
from typing import Any

import httpx
import redis

from evolvekit.cluster.keys import GROUP, Keys

from ..support.servers import SUBJECT, legacy_event
from .conftest import Cluster, collect

# The size; EVOLVEKIT_CLUSTER_EVENTS lowers it on a machine too slow for it.
EVENTS = int(os.environ.get("EVOLVEKIT_CLUSTER_EVENTS", "5000"))
REPOST_EVERY = 10  # 10% re-posted with the same Idempotency-Key
INVALID_EVERY = 50  # 2% the rules cannot map (channel "fax"): dead letters
POSTERS = 16


def event(n: int) -> dict[str, Any]:
    return legacy_event(n, channel="fax" if n % INVALID_EVERY == 0 else "chat")


async def post_all(ingest: list[str], on_half: Any) -> dict[int, int]:
    """Post every event (and the re-posts) round-robin; {n: id}; checks every answer."""
    ids: dict[int, int] = {}
    work = iter(range(EVENTS))
    halfway = asyncio.Event()

    async def poster(http: httpx.AsyncClient) -> None:
        for n in work:
            url = ingest[n % len(ingest)]
            answer = await post(http, url, n)
            assert answer["duplicate"] is False, answer
            ids[n] = answer["id"]
            if n % REPOST_EVERY == 0:  # the same key through the other ingest node
                again = await post(http, ingest[(n + 1) % len(ingest)], n)
                assert again["duplicate"] is True and again["id"] == ids[n], again
            if len(ids) >= EVENTS // 2 and not halfway.is_set():
                halfway.set()
                on_half()

    async with httpx.AsyncClient(timeout=30) as http:
        await asyncio.gather(*(poster(http) for _ in range(POSTERS)))
    return ids


async def post(http: httpx.AsyncClient, url: str, n: int) -> dict[str, Any]:
    response = await http.post(
        f"{url}/ingest", json=event(n), headers={"Idempotency-Key": f"event-{n}"}
    )
    assert response.status_code == 202, response.text
    answer: dict[str, Any] = response.json()
    return answer


def drained(client: redis.Redis, keys: Keys, valid: int, invalid: int, simulator: str) -> bool:
    stats = httpx.get(f"{simulator}/_simulator/stats", timeout=10).json()
    pending = client.xpending(keys.ingest, GROUP)["pending"]
    return bool(
        stats["stored"] >= valid
        and client.zcard(keys.dead_index) >= invalid
        and client.zcard(keys.outbox) == 0
        and pending == 0
    )


def test_accounting_across_processes(cluster: Cluster) -> None:
    simulator = cluster.simulator(faults="429x20,503x10,drop-after")
    nodes = cluster.nodes(
        "ingest", "ingest", "worker", "worker", "worker", "broadcast", "broadcast"
    )
    ingest, workers, broadcasters = nodes[:2], nodes[2:5], nodes[5:]
    invalid = {n for n in range(EVENTS) if n % INVALID_EVERY == 0}
    valid = EVENTS - len(invalid)
    versions = ("2.0.0", "3.0.0")
    client = redis.Redis.from_url(cluster.redis.url, decode_responses=True)
    keys = Keys()
    orphaned: list[int] = []

    def pending_of(pid: int) -> int:
        consumers = client.xinfo_consumers(keys.ingest, GROUP)
        return sum(c["pending"] for c in consumers if f"-{pid}-" in c["name"])

    def kill_a_worker_with_work() -> None:
        """Freeze the victim (SIGSTOP) until it is caught holding entries, then kill -9 it:
        what it held can only come back through XAUTOCLAIM by the others."""
        victim = workers[0]
        pid = victim.popen.pid
        deadline = time.monotonic() + 60
        while True:
            os.kill(pid, signal.SIGSTOP)
            time.sleep(0.05)  # commands it sent before the stop reach Redis
            held = pending_of(pid)
            if held > 0 or time.monotonic() > deadline:
                victim.kill9()
                orphaned.append(held)
                return
            os.kill(pid, signal.SIGCONT)
            time.sleep(0.02)

    killer = threading.Thread(target=kill_a_worker_with_work, daemon=True)

    async def scenario() -> tuple[dict[int, int], list[list[dict[str, Any]]]]:
        consumers = [
            asyncio.create_task(
                collect(
                    f"{node.ws}?subject={SUBJECT}&version={version}",
                    valid,
                    timeout=240,
                    reconnect=False,
                )
            )
            for node, version in zip(broadcasters, versions, strict=True)
        ]
        await asyncio.sleep(1.0)  # both consumers connected before the first event
        ids = await post_all([n.http for n in ingest], killer.start)
        return ids, list(await asyncio.gather(*consumers))

    ids, received = asyncio.run(scenario())
    killer.join(timeout=90)
    assert workers[0].popen.returncode == -9
    deadline = time.monotonic() + 120
    while not drained(client, keys, valid, len(invalid), simulator):
        assert time.monotonic() < deadline, "not drained:\n" + cluster.logs()
        time.sleep(0.2)

    # accepted = unique events stored by the simulator + dead letters (exactly the invalid)
    # the killed worker left entries pending; XAUTOCLAIM moved them to the others
    assert orphaned and orphaned[0] > 0, orphaned
    [group] = client.xinfo_groups(keys.ingest)
    assert group["pending"] == 0
    assert len(ids) == len(set(ids.values())) == EVENTS
    stored = httpx.get(f"{simulator}/_simulator/events", timeout=30).json()
    stored_ids = [e["body"]["interactionId"] for e in stored]
    assert len(stored_ids) == len(set(stored_ids)) == valid  # 0 duplicates stored
    stored_keys = [e["key"] for e in stored]  # ... and 0 by idempotency key
    assert None not in stored_keys and len(set(stored_keys)) == valid
    letters = [orjson_loads(t) for t in client.hvals(keys.dead)]
    dead_ids = sorted(int(x["event"]["interactionId"][4:]) for x in letters)
    assert dead_ids == sorted(invalid)
    assert len(ids) == len(stored_ids) + len(letters)
    assert set(stored_ids) == {f"INT-{n}" for n in range(EVENTS) if n not in invalid}

    # both broadcaster nodes: every processed event exactly once, in seq order, own version
    for frames, version in zip(received, versions, strict=True):
        seqs = [f["seq"] for f in frames]
        assert seqs == list(range(1, valid + 1)), cluster.logs()
        assert {f["schema_version"] for f in frames} == {version}
        assert sorted(f["payload"]["interactionId"] for f in frames) == sorted(stored_ids)
    assert all(
        a["payload"]["interactionId"] == b["payload"]["interactionId"]
        for a, b in itertools.zip_longest(*received)
    )


def orjson_loads(text: str) -> dict[str, Any]:
    import orjson

    value: dict[str, Any] = orjson.loads(text)
    return value
