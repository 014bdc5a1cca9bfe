"""Done-when 2 and 3: a broadcaster node killed mid-stream, Redis restarted mid-run."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from evolvekit.broadcast import consume

from ..support.servers import SUBJECT, legacy_event
from .conftest import Cluster, collect

EVENTS = 300


async def post_slowly(url: str, numbers: range, pause: float = 0.01) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        for n in numbers:
            response = await http.post(
                f"{url}/ingest", json=legacy_event(n), headers={"Idempotency-Key": f"e{n}"}
            )
            assert response.status_code == 202, response.text
            await asyncio.sleep(pause)


def test_consumer_of_a_killed_broadcaster_resumes_on_the_other(cluster: Cluster) -> None:
    cluster.simulator()
    source, node_a, node_b = cluster.nodes("ingest,worker", "broadcast", "broadcast")
    query = f"?subject={SUBJECT}&version=2.0.0"

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
        steady = asyncio.create_task(collect(f"{node_b.ws}{query}", EVENTS, timeout=180))
        frames: list[dict[str, Any]] = []
        await asyncio.sleep(0.5)
        producer = asyncio.create_task(post_slowly(source.http, range(EVENTS)))
        # On node A until it dies (kill -9 once a third of the events arrived) ...
        async for frame in consume(f"{node_a.ws}{query}", reconnect=False, control=False):
            frames.append(frame)
            if len(frames) == EVENTS // 3:
                node_a.kill9()
        assert 0 < len(frames) < EVENTS
        last = frames[-1]
        # ... then on node B, from where it stopped.
        resume: dict[str, Any] = {}
        url = f"{node_b.ws}{query}"
        async for frame in consume(url, since=last["seq"], epoch=last["epoch"], reconnect=False):
            if frame.get("control") == "resume":
                resume = frame
                continue
            frames.append(frame)
            if len(frames) >= EVENTS:
                break
        await producer
        return frames, await steady, resume

    dropped, steady, resume = asyncio.run(scenario())
    assert resume["recovered"] is True, resume
    assert [f["seq"] for f in dropped] == [f["seq"] for f in steady] == list(range(1, EVENTS + 1))
    assert [f["payload"] for f in dropped] == [f["payload"] for f in steady]


def test_redis_restart_mid_run(cluster: Cluster) -> None:
    cluster.simulator()
    node = cluster.node("all")
    other_ingest = cluster.node("ingest")
    assert node.ws is not None
    redis = cluster.redis
    total = 200

    async def post_until_accepted(http: httpx.AsyncClient, url: str, n: int) -> int:
        """A client that honours 503 + Retry-After: retries until its event is accepted;
        returns how many 503s it saw."""
        refused = 0
        while True:
            response = await http.post(
                f"{url}/ingest", json=legacy_event(n), headers={"Idempotency-Key": f"r{n}"}
            )
            if response.status_code == 202:
                return refused
            assert response.status_code == 503, response.text
            assert response.json()["error"] == "store_unavailable"
            assert float(response.headers["Retry-After"]) > 0
            refused += 1
            await asyncio.sleep(0.2)

    async def scenario() -> tuple[list[dict[str, Any]], int]:
        consumer = asyncio.create_task(
            collect(f"{node.ws}?subject={SUBJECT}", total, timeout=180, reconnect=False)
        )
        await asyncio.sleep(0.5)
        async with httpx.AsyncClient(timeout=30) as http:
            first = [post_until_accepted(http, node.http, n) for n in range(total // 2)]
            await asyncio.gather(*first)
            redis.kill9()  # acknowledged = fsynced (appendfsync always): nothing may be lost
            down = await http.post(f"{other_ingest.http}/ingest", json=legacy_event(-1))
            assert down.status_code == 503 and "Retry-After" in down.headers
            await asyncio.sleep(1.5)  # a heartbeat or two
            health = await http.get(f"{node.http}/healthz")
            assert health.status_code == 503 and health.json()["redis"] == "down"
            second = asyncio.gather(
                *(
                    post_until_accepted(http, [node.http, other_ingest.http][n % 2], n)
                    for n in range(total // 2, total)
                )
            )
            await asyncio.sleep(1.0)
            redis.start()  # same port, same appendonly directory
            refusals = sum(await second)
            deadline = time.monotonic() + 30
            while (await http.get(f"{node.http}/healthz")).status_code != 200:
                assert time.monotonic() < deadline, cluster.logs()
                await asyncio.sleep(0.2)
        return await consumer, refusals

    frames, refusals = asyncio.run(scenario())
    assert refusals > 0  # some posts met the outage and were answered 503
    received = sorted(f["payload"]["interactionId"] for f in frames)
    assert received == sorted(f"INT-{n}" for n in range(total)), cluster.logs()
    assert [f["seq"] for f in frames] == list(range(1, total + 1))
    stored = httpx.get(f"{cluster.simulator_url}/_simulator/events", timeout=10).json()
    assert sorted(e["body"]["interactionId"] for e in stored) == received
