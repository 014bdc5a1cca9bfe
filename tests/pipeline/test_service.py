"""The Service in-process on loopback: end to end, resume after a crash, graceful stop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from evolvekit.errors import ConfigError
from evolvekit.pipeline.config import PipelineSettings, SimulatorSettings
from evolvekit.pipeline.ingest_log import IngestLog
from evolvekit.pipeline.service import Service, instance_id, resolve_cxone

from ..support.servers import SUBJECT, legacy_event
from .conftest import eventually, service_config

Factory = Callable[..., Any]


async def _simulator_events(service: Service) -> list[Any]:
    """The stored events; each stored under its own idempotency key (none twice)."""
    assert service.cxone_url is not None
    async with httpx.AsyncClient(base_url=service.cxone_url) as sim:
        entries: list[Any] = (await sim.get("/_simulator/events")).json()
    keys = [e["key"] for e in entries]
    assert None not in keys and len(keys) == len(set(keys))
    return [e["body"] for e in entries]


async def test_end_to_end(make_service: Factory) -> None:
    async with make_service() as service:
        assert service.simulator is not None  # no CXone settings: its own simulator
        url = f"{service.broadcast_url}?subject={SUBJECT}&version=2.0.0"
        async with connect(url) as consumer, httpx.AsyncClient(base_url=service.ingest_url) as http:
            answer = await http.post("/ingest", json=[legacy_event(n) for n in range(5)])
            assert answer.status_code == 202
            bad = await http.post("/ingest", json=legacy_event(9, channel="fax"))
            assert bad.status_code == 202
            assert await service.wait_idle(10)
            frames = [orjson.loads(await asyncio.wait_for(consumer.recv(), 5)) for _ in range(5)]
            metrics = (await http.get("/metrics")).text
            health = (await http.get("/healthz")).json()
        assert [f["seq"] for f in frames] == [1, 2, 3, 4, 5]
        assert {f["schema_version"] for f in frames} == {"2.0.0"}
        assert sorted(f["payload"]["interactionId"] for f in frames) == [
            f"INT-{n}" for n in range(5)
        ]
        stored = await _simulator_events(service)
        assert sorted(e["interactionId"] for e in stored) == [f"INT-{n}" for n in range(5)]
        assert all("agent" in e for e in stored)  # published at the target version, 3.0.0
        assert service.counts() == {"done": 5, "dead_letter": 1, "outbox": 0, "dead_letters": 1}
        assert "evolvekit_published_total 5" in metrics
        assert 'evolvekit_dead_lettered_total{stage="migrate"} 1' in metrics
        assert "evolvekit_outbox_size 0" in metrics
        assert health == {
            "status": "ok",
            "pending": 0,
            "outbox": 0,
            "dead_letters": 1,
            "in_flight": 0,
        }


async def test_restart_resumes_pending_records_and_the_outbox(
    tmp_path: Path, make_service: Factory
) -> None:
    data = tmp_path / "data"
    # What a crash leaves behind: accepted but unprocessed records, and a parked publish.
    with IngestLog(data) as log:
        log.accept_many([(legacy_event(n), None, None) for n in range(20)])
        log.outbox_put(
            {
                "eventType": SUBJECT,
                "customerId": "C",
                "interactionId": "OUTBOX",
                "agent": {"id": "a"},
            },
            "earlier-key",
            "HTTP 503",
        )
    async with make_service(data) as service:
        assert await service.wait_idle(10)
        stored = await _simulator_events(service)
        assert service.counts()["done"] == 20
    assert sorted(e["interactionId"] for e in stored) == sorted(
        [f"INT-{n}" for n in range(20)] + ["OUTBOX"]
    )


async def test_keys_are_stable_across_restarts(tmp_path: Path) -> None:
    first = instance_id(tmp_path)
    assert instance_id(tmp_path) == first
    other = tmp_path / "other"
    other.mkdir()
    assert instance_id(other) != first
    service = Service(service_config(tmp_path))
    service.instance = first
    key = service.key_for(42)
    assert key == f"evolvekit-{first}-42" and service.record_of(key) == 42
    assert service.record_of("someone-else-42") is None


async def test_outbox_events_are_retried_until_delivered(make_service: Factory) -> None:
    # Every publish attempt of the first events fails: they go to the outbox, then the
    # background retrier delivers them once the faults are used up.
    async with make_service(simulator=SimulatorSettings(faults="503x30")) as service:
        assert service.client is not None
        service.client.config = service.client.config.replace(max_attempts=2, backoff_base=0.0)
        async with httpx.AsyncClient(base_url=service.ingest_url) as http:
            await http.post("/ingest", json=[legacy_event(n) for n in range(10)])
        assert await service.wait_idle(20)
        snapshot = service.metrics.snapshot()
        assert snapshot["outboxed"] > 0
        assert snapshot["published"] == 10
        stored = await _simulator_events(service)
        assert sorted(e["interactionId"] for e in stored) == [f"INT-{n}" for n in range(10)]
        assert service.counts()["done"] == 10


async def test_jsonl_only_starts_no_simulator(tmp_path: Path, make_service: Factory) -> None:
    out = tmp_path / "out.jsonl"
    sinks = PipelineSettings(sinks=("jsonl",), jsonl_path=str(out))
    async with make_service(pipeline=sinks) as service:
        assert service.simulator is None and service.broadcaster is None
        async with httpx.AsyncClient(base_url=service.ingest_url) as http:
            await http.post("/ingest", json=[legacy_event(1), legacy_event(2)])
        assert await service.wait_idle(10)
    lines = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert [e["interactionId"] for e in lines] == ["INT-1", "INT-2"]


async def test_graceful_stop_closes_consumers_with_1001(tmp_path: Path) -> None:
    service = Service(service_config(tmp_path / "data"), announce=lambda m: None, environ={})
    await service.start()
    consumer = await connect(f"{service.broadcast_url}?subject={SUBJECT}")
    ingest_url = service.ingest_url
    await service.stop()
    with pytest.raises(ConnectionClosed) as closed:
        await consumer.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient() as http:
            await http.post(f"{ingest_url}/ingest", json={"a": 1})
    await service.stop()  # idempotent


async def test_stop_leaves_unfinished_events_pending(tmp_path: Path) -> None:
    pipeline = PipelineSettings(shutdown_grace=0.2)
    config = service_config(
        tmp_path / "data",
        pipeline=pipeline,
        simulator=SimulatorSettings(faults=",".join(["latency=3000"] * 5)),
    )
    service = Service(config, announce=lambda m: None, environ={})
    await service.start()
    async with httpx.AsyncClient(base_url=service.ingest_url) as http:
        await http.post("/ingest", json=[legacy_event(n) for n in range(5)])
    assert await eventually(lambda: len(service._inflight) == 5), "never all in flight"
    await service.stop()
    with IngestLog(tmp_path / "data") as log:
        assert log.status_counts() == {"pending": 5}  # resumed at the next start


def test_cxone_settings_resolution() -> None:
    assert resolve_cxone({}, environ={}) is None
    config = resolve_cxone(
        {"base_url": "http://127.0.0.1:9"},
        environ={"CXONE_CLIENT_ID": "id", "CXONE_CLIENT_SECRET": "s3cr3t"},
    )
    assert config is not None and config.client_id == "id"
    assert "s3cr3t" not in repr(config)
    with pytest.raises(ConfigError, match="CXONE_CLIENT_ID"):
        resolve_cxone({"base_url": "http://127.0.0.1:9"}, environ={})


async def test_a_busy_port_is_a_config_error(tmp_path: Path, make_service: Factory) -> None:
    async with make_service() as running:
        from evolvekit.pipeline.config import IngestSettings

        config = service_config(
            tmp_path / "other", ingest=IngestSettings(port=running.ingest_port or 1)
        )
        second = Service(config, announce=lambda m: None, environ={})
        with pytest.raises(ConfigError, match="cannot listen"):
            await second.start()
        await second.stop()


async def test_file_and_poll_sources(tmp_path: Path, make_service: Factory) -> None:
    from evolvekit.cxone.client import CXoneClient
    from evolvekit.cxone.config import CXoneConfig
    from evolvekit.pipeline.config import SourceSettings

    backfill = tmp_path / "backfill.jsonl"
    backfill.write_bytes(b"\n".join(orjson.dumps(legacy_event(n)) for n in range(3)) + b"\n")
    sources = SourceSettings(
        jsonl=(str(backfill),), poll=True, poll_subject=SUBJECT, poll_interval=0.05
    )
    async with make_service(
        pipeline=PipelineSettings(sinks=("broadcast",)), sources=sources
    ) as service:
        assert service.cxone_url is not None and service.simulator is not None
        # Events someone else published to CXone: the poll source reads them.
        config = CXoneConfig.for_simulator(service.cxone_url)
        async with CXoneClient(config) as cx:
            for n in range(10, 14):
                await cx.publish(legacy_event(n))
        assert await eventually(lambda: service.metrics.counters["accepted"] >= 7)
        assert await service.wait_idle(10)
        snapshot = service.metrics.snapshot()
        assert snapshot["accepted"] == 7 and snapshot["broadcast"] == 7
        assert service.counts()["done"] == 7
        assert (Path(service.config.data_dir) / "poll-cursor").read_text() == "4"
