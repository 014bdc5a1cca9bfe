"""The ingest endpoint (through ASGI, no socket), JSON-lines files and the CXone poll source."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson
import pytest

from evolvekit.cxone.client import CXoneClient
from evolvekit.cxone.config import CXoneConfig
from evolvekit.cxone.simulator import create_app
from evolvekit.pipeline.config import IngestSettings
from evolvekit.pipeline.metrics import Metrics
from evolvekit.pipeline.sources import (
    CXonePollSource,
    IngestEndpoint,
    IngestLog,
    dedupe_key_of,
    ingest_jsonl,
    json_depth,
)

from ..support.servers import legacy_event

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def store(tmp_path: Path) -> IngestLog:
    log = IngestLog(tmp_path / "data")
    yield log
    log.close()


Client = Callable[..., Any]


@pytest.fixture
async def make_client(store: IngestLog) -> AsyncIterator[Client]:
    clients: list[httpx.AsyncClient] = []

    def make(**settings: Any) -> tuple[httpx.AsyncClient, IngestEndpoint]:
        endpoint = IngestEndpoint(
            store, IngestSettings(**settings), Metrics(), health=lambda: {"pending": 0}
        )
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=endpoint.app()), base_url="http://ingest.test"
        )
        clients.append(client)
        return client, endpoint

    yield make
    for client in clients:
        await client.aclose()


async def test_a_json_event_is_stored_before_the_202(make_client: Client, store: IngestLog) -> None:
    http, endpoint = make_client()
    answer = await http.post("/ingest?subject=interaction.completed", json=legacy_event(1))
    assert answer.status_code == 202
    body = answer.json()
    assert body == {"id": body["id"], "duplicate": False, "accepted": 1, "duplicates": 0}
    record = store.get_ingest(body["id"])
    assert record is not None and record["status"] == "pending"
    assert record["event"] == legacy_event(1) and record["subject"] == "interaction.completed"
    assert endpoint.metrics.snapshot()["accepted"] == 1


async def test_a_batch_gets_one_id_per_event(make_client: Client, store: IngestLog) -> None:
    http, _ = make_client()
    answer = await http.post("/ingest", json=[legacy_event(1), legacy_event(2)])
    assert answer.status_code == 202
    results = answer.json()["results"]
    assert [r["duplicate"] for r in results] == [False, False]
    assert len({r["id"] for r in results}) == 2
    assert len(store.pending_after(0)) == 2


async def test_form_fields_become_a_flat_event_of_strings(
    make_client: Client, store: IngestLog
) -> None:
    http, _ = make_client()
    answer = await http.post(
        "/ingest", data={"customerId": "C1", "callDuration": "45", "agentEmail": "ä@x"}
    )
    assert answer.status_code == 202
    record = store.get_ingest(answer.json()["id"])
    assert record is not None
    assert record["event"] == {"customerId": "C1", "callDuration": "45", "agentEmail": "ä@x"}


async def test_a_payload_field_holding_json_is_the_event(
    make_client: Client, store: IngestLog
) -> None:
    http, _ = make_client()
    body = urlencode({"payload": orjson.dumps(legacy_event(9)).decode(), "other": "x"})
    answer = await http.post("/ingest", content=body, headers=FORM)
    assert answer.status_code == 202
    record = store.get_ingest(answer.json()["id"])
    assert record is not None and record["event"] == legacy_event(9)


async def test_duplicates_by_idempotency_key(make_client: Client, store: IngestLog) -> None:
    http, endpoint = make_client()
    first = await http.post("/ingest", json=legacy_event(1), headers={"Idempotency-Key": "k1"})
    again = await http.post("/ingest", json=legacy_event(1), headers={"Idempotency-Key": "k1"})
    other = await http.post("/ingest", json=legacy_event(1), headers={"Idempotency-Key": "k2"})
    assert again.status_code == 202
    assert again.json()["id"] == first.json()["id"] and again.json()["duplicate"] is True
    assert other.json()["duplicate"] is False  # identical content, another key: two events
    assert len(store.pending_after(0)) == 2
    snapshot = endpoint.metrics.snapshot()
    assert (snapshot["accepted"], snapshot["duplicates"]) == (2, 1)


async def test_duplicates_by_configured_fields(make_client: Client, store: IngestLog) -> None:
    http, _ = make_client(dedupe_fields=("interactionId", "eventType"))
    first = await http.post("/ingest", json=legacy_event(1))
    retried = await http.post("/ingest", json=dict(legacy_event(1), callDuration=99))
    batch = await http.post("/ingest", json=[legacy_event(1), legacy_event(2), legacy_event(2)])
    assert retried.json() == {
        "id": first.json()["id"],
        "duplicate": True,
        "accepted": 0,
        "duplicates": 1,
    }
    assert [r["duplicate"] for r in batch.json()["results"]] == [True, False, True]
    assert len(store.pending_after(0)) == 2
    # Events without every key field are never merged.
    await http.post("/ingest", json={"eventType": "x"})
    await http.post("/ingest", json={"eventType": "x"})
    assert len(store.pending_after(0)) == 4


def test_dedupe_key_of() -> None:
    assert dedupe_key_of({"a": 1, "b": "x"}, ["a", "b"]) == 'fields:[1,"x"]'
    assert dedupe_key_of({"a": 1}, ["a", "b"]) is None
    assert dedupe_key_of({"a": {"nested": 1}}, ["a"]) is None
    assert dedupe_key_of({"a": 1}, []) is None


async def test_bearer_token(make_client: Client) -> None:
    http, _ = make_client(token="t0ken")
    refused = await http.post("/ingest", json=legacy_event(1))
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
    wrong = await http.post(
        "/ingest", json=legacy_event(1), headers={"Authorization": "Bearer nope"}
    )
    assert wrong.status_code == 401
    ok = await http.post("/ingest", json=legacy_event(1), headers={"Authorization": "Bearer t0ken"})
    assert ok.status_code == 202


@pytest.mark.parametrize(
    ("content", "headers", "status", "error"),
    [
        (b"{bad json", {"Content-Type": "application/json"}, 400, "malformed_json"),
        (b"", {"Content-Type": "application/json"}, 400, "empty_body"),
        (b"[]", {"Content-Type": "application/json"}, 400, "empty_batch"),
        (b"42", {"Content-Type": "application/json"}, 400, "not_an_object"),
        (b'[{"a":1}, "x"]', {"Content-Type": "application/json"}, 400, "not_an_object"),
        (b"hello", {"Content-Type": "text/plain"}, 415, "unsupported_media_type"),
        (b'{"a":1}', {}, 415, "unsupported_media_type"),
        (
            b'{"a":1}',
            {"Content-Type": "application/json; charset=latin-1"},
            415,
            "unsupported_charset",
        ),
        (b'{"a":"\xff"}', {"Content-Type": "application/json"}, 400, "malformed_json"),
        (b"a=%ff", FORM, 400, "bad_encoding"),
        (b"a=\xc3\xa4", FORM, 400, "bad_encoding"),
        (b"payload=%7Bnope", FORM, 400, "malformed_json"),
        (b"&", FORM, 400, "empty_body"),
        (b"[" * 100 + b"]" * 100, {"Content-Type": "application/json"}, 400, "not_an_object"),
        (b'{"a":' * 80 + b"1" + b"}" * 80, {"Content-Type": "application/json"}, 400, "too_deep"),
        (b'{"n": 1e999}', {"Content-Type": "application/json"}, 400, "malformed_json"),
    ],
)
async def test_bad_input_gets_a_clear_4xx(
    make_client: Client,
    store: IngestLog,
    content: bytes,
    headers: dict[str, str],
    status: int,
    error: str,
) -> None:
    http, endpoint = make_client()
    answer = await http.post("/ingest", content=content, headers=headers)
    assert answer.status_code == status
    assert answer.json()["error"] == error
    assert answer.json()["detail"] and "\n" not in answer.json()["detail"]
    assert store.pending_after(0) == []
    assert endpoint.metrics.snapshot()["rejected"] == 1


async def test_size_limits(make_client: Client, store: IngestLog) -> None:
    http, _ = make_client(max_event_bytes=200, max_body_bytes=1000, max_batch=3)
    big = await http.post("/ingest", json=legacy_event(1, notes="x" * 300))
    assert big.status_code == 413 and big.json()["error"] == "event_too_large"
    body = await http.post("/ingest", json=[legacy_event(i) for i in range(3)] + [{"x": "y" * 900}])
    assert body.status_code == 413 and body.json()["error"] == "body_too_large"
    many = await http.post("/ingest", json=[{"a": i} for i in range(4)])
    assert many.status_code == 413 and many.json()["error"] == "batch_too_large"

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted while streaming
        yield b'{"a": "' + b"x" * 600
        yield b"x" * 600 + b'"}'

    streamed = await http.post(
        "/ingest", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert streamed.status_code == 413
    assert store.pending_after(0) == []


async def test_a_whole_batch_is_refused_when_one_event_is_bad(
    make_client: Client, store: IngestLog
) -> None:
    http, _ = make_client(max_event_bytes=300)
    answer = await http.post("/ingest", json=[legacy_event(1), legacy_event(2, pad="x" * 400)])
    assert answer.status_code == 413 and "event 1" in answer.json()["detail"]
    assert store.pending_after(0) == []


async def test_bad_parameters(make_client: Client) -> None:
    http, _ = make_client()
    key = await http.post("/ingest", json={"a": 1}, headers={"Idempotency-Key": "k" * 300})
    assert key.status_code == 400 and key.json()["error"] == "bad_idempotency_key"
    subject = await http.post("/ingest?subject=" + "s" * 300, json={"a": 1})
    assert subject.status_code == 400 and subject.json()["error"] == "bad_subject"


async def test_healthz_metrics_and_stopping(make_client: Client) -> None:
    http, endpoint = make_client()
    health = await http.get("/healthz")
    assert health.status_code == 200 and health.json() == {"status": "ok", "pending": 0}
    metrics = await http.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert "evolvekit_accepted_total 0" in metrics.text
    endpoint.accepting = False
    assert (await http.get("/healthz")).status_code == 503
    refused = await http.post("/ingest", json={"a": 1})
    assert refused.status_code == 503 and refused.headers["retry-after"]
    assert (await http.get("/ingest")).status_code == 405


def test_json_depth() -> None:
    assert not json_depth({"a": [1, {"b": 2}]}, 3)
    assert json_depth({"a": [1, {"b": 2}]}, 2)
    deep: Any = 1
    for _ in range(5000):
        deep = [deep]
    assert json_depth(deep, 64)  # no recursion error on attacker-sized nesting


def test_jsonl_file_source(tmp_path: Path, store: IngestLog) -> None:
    file = tmp_path / "events.jsonl"
    lines = [
        orjson.dumps(legacy_event(1)),
        b"",
        b"{not json",
        b"[1, 2]",
        orjson.dumps(legacy_event(2)),
    ]
    file.write_bytes(b"\n".join(lines) + b"\n")
    counts = ingest_jsonl(store, file, subject="interaction.completed")
    assert counts == {"accepted": 2, "duplicates": 0, "dead_lettered": 2}
    assert [r["event"] for r in store.pending_after(0)] == [legacy_event(1), legacy_event(2)]
    letters = store.dead_letters()
    assert [letter["stage"] for letter in letters] == ["ingest", "ingest"]
    assert letters[0]["event"] == "{not json" and "line 3" in letters[0]["reason"]
    # Reading the same file again accepts nothing twice.
    again = ingest_jsonl(store, file)
    assert (again["accepted"], again["duplicates"]) == (0, 2)


async def test_cxone_poll_source(tmp_path: Path, store: IngestLog) -> None:
    sim = create_app()
    config = CXoneConfig.for_simulator("http://sim.test", backoff_base=0.0)
    async with CXoneClient(config, transport=httpx.ASGITransport(app=sim)) as client:
        for n in range(5):
            await client.publish(legacy_event(n))
        source = CXonePollSource(
            client,
            store,
            subject="interaction.completed",
            cursor_file=tmp_path / "cursor",
            page_size=2,
        )
        assert await source.poll_once() == 5
        assert source.cursor() == "5"
        assert await source.poll_once() == 0  # resumes after the saved cursor
        await client.publish(legacy_event(5))
        assert await source.poll_once() == 1
    events = [r["event"] for r in store.pending_after(0)]
    assert events == [legacy_event(n) for n in range(6)]
    assert {r["subject"] for r in store.pending_after(0)} == {"interaction.completed"}


def test_settings_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        IngestSettings().port = 1  # type: ignore[misc]


async def test_a_non_object_is_named_by_its_json_type(make_client: Client) -> None:
    http, _ = make_client()
    answer = await http.post("/ingest", content=b"42", headers={"Content-Type": "application/json"})
    assert "a JSON integer, not an object" in answer.json()["detail"]
    answer = await http.post(
        "/ingest", content=b'[{"a":1}, "x"]', headers={"Content-Type": "application/json"}
    )
    assert "a JSON string, not an object" in answer.json()["detail"]
