"""Bad input sent to /ingest (random bytes, deep nesting, huge numbers, wrong types, wrong
encodings, odd headers): never a 5xx, and every event answered 202 is in the log."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evolvekit.pipeline.config import IngestSettings
from evolvekit.pipeline.ingest_log import IngestLog
from evolvekit.pipeline.metrics import Metrics
from evolvekit.pipeline.sources import IngestEndpoint

CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "application/cloudevents+json",
        "application/x-www-form-urlencoded",
        "text/plain",
        "",
        "application/json; charset=utf-16",
        "multipart/form-data; boundary=x",
        "application/x-www-form-urlencoded; charset=UTF-8",
    ]
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


def nested(depth: int, kind: str) -> bytes:
    if kind == "object":
        return b'{"a":' * depth + b"1" + b"}" * depth
    return b"[" * depth + b"1" + b"]" * depth


bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.builds(nested, st.integers(1, 3000), st.sampled_from(["object", "array"])),
    st.integers(1, 400).map(lambda n: b'{"n": ' + b"9" * n + b"}"),
    st.sampled_from([b'{"n": 1e999}', b'{"n": -1e400}', b"[NaN]", b'{"a": Infinity}']),
    json_values.map(lambda v: json.dumps({"event": v}).encode("utf-16")),
    st.text(max_size=50).map(
        lambda t: json.dumps({"t": t}, ensure_ascii=False).encode("latin-1", "replace")
    ),
    st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=5).map(
        lambda d: "&".join(f"{k}={v}" for k, v in d.items()).encode("utf-8")
    ),
    st.text(max_size=60).map(
        lambda t: b"payload=" + t.encode("utf-8", "surrogatepass").replace(b"&", b"%26")
    ),
    st.binary(max_size=100).map(lambda b: b"payload=" + b),
)

headers = st.fixed_dictionaries(
    {},
    optional={
        "Idempotency-Key": st.text(max_size=300).filter(lambda k: "\n" not in k and "\r" not in k),
        "Authorization": st.sampled_from(["Bearer x", "Basic abc", ""]),
    },
)


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IngestLog]:
    store = IngestLog(tmp_path_factory.mktemp("fuzz"))
    yield store
    store.close()


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=bodies, content_type=CONTENT_TYPES, extra=headers, subject=st.none() | st.text(max_size=30)
)
def test_bad_input_never_gets_a_5xx_and_nothing_accepted_is_lost(
    log: IngestLog, body: bytes, content_type: str, extra: dict[str, str], subject: str | None
) -> None:
    asyncio.run(_send(log, body, content_type, extra, subject))


async def _send(
    log: IngestLog, body: bytes, content_type: str, extra: dict[str, str], subject: str | None
) -> None:
    before = max([r["id"] for r in log.pending_after(0, limit=10**9)], default=0)
    endpoint = IngestEndpoint(log, IngestSettings(max_event_bytes=2048), Metrics())
    transport = httpx.ASGITransport(app=endpoint.app())
    request_headers = {"Content-Type": content_type} if content_type else {}
    for name, value in extra.items():
        try:
            value.encode("ascii")
        except UnicodeEncodeError:
            continue  # not sendable as an HTTP header at all
        request_headers[name] = value
    params = {"subject": subject} if subject is not None else None
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        answer = await http.post("/ingest", content=body, headers=request_headers, params=params)
    assert answer.status_code < 500, (answer.status_code, answer.text)
    assert answer.status_code in (202, 400, 401, 413, 415)
    reply = answer.json()
    fresh = {r["id"]: r for r in log.pending_after(before, limit=10**9)}
    if answer.status_code != 202:
        assert set(reply) == {"error", "detail"}
        assert fresh == {}  # a refused request stores nothing
        return
    results = reply.get("results") or [reply]
    stored = {r["id"]: r for r in log.pending_after(0, limit=10**9)}
    for result in results:
        assert result["id"] in stored  # durably in the log before the 202
    assert len(fresh) == reply["accepted"]
