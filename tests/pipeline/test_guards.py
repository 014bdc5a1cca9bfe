"""Safe defaults of the ingest port: browser Origins, exposure off loopback, encodings the
ingest does not decode, bodies that never finish."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from evolvekit.errors import ConfigError
from evolvekit.pipeline.config import IngestSettings
from evolvekit.pipeline.guards import check_exposure, is_loopback, origin_allowed
from evolvekit.pipeline.metrics import Metrics
from evolvekit.pipeline.sources import IngestEndpoint, IngestLog

from ..support.servers import legacy_event

EVIL = "https://evil.example"


@pytest.fixture
def store(tmp_path: Path) -> IngestLog:
    log = IngestLog(tmp_path / "data")
    yield log
    log.close()


def client(store: IngestLog, **settings: Any) -> httpx.AsyncClient:
    endpoint = IngestEndpoint(store, IngestSettings(**settings), Metrics())
    transport = httpx.ASGITransport(app=endpoint.app())
    return httpx.AsyncClient(transport=transport, base_url="http://ingest.test")


async def test_a_form_post_from_a_foreign_page_is_refused(store: IngestLog) -> None:
    # What <form method=post action=http://127.0.0.1:8080/ingest> on any site sends: no
    # CORS preflight, so only the server can say no.
    form = {"payload": orjson.dumps(legacy_event(1)).decode()}
    async with client(store) as http:
        refused = await http.post("/ingest", data=form, headers={"Origin": EVIL})
        json_post = await http.post("/ingest", json=legacy_event(2), headers={"Origin": EVIL})
        null_origin = await http.post("/ingest", json=legacy_event(3), headers={"Origin": "null"})
        health = await http.get("/healthz", headers={"Origin": EVIL})
        curl = await http.post("/ingest", data=form)  # no Origin: curl, CXone Studio
    assert refused.status_code == 403 and refused.json()["error"] == "origin_not_allowed"
    assert EVIL in refused.json()["detail"]
    assert json_post.status_code == 403 and null_origin.status_code == 403
    assert health.status_code == 403
    assert curl.status_code == 202
    assert store.counts()["pending"] == 1  # only the one without an Origin


async def test_listed_origins_may_post(store: IngestLog) -> None:
    async with client(store, origins=("https://app.example",)) as http:
        listed = await http.post(
            "/ingest", json=legacy_event(1), headers={"Origin": "https://app.example"}
        )
        other = await http.post("/ingest", json=legacy_event(2), headers={"Origin": EVIL})
    async with client(store, origins=("*",)) as http:
        anyone = await http.post("/ingest", json=legacy_event(3), headers={"Origin": EVIL})
    assert (listed.status_code, other.status_code, anyone.status_code) == (202, 403, 202)


def test_origin_allowed() -> None:
    assert origin_allowed(None, ())
    assert not origin_allowed("https://a.example", ())
    assert origin_allowed("https://a.example", ["https://a.example"])
    assert not origin_allowed("https://a.example.evil", ["https://a.example"])
    assert origin_allowed("https://x", ["*"])


async def test_a_content_encoding_the_ingest_does_not_decode_is_415(store: IngestLog) -> None:
    body = gzip.compress(orjson.dumps(legacy_event(1)))
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    async with client(store) as http:
        gzipped = await http.post("/ingest", content=body, headers=headers)
        identity = await http.post(
            "/ingest",
            content=orjson.dumps(legacy_event(2)),
            headers={"Content-Type": "application/json", "Content-Encoding": "identity"},
        )
    assert gzipped.status_code == 415
    assert gzipped.json()["error"] == "unsupported_content_encoding"
    assert identity.status_code == 202
    assert store.counts()["pending"] == 1


async def test_a_body_that_never_finishes_gets_408(store: IngestLog) -> None:
    async def trickle() -> AsyncIterator[bytes]:
        yield b'{"eventType": "interaction.completed",'
        await asyncio.sleep(30)  # far beyond body_timeout: the handler must not wait
        yield b"}"

    async with client(store, body_timeout=0.2) as http:
        answer = await asyncio.wait_for(
            http.post("/ingest", content=trickle(), headers={"Content-Type": "application/json"}),
            timeout=10,
        )
    assert answer.status_code == 408 and answer.json()["error"] == "body_timeout"
    assert answer.headers["connection"] == "close"
    assert store.counts().get("pending", 0) == 0


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.5", False),
        ("myhost.example", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_no_token_off_loopback_is_refused_unless_insecure() -> None:
    warnings: list[str] = []
    kwargs: dict[str, Any] = {"warn": warnings.append, "how": "[ingest] token"}
    check_exposure("ingest", "127.0.0.1", False, insecure=False, **kwargs)
    check_exposure("ingest", "0.0.0.0", True, insecure=False, **kwargs)
    assert warnings == []
    with pytest.raises(
        ConfigError, match=r"refusing to serve ingest on 0\.0\.0\.0 without a token"
    ):
        check_exposure("ingest", "0.0.0.0", False, insecure=False, **kwargs)
    check_exposure("ingest", "0.0.0.0", False, insecure=True, **kwargs)
    assert len(warnings) == 1 and "without a token" in warnings[0]
