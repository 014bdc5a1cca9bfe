"""Sinks: CXone (outbox after retries, the retrier), JSON lines, the broadcaster."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from evolvekit.broadcast.broadcaster import Broadcaster
from evolvekit.broadcast.client import consume
from evolvekit.cxone.client import CXoneClient
from evolvekit.cxone.config import CXoneConfig
from evolvekit.cxone.simulator import SimulatorApp, create_app
from evolvekit.errors import InputError
from evolvekit.pipeline.ingest_log import IngestLog
from evolvekit.pipeline.metrics import Metrics
from evolvekit.pipeline.pipeline import Delivery, Prepared, SinkFailure
from evolvekit.pipeline.sinks import BroadcastSink, CXoneSink, JsonlSink, OutboxRetrier

from ..support.servers import RULES, SCHEMAS, SUBJECT, legacy_event
from .conftest import eventually


def delivery(n: int, key: str | None = None, record_id: int | None = None) -> Delivery:
    event = {
        "eventType": SUBJECT,
        "customerId": f"C{n}",
        "interactionId": f"I{n}",
        "agent": {"id": f"a{n}"},
    }
    return Delivery(Prepared(SUBJECT, "1.0.0", "3.0.0", event), key or f"key-{n}", record_id)


@pytest.fixture
def store(tmp_path: Path) -> IngestLog:
    log = IngestLog(tmp_path)
    yield log
    log.close()


@pytest.fixture
def sim() -> SimulatorApp:
    return create_app()


async def _noop_sleep(seconds: float) -> None:
    return None


@pytest.fixture
async def client(sim: SimulatorApp, store: IngestLog) -> AsyncIterator[CXoneClient]:
    config = CXoneConfig.for_simulator(
        "http://sim.test", backoff_base=0.0, max_attempts=2, rate_limit_initial=5000.0
    )
    async with CXoneClient(
        config, transport=httpx.ASGITransport(app=sim), store=store, sleep=_noop_sleep
    ) as cx:
        yield cx


async def test_cxone_sink_publishes_with_the_key(client: CXoneClient, sim: SimulatorApp) -> None:
    metrics = Metrics()
    sink = CXoneSink(client, metrics)
    assert await sink.deliver(delivery(1)) == "done"
    assert await sink.deliver(delivery(1)) == "done"  # a re-send after a crash: stored once
    assert sim.state.events() == [delivery(1).prepared.event]
    assert sim.state.snapshot()["duplicates_ignored"] == 1
    assert metrics.snapshot()["published"] == 2


async def test_cxone_sink_parks_in_the_outbox_after_retries(
    client: CXoneClient, sim: SimulatorApp, store: IngestLog
) -> None:
    sim.state.set_faults("503x2")
    metrics = Metrics()
    assert await CXoneSink(client, metrics).deliver(delivery(2)) == "outbox"
    [entry] = store.outbox_due()
    assert entry["key"] == "key-2" and entry["event"] == delivery(2).prepared.event
    assert metrics.snapshot()["outboxed"] == 1


async def test_cxone_sink_refused_for_good_is_a_failure(
    client: CXoneClient, sim: SimulatorApp
) -> None:
    sim.state.set_faults("422")
    with pytest.raises(SinkFailure, match="422"):
        await CXoneSink(client).deliver(delivery(3))


def test_cxone_sink_needs_a_store() -> None:
    config = CXoneConfig.for_simulator("http://sim.test")
    with pytest.raises(InputError, match="store"):
        CXoneSink(CXoneClient(config))


async def test_the_retrier_delivers_and_marks_the_record(
    client: CXoneClient, sim: SimulatorApp, store: IngestLog
) -> None:
    [(record_id, _)] = store.accept_many([(legacy_event(1), SUBJECT, None)])
    store.mark(record_id, "outbox")
    store.outbox_put(delivery(1).prepared.event, f"svc-{record_id}", "HTTP 503")
    sim.state.set_faults("503x2")  # the first pass fails again: rescheduled with backoff
    metrics = Metrics()
    retrier = OutboxRetrier(
        client,
        store,
        metrics=metrics,
        backoff_base=0.0,
        backoff_cap=0.0,
        record_of=lambda key: int(key.split("-")[1]),
    )
    first = await retrier.run_once()
    assert first == {"attempted": 1, "published": 0, "dead_lettered": 0, "retried": 1}
    assert store.outbox_due()[0]["attempts"] == 1
    second = await retrier.run_once()
    assert second["published"] == 1 and store.outbox_size() == 0
    assert store.get_ingest(record_id)["status"] == "done"  # type: ignore[index]
    assert sim.state.events() == [delivery(1).prepared.event]
    assert metrics.snapshot()["published"] == 1


async def test_the_retrier_dead_letters_what_cxone_refuses(
    client: CXoneClient, sim: SimulatorApp, store: IngestLog
) -> None:
    [(record_id, _)] = store.accept_many([(legacy_event(4), SUBJECT, None)])
    store.outbox_put(delivery(4).prepared.event, f"svc-{record_id}", "HTTP 503")
    sim.state.set_faults("400")
    metrics = Metrics()
    retrier = OutboxRetrier(
        client, store, metrics=metrics, record_of=lambda key: int(key.split("-")[1])
    )
    assert (await retrier.run_once())["dead_lettered"] == 1
    assert metrics.dead_lettered == {"publish": 1}  # counted, not only stored
    # what /metrics shows: one dead letter at the publish stage, nothing published
    snapshot = metrics.snapshot()
    assert snapshot["dead_lettered_by_stage"] == {"publish": 1}
    assert snapshot["published"] == 0
    [letter] = store.dead_letters()
    assert letter["stage"] == "publish" and letter["event"] == legacy_event(4)
    assert letter["subject"] == SUBJECT
    assert store.outbox_size() == 0
    assert store.get_ingest(record_id)["status"] == "dead_letter"  # type: ignore[index]


async def test_a_refused_entry_whose_record_was_purged_keeps_the_outbox_copy(
    client: CXoneClient, sim: SimulatorApp, store: IngestLog
) -> None:
    store.outbox_put(delivery(7).prepared.event, "svc-999", "HTTP 503")  # no record 999
    sim.state.set_faults("422")
    retrier = OutboxRetrier(client, store, record_of=lambda key: int(key.split("-")[1]))
    assert (await retrier.run_once())["dead_lettered"] == 1
    [letter] = store.dead_letters()
    assert letter["event"] == delivery(7).prepared.event and letter["subject"] is None
    assert "422" in letter["reason"] and store.outbox_size() == 0
    assert store.outbox_refused(1, None, "again") is None  # gone: nothing written twice
    assert len(store.dead_letters()) == 1


@pytest.mark.parametrize("status", ["408", "429", "503"])
async def test_the_retrier_retries_what_cxone_may_accept_later(
    client: CXoneClient, sim: SimulatorApp, store: IngestLog, status: str
) -> None:
    # 408 and 429 are 4xx but not refusals: the event stays in the outbox, rescheduled.
    [(record_id, _)] = store.accept_many([(legacy_event(6), SUBJECT, None)])
    store.mark(record_id, "outbox")
    store.outbox_put(delivery(6).prepared.event, f"svc-{record_id}", "HTTP 503")
    sim.state.set_faults(f"{status}x2")  # both of the client's attempts fail
    retrier = OutboxRetrier(client, store, backoff_base=0.0, backoff_cap=0.0)
    assert (await retrier.run_once())["retried"] == 1
    assert store.dead_letters() == [] and store.outbox_size() == 1
    assert store.get_ingest(record_id)["status"] == "outbox"  # type: ignore[index]


async def test_jsonl_sink_appends_lines(tmp_path: Path) -> None:
    path = tmp_path / "out" / "events.jsonl"
    sink = JsonlSink(path, Metrics())
    await sink.deliver(delivery(1))
    await sink.deliver(delivery(2))
    sink.close()
    lines = path.read_bytes().splitlines()
    assert [orjson.loads(line) for line in lines] == [
        delivery(1).prepared.event,
        delivery(2).prepared.event,
    ]
    assert sink.metrics is not None and sink.metrics.snapshot()["written"] == 2


def test_jsonl_sink_reports_an_unwritable_path(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InputError, match="cannot open the JSONL sink"):
        JsonlSink(blocker / "events.jsonl")


async def test_broadcast_sink_serves_each_consumer_its_version() -> None:
    metrics = Metrics()
    async with Broadcaster(schemas=SCHEMAS, rules=RULES) as broadcaster:
        frames: list[dict[str, Any]] = []
        url = f"{broadcaster.url}?subject={SUBJECT}&version=2.1.0"
        stream = consume(url, control=False)
        sink = BroadcastSink(broadcaster, metrics)
        first = stream.__anext__()
        import asyncio

        task = asyncio.ensure_future(first)
        assert await eventually(lambda: broadcaster.hub.consumer_count() > 0)
        assert await sink.deliver(delivery(5)) == "done"
        frames.append(await asyncio.wait_for(task, 5))
        await stream.aclose()
    [frame] = frames
    assert frame["schema_version"] == "2.1.0"
    assert frame["payload"]["agentId"] == "a5"  # 3.0.0 -> 2.1.0 by the shipped rules
    assert metrics.snapshot()["broadcast"] == 1
