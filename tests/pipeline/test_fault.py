"""The fault test: 2,000 events posted concurrently while the simulated CXone answers 429,
503, revokes tokens and drops connections, and consumers come and go. Every accepted event
is accounted for exactly once; nothing is stored twice; consumers see no unexplained gap.
Invariants only, never timings."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest
from websockets.asyncio.client import connect

from evolvekit.cxone.config import SIMULATOR_DFO_CHANNEL, SIMULATOR_POINT_OF_CONTACT
from evolvekit.pipeline.config import IngestSettings, PipelineSettings

from ..support.servers import SIMULATOR_ENV, SUBJECT, legacy_event
from .conftest import eventually

EVENTS = 2000
BAD_EVERY = 97  # one event in ~100 cannot be mapped (a dead letter)
DUPLICATE_EVERY = 13  # CXone Studio retries: the same call again, same Idempotency-Key
FAULTS = ("429", "503", "expire-token", "drop-before", "drop-after", "503x3", "429x2")


def fault_spec(rng: random.Random, requests: int, faults: int) -> str:
    """Faults scattered among ``requests`` successful requests (``latency=0`` passes)."""
    items = ["latency=0"] * requests + [rng.choice(FAULTS) for _ in range(faults)]
    rng.shuffle(items)
    return ",".join(items)


class ChurningConsumer:
    """Connects, reads a few frames, disconnects, comes back with since/epoch, again."""

    def __init__(self, url: str, rng: random.Random) -> None:
        self.url = url
        self.rng = rng
        self.seqs: list[int] = []
        self.resumes: list[dict[str, Any]] = []
        self.connections = 0
        self.stop = asyncio.Event()

    async def run(self) -> None:
        epoch: str | None = None
        while not self.stop.is_set():
            query = f"&since={self.seqs[-1]}&epoch={epoch}" if self.seqs and epoch else ""
            async with connect(self.url + query, max_queue=None) as ws:
                self.connections += 1
                for _ in range(self.rng.randint(1, 150)):
                    try:
                        message = await asyncio.wait_for(ws.recv(), 0.2)
                    except TimeoutError:
                        break
                    frame = orjson.loads(message)
                    if frame.get("control") == "resume":
                        self.resumes.append(frame)
                        epoch = frame["epoch"]
                    elif "control" not in frame:
                        epoch = frame["epoch"]
                        self.seqs.append(frame["seq"])


def unwrap(entry: dict[str, Any]) -> tuple[Any, str | None]:
    """A stored entry of ``/_simulator/events``: the event as published (out of
    its DFO message or work item) and the key it was stored under."""
    body = entry["body"]
    if entry["target"] == "dfo":
        assert body["idOnExternalPlatform"] == entry["key"]
        return orjson.loads(body["messageContent"]["payload"]["text"]), entry["key"]
    if entry["target"] == "workitem":
        assert body["workItemID"] == entry["key"]
        return orjson.loads(body["workItemPayload"]), entry["key"]
    return body, entry["key"]


@pytest.mark.parametrize("target", ["events", "dfo", "workitem"])
async def test_every_accepted_event_is_accounted_for(
    make_service: Callable[..., Any], simulator_process: str, target: str
) -> None:
    rng = random.Random(20240115)
    async with httpx.AsyncClient(base_url=simulator_process) as sim:
        answer = await sim.post("/_simulator/faults", json={"spec": fault_spec(rng, EVENTS, 300)})
        assert answer.status_code == 200
    sections = {
        "ingest": IngestSettings(port=0),
        "pipeline": PipelineSettings(
            concurrency=64, outbox_interval=0.05, outbox_backoff_base=0.05, outbox_backoff_cap=0.2
        ),
        # Few attempts per publish: some events exhaust them and go through the outbox.
        "cxone": {
            "base_url": simulator_process,
            "max_attempts": 3,
            "backoff_base": 0.01,
            "backoff_cap": 0.05,
            "rate_limit_initial": 2000.0,
            "rate_limit_min": 1000.0,
            "target": target,
            "dfo_channel_id": SIMULATOR_DFO_CHANNEL,
            "workitem_point_of_contact": SIMULATOR_POINT_OF_CONTACT,
        },
    }
    async with make_service(environ=SIMULATOR_ENV, **sections) as service:
        assert service.simulator is None
        pinned_url = f"{service.broadcast_url}?subject={SUBJECT}&version=2.0.0"
        steady_seqs: list[int] = []

        async def read_steady() -> None:
            async with connect(pinned_url, max_queue=None) as steady:
                async for message in steady:
                    steady_seqs.append(orjson.loads(message)["seq"])

        steady_task = asyncio.create_task(read_steady())
        assert service.broadcaster is not None
        hub = service.broadcaster.hub
        assert await eventually(lambda: hub.consumer_count() >= 1), "the consumer never attached"
        churners = [
            ChurningConsumer(
                f"{service.broadcast_url}?subject={SUBJECT}&version={v}", random.Random(i)
            )
            for i, v in enumerate(("1.0.0", "3.0.0"))
        ]
        churn_tasks = [asyncio.create_task(c.run()) for c in churners]

        accepted: set[int] = set()
        duplicates = 0
        limits = httpx.Limits(max_connections=16)
        async with httpx.AsyncClient(
            base_url=service.ingest_url, limits=limits, timeout=30
        ) as http:
            # Calls of 1 to 8 events (Studio posts one; other producers batch).
            calls: asyncio.Queue[list[int]] = asyncio.Queue()
            n = 0
            while n < EVENTS:
                size = rng.randint(1, 8)
                calls.put_nowait(list(range(n, min(n + size, EVENTS))))
                n += size

            async def poster() -> None:
                nonlocal duplicates
                while not calls.empty():
                    numbers = calls.get_nowait()
                    events = [
                        legacy_event(i, channel="fax" if i % BAD_EVERY == 0 else "voice")
                        for i in numbers
                    ]
                    headers = {"Idempotency-Key": f"call-{numbers[0]}"}
                    answer = await http.post("/ingest", json=events, headers=headers)
                    assert answer.status_code == 202
                    body = answer.json()
                    assert body["accepted"] == len(numbers) and body["duplicates"] == 0
                    accepted.update(r["id"] for r in body["results"])
                    if numbers[0] % DUPLICATE_EVERY == 0:  # the same call retried
                        again = await http.post("/ingest", json=events, headers=headers)
                        assert again.json()["results"] == [
                            dict(r, duplicate=True) for r in body["results"]
                        ]
                        duplicates += len(numbers)

            started = time.monotonic()
            await asyncio.gather(*(poster() for _ in range(16)))
            print(f"posted in {time.monotonic() - started:.1f} s")
        assert await service.wait_idle(120), service.counts()
        print(f"idle after {time.monotonic() - started:.1f} s")
        broadcast = service.metrics.snapshot()["broadcast"]
        # The last frames may still be on their way to the steady consumer.
        assert await eventually(lambda: len(steady_seqs) >= broadcast), (
            f"the steady consumer got {len(steady_seqs)} of {broadcast} frames"
        )
        for churner in churners:
            churner.stop.set()
        await asyncio.wait_for(asyncio.gather(*churn_tasks), 30)

        # --- the store: published + dead-lettered = accepted ---------------------------
        counts = service.counts()
        dead = service.store.dead_letters() if service.store else []
        assert len(accepted) == EVENTS
        assert counts.get("pending", 0) == 0 and counts["outbox"] == 0
        assert counts["done"] + counts["dead_letter"] == len(accepted)
        assert len(dead) == counts["dead_letter"] == len(range(0, EVENTS, BAD_EVERY))
        assert {d["stage"] for d in dead} == {"migrate"}

        # --- the simulator: each published event stored once ----------------------------
        assert service.cxone_url is not None
        async with httpx.AsyncClient(base_url=service.cxone_url) as sim:
            entries = (await sim.get("/_simulator/events")).json()
            stats = (await sim.get("/_simulator/stats")).json()
        assert {e["target"] for e in entries} == {target}
        stored = [unwrap(e) for e in entries]
        ids = [event["interactionId"] for event, _key in stored]
        assert len(ids) == len(set(ids)) == counts["done"]
        keys = [key for _event, key in stored]  # 0 duplicates by the target's key
        assert None not in keys and len(keys) == len(set(keys)) == counts["done"]
        assert stats["faults_injected"] > 0
        snapshot = service.metrics.snapshot()
        assert snapshot["published"] == counts["done"]
        assert snapshot["accepted"] == EVENTS and snapshot["duplicates"] == duplicates
        assert snapshot["outboxed"] > 0  # the outbox path was exercised
        print(
            f"accepted {len(accepted)}, duplicates {duplicates}, published {counts['done']}, "
            f"dead-lettered {counts['dead_letter']}, via the outbox {snapshot['outboxed']}, "
            f"simulator: {stats}"
        )

        # --- consumers: no unexplained gaps ----------------------------------------------
        assert snapshot["broadcast"] == broadcast == counts["done"]
        steady_task.cancel()
        assert steady_seqs == list(range(1, broadcast + 1))
        for churner in churners:
            assert churner.connections > 1
            assert all(r["recovered"] for r in churner.resumes)  # the ring reached back
            seen = churner.seqs
            assert seen == list(range(1, len(seen) + 1)), "a gap or a repeat after a resume"
