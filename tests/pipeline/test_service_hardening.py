"""Issue 11 against a running Service: dedupe without an Idempotency-Key is on by default,
and a dead letter replayed after an ambiguous publish keeps its idempotency key."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from evolvekit.cli.main import main
from evolvekit.pipeline.config import IngestSettings
from evolvekit.pipeline.ingest_log import IngestLog

from ..support.servers import RULES, SCHEMAS, SIMULATOR_ENV, legacy_event

Factory = Callable[..., Any]


async def _stored(cxone_url: str) -> tuple[list[Any], dict[str, Any]]:
    """The stored entries (``{"path", "key", "target", "body"}``) and the stats."""
    async with httpx.AsyncClient(base_url=cxone_url) as sim:
        entries = (await sim.get("/_simulator/events")).json()
        stats = (await sim.get("/_simulator/stats")).json()
    return entries, stats


async def test_a_studio_event_posted_three_times_is_stored_once(make_service: Factory) -> None:
    # What CXone Studio's REST action sends: a form post, no Idempotency-Key, and on a
    # timeout it simply sends the same thing again.
    form = {"payload": orjson.dumps(legacy_event(7)).decode()}
    async with make_service() as service:
        assert service.config.ingest.dedupe_fields == ("interactionId", "eventType")
        async with httpx.AsyncClient(base_url=service.ingest_url) as http:
            answers = [(await http.post("/ingest", data=form)).json() for _ in range(3)]
        assert await service.wait_idle(20)
        assert service.cxone_url is not None
        events, _ = await _stored(service.cxone_url)
    assert [a["duplicate"] for a in answers] == [False, True, True]
    assert len({a["id"] for a in answers}) == 1
    assert [e["body"]["interactionId"] for e in events] == ["INT-7"]


async def test_dedupe_is_configurable_and_needs_every_field(make_service: Factory) -> None:
    no_type = {"interactionId": "INT-1", "customerId": "C"}
    async with (
        make_service(ingest=IngestSettings(port=0, dedupe_fields=())) as service,
        httpx.AsyncClient(base_url=service.ingest_url) as http,
    ):
        off = [(await http.post("/ingest", json=legacy_event(1))).json() for _ in range(2)]
        keyed = [
            (await http.post("/ingest", json=no_type, headers={"Idempotency-Key": "k"})).json()
            for _ in range(2)
        ]
        bare = [(await http.post("/ingest", json=no_type)).json() for _ in range(2)]
    assert [a["duplicate"] for a in off] == [False, False]  # dedupe_fields = []: off
    assert [a["duplicate"] for a in keyed] == [False, True]  # the key still counts
    assert [a["duplicate"] for a in bare] == [False, False]  # neither: nothing to go by


async def test_a_replayed_dead_letter_reuses_its_idempotency_key(
    tmp_path: Path, make_service: Factory, simulator_process: str
) -> None:
    """CXone stores the event, the connection drops before the answer, the client's retry
    gets a 400: the event is dead-lettered although delivered. Replaying it must not make
    CXone store it twice."""
    data = tmp_path / "data"
    cxone = {"base_url": simulator_process, "max_attempts": 3, "backoff_base": 0.01}
    async with httpx.AsyncClient(base_url=simulator_process) as sim:
        answer = await sim.post("/_simulator/faults", json={"spec": "drop-after,400"})
        assert answer.status_code == 200
    async with make_service(data, environ=SIMULATOR_ENV, cxone=cxone) as service:
        async with httpx.AsyncClient(base_url=service.ingest_url) as http:
            assert (await http.post("/ingest", json=legacy_event(1))).status_code == 202
        assert await service.wait_idle(20)
        assert service.counts()["dead_letters"] == 1
    events, stats = await _stored(simulator_process)
    assert len(events) == 1 and stats["faults_injected"] == 2  # stored, then refused
    [first_key] = [e["key"] for e in events]
    assert first_key is not None
    with IngestLog(data) as store:
        [letter] = store.dead_letters()
        assert letter["stage"] == "publish"

    argv = ["deadletters", "replay", "--data-dir", str(data)]
    assert main([*argv, "--schemas", str(SCHEMAS), "--rules-dir", str(RULES)]) == 0

    async with make_service(data, environ=SIMULATOR_ENV, cxone=cxone) as service:
        assert await service.wait_idle(20)
        counts = service.counts()
    events, stats = await _stored(simulator_process)
    assert counts["dead_letters"] == 0 and counts["outbox"] == 0
    assert [e["body"]["interactionId"] for e in events] == ["INT-1"]  # once, not twice
    assert [e["key"] for e in events] == [first_key]  # the replay reused the key
    assert stats["duplicates_ignored"] == 1


def test_store_keeps_the_key_from_dead_letter_to_replay(tmp_path: Path) -> None:
    with IngestLog(tmp_path) as store:
        record, _ = store.accept(legacy_event(1))
        letter = store.dead_letter(
            "publish", "HTTP 400", legacy_event(1), ingest_id=record, idempotency_key="K-1"
        )
        unkeyed = store.dead_letter("migrate", "no rule", legacy_event(2))
        replayed = store.requeue_dead_letter(letter["id"], legacy_event(1), None)
        fresh = store.requeue_dead_letter(unkeyed["id"], legacy_event(2), None)
        assert replayed is not None and fresh is not None
        assert store.get_ingest(replayed)["idempotency_key"] == "K-1"  # type: ignore[index]
        assert store.get_ingest(fresh)["idempotency_key"] is None  # type: ignore[index]
        assert store.record_with_key("K-1") == replayed
        assert store.record_with_key("K-2") is None


def test_a_batch_repeating_an_event_stores_it_once(tmp_path: Path) -> None:
    with IngestLog(tmp_path) as store:
        results = store.accept_many([({"n": 1}, None, "k"), ({"n": 1}, None, "k")])
        single = store.accept({"n": 1}, dedupe_key="k")
    assert results[1] == (results[0][0], True) and single == (results[0][0], True)


@pytest.fixture(autouse=True)
def _no_stray_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CXONE_CLIENT_ID", "CXONE_CLIENT_SECRET", "EVOLVEKIT_INGEST_TOKEN"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("key", ["client_secret", "token", "access_key_secret"])
def test_a_malformed_cxone_secret_is_named_never_shown(key: str) -> None:
    from evolvekit.errors import ConfigError
    from evolvekit.pipeline.service import resolve_cxone

    section = {"base_url": "http://127.0.0.1:9", "client_id": "id", key: ["CANARY-cx-91"]}
    with pytest.raises(ConfigError) as info:
        resolve_cxone(section, {})
    assert key in str(info.value) and "CANARY" not in str(info.value)
