"""The whole publish path once over a real loopback uvicorn server."""

from __future__ import annotations

from pathlib import Path

import httpx

from evolvekit.cxone.client import CXoneClient
from evolvekit.cxone.config import CXoneConfig
from evolvekit.cxone.simulator import SimulatorServer, create_app
from evolvekit.store import Store


async def test_publish_path_over_a_real_socket(tmp_path: Path) -> None:
    app = create_app(
        rate_limit=200,
        token_ttl=3600,
        faults="drop-after,503,expire-token,drop-before,429,latency=20",
    )
    with SimulatorServer(app) as server:
        config = CXoneConfig.for_simulator(server.base_url, backoff_base=0.01, retry_after_cap=1.0)
        store = Store(tmp_path)
        async with CXoneClient(config, store=store) as cx:
            results = await cx.publish_many([{"n": i} for i in range(60)], concurrency=8)
            read = [event async for event in cx.read_events(limit=25)]
        with httpx.Client(base_url=server.base_url) as http:
            entries = http.get("/_simulator/events").json()
            stats = http.get("/_simulator/stats").json()
        store.close()
    assert all(r.ok for r in results)
    assert sorted(e["body"]["n"] for e in entries) == list(range(60))
    keys = [e["key"] for e in entries]  # retries and drops reused each event's key
    assert None not in keys and len(set(keys)) == 60
    assert sorted(e["n"] for e in read) == list(range(60))
    assert stats["stored"] == 60 and stats["duplicates_ignored"] == 1
    assert stats["faults_injected"] == 6 and stats["token_requests"] == 2
