"""One node with every role, then split roles: ingest contract, health, status, dead letters."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import redis

from evolvekit.cluster.keys import GROUP, Keys

from ..support.servers import SUBJECT, legacy_event
from .conftest import Cluster, collect, evolvekit


def wait_for(condition: object, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


def test_one_node_ingests_publishes_broadcasts_and_dead_letters(cluster: Cluster) -> None:
    simulator = cluster.simulator()
    node = cluster.node("all")
    assert node.ws is not None
    url = f"{node.ws}?subject={SUBJECT}&version=2.0.0"

    async def scenario() -> list[dict[str, object]]:
        consumer = asyncio.create_task(collect(url, 4, timeout=60))
        await asyncio.sleep(0.5)
        async with httpx.AsyncClient(timeout=10) as http:
            one = await http.post(
                f"{node.http}/ingest", json=legacy_event(1), headers={"Idempotency-Key": "k1"}
            )
            again = await http.post(
                f"{node.http}/ingest", json=legacy_event(1), headers={"Idempotency-Key": "k1"}
            )
            batch = await http.post(
                f"{node.http}/ingest",
                json=[legacy_event(2), legacy_event(3, channel="fax"), legacy_event(4)],
            )
            bad = await http.post(f"{node.http}/ingest", content=b"[1", headers=JSON)
            assert one.status_code == again.status_code == batch.status_code == 202
            assert again.json() == {"id": one.json()["id"], "duplicate": True} | {
                "accepted": 0,
                "duplicates": 1,
            }
            assert [r["duplicate"] for r in batch.json()["results"]] == [False] * 3
            assert bad.status_code == 400 and bad.json()["error"] == "malformed_json"
            await http.post(f"{node.http}/ingest", json=legacy_event(5))
        return await consumer

    frames = asyncio.run(scenario())
    # Workers finish concurrently: seq is the broadcast stream's order, not the ingest order.
    assert sorted(f["payload"]["interactionId"] for f in frames) == [
        "INT-1",
        "INT-2",
        "INT-4",
        "INT-5",
    ]
    assert [f["seq"] for f in frames] == [1, 2, 3, 4]
    assert {f["schema_version"] for f in frames} == {"2.0.0"}

    stored = httpx.get(f"{simulator}/_simulator/events").json()
    stored_ids = sorted(e["body"]["interactionId"] for e in stored)
    assert stored_ids == ["INT-1", "INT-2", "INT-4", "INT-5"]

    health = httpx.get(f"{node.http}/healthz").json()
    assert health["status"] == "ok" and health["role"] == "ingest,worker,broadcast"
    assert health["redis"] == "up"
    metrics = httpx.get(f"{node.http}/metrics").text
    assert "evolvekit_redis_up 1" in metrics and "evolvekit_role_worker 1" in metrics

    listing = evolvekit("deadletters", "list", "--redis", cluster.redis.url, "--format", "json")
    assert listing.returncode == 0, listing.stderr
    [letter] = json.loads(listing.stdout)
    assert letter["stage"] in ("migrate", "validate")
    assert letter["event"]["interactionId"] == "INT-3"
    assert set(letter) == {"id", "at", "stage", "reason", "subject", "version", "event"}

    status = evolvekit("cluster", "status", "--redis", cluster.redis.url, "--format", "json")
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert report["dead_letters"] == 1 and report["last_seq"] == 4
    assert report["outbox"] == {"size": 0, "due": 0}
    [group] = report["groups"]
    assert group["pending"] == 0 and group["lag"] == 0
    [live] = report["nodes"]
    assert live["role"] == "ingest,worker,broadcast" and live["pid"] == node.popen.pid
    text = evolvekit("cluster", "status", "--redis", cluster.redis.url)
    assert "1 live" in text.stdout and "dead      1 dead letter(s)" in text.stdout


JSON = {"content-type": "application/json"}


def test_replay_and_purge_dead_letters_through_redis(cluster: Cluster) -> None:
    cluster.simulator()
    node = cluster.node("ingest,worker")
    httpx.post(f"{node.http}/ingest", json=legacy_event(7, channel="fax"), timeout=10)
    redis = ["--redis", cluster.redis.url]

    def letters() -> list[dict[str, object]]:
        out = evolvekit("deadletters", "list", *redis, "--format", "json").stdout
        return list(json.loads(out))

    assert wait_for(lambda: len(letters()) == 1)
    [letter] = letters()
    show = evolvekit("deadletters", "show", str(letter["id"]), *redis, "--format", "json")
    assert json.loads(show.stdout) == letter
    replay = evolvekit("deadletters", "replay", *redis, "--format", "json")
    assert replay.returncode == 1  # the rules still cannot map a fax
    assert json.loads(replay.stdout)["failed"] == 1
    purge = evolvekit("deadletters", "purge", "--all", *redis, "--format", "json")
    assert json.loads(purge.stdout) == {"dead_letters": 1}
    assert letters() == []


def test_outbox_in_redis_retries_what_cxone_refused_for_a_while(cluster: Cluster) -> None:
    # 6 attempts per event (the client's retries) cannot get through 40 503s: the events
    # go to the Redis outbox, and the worker's outbox loop delivers them once CXone recovers.
    simulator = cluster.simulator(faults="503x40")
    node = cluster.node("all")
    assert node.ws is not None

    async def scenario() -> list[dict[str, object]]:
        consumer = asyncio.create_task(collect(f"{node.ws}?subject={SUBJECT}", 3, timeout=90))
        await asyncio.sleep(0.5)
        async with httpx.AsyncClient(timeout=10) as http:
            answer = await http.post(
                f"{node.http}/ingest", json=[legacy_event(n) for n in range(3)]
            )
            assert answer.status_code == 202
        return await consumer

    frames = asyncio.run(scenario())
    assert sorted(f["seq"] for f in frames) == [1, 2, 3]
    stored = httpx.get(f"{simulator}/_simulator/events").json()
    assert sorted(e["body"]["interactionId"] for e in stored) == ["INT-0", "INT-1", "INT-2"]
    metrics = httpx.get(f"{node.http}/metrics").text
    outboxed = next(x for x in metrics.splitlines() if x.startswith("evolvekit_outboxed_total"))
    assert int(outboxed.split()[1]) >= 1
    status = json.loads(
        evolvekit("cluster", "status", "--redis", cluster.redis.url, "--format", "json").stdout
    )
    assert status["outbox"]["size"] == 0


def test_an_entry_delivered_too_often_becomes_a_dead_letter(cluster: Cluster) -> None:
    keys = Keys()
    client = redis.Redis.from_url(cluster.redis.url, decode_responses=True)
    client.xgroup_create(keys.ingest, GROUP, id="0", mkstream=True)
    entry = client.xadd(keys.ingest, {"id": "1", "event": json.dumps(legacy_event(1))})
    # A worker that took it and died, five times over (each claim is one more delivery).
    client.xreadgroup(GROUP, "ghost", {keys.ingest: ">"})
    for _ in range(5):
        client.xclaim(keys.ingest, GROUP, "ghost", 0, [entry])
    cluster.simulator()
    cluster.node("worker")  # claim_idle 2 s, max_deliveries 5

    def letters() -> list[dict[str, object]]:
        out = evolvekit("deadletters", "list", "--redis", cluster.redis.url, "--format", "json")
        return list(json.loads(out.stdout))

    assert wait_for(lambda: len(letters()) == 1)
    [letter] = letters()
    assert letter["stage"] == "worker" and "delivered 7 times" in str(letter["reason"])
    assert client.xpending(keys.ingest, GROUP)["pending"] == 0
    assert httpx.get(f"{cluster.simulator_url}/_simulator/events").json() == []


def test_wait_replicas_refuses_a_202_no_replica_confirmed(cluster: Cluster) -> None:
    # No replica runs, so WAIT 1 can never be satisfied: the client must not get a 202.
    text = cluster.config.read_text(encoding="utf-8")
    cluster.config.write_text(
        text.replace("[cluster]\n", "[cluster]\nwait_replicas = 1\nwait_timeout = 0.2\n"),
        encoding="utf-8",
    )
    node = cluster.node("ingest")
    answer = httpx.post(
        f"{node.http}/ingest", json=legacy_event(1), headers={"Idempotency-Key": "w1"}, timeout=10
    )
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "1"
    assert answer.json()["error"] == "store_unavailable"
    # The primary has it: the client's retry with the same key gets the original id later.
    client = redis.Redis.from_url(cluster.redis.url, decode_responses=True)
    assert client.xlen(Keys().ingest) == 1
